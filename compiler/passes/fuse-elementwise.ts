// Elementwise fusion: a connected group of elementwise ops (add, mul,
// tanh, sigmoid, ...) of one result shape becomes a single `fused` node
// whose body lists the ops (types.ts FusedBody) and whose outputs are the group's values read
// outside it. The runtime runs a group as one kernel where that pays (a
// JavaScript loop over the elements on cpu, and on wasm where per-kernel
// dispatch outweighs the arithmetic: streaming steps at batch 1), else op by
// op (runtime/tfjs/portable-ops.ts `fused`). An LSTM step's 17 elementwise
// kernels become one.
//
// When: last in the forward and training pipelines, after differentiation
// (no VJP is needed) and after every pass that pattern-matches single ops.
// Scan bodies are fused recursively.
//
// In loop bodies, products that read element-wise results (and what reads
// them) first move to the end (sinkProducts), so more of a step's ops can
// group.
//
// Grouping, in node order: an elementwise node joins the groups of those of
// its inputs made by elementwise nodes of the same shape, unless some value
// of such a group is read by a node outside it that comes before this node
// (the group runs where its last member was, so that reader would run before
// the value exists). Scalar constants are written into the body. A group
// of one node stays as it is.
//
// Pre: a verified graph. Post: a verified graph computing the same values
// (float64 loops round once instead of per op: float32 rounding apart); the
// same object when nothing fuses. Not handled: ops whose inputs broadcast
// other than as the same shape, a scalar, a trailing block ([H] against
// [B, H]) or leading axes ([B, 1] against [B, H]): they are left unfused.
import { elementwiseOp } from '../ir/elementwise.js';
import { GraphBuilder } from '../ir/builder.js';
import { eliminateDeadCode } from './dead-code.js';
import { sameShape } from '../ir/shape.js';
import type { FusedArg, FusedBody, FusedInstr, Graph, Node, Shape, ValueId } from '../ir/types.js';

/** Whether `s` broadcasts against `out` in one of the ways a fused loop reads (see the file comment). */
function readsAsFused(s: Shape, out: Shape): boolean {
  if (s.length > out.length) return false;
  const padded = [...Array<number>(out.length - s.length).fill(1), ...s];
  if (padded.every((d) => d === 1)) return true;
  let lead = 0;
  while (padded[lead] === 1) lead++;
  if (padded.slice(lead).every((d, i) => d === out[lead + i])) return true;
  let end = padded.length;
  while (padded[end - 1] === 1) end--;
  return padded.slice(0, end).every((d, i) => d === out[i]);
}

interface Group {
  readonly members: number[];
}

/**
 * A loop body's nodes with the products that read element-wise results, and
 * everything after them that reads theirs, moved to the end (each part in
 * its old order). A backward step's derivative of a gate (`(1 - s) * s * d`)
 * then follows the group computing `d` directly, not after a product
 * reading that group (which would close the group to it): an LSTM's
 * backward step becomes one group instead of five. A forward step, whose
 * products read only the step's inputs, keeps its order.
 */
function sinkProducts(g: Graph): Graph {
  const producer = new Map<ValueId, number>();
  g.nodes.forEach((node, i) => node.outputs.forEach((o) => producer.set(o, i)));
  // A fused group counts as element-wise: the pass run again on its own output changes nothing.
  const elementwise = (i: number): boolean => elementwiseOp(g.nodes[i]!.op) !== undefined || g.nodes[i]!.op === 'fused';
  const sinks = new Array<boolean>(g.nodes.length).fill(false);
  g.nodes.forEach((node, i) => {
    const from = node.inputs.map((v) => producer.get(v)).filter((p): p is number => p !== undefined);
    sinks[i] = from.some((p) => sinks[p]) || (!elementwise(i) && from.some(elementwise));
  });
  if (!sinks.includes(true)) return g;
  // Nodes that stay read only nodes that stay: the order is still topological.
  const order = [...g.nodes.keys()].filter((i) => !sinks[i]).concat([...g.nodes.keys()].filter((i) => sinks[i]));
  return order.every((i, k) => i === k) ? g : { ...g, nodes: order.map((i) => g.nodes[i]!) };
}

export function fuseElementwise(g: Graph, loopBody = false): Graph {
  if (loopBody) g = sinkProducts(g);
  const bodies = g.nodes.map((n) => (n.op === 'scan' ? fuseElementwise(n.body!, true) : undefined));
  const producer = new Map<ValueId, number>();
  const readers = new Map<ValueId, number[]>();
  g.nodes.forEach((n, i) => {
    n.outputs.forEach((o) => producer.set(o, i));
    n.inputs.forEach((v) => readers.set(v, [...(readers.get(v) ?? []), i]));
  });
  const shapeOf = (v: ValueId): Shape => g.values[v]!.type.shape;
  const isConstant = (v: ValueId): boolean => {
    const p = producer.get(v);
    return p !== undefined && g.nodes[p]!.op === 'constant' && Number.isFinite(g.nodes[p]!.attrs['value'] as number);
  };
  // A slice of the last axis is read through a window of what it slices (a gate's columns of a product of all gates).
  const window = (v: ValueId): { value: ValueId; begin: number; size: number } | undefined => {
    const p = producer.get(v);
    const node = p === undefined ? undefined : g.nodes[p]!;
    return node?.op === 'slice_last'
      ? { value: node.inputs[0]!, begin: node.attrs['begin'] as number, size: node.attrs['size'] as number }
      : undefined;
  };
  const fusable = (n: Node): boolean =>
    elementwiseOp(n.op) !== undefined &&
    g.values[n.outputs[0]!]!.type.dtype === 'f32' &&
    n.inputs.every((v) => g.values[v]!.type.dtype === 'f32' && (isConstant(v) || readsAsFused(shapeOf(v), shapeOf(n.outputs[0]!))));

  const groupOf = new Map<number, Group>();
  g.nodes.forEach((n, i) => {
    if (!fusable(n)) return;
    const shape = shapeOf(n.outputs[0]!);
    const candidates: Group[] = [];
    for (const v of n.inputs) {
      const p = producer.get(v);
      const grp = p === undefined ? undefined : groupOf.get(p);
      if (grp && !candidates.includes(grp) && sameShape(shapeOf(v), shape)) candidates.push(grp);
    }
    // A group may take n in if nothing outside it (and outside the other groups joining) reads it before n.
    const readEarly = (joining: readonly Group[]): boolean =>
      joining.some((grp) =>
        grp.members.some((m) =>
          g.nodes[m]!.outputs.some((o) =>
            (readers.get(o) ?? []).some((r) => r < i && !joining.some((j) => j.members.includes(r))),
          ),
        ),
      );
    let joining = candidates;
    if (readEarly(joining)) joining = candidates.filter((c) => !readEarly([c])).slice(0, 1);
    const group: Group = { members: [...joining.flatMap((c) => c.members), i].sort((a, b) => a - b) };
    group.members.forEach((m) => groupOf.set(m, group));
  });

  const groups = [...new Set(groupOf.values())].filter((grp) => grp.members.length > 1);
  if (groups.length === 0 && bodies.every((b, i) => b === undefined || b === g.nodes[i]!.body)) return g;
  const lastOf = new Map(groups.map((grp) => [grp.members.at(-1)!, grp] as const));
  const inGroup = new Set(groups.flatMap((grp) => grp.members));
  const graphOutputs = new Set(g.outputs.map((o) => o.value));

  const b = new GraphBuilder();
  const map = new Map<ValueId, ValueId>();
  const get = (v: ValueId): ValueId => map.get(v)!;
  g.inputs.forEach((inp) => map.set(inp.value, b.input(g.values[inp.value]!.type, inp.role, inp.name)));
  const bind = (old: readonly ValueId[], now: readonly ValueId[]): void =>
    old.forEach((o, k) => {
      map.set(o, now[k]!);
      const name = g.values[o]?.name;
      if (name !== undefined) b.rename(now[k]!, name);
    });
  g.nodes.forEach((node, i) => {
    const grp = lastOf.get(i);
    if (grp) {
      const { body, inputs, outputs } = fusedProgram(g, grp.members, isConstant, producer, readers, graphOutputs, window);
      // A group nothing reads (a dead state's update in a scan body) is dead code: nothing to emit.
      if (outputs.length === 0) return;
      const source = g.nodes[i]!.source;
      const windows = inputs.some((inp) => inp.window !== undefined) ? inputs.flatMap((inp) => inp.window ?? [-1, -1]) : undefined;
      const attrs = { body, ...(windows ? { windows } : {}) };
      const outs = b.emit('fused', inputs.map((inp) => get(inp.value)), attrs, source !== undefined ? { source } : {});
      bind(
        outputs.map((o) => o.value),
        outs,
      );
    } else if (!inGroup.has(i)) {
      const src = node.source !== undefined ? { source: node.source } : {};
      const body = bodies[i];
      bind(node.outputs, b.emit(node.op, node.inputs.map(get), node.attrs, body ? { ...src, body } : src));
    }
  });
  g.outputs.forEach((o) => b.output(get(o.value), o.role, o.name));
  // Slices now read through windows are dead.
  return eliminateDeadCode(b.build());
}

/** An input of a fused node: a value, read whole or through a window [begin, size] of its last axis. */
interface FusedInput {
  readonly value: ValueId;
  readonly window?: readonly [number, number];
}

/** The body of a group: its instructions, the values it reads (inputs) and those read outside it (outputs). */
function fusedProgram(
  g: Graph,
  members: readonly number[],
  isConstant: (v: ValueId) => boolean,
  producer: ReadonlyMap<ValueId, number>,
  readers: ReadonlyMap<ValueId, readonly number[]>,
  graphOutputs: ReadonlySet<ValueId>,
  window: (v: ValueId) => { value: ValueId; begin: number; size: number } | undefined,
): { body: FusedBody; inputs: FusedInput[]; outputs: { value: ValueId; instr: number }[] } {
  const instrOf = new Map<ValueId, number>();
  const inputs: FusedInput[] = [];
  const instrs = members.map((m, k): FusedInstr => {
    const node = g.nodes[m]!;
    const args = node.inputs.map((v): FusedArg => {
      const t = instrOf.get(v);
      if (t !== undefined) return { tmp: t };
      if (isConstant(v)) return { num: g.nodes[producer.get(v)!]!.attrs['value'] as number };
      // Only a slice of the group's own shape (a broadcast one is read whole).
      const w = sameShape(g.values[v]!.type.shape, g.values[node.outputs[0]!]!.type.shape) ? window(v) : undefined;
      const input: FusedInput = w ? { value: w.value, window: [w.begin, w.size] } : { value: v };
      let at = inputs.findIndex((x) => x.value === input.value && x.window?.[0] === input.window?.[0] && x.window?.[1] === input.window?.[1]);
      if (at < 0) at = inputs.push(input) - 1;
      return { in: at };
    });
    instrOf.set(node.outputs[0]!, k);
    // A unary op's attribute (leaky_relu's alpha) travels with its instruction.
    const attr = elementwiseOp(node.op)?.attr;
    return {
      op: node.op,
      args,
      ...(attr ? { attr: node.attrs[attr.name] as number } : {}),
      ...(node.source !== undefined ? { source: node.source } : {}),
    };
  });
  const outputs = members
    .map((m, k) => ({ value: g.nodes[m]!.outputs[0]!, instr: k }))
    .filter(({ value }) => graphOutputs.has(value) || (readers.get(value) ?? []).some((r) => !members.includes(r)));
  return { body: { instrs, outputs: outputs.map((o) => o.instr) }, inputs, outputs };
}
