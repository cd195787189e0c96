// IR graphs -> TypeScript functions (as ts-morph structures whose bodies are
// statement text). One function per graph region: each top-level graph
// (predict, loss, training) is a function of the parameters, the batch
// tensors it reads and the initial state; each scan body is its own function
// of (carries, per-step slices, constants) returning its new carries and
// per-step outputs; a scan becomes a loop over time that calls it once per
// step inside tf.tidy (so a step's intermediates are freed when it ends, as
// runtime/tfjs/execute.ts does).
//
// Names: values keep their source names (`h`, `c`, `h.W_g` -> `h_W_g`), the
// cotangents of the reverse sweep are `d_<name>`, the last value of an
// equation in a cell is named after the equation's target (`g`, `i`), and
// the rest are `v<id>`. A comment before each group of nodes quotes the
// source line they came from.
//
// Pre: verified graphs with every dimension that an attribute carries bound
// to a number. Not handled: nothing beyond the registry (scan bodies may
// nest; each nesting level is one more function).
import type { FunctionDeclarationStructure, OptionalKind, ParameterDeclarationStructure } from 'ts-morph';
import { StructureKind } from 'ts-morph';
import { InternalError } from '../diagnostics/diagnostic.js';
import { printGraph } from '../ir/printer.js';
import { verifyGraph } from '../ir/verify.js';
import type { Dim, Graph, ValueId } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';
import { JOINED_SEPARATOR } from '../passes/lift-param-transposes.js';
import { FusedGroups } from './emit-fused.js';
import { OP_EMITTERS, type DimResolver } from './emit-ops.js';
import { commentText, identifier, propertyKey, stringLiteral } from './escape.js';

/** A value's name as an identifier (`ct_` -> `d_`; see escape.ts for the rest). */
export function sanitize(name: string): string {
  return identifier(name.replace(/^ct_/, 'd_'));
}

/** Identifiers of one function (or the module), unique within it. */
export class Scope {
  private readonly used: Set<string>;
  constructor(reserved: Iterable<string>) {
    this.used = new Set(reserved);
  }
  fresh(base: string): string {
    const b = sanitize(base);
    let name = b;
    for (let k = 2; this.used.has(name); k++) name = `${b}_${k}`;
    this.used.add(name);
    return name;
  }
}

/** A single-quoted string literal (names such as `h.W_g` as object keys); see escape.ts. */
export const quote = stringLiteral;

export interface CodegenContext {
  /** Source texts by base file name (`cells.rnn`), to quote the line a node came from. */
  readonly sources: ReadonlyMap<string, string>;
  readonly dim: DimResolver;
  /** Names the module defines at top level (helpers, types, functions). */
  readonly moduleNames: Set<string>;
}

/**
 * The source line `file:line` points at, trimmed, without a trailing `#`
 * comment, escaped for a comment of the emitted code (escape.ts).
 */
export function sourceLine(ctx: CodegenContext, source: string): string | undefined {
  const m = /^([^]*):(\d+)$/.exec(source);
  if (!m) return undefined;
  const text = ctx.sources.get(m[1]!);
  const line = text?.split(/\r\n|\r|\n/)[Number(m[2]) - 1];
  return line === undefined ? undefined : commentText(withoutComment(line).trim());
}

/** A source line up to its `#` comment (a `#` inside a string literal does not start one). */
function withoutComment(line: string): string {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') inString = !inString;
    else if (line[i] === '#' && !inString) return line.slice(0, i);
  }
  return line;
}

const equationTarget = (line: string | undefined): string | undefined => /^([A-Za-z_]\w*)\s*(\[\s*t\s*\])?\s*=/.exec(line ?? '')?.[1];

/** What a top-level graph function takes, in order: the caller builds its call from this. */
export type GraphArg =
  | { readonly kind: 'params' }
  | { readonly kind: 'data'; readonly name: string }
  | { readonly kind: 'state' }
  | { readonly kind: 'control'; readonly name: string };

export interface TopLevelFunction {
  readonly structure: OptionalKind<FunctionDeclarationStructure> & { kind: StructureKind.Function };
  readonly args: readonly GraphArg[];
  /** The roles of the returned object: `loss`, `output`, `state`, `grads`. */
  readonly returns: readonly string[];
}

interface BodyInfo {
  readonly name: string;
  readonly graph: Graph;
  readonly backward: boolean;
}

/**
 * Emits graphs as functions. Call `plan` for every graph first (it names
 * every scan body, so no local name can shadow a function), then `emitTop`.
 */
export class GraphEmitter {
  private readonly bodies = new Map<string, BodyInfo>();
  private readonly bodyOrder: BodyInfo[] = [];
  private readonly groups: FusedGroups;

  constructor(private readonly ctx: CodegenContext) {
    this.groups = new FusedGroups(ctx);
  }

  /** Names the scan bodies of `g` (recursively); `prefix` tells apart the bodies of different graphs. */
  plan(g: Graph, prefix: string): void {
    g.nodes.forEach((node, i) => {
      if (node.op !== 'scan') return;
      const body = node.body!;
      const key = printGraph(body);
      if (!this.bodies.has(key)) {
        const backward = body.outputs.some((o) => o.name.startsWith('d_'));
        const label =
          node.outputs.map((o) => g.values[o]?.name).find((n) => n !== undefined) ??
          equationTarget(node.source !== undefined ? sourceLine(this.ctx, node.source) : undefined) ??
          `scan${i}`;
        const base = `${sanitize(label)}${prefix}${backward ? '_backward' : ''}_step`;
        let name = base;
        for (let k = 2; this.ctx.moduleNames.has(name); k++) name = `${base}${k}`;
        this.ctx.moduleNames.add(name);
        const info = { name, graph: body, backward };
        this.bodies.set(key, info);
        this.bodyOrder.push(info);
      }
      this.plan(body, prefix);
    });
  }

  /** The fused groups' functions and constants (emit-fused.ts), for the groups met by emitTop and bodyFunctions (call after both). */
  fusedDeclarations(): string[] {
    return this.groups.declarations();
  }

  /** The scan body functions, in the order they were first met. */
  bodyFunctions(): (OptionalKind<FunctionDeclarationStructure> & { kind: StructureKind.Function })[] {
    return this.bodyOrder.map((b) => this.emitBody(b));
  }

  /** `stateType`: the type of the state argument and result (a graph whose states are not the model's own: a record). */
  emitTop(g: Graph, name: string, doc: string, stateType = 'State'): TopLevelFunction {
    // The graphs codegen receives went through passes of its own (lift-param-transposes, unroll-scans).
    verifyGraph(g, `codegen input ${name}`);
    const scope = new Scope(this.ctx.moduleNames);
    const used = usedValues(g);
    const expr = new Map<ValueId, string>();
    const params: OptionalKind<ParameterDeclarationStructure>[] = [];
    const args: GraphArg[] = [];
    const pName = scope.fresh('p');
    const sName = scope.fresh('s');
    let usesParams = false;
    let usesState = false;
    for (const inp of g.inputs) {
      if (!used.has(inp.value)) continue;
      if (inp.role === 'param') {
        usesParams = true;
        expr.set(inp.value, `${pName}[${quote(inp.name)}]`);
      } else if (inp.role === 'derived') {
        // `transpose:<param>` or `transpose:P1+P2+...`: made once per Params object and kept (see the module's `transposed`).
        usesParams = true;
        const names = inp.name.slice(inp.name.indexOf(':') + 1).split(JOINED_SEPARATOR);
        expr.set(inp.value, `transposed(${pName}, [${names.map(quote).join(', ')}])`);
      } else if (inp.role === 'state') {
        usesState = true;
        expr.set(inp.value, `${sName}[${quote(inp.name)}]`);
      }
    }
    if (usesParams) {
      params.push({ name: pName, type: 'Params' });
      args.push({ kind: 'params' });
    }
    for (const inp of g.inputs) {
      if (!used.has(inp.value) || (inp.role !== 'data' && inp.role !== 'control')) continue;
      const id = scope.fresh(inp.name);
      expr.set(inp.value, id);
      params.push({ name: id, type: 'tf.Tensor' });
      args.push(inp.role === 'data' ? { kind: 'data', name: inp.name } : { kind: 'control', name: inp.name });
    }
    if (usesState) {
      params.push({ name: sName, type: stateType });
      args.push({ kind: 'state' });
    }
    const lines = this.emitNodes(g, scope, expr, false);
    const fields: string[] = [];
    const types: string[] = [];
    const returns: string[] = [];
    const group = (role: string, key: string, type: string): void => {
      const outs = g.outputs.filter((o) => o.role === role);
      if (outs.length === 0) return;
      const prefix = role === 'grad' ? 2 : 0; // `d_h.W` is the gradient of `h.W`
      fields.push(`${key}: { ${outs.map((o) => `${propertyKey(o.name.slice(prefix))}: ${expr.get(o.value)!}`).join(', ')} }`);
      types.push(`${key}: ${type}`);
      returns.push(key);
    };
    for (const role of ['loss', 'output'] as const) {
      const o = g.outputs.find((x) => x.role === role);
      if (!o) continue;
      fields.push(`${role}: ${expr.get(o.value)!}`);
      types.push(`${role}: tf.Tensor`);
      returns.push(role);
    }
    group('state', 'state', stateType);
    group('grad', 'grads', 'Params');
    // Values a graph outputs on request (the weights of each `attend`, `<instance>.<equation>.alpha`).
    group('result', 'results', 'Readonly<Record<string, tf.Tensor>>');
    lines.push(`return { ${fields.join(', ')} };`);
    return {
      structure: {
        kind: StructureKind.Function,
        name,
        docs: [doc],
        parameters: params,
        returnType: `{ ${types.join('; ')} }`,
        statements: lines,
      },
      args,
      returns,
    };
  }

  private emitBody(b: BodyInfo): OptionalKind<FunctionDeclarationStructure> & { kind: StructureKind.Function } {
    const g = b.graph;
    const scope = new Scope(this.ctx.moduleNames);
    const expr = new Map<ValueId, string>();
    const params = g.inputs.map((inp) => {
      const id = scope.fresh(inp.name);
      expr.set(inp.value, id);
      return { name: id, type: 'tf.Tensor' };
    });
    const lines = this.emitNodes(g, scope, expr, !b.backward);
    lines.push(`return [${g.outputs.map((o) => expr.get(o.value)!).join(', ')}];`);
    const nCarry = g.outputs.filter((o) => o.role === 'state').length;
    const what = b.backward
      ? 'One step of the reverse (gradient) loop: the cotangents of the carries and the parameter gradients accumulated so far, the step\'s saved carries and inputs, and the cotangents of its outputs, give the cotangents one step earlier.'
      : 'One time step: the carries entering the step, the step\'s slices of the inputs, and the constants give the new carries and the step\'s outputs.';
    return {
      kind: StructureKind.Function,
      name: b.name,
      docs: [`${what}\nReturns [${g.outputs.map((o, i) => `${i < nCarry ? 'carry ' : ''}${o.name}`).join(', ')}].`],
      parameters: params,
      returnType: `[${g.outputs.map(() => 'tf.Tensor').join(', ')}]`,
      statements: lines,
    };
  }

  /** The statements computing every node of g; fills `expr` with each value's identifier. */
  private emitNodes(g: Graph, scope: Scope, expr: Map<ValueId, string>, nameEquations: boolean): string[] {
    const names = this.valueNames(g, nameEquations);
    const lines: string[] = [];
    const nameOf = (v: ValueId): string => {
      const e = expr.get(v);
      if (e === undefined) throw new InternalError(`codegen: %${v} used before it is computed`);
      return e;
    };
    // Names first, in node order, so that they do not depend on loop temporaries.
    for (const node of g.nodes) for (const o of node.outputs) if (!expr.has(o)) expr.set(o, scope.fresh(names.get(o) ?? `v${o}`));
    // As the interpreter (runtime/tfjs/execute.ts): a loop's per-step outputs that later loops read
    // step by step are passed on as arrays, stacked only when something reads them whole.
    const whole = valuesReadWhole(g);
    const stepArrays = new Map<ValueId, string>();
    let lastSource: string | undefined;
    for (const node of g.nodes) {
      if (node.source !== undefined && node.source !== lastSource) {
        const line = sourceLine(this.ctx, node.source);
        lines.push(`// ${commentText(node.source)}${line ? `: ${line}` : ''}`);
      } else if (node.source === undefined && lastSource !== undefined) {
        lines.push('// (no source line: padding masks, the loss, or gradient plumbing added by rnnc)');
      }
      lastSource = node.source;
      const args = node.inputs.map(nameOf);
      if (node.op === 'scan') {
        lines.push(...this.emitLoop(node, args, scope, expr, whole, stepArrays));
        continue;
      }
      if (node.op === 'fused') {
        // One call for the group: its functions are written out once at module level (emit-fused.ts).
        const outs = node.outputs.map((o) => expr.get(o)!);
        const windows = node.attrs['windows'] as readonly number[] | undefined;
        const windowArg = windows !== undefined ? `, [${windows.join(', ')}]` : '';
        lines.push(`const [${outs.join(', ')}] = fusedGroup(${this.groups.nameOf(g, node, outs)}, [${args.join(', ')}]${windowArg});`);
        continue;
      }
      const emit = OP_EMITTERS[node.op];
      if (!emit) throw new InternalError(`codegen: no emitter for op ${node.op}`);
      lines.push(`const ${expr.get(node.outputs[0]!)!} = ${emit(args, node.attrs, this.ctx.dim)};`);
    }
    return lines;
  }

  private emitLoop(
    node: Graph['nodes'][number],
    args: readonly string[],
    scope: Scope,
    expr: Map<ValueId, string>,
    whole: ReadonlySet<ValueId>,
    stepArrays: Map<ValueId, string>,
  ): string[] {
    const { nCarry, nXs, reverse } = scanAttrs(node);
    const body = node.body!;
    const info = this.bodies.get(printGraph(body));
    if (!info) throw new InternalError('codegen: a scan body was not planned');
    const lines: string[] = [];
    const carries = node.outputs.slice(0, nCarry).map((o) => expr.get(o)!);
    carries.forEach((c, i) => lines.push(`let ${c}: tf.Tensor = ${args[i]!};`));
    const xs = body.inputs.slice(nCarry, nCarry + nXs).map((inp, j) => {
      const given = stepArrays.get(node.inputs[nCarry + j]!);
      if (given !== undefined) return given;
      const id = scope.fresh(`${inp.name}_steps`);
      lines.push(`const ${id} = unstackTime(${args[nCarry + j]!});`);
      return id;
    });
    const steps = scope.fresh('steps');
    lines.push(`const ${steps} = ${xs.length > 0 ? `${xs[0]!}.length` : '0'};`);
    const ys = node.outputs.slice(nCarry).map((o) => {
      const id = scope.fresh(`${expr.get(o)!}_steps`);
      lines.push(`const ${id} = new Array<tf.Tensor>(${steps});`);
      return id;
    });
    const t = scope.fresh('t');
    const out = scope.fresh('out');
    const stepArgs = [...carries, ...xs.map((x) => `${x}[${t}]!`), ...args.slice(nCarry + nXs)];
    lines.push(
      reverse ? `for (let ${t} = ${steps} - 1; ${t} >= 0; ${t}--) {` : `for (let ${t} = 0; ${t} < ${steps}; ${t}++) {`,
      `const ${out} = tf.tidy(() => ${info.name}(${stepArgs.join(', ')}));`,
      ...carries.map((c, i) => `${c} = ${out}[${i}];`),
      ...ys.map((y, i) => `${y}[${t}] = ${out}[${nCarry + i}];`),
      '}',
    );
    node.outputs.slice(nCarry).forEach((o, i) => {
      stepArrays.set(o, ys[i]!);
      if (whole.has(o)) lines.push(`const ${expr.get(o)!} = stackTime(${ys[i]!});`);
    });
    return lines;
  }

  /** Preferred names of the values computed in g (identifiers are made unique later). */
  private valueNames(g: Graph, nameEquations: boolean): Map<ValueId, string> {
    const names = new Map<ValueId, string>();
    const inputNames = new Set(g.inputs.map((i) => i.name));
    g.nodes.forEach((node) => {
      node.outputs.forEach((o) => {
        const n = g.values[o]?.name;
        if (n !== undefined) names.set(o, n);
      });
    });
    for (const o of g.outputs) {
      if (names.has(o.value) || g.inputs.some((i) => i.value === o.value)) continue;
      names.set(o.value, o.role === 'state' && inputNames.has(o.name) ? `${o.name}_next` : o.name);
    }
    // Scan outputs: carries and ys after the body's own output names.
    for (const node of g.nodes) {
      if (node.op !== 'scan') continue;
      node.outputs.forEach((o, i) => {
        if (!names.has(o)) names.set(o, i < scanAttrs(node).nCarry ? `${node.body!.outputs[i]!.name}_final` : `${node.body!.outputs[i]!.name}_seq`);
      });
    }
    if (nameEquations) {
      // The last node of each equation's group is the equation's target.
      g.nodes.forEach((node, i) => {
        const next = g.nodes[i + 1];
        if (node.source === undefined || next?.source === node.source || node.outputs.length !== 1) return;
        const target = equationTarget(sourceLine(this.ctx, node.source));
        if (target !== undefined && !names.has(node.outputs[0]!)) names.set(node.outputs[0]!, target);
      });
    }
    return names;
  }
}

function usedValues(g: Graph): Set<ValueId> {
  const used = new Set<ValueId>();
  for (const n of g.nodes) for (const v of n.inputs) used.add(v);
  for (const o of g.outputs) used.add(o.value);
  return used;
}

/** A resolver for the dims of attributes, given the model's bound dimensions. */
export function dimResolver(dims: ReadonlyMap<string, Dim>): DimResolver {
  return (d) => {
    if (typeof d === 'number') return d;
    const v = dims.get(d);
    if (typeof v === 'number') return v;
    throw new InternalError(`codegen: dimension ${d} has no value`);
  };
}

/** Values of a graph that some reader needs whole: graph outputs and inputs of any node except as a loop's per-step input. */
function valuesReadWhole(g: Graph): Set<ValueId> {
  const s = new Set<ValueId>(g.outputs.map((o) => o.value));
  for (const n of g.nodes) {
    if (n.op !== 'scan') n.inputs.forEach((v) => s.add(v));
    else {
      const { nCarry, nXs } = scanAttrs(n);
      n.inputs.forEach((v, k) => {
        if (k < nCarry || k >= nCarry + nXs) s.add(v);
      });
    }
  }
  return s;
}
