// Fused groups (passes/fuse-elementwise.ts) as code a reader can follow.
// Each group of an emitted module becomes two typed functions and a
// constant that names them:
//
//   <name>_loop(ins, outs, n, p): void
//       the host loop of cpu and wasm: per element, one statement per
//       instruction (temps t0, t1, ...) in float64 under a comment quoting
//       the source line it came from; how it reads each input (`modes`) is
//       decided here from the graph's shapes, so the module needs no
//       `new Function`;
//   <name>_tensors(inputs: tf.Tensor...): tf.Tensor[]
//       the same body over tensors, one tf call per op (the unfused ops'
//       kernels: other backends, and while tfjs's own autodiff records);
//   const <name>: FusedGroup = { loop, modes, tensors, body }
//       what the call `fusedGroup(<name>, [inputs], windows)` runs
//       (runtime/tfjs/portable-ops.ts, carried by every emitted module).
//
// Inputs are named after the values' source names, outputs after the
// identifiers the call site assigns. A group emitted twice with the same
// text is emitted once.
// User text (source lines) reaches the code only through escape.ts.
import { InternalError } from '../diagnostics/diagnostic.js';
import { elementwiseOp } from '../ir/elementwise.js';
import { sameShape, shapeToString } from '../ir/shape.js';
import type { Dim, FusedArg, FusedBody, Graph, Node, Shape } from '../ir/types.js';
import { fusedBody } from '../ir/types.js';
import { numberLiteral, OP_EMITTERS } from './emit-ops.js';
import { commentText, stringLiteral } from './escape.js';
import { Scope, sourceLine, type CodegenContext } from './emit-graph.js';

// A NUL never survives escape.ts, so no quoted source line can contain the placeholder.
const NAME = '\0GROUP\0';

/** The group functions of a module: named once each, declared after every graph was emitted. */
export class FusedGroups {
  private readonly byText = new Map<string, string>();

  constructor(private readonly ctx: CodegenContext) {}

  /**
   * The name of the group constant for this fused node of g (declaring it on
   * first use), given the identifiers the call site assigns.
   */
  nameOf(g: Graph, node: Node, outs: readonly string[]): string {
    // An input is named after its value's source name (`b_g`, `mask_t`), else by its place (`i1`).
    const ins = node.inputs.map((v, k) => g.values[v]?.name ?? `i${k}`);
    const windows = node.attrs['windows'] as readonly number[] | undefined;
    const out = g.values[node.outputs[0]!]!.type.shape;
    const modes = node.inputs.map((v, k) => staticMode(g.values[v]!.type.shape, out, windows !== undefined && windows[2 * k]! >= 0)).join('');
    const text = groupText(this.ctx, fusedBody(node), ins, outs, modes);
    let name = this.byText.get(text);
    if (name === undefined) {
      const base = `${outs[0]!}_fused`;
      name = base;
      for (let k = 2; this.ctx.moduleNames.has(name) || this.ctx.moduleNames.has(`${name}_loop`) || this.ctx.moduleNames.has(`${name}_tensors`); k++) name = `${base}${k}`;
      for (const n of [name, `${name}_loop`, `${name}_tensors`]) this.ctx.moduleNames.add(n);
      this.byText.set(text, name);
    }
    return name;
  }

  /** Every group's declarations, in the order the groups were first met. */
  declarations(): string[] {
    return [...this.byText].map(([text, name]) => text.split(NAME).join(name));
  }
}

/** The declarations of one group, with NAME where the group's name goes. */
function groupText(ctx: CodegenContext, body: FusedBody, ins: readonly string[], outs: readonly string[], modes: string): string {
  return [...loopFunction(ctx, body, ins, outs, modes), ...tensorsFunction(ctx, body, ins), groupConstant(body, modes)].join('\n\n');
}

/** Local names of a group's function: inputs, outputs and temps, never a module name. */
function localNames(ctx: CodegenContext, body: FusedBody, ins: readonly string[], outs: readonly string[]): { ins: string[]; outs: string[]; temps: string[]; e: string } {
  const scope = new Scope(ctx.moduleNames);
  const e = scope.fresh('e');
  return {
    ins: ins.map((n) => scope.fresh(n)),
    outs: outs.map((n) => scope.fresh(`${n}_out`)),
    temps: body.instrs.map((_, k) => scope.fresh(`t${k}`)),
    e,
  };
}

/** The statements of a body, each instruction as `expr(op, operands, attr)`, with a comment where the source line changes. */
function statements(
  ctx: CodegenContext,
  body: FusedBody,
  ins: readonly string[],
  temps: readonly string[],
  expr: (op: string, operands: readonly string[], attr: number | undefined) => string,
  num: (x: number) => string,
): string[] {
  const lines: string[] = [];
  let last: string | undefined;
  body.instrs.forEach(({ op, args, attr, source }, k) => {
    if (source !== undefined && source !== last) {
      const line = sourceLine(ctx, source);
      lines.push(`// ${commentText(source)}${line ? `: ${line}` : ''}`);
    } else if (source === undefined && last !== undefined) {
      lines.push('// (no source line: padding masks, the loss, or gradient plumbing added by rnnc)');
    }
    last = source;
    const operands = args.map((a: FusedArg) => ('in' in a ? ins[a.in]! : 'tmp' in a ? temps[a.tmp]! : num(a.num)));
    lines.push(`const ${temps[k]!} = ${expr(op, operands, attr)};`);
  });
  return lines;
}

/** `A fused group (cells.rnn:36-40)`: the source lines a body came from, per file (for a doc comment). */
function sourcesOf(body: FusedBody): string {
  const lines = new Map<string, number[]>();
  for (const { source } of body.instrs) {
    const m = source === undefined ? null : /^([^]*):(\d+)$/.exec(source);
    if (!m) continue;
    const list = lines.get(m[1]!) ?? [];
    if (!list.includes(Number(m[2]))) list.push(Number(m[2]));
    lines.set(m[1]!, list);
  }
  const ranges = [...lines].map(([file, ns]) => {
    ns.sort((a, b) => a - b);
    return `${file}:${ns[0]!}${ns.length > 1 ? `-${ns.at(-1)!}` : ''}`;
  });
  return ranges.length > 0 ? `A fused group (${commentText(ranges.join(', '))})` : 'A fused group (no source line: padding masks, the loss, or gradient plumbing added by rnnc)';
}

/**
 * How the host loop reads input k, decided from the graph's shapes (the same
 * classes as the runtime's broadcastMode, runtime/tfjs/portable-ops.ts): 'e'
 * the output's own shape, 's' one value, 'm' a trailing block, 'd' leading
 * axes, 'w' a window of the last axis. The formulas of 'm' and 'd' also hold
 * when a dimension turns out to be 1 at run time.
 */
export function staticMode(shape: Shape, out: Shape, windowed: boolean): 'e' | 's' | 'm' | 'd' | 'w' {
  if (windowed) return 'w';
  if (sameShape(shape, out)) return 'e';
  const padded: Dim[] = [...Array<number>(Math.max(0, out.length - shape.length)).fill(1), ...shape];
  if (padded.every((d) => d === 1)) return 's';
  let lead = 0;
  while (padded[lead] === 1) lead++;
  if (padded.slice(lead).every((d, i) => d === out[lead + i])) return 'm';
  let end = padded.length;
  while (padded[end - 1] === 1) end--;
  if (padded.slice(0, end).every((d, i) => d === out[i])) return 'd';
  throw new InternalError(`codegen: a fused input ${shapeToString(shape)} does not broadcast to ${shapeToString(out)} as a host loop reads it`);
}

/**
 * The host loop: one pass over the n elements in float64, each instruction
 * its entry's `loop` expression (compiler/ir/elementwise.ts), rounded to
 * float32 as an output is stored. Inputs that broadcast are read through
 * counters stepped once per element, as the runtime's generated loops do.
 */
function loopFunction(ctx: CodegenContext, body: FusedBody, inNames: readonly string[], outNames: readonly string[], modes: string): string[] {
  const { ins, outs, temps, e } = localNames(ctx, body, inNames, outNames);
  const scope = new Scope([...ctx.moduleNames, ...ins, ...outs, ...temps, e]);
  const [insArg, outsArg, n, p] = ['ins', 'outs', 'n', 'p'].map((x) => scope.fresh(x)) as [string, string, string, string];
  const pre: string[] = [];
  const reads: string[] = [];
  const step: string[] = [];
  ins.forEach((name, k) => {
    const m = modes[k]!;
    const arr = scope.fresh(`${name}_in`);
    pre.push(`const ${arr} = ${insArg}[${k}]!;`);
    if (m === 's') pre.push(`const ${name} = ${arr}[0]!;`);
    else if (m === 'e') reads.push(`const ${name} = ${arr}[${e}]!;`);
    else {
      const c = scope.fresh(`${name}_at`);
      if (m === 'm') {
        // A trailing block: the index cycles through its q values.
        const q = scope.fresh(`${name}_size`);
        pre.push(`const ${q} = ${p}[${k}]![0]!;`, `let ${c} = 0;`);
        step.push(`if (++${c} === ${q}) ${c} = 0;`);
      } else if (m === 'd') {
        // Leading axes: the index advances every q elements.
        const [q, r] = [scope.fresh(`${name}_every`), scope.fresh(`${name}_count`)];
        pre.push(`const ${q} = ${p}[${k}]![0]!;`, `let ${c} = 0;`, `let ${r} = 0;`);
        step.push(`if (++${r} === ${q}) {\n${r} = 0;\n${c}++;\n}`);
      } else {
        // A window of w columns of rows z wide, from column p[k][2].
        const [w, z, r] = [scope.fresh(`${name}_columns`), scope.fresh(`${name}_row`), scope.fresh(`${name}_count`)];
        pre.push(`const ${w} = ${p}[${k}]![0]!;`, `const ${z} = ${p}[${k}]![1]!;`, `let ${c} = ${p}[${k}]![2]!;`, `let ${r} = 0;`);
        step.push(`if (++${r} === ${w}) {\n${r} = 0;\n${c} += ${z} - ${w};\n}`);
      }
      reads.push(`const ${name} = ${arr}[${m === 'w' ? `${c}++` : c}]!;`);
    }
  });
  outs.forEach((name, j) => pre.push(`const ${name} = ${outsArg}[${j}]!;`));
  const expr = (op: string, operands: readonly string[], attr: number | undefined): string => {
    const entry = elementwiseOp(op);
    if (entry === undefined) throw new InternalError(`codegen: fused op ${op} is not element-wise`);
    const b = attr !== undefined ? `(${attr})` : operands[1];
    return entry.loop.replace(/\$([01])/g, (_, k: string) => (k === '0' ? operands[0]! : b ?? 'NaN'));
  };
  const lines = [...reads, ...statements(ctx, body, ins, temps, expr, (x) => `(${x})`)];
  body.outputs.forEach((t, j) => lines.push(`${outs[j]!}[${e}] = ${temps[t]!};`));
  lines.push(...step);
  const params = `${insArg}: readonly ArrayLike<number>[], ${outsArg}: Float32Array[], ${n}: number, ${p}: readonly (readonly number[])[]`;
  return [
    `/**\n * ${sourcesOf(body)} on the host (cpu, wasm): one pass over its ${n} elements in float64, rounded to float32 as each output is stored.\n */\nfunction ${NAME}_loop(${params}): void {\n${pre.join('\n')}\nfor (let ${e} = 0; ${e} < ${n}; ${e}++) {\n${lines.join('\n')}\n}\n}`,
  ];
}

/** The same body over tensors: each instruction is its op's tf call (as the unfused op is emitted). */
function tensorsFunction(ctx: CodegenContext, body: FusedBody, inNames: readonly string[]): string[] {
  const { ins, temps } = localNames(ctx, body, inNames, []);
  const expr = (op: string, operands: readonly string[], attr: number | undefined): string => {
    const name = elementwiseOp(op)?.attr?.name;
    const emit = OP_EMITTERS[op];
    if (emit === undefined) throw new InternalError(`codegen: no emitter for op ${op}`);
    return emit(operands, name !== undefined && attr !== undefined ? { [name]: attr } : {}, (d) => d as number);
  };
  const lines = statements(ctx, body, ins, temps, expr, (x) => `tf.scalar(${numberLiteral(x)})`);
  lines.push(`return [${body.outputs.map((t) => temps[t]!).join(', ')}];`);
  return [
    `/** ${sourcesOf(body)} over tensors, one tf call per op: on other backends, and while tfjs's own autodiff records. */\nfunction ${NAME}_tensors(${ins.map((n) => `${n}: tf.Tensor`).join(', ')}): tf.Tensor[] {\n${lines.join('\n')}\n}`,
  ];
}

/** A fused body as a TypeScript literal (compiler/ir/types.ts FusedBody). */
function bodyLiteral(body: FusedBody): string {
  const arg = (a: FusedArg): string => ('in' in a ? `{ in: ${a.in} }` : 'tmp' in a ? `{ tmp: ${a.tmp} }` : `{ num: ${numberLiteral(a.num)} }`);
  const instrs = body.instrs.map((i) => `{ op: ${stringLiteral(i.op)}, args: [${i.args.map(arg).join(', ')}]${i.attr !== undefined ? `, attr: ${numberLiteral(i.attr)}` : ''} }`);
  return `{ instrs: [${instrs.join(', ')}], outputs: [${body.outputs.join(', ')}] }`;
}

function groupConstant(body: FusedBody, modes: string): string {
  return `/** ${sourcesOf(body)}: fusedGroup runs it, on the host, as generated WebGPU kernels (from its body) or op by op. */\nconst ${NAME}: FusedGroup = { loop: ${NAME}_loop, modes: ${stringLiteral(modes)}, tensors: ${NAME}_tensors, body: ${bodyLiteral(body)} };`;
}
