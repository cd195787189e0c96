// Hoisting weight-gradient accumulation out of reverse time loops.
//
// What: the reverse scan that autodiff makes carries, for each parameter, an
// accumulator `acc' = acc + g_t`, where g_t is a sum of per-step terms such
// as `outer(ct_t, x_t)` (the gradient of `W @ x[t]`) or `sum_to(ct_t, [H])`
// (of a bias). This pass removes such an accumulator from the loop: the
// loop instead emits the per-step factors as stacked outputs ([T, ...]),
// and after the loop one large product `outer(CT, X)` (or one `sum_to`)
// over all steps gives the same sum. T small products and T additions
// become one large, efficient matMul.
//
// When: in the optimisation pipeline (pipeline.ts), on the training graph,
// before hoist-weight-transposes. Pre: a verified graph. Post: a verified
// graph computing the same values up to float rounding (the sum over steps
// is ordered differently); the same object when no scan has such an
// accumulator. Not handled: accumulators whose input is read by anything
// but its own `add` (then the loop is left as it is), nested scans.
import { GraphBuilder } from '../ir/builder.js';
import type { Dim, Graph, Node, ValueId } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';
import { eliminateDeadCode } from './dead-code.js';

/** One term of an accumulated sum, as the loop should emit it. */
type Term =
  | { readonly kind: 'outer'; readonly a: ValueId; readonly b: ValueId }
  | { readonly kind: 'sum'; readonly x: ValueId };

interface Accumulator {
  /** Carry index in the scan. */
  readonly carry: number;
  readonly terms: readonly Term[];
}

export function hoistWeightGradients(g: Graph): Graph {
  const plans = g.nodes.map((n) => (n.op === 'scan' ? accumulators(n) : []));
  if (plans.every((p) => p.length === 0)) return g;
  const b = new GraphBuilder();
  const map = new Map<ValueId, ValueId>();
  g.inputs.forEach((inp) => map.set(inp.value, b.input(g.values[inp.value]!.type, inp.role, inp.name)));
  const get = (v: ValueId): ValueId => map.get(v)!;
  const producer = new Map<ValueId, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);

  g.nodes.forEach((node, i) => {
    const accs = plans[i]!;
    const src = node.source !== undefined ? { source: node.source } : {};
    const bind = (outs: readonly ValueId[]): void =>
      node.outputs.forEach((o, k) => {
        map.set(o, outs[k]!);
        const name = g.values[o]?.name;
        if (name !== undefined) b.rename(outs[k]!, name);
      });
    if (accs.length === 0) {
      bind(b.emit(node.op, node.inputs.map(get), node.attrs, node.body ? { body: node.body, ...src } : src));
      return;
    }
    const { nCarry, nXs } = scanAttrs(node);
    const removed = new Set(accs.map((a) => a.carry));
    const body = rewriteBody(node.body!, nCarry, accs);
    const inputs = node.inputs.filter((_, k) => !removed.has(k)).map(get);
    const outs = b.emit('scan', inputs, { ...node.attrs, nCarry: nCarry - removed.size, nXs }, { body, ...src });
    // Old outputs: kept carries, then ys; the removed carries are rebuilt below.
    const keptCarries = outs.slice(0, nCarry - removed.size);
    const ys = outs.slice(nCarry - removed.size, nCarry - removed.size + (node.outputs.length - nCarry));
    const extra = outs.slice(nCarry - removed.size + (node.outputs.length - nCarry));
    const finals: ValueId[] = [];
    let kept = 0;
    let next = 0;
    for (let c = 0; c < nCarry; c++) {
      const acc = accs.find((a) => a.carry === c);
      if (!acc) {
        finals.push(keptCarries[kept++]!);
        continue;
      }
      const shape = g.values[node.outputs[c]!]!.type.shape;
      let total: ValueId | undefined;
      for (const t of acc.terms) {
        const term =
          t.kind === 'outer'
            ? b.op('outer', [extra[next++]!, extra[next++]!], {}, src)
            : b.op('sum_to', [extra[next++]!], { shape: [...shape] as Dim[] }, src);
        total = total === undefined ? term : b.op('add', [total, term], {}, src);
      }
      const init = node.inputs[c]!;
      const startsAtZero = producer.get(init)?.op === 'zeros_like';
      finals.push(startsAtZero ? total! : b.op('add', [get(init), total!], {}, src));
    }
    bind([...finals, ...ys]);
  });
  g.outputs.forEach((o) => b.output(get(o.value), o.role, o.name));
  return eliminateDeadCode(b.build());
}

/** The carries of a scan that only accumulate per-step terms, with those terms. */
function accumulators(scan: Node): Accumulator[] {
  const { nCarry } = scanAttrs(scan);
  const body = scan.body!;
  const producer = new Map<ValueId, Node>();
  const uses = new Map<ValueId, number>();
  for (const n of body.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const v of n.inputs) uses.set(v, (uses.get(v) ?? 0) + 1);
  }
  for (const o of body.outputs) uses.set(o.value, (uses.get(o.value) ?? 0) + 1);
  const out: Accumulator[] = [];
  for (let c = 0; c < nCarry; c++) {
    const cin = body.inputs[c]!.value;
    const cout = body.outputs[c]!.value;
    const add = producer.get(cout);
    if (!add || add.op !== 'add' || uses.get(cin) !== 1 || uses.get(cout) !== 1) continue;
    const [l, r] = add.inputs as [ValueId, ValueId];
    const g = l === cin ? r : r === cin ? l : undefined;
    if (g === undefined || g === cin) continue;
    if (!sameShape(body.values[g]!.type.shape, body.values[cin]!.type.shape)) continue;
    const terms: Term[] = [];
    const collect = (v: ValueId): void => {
      const p = producer.get(v);
      if (p?.op === 'add' && uses.get(v) === 1 && sameShape(body.values[p.inputs[0]!]!.type.shape, body.values[v]!.type.shape) && sameShape(body.values[p.inputs[1]!]!.type.shape, body.values[v]!.type.shape)) {
        collect(p.inputs[0]!);
        collect(p.inputs[1]!);
      } else if (p?.op === 'outer') {
        terms.push({ kind: 'outer', a: p.inputs[0]!, b: p.inputs[1]! });
      } else if (p?.op === 'sum_to') {
        terms.push({ kind: 'sum', x: p.inputs[0]! });
      } else {
        terms.push({ kind: 'sum', x: v });
      }
    };
    collect(g);
    // A term that reads the accumulator itself would change the sum's meaning.
    if (terms.some((t) => (t.kind === 'outer' ? t.a === cin || t.b === cin : t.x === cin))) continue;
    out.push({ carry: c, terms });
  }
  return out;
}

/** The body without the accumulator carries, emitting each term's factors as extra ys. */
function rewriteBody(body: Graph, nCarry: number, accs: readonly Accumulator[]): Graph {
  const removed = new Set(accs.map((a) => a.carry));
  const extra: { value: ValueId; name: string }[] = [];
  for (const acc of accs) {
    const name = body.inputs[acc.carry]!.name;
    acc.terms.forEach((t, i) => {
      if (t.kind === 'outer') {
        extra.push({ value: t.a, name: `${name}_a${i}` }, { value: t.b, name: `${name}_b${i}` });
      } else extra.push({ value: t.x, name: `${name}_s${i}` });
    });
  }
  const inputs = body.inputs.filter((_, k) => !(k < nCarry && removed.has(k)));
  const outputs = [
    ...body.outputs.slice(0, nCarry).filter((_, k) => !removed.has(k)),
    ...body.outputs.slice(nCarry),
    ...extra.map((e) => ({ value: e.value, role: 'result' as const, name: e.name })),
  ];
  return eliminateDeadCode({ ...body, inputs, outputs });
}

function sameShape(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
