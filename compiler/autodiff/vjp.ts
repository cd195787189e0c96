// Reverse-mode differentiation as a graph transformation (IR -> IR).
//
// What: `vjpGraph(g, wrt, seeded)` builds a graph that computes g's outputs
// and, given cotangents for the `seeded` outputs, the cotangents (`d_<name>`)
// of the inputs marked in `wrt`. `differentiate` wraps it for a loss: the
// seed is the constant 1 and the gradients are taken w.r.t. the parameters.
//
// Scan (BPTT): a forward scan is re-emitted so that it also returns its carry
// history (the carry entering each step, the residual). Its derivative is a
// scan running the other way whose carries are the cotangent of the carry
// and accumulators for the constants' (parameters') cotangents, and whose
// per-step inputs are the saved carries, the xs and the cotangents of the ys.
// The body of that reverse scan is the VJP graph of the forward body,
// obtained recursively, which recomputes the step from the saved carry
// (rematerialisation of one step; only carries are stored per step).
//
// Pre: g is verified. Post: the result is verified and has g's inputs first
// (same order), then one cotangent input per seeded output; outputs are g's
// outputs, then one gradient per wrt input. Not handled: second derivatives
// of ops marked firstOrderOnly (xent_grad).
import { InternalError } from '../diagnostics/diagnostic.js';
import { GraphBuilder, inlineGraph } from '../ir/builder.js';
import { getOp } from '../ir/ops.js';
import type { Graph, Node, ValueId } from '../ir/types.js';
import { scanAttrs } from '../ir/types.js';
import { eliminateDeadCode } from '../passes/dead-code.js';

export function vjpGraph(g: Graph, wrt: readonly boolean[], seeded: readonly boolean[]): Graph {
  const b = new GraphBuilder();
  const map = new Map<ValueId, ValueId>();
  const needs = new Set<ValueId>();

  g.inputs.forEach((inp, i) => {
    const v = b.input(g.values[inp.value]!.type, inp.role, inp.name);
    map.set(inp.value, v);
    if (wrt[i] && g.values[inp.value]!.type.dtype === 'f32') needs.add(v);
  });
  const seedInputs: (ValueId | undefined)[] = g.outputs.map((o, i) =>
    seeded[i] ? b.input(g.values[o.value]!.type, 'arg', `d_${o.name}`) : undefined,
  );
  const get = (v: ValueId): ValueId => {
    const m = map.get(v);
    if (m === undefined) throw new InternalError(`vjp: value %${v} used before definition`);
    return m;
  };

  // Forward: copy every node (scans gain a carry history), tracking which values need a cotangent.
  interface Copied {
    readonly node: Node;
    readonly history: readonly ValueId[]; // scan only: carry entering each step, [T, ...]
  }
  const copied: Copied[] = [];
  for (const node of g.nodes) {
    const inputs = node.inputs.map(get);
    const src = node.source !== undefined ? { source: node.source } : {};
    let outs: ValueId[];
    let history: ValueId[] = [];
    if (node.op === 'scan') {
      const { nCarry } = scanAttrs(node);
      const body = withCarryHistory(node.body!, nCarry);
      const all = b.emit('scan', inputs, node.attrs, { body, ...src });
      outs = all.slice(0, node.outputs.length);
      history = all.slice(node.outputs.length);
    } else {
      outs = b.emit(node.op, inputs, node.attrs, node.body ? { body: node.body, ...src } : src);
    }
    node.outputs.forEach((o, i) => {
      map.set(o, outs[i]!);
      const name = g.values[o]?.name;
      if (name !== undefined) b.rename(outs[i]!, name);
    });
    const def = getOp(node.op);
    if (def.vjp !== 'none' && inputs.some((v) => needs.has(v))) {
      outs.forEach((v) => {
        if (b.type(v).dtype === 'f32') needs.add(v);
      });
    }
    copied.push({ node: { ...node, inputs, outputs: outs }, history });
  }

  // Reverse sweep.
  const ct = new Map<ValueId, ValueId>();
  const accumulate = (v: ValueId, c: ValueId | undefined): void => {
    if (c === undefined || !needs.has(v)) return;
    const prev = ct.get(v);
    ct.set(v, prev === undefined ? c : b.op('add', [prev, c]));
  };
  g.outputs.forEach((o, i) => {
    const s = seedInputs[i];
    if (s !== undefined) accumulate(get(o.value), s);
  });
  for (let i = copied.length - 1; i >= 0; i--) {
    const { node, history } = copied[i]!;
    const outCts = node.outputs.map((v) => ct.get(v));
    if (outCts.every((c) => c === undefined)) continue;
    if (!node.inputs.some((v) => needs.has(v))) continue;
    const def = getOp(node.op);
    if (def.vjp === 'none') continue;
    b.source = node.source;
    const inCts = def.vjp === 'structural' ? scanVjp(b, node, history, outCts, needs) : def.vjp(b, node, outCts);
    b.source = undefined;
    node.inputs.forEach((v, k) => accumulate(v, inCts[k]));
  }

  g.outputs.forEach((o) => b.output(get(o.value), o.role, o.name));
  g.inputs.forEach((inp, i) => {
    if (!wrt[i]) return;
    const v = get(inp.value);
    const c = ct.get(v) ?? b.op('zeros_like', [v]);
    b.output(c, 'grad', `d_${inp.name}`);
  });
  return eliminateDeadCode(b.build());
}

/** The scan body with the carries it received appended as extra ys. */
function withCarryHistory(body: Graph, nCarry: number): Graph {
  const extra = body.inputs.slice(0, nCarry).map((inp) => ({ value: inp.value, role: 'result' as const, name: `saved_${inp.name}` }));
  return { ...body, outputs: [...body.outputs, ...extra] };
}

/** The VJP of one scan node: a scan over the reversed time direction. */
function scanVjp(
  b: GraphBuilder,
  node: Node,
  history: readonly ValueId[],
  outCts: readonly (ValueId | undefined)[],
  needs: ReadonlySet<ValueId>,
): (ValueId | undefined)[] {
  const { nCarry, nXs, reverse } = scanAttrs(node);
  const body = node.body!;
  const nIn = node.inputs.length;
  const nYs = node.outputs.length - nCarry;
  const carries = node.inputs.slice(0, nCarry);
  const xs = node.inputs.slice(nCarry, nCarry + nXs);
  const consts = node.inputs.slice(nCarry + nXs);
  const isFloat = (v: ValueId): boolean => b.type(v).dtype === 'f32';

  // Which body inputs get a cotangent: every float carry (the path through
  // time), and the xs / consts whose outer value needs one.
  const wrtBody = [
    ...carries.map(isFloat),
    ...xs.map((v) => needs.has(v)),
    ...consts.map((v) => needs.has(v)),
  ];
  const bodyVjp = vjpGraph(body, wrtBody, body.outputs.map(() => true));
  const gradIndex = (k: number): number => wrtBody.slice(0, k).filter(Boolean).length;

  const constNeeded = consts.map((v, j) => (needs.has(v) ? j : -1)).filter((j) => j >= 0);
  const xsNeeded = xs.map((v, j) => (needs.has(v) ? j : -1)).filter((j) => j >= 0);

  // The reverse body: carries [ct_c..., acc_k...], xs [c_t..., x_t..., ct_y_t...], consts [k...].
  const rb = new GraphBuilder();
  const bodyType = (k: number) => body.values[body.inputs[k]!.value]!.type;
  const ctC = carries.map((_, i) => rb.input(bodyType(i), 'arg', `ct_${body.inputs[i]!.name}`));
  const acc = constNeeded.map((j) => rb.input(bodyType(nCarry + nXs + j), 'arg', `acc_${body.inputs[nCarry + nXs + j]!.name}`));
  const cT = carries.map((_, i) => rb.input(bodyType(i), 'arg', body.inputs[i]!.name));
  const xT = xs.map((_, j) => rb.input(bodyType(nCarry + j), 'arg', body.inputs[nCarry + j]!.name));
  const ctY = body.outputs.slice(nCarry).map((o) => rb.input(body.values[o.value]!.type, 'arg', `ct_${o.name}`));
  const kT = consts.map((_, j) => rb.input(bodyType(nCarry + nXs + j), 'arg', body.inputs[nCarry + nXs + j]!.name));
  const res = inlineGraph(rb, bodyVjp, [...cT, ...xT, ...kT, ...ctC, ...ctY]);
  const grads = res.slice(body.outputs.length);
  const newCtC = carries.map((v, i) => (isFloat(v) ? grads[gradIndex(i)]! : ctC[i]!));
  const newAcc = constNeeded.map((j, a) => rb.op('add', [acc[a]!, grads[gradIndex(nCarry + nXs + j)]!]));
  newCtC.forEach((v, i) => rb.output(v, 'state', `d_${body.inputs[i]!.name}`));
  newAcc.forEach((v, a) => rb.output(v, 'state', `d_${body.inputs[nCarry + nXs + constNeeded[a]!]!.name}`));
  xsNeeded.forEach((j) => rb.output(grads[gradIndex(nCarry + j)]!, 'result', `d_${body.inputs[nCarry + j]!.name}`));
  const reverseBody = eliminateDeadCode(rb.build());

  const zerosFor = (v: ValueId): ValueId => b.op('zeros_like', [v]);
  const initCt = node.outputs.slice(0, nCarry).map((v, i) => outCts[i] ?? zerosFor(v));
  const initAcc = constNeeded.map((j) => zerosFor(consts[j]!));
  const ysCt = node.outputs.slice(nCarry).map((v, i) => outCts[nCarry + i] ?? zerosFor(v));
  const outs = b.emit(
    'scan',
    [...initCt, ...initAcc, ...history, ...xs, ...ysCt, ...consts],
    { nCarry: nCarry + constNeeded.length, nXs: nCarry + nXs + nYs, reverse: !reverse },
    { body: reverseBody },
  );
  const result: (ValueId | undefined)[] = new Array(nIn).fill(undefined);
  carries.forEach((v, i) => {
    if (isFloat(v)) result[i] = outs[i]!;
  });
  constNeeded.forEach((j, a) => {
    result[nCarry + nXs + j] = outs[nCarry + a]!;
  });
  xsNeeded.forEach((j, a) => {
    result[nCarry + j] = outs[nCarry + constNeeded.length + a]!;
  });
  return result;
}

/**
 * The training graph of a model graph: its outputs plus `d_<param>` for
 * every param input, seeded with d(loss) = 1.
 */
export function differentiate(g: Graph, lossName = 'loss'): Graph {
  const lossIndex = g.outputs.findIndex((o) => o.role === 'loss' && o.name === lossName);
  if (lossIndex < 0) throw new InternalError(`differentiate: no loss output named ${lossName}`);
  const wrt = g.inputs.map((i) => i.role === 'param');
  const seeded = g.outputs.map((_, i) => i === lossIndex);
  const inner = vjpGraph(g, wrt, seeded);
  const b = new GraphBuilder();
  const args = g.inputs.map((inp) => b.input(g.values[inp.value]!.type, inp.role, inp.name));
  const one = b.constant(1);
  const outs = inlineGraph(b, inner, [...args, one]);
  inner.outputs.forEach((o, i) => b.output(outs[i]!, o.role, o.name));
  return eliminateDeadCode(b.build());
}
