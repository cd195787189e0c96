// Fusing the products of a cell's gates: inside a loop, the products of one
// value with several loop-constant matrices (`h @ W_g^T`, `h @ W_i^T`, ...:
// an LSTM's four gates, a GRU's two) become one product with the matrices
// side by side, and each gate reads its columns; likewise the lookups of one
// token input in several tables (the hoisted input projections of one-hot
// inputs) become one lookup in the tables side by side, passed to the loop
// as one per-step input. The elementwise groups after them read the gates'
// columns through windows (fuse-elementwise.ts), so no slice runs either.
// A streaming LSTM step then runs one lookup and one product instead of four
// of each.
//
// When: on the graph that sampling and streaming run (predict; pipeline.ts
// PREDICT_PIPELINE), after the weight transposes are hoisted. Not on the
// training and evaluation graphs: at a training batch the products cost the
// same either way, and where a gate's columns must be cut out for an op that
// is not elementwise (the backward pass), wasm's slice kernel copies slowly.
// The side-by-side matrices are made from parameters only, so the runtime
// keeps them with the parameter transposes (lift-param-transposes.ts).
//
// Pre: a verified graph. Post: a verified graph computing the same values
// (the same dot products; float rounding of the product kernel aside); the
// same object when no loop has such a group. Not handled: nested scans;
// products whose matrices are computed inside the loop.
import { GraphBuilder, rebuildGraph } from '../ir/builder.js';
import type { Graph, Node, ValueId } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';

/** Body nodes `mm(v, c_k)` with one v and loop constants c_k of one row count. */
interface ProductGroup {
  readonly nodes: readonly Node[];
  /** Body input index of each node's matrix. */
  readonly constIndex: readonly number[];
}

/** Per-step inputs (xs indices) that are lookups of one id tensor in tables of one row count. */
interface LookupGroup {
  readonly xsIndex: readonly number[];
  readonly tables: readonly ValueId[];
  readonly ids: ValueId;
}

const width = (g: Graph, v: ValueId): number | undefined => {
  const last = g.values[v]!.type.shape.at(-1);
  return typeof last === 'number' ? last : undefined;
};

function productGroups(scan: Node): ProductGroup[] {
  const { nCarry, nXs } = scanAttrs(scan);
  const body = scan.body!;
  const index = new Map(body.inputs.map((inp, k) => [inp.value, k] as const));
  const byOperand = new Map<ValueId, { nodes: Node[]; constIndex: number[] }>();
  for (const n of body.nodes) {
    if (n.op !== 'mm') continue;
    const c = index.get(n.inputs[1]!);
    const t = body.values[n.inputs[1]!]!.type;
    if (c === undefined || c < nCarry + nXs || t.shape.length !== 2 || width(body, n.inputs[1]!) === undefined) continue;
    const entry = byOperand.get(n.inputs[0]!) ?? { nodes: [], constIndex: [] };
    const rows = entry.constIndex.length > 0 ? body.values[body.inputs[entry.constIndex[0]!]!.value]!.type.shape[0] : t.shape[0];
    if (rows !== t.shape[0] || entry.constIndex.includes(c)) continue;
    entry.nodes.push(n);
    entry.constIndex.push(c);
    byOperand.set(n.inputs[0]!, entry);
  }
  return [...byOperand.values()].filter((e) => e.nodes.length > 1);
}

function lookupGroups(g: Graph, scan: Node): LookupGroup[] {
  const { nCarry, nXs } = scanAttrs(scan);
  const producer = new Map(g.nodes.map((n) => [n.outputs[0]!, n] as const));
  const byIds = new Map<ValueId, { xsIndex: number[]; tables: ValueId[] }>();
  // Only lookups the loop reads: those this pass already joined stay as inputs nothing reads until
  // prune-scan-inputs runs, and joining them again would make the pass change its own output.
  const body = scan.body!;
  const read = new Set<ValueId>([...body.nodes.flatMap((n) => n.inputs), ...body.outputs.map((o) => o.value)]);
  for (let k = nCarry; k < nCarry + nXs; k++) {
    if (!read.has(body.inputs[k]!.value)) continue;
    const p = producer.get(scan.inputs[k]!);
    if (p?.op !== 'gather' || g.values[p.inputs[0]!]!.type.shape.length !== 2 || width(g, p.inputs[0]!) === undefined) continue;
    const entry = byIds.get(p.inputs[1]!) ?? { xsIndex: [], tables: [] };
    const rows = entry.tables.length > 0 ? g.values[entry.tables[0]!]!.type.shape[0] : g.values[p.inputs[0]!]!.type.shape[0];
    if (rows !== g.values[p.inputs[0]!]!.type.shape[0]) continue;
    entry.xsIndex.push(k);
    entry.tables.push(p.inputs[0]!);
    byIds.set(p.inputs[1]!, entry);
  }
  return [...byIds.entries()].filter(([, e]) => e.xsIndex.length > 1).map(([ids, e]) => ({ ...e, ids }));
}

export function fuseGateProducts(g: Graph): Graph {
  const plans = new Map(g.nodes.filter((n) => n.op === 'scan').map((n) => [n, { products: productGroups(n), lookups: lookupGroups(g, n) }] as const));
  if ([...plans.values()].every((p) => p.products.length === 0 && p.lookups.length === 0)) return g;
  return rebuildGraph(g, (node, { b, get, src }) => {
    const plan = plans.get(node);
    if (!plan || (plan.products.length === 0 && plan.lookups.length === 0)) return undefined;
    const { nCarry, nXs } = scanAttrs(node);
    const inputs = node.inputs.map(get);
    const lookups = plan.lookups.map((l) => b.op('gather', [b.op('concat', l.tables.map(get), {}, src), get(l.ids)], {}, src));
    const matrices = plan.products.map((p) => b.op('concat', p.constIndex.map((c) => inputs[c]!), {}, src));
    return b.emit(
      'scan',
      [...inputs.slice(0, nCarry + nXs), ...lookups, ...inputs.slice(nCarry + nXs), ...matrices],
      { ...node.attrs, nXs: nXs + lookups.length },
      { ...src, body: rewriteBody(node.body!, nCarry, nXs, plan.products, plan.lookups) },
    );
  });
}

/** The body reading each lookup group from one new per-step input and each product group from one new constant. */
function rewriteBody(body: Graph, nCarry: number, nXs: number, products: readonly ProductGroup[], lookups: readonly LookupGroup[]): Graph {
  const b = new GraphBuilder();
  const map = new Map<ValueId, ValueId>();
  body.inputs.forEach((inp) => map.set(inp.value, b.input(body.values[inp.value]!.type, inp.role, inp.name)));
  const nBody = body.inputs.length;
  // New per-step inputs first (they are placed after the xs below), then the new constants.
  lookups.forEach((l, k) => {
    const widths = l.xsIndex.map((x) => width(body, body.inputs[x]!.value)!);
    const lead = body.values[body.inputs[l.xsIndex[0]!]!.value]!.type.shape.slice(0, -1);
    const joined = b.input({ shape: [...lead, widths.reduce((a, c) => a + c, 0)], dtype: 'f32' }, 'arg', `gates_x${k}`);
    let begin = 0;
    l.xsIndex.forEach((x, j) => {
      const slice = b.op('slice_last', [joined], { begin, size: widths[j]! });
      const name = body.values[body.inputs[x]!.value]!.name;
      if (name !== undefined) b.rename(slice, name);
      map.set(body.inputs[x]!.value, slice);
      begin += widths[j]!;
    });
  });
  const matrices = products.map((p, k) => {
    const shapes = p.constIndex.map((c) => body.values[body.inputs[c]!.value]!.type.shape);
    return b.input({ shape: [shapes[0]![0]!, shapes.reduce((a, s) => a + (s[1] as number), 0)], dtype: 'f32' }, 'arg', `gates_W${k}`);
  });
  const replaced = new Map<Node, { group: number; begin: number; size: number }>();
  products.forEach((p, k) => {
    let begin = 0;
    p.nodes.forEach((n, j) => {
      const size = width(body, body.inputs[p.constIndex[j]!]!.value)!;
      replaced.set(n, { group: k, begin, size });
      begin += size;
    });
  });
  const joinedProducts = new Map<number, ValueId>();
  for (const node of body.nodes) {
    const src = node.source !== undefined ? { source: node.source } : {};
    const r = replaced.get(node);
    let outs: ValueId[];
    if (r) {
      let z = joinedProducts.get(r.group);
      if (z === undefined) {
        z = b.op('mm', [map.get(node.inputs[0]!)!, matrices[r.group]!], {}, src);
        joinedProducts.set(r.group, z);
      }
      outs = [b.op('slice_last', [z], { begin: r.begin, size: r.size }, src)];
    } else {
      outs = b.emit(node.op, node.inputs.map((v) => map.get(v)!), node.attrs, node.body ? { ...src, body: node.body } : src);
    }
    node.outputs.forEach((o, k) => {
      map.set(o, outs[k]!);
      const name = body.values[o]?.name;
      if (name !== undefined) b.rename(outs[k]!, name);
    });
  }
  body.outputs.forEach((o) => b.output(map.get(o.value)!, o.role, o.name));
  const built = b.build();
  // Inputs: carries, xs, the joined lookups (per step), constants, the joined matrices.
  const lookupInputs = built.inputs.slice(nBody, nBody + lookups.length);
  const matrixInputs = built.inputs.slice(nBody + lookups.length);
  return {
    ...built,
    inputs: [...built.inputs.slice(0, nCarry + nXs), ...lookupInputs, ...built.inputs.slice(nCarry + nXs, nBody), ...matrixInputs],
  };
}
