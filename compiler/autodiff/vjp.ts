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
// obtained recursively. What it needs of the forward step is saved: the
// forward scan also returns, stacked over time, every intermediate value the
// derivative reads (the residuals: gate activations, inputs of products...),
// so the reverse step computes only the derivative. With `remat` it saves
// only the carries and recomputes the step instead (less memory, more work).
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

export interface VjpOptions {
  /** Recompute each forward step in the reverse loop instead of saving its intermediates. */
  readonly remat?: boolean;
}

interface VjpResult {
  readonly graph: Graph;
  /** Where each value of the differentiated graph lives in the result (its forward copy). */
  readonly forward: ReadonlyMap<ValueId, ValueId>;
}

export function vjpGraph(g: Graph, wrt: readonly boolean[], seeded: readonly boolean[], opts: VjpOptions = {}): Graph {
  return buildVjp(g, wrt, seeded, opts).graph;
}

/** What the forward copy of a scan saved for its derivative. */
interface ScanPlan {
  readonly bodyVjp: VjpResult;
  /** Carry entering each step, [T, ...], one per carry. */
  readonly history: readonly ValueId[];
  /** Body values the derivative reads, and their stacked values [T, ...] in the outer graph. */
  readonly residuals: readonly { readonly body: ValueId; readonly stacked: ValueId }[];
}

function buildVjp(g: Graph, wrt: readonly boolean[], seeded: readonly boolean[], opts: VjpOptions): VjpResult {
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

  // Forward: copy every node, tracking which values need a cotangent. A scan
  // whose inputs need one is re-emitted to also return what its derivative reads.
  interface Copied {
    readonly node: Node;
    readonly plan?: ScanPlan;
  }
  const copied: Copied[] = [];
  for (const node of g.nodes) {
    const inputs = node.inputs.map(get);
    const src = node.source !== undefined ? { source: node.source } : {};
    const def = getOp(node.op);
    const differentiable = def.vjp !== 'none' && inputs.some((v) => needs.has(v));
    let outs: ValueId[];
    let plan: ScanPlan | undefined;
    if (node.op === 'scan' && differentiable) {
      const { nCarry, nXs } = scanAttrs(node);
      const body = node.body!;
      const wrtBody = scanWrt(b, node, inputs, needs);
      const bodyVjp = buildVjp(body, wrtBody, body.outputs.map(() => true), opts);
      const saved = opts.remat ? [] : residualsOf(body, bodyVjp, nCarry + nXs);
      const augmented: Graph = {
        ...body,
        outputs: [
          ...body.outputs,
          ...body.inputs.slice(0, nCarry).map((inp) => ({ value: inp.value, role: 'result' as const, name: `saved_${inp.name}` })),
          ...saved.map((v) => ({ value: v, role: 'result' as const, name: `saved_${body.values[v]?.name ?? `v${v}`}` })),
        ],
      };
      const all = b.emit('scan', inputs, node.attrs, { body: augmented, ...src });
      outs = all.slice(0, node.outputs.length);
      const history = all.slice(node.outputs.length, node.outputs.length + nCarry);
      const stacked = all.slice(node.outputs.length + nCarry);
      plan = { bodyVjp, history, residuals: saved.map((v, i) => ({ body: v, stacked: stacked[i]! })) };
    } else {
      outs = b.emit(node.op, inputs, node.attrs, node.body ? { body: node.body, ...src } : src);
    }
    node.outputs.forEach((o, i) => {
      map.set(o, outs[i]!);
      const name = g.values[o]?.name;
      if (name !== undefined) b.rename(outs[i]!, name);
    });
    if (differentiable) {
      outs.forEach((v) => {
        if (b.type(v).dtype === 'f32') needs.add(v);
      });
    }
    copied.push({ node: { ...node, inputs, outputs: outs }, ...(plan ? { plan } : {}) });
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
    const { node, plan } = copied[i]!;
    const outCts = node.outputs.map((v) => ct.get(v));
    if (outCts.every((c) => c === undefined)) continue;
    if (!node.inputs.some((v) => needs.has(v))) continue;
    const def = getOp(node.op);
    if (def.vjp === 'none') continue;
    b.source = node.source;
    const inCts = def.vjp === 'structural' ? scanVjp(b, node, plan!, outCts, needs) : def.vjp(b, node, outCts);
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
  return { graph: eliminateDeadCode(b.build()), forward: map };
}

/** Which body inputs of a scan get a cotangent: every float carry (the path through time), and the xs / consts whose outer value needs one. */
function scanWrt(b: GraphBuilder, node: Node, inputs: readonly ValueId[], needs: ReadonlySet<ValueId>): boolean[] {
  const { nCarry } = scanAttrs(node);
  return inputs.map((v, k) => (k < nCarry ? b.type(v).dtype === 'f32' : needs.has(v)));
}

/**
 * The body values (produced by body nodes, not inputs) that the derivative
 * part of the body's VJP graph reads: they are saved per step.
 */
function residualsOf(body: Graph, vjp: VjpResult, nPerStepInputs: number): ValueId[] {
  void nPerStepInputs;
  const fromForward = new Map<ValueId, ValueId>();
  const bodyInputs = new Set(body.inputs.map((i) => i.value));
  for (const [bodyValue, vjpValue] of vjp.forward) {
    if (!bodyInputs.has(bodyValue)) fromForward.set(vjpValue, bodyValue);
  }
  const used = new Set<ValueId>();
  const g = vjp.graph;
  for (const n of g.nodes) {
    if (n.outputs.every((o) => fromForward.has(o))) continue; // a forward copy
    for (const v of n.inputs) if (fromForward.has(v)) used.add(v);
  }
  for (const o of g.outputs.slice(body.outputs.length)) if (fromForward.has(o.value)) used.add(o.value);
  return [...used].sort((a, z) => a - z).map((v) => fromForward.get(v)!);
}


/** The VJP of one scan node: a scan over the reversed time direction. */
function scanVjp(
  b: GraphBuilder,
  node: Node,
  plan: ScanPlan,
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
  const wrtBody = scanWrt(b, node, node.inputs, needs);
  const bodyVjp = plan.bodyVjp.graph;
  const gradIndex = (k: number): number => wrtBody.slice(0, k).filter(Boolean).length;

  const constNeeded = consts.map((v, j) => (needs.has(v) ? j : -1)).filter((j) => j >= 0);
  const xsNeeded = xs.map((v, j) => (needs.has(v) ? j : -1)).filter((j) => j >= 0);

  // The reverse body: carries [ct_c..., acc_k...], xs [c_t..., x_t..., ct_y_t..., saved_t...], consts [k...].
  const rb = new GraphBuilder();
  const bodyType = (k: number) => body.values[body.inputs[k]!.value]!.type;
  const ctC = carries.map((_, i) => rb.input(bodyType(i), 'arg', `ct_${body.inputs[i]!.name}`));
  const acc = constNeeded.map((j) => rb.input(bodyType(nCarry + nXs + j), 'arg', `acc_${body.inputs[nCarry + nXs + j]!.name}`));
  const cT = carries.map((_, i) => rb.input(bodyType(i), 'arg', body.inputs[i]!.name));
  const xT = xs.map((_, j) => rb.input(bodyType(nCarry + j), 'arg', body.inputs[nCarry + j]!.name));
  const ctY = body.outputs.slice(nCarry).map((o) => rb.input(body.values[o.value]!.type, 'arg', `ct_${o.name}`));
  const savedT = plan.residuals.map((r) => rb.input(body.values[r.body]!.type, 'arg', body.values[r.body]?.name ?? `saved_${r.body}`));
  const kT = consts.map((_, j) => rb.input(bodyType(nCarry + nXs + j), 'arg', body.inputs[nCarry + nXs + j]!.name));
  const saved = new Map<ValueId, ValueId>();
  plan.residuals.forEach((r, i) => saved.set(plan.bodyVjp.forward.get(r.body)!, savedT[i]!));
  const res = inlineDerivative(rb, plan.bodyVjp, [...cT, ...xT, ...kT, ...ctC, ...ctY], saved);
  const grads = res.slice(body.outputs.length);
  const newCtC = carries.map((v, i) => (isFloat(v) ? grads[gradIndex(i)]! : ctC[i]!));
  const newAcc = constNeeded.map((j, a) => rb.op('add', [acc[a]!, grads[gradIndex(nCarry + nXs + j)]!]));
  newCtC.forEach((v, i) => rb.output(v, 'state', `d_${body.inputs[i]!.name}`));
  newAcc.forEach((v, a) => rb.output(v, 'state', `d_${body.inputs[nCarry + nXs + constNeeded[a]!]!.name}`));
  xsNeeded.forEach((j) => rb.output(grads[gradIndex(nCarry + j)]!, 'result', `d_${body.inputs[nCarry + j]!.name}`));
  const reverseBody = eliminateDeadCode(rb.build());
  void bodyVjp;

  const zerosFor = (v: ValueId): ValueId => b.op('zeros_like', [v]);
  const initCt = node.outputs.slice(0, nCarry).map((v, i) => outCts[i] ?? zerosFor(v));
  const initAcc = constNeeded.map((j) => zerosFor(consts[j]!));
  const ysCt = node.outputs.slice(nCarry).map((v, i) => outCts[nCarry + i] ?? zerosFor(v));
  const outs = b.emit(
    'scan',
    [...initCt, ...initAcc, ...plan.history, ...xs, ...ysCt, ...plan.residuals.map((r) => r.stacked), ...consts],
    { nCarry: nCarry + constNeeded.length, nXs: nCarry + nXs + nYs + plan.residuals.length, reverse: !reverse },
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
 * Copies a body VJP graph into `rb` with its inputs bound to `args`, except
 * that forward values it saved come from `saved` (per-step inputs) and the
 * forward nodes that only computed those are left out. Returns its outputs.
 */
function inlineDerivative(rb: GraphBuilder, vjp: VjpResult, args: readonly ValueId[], saved: ReadonlyMap<ValueId, ValueId>): ValueId[] {
  if (saved.size === 0) return inlineGraph(rb, vjp.graph, args);
  const g = vjp.graph;
  const map = new Map<ValueId, ValueId>(saved);
  g.inputs.forEach((inp, i) => map.set(inp.value, args[i]!));
  const forwardValues = new Set(vjp.forward.values());
  for (const node of g.nodes) {
    // A forward copy whose results are all saved (or unused by the derivative) is not recomputed.
    if (node.outputs.every((o) => forwardValues.has(o)) && node.outputs.every((o) => map.has(o) || !isRead(g, o))) continue;
    const inputs = node.inputs.map((v) => {
      const m = map.get(v);
      if (m === undefined) throw new InternalError(`vjp: %${v} is neither saved nor recomputed`);
      return m;
    });
    const outs = rb.emit(node.op, inputs, node.attrs, node.body ? { body: node.body } : node.source !== undefined ? { source: node.source } : {});
    node.outputs.forEach((o, i) => map.set(o, outs[i]!));
  }
  return g.outputs.map((o) => {
    const m = map.get(o.value);
    // The body's own outputs (c', y) are not needed by the reverse step: stand-ins keep the arity.
    return m ?? args[0]!;
  });
}

function isRead(g: Graph, v: ValueId): boolean {
  return g.nodes.some((n) => n.inputs.includes(v)) || g.outputs.some((o) => o.value === v);
}

/**
 * The training graph of a model graph: its outputs plus `d_<param>` for
 * every param input, seeded with d(loss) = 1.
 */
export function differentiate(g: Graph, lossName = 'loss', opts: VjpOptions = {}): Graph {
  const lossIndex = g.outputs.findIndex((o) => o.role === 'loss' && o.name === lossName);
  if (lossIndex < 0) throw new InternalError(`differentiate: no loss output named ${lossName}`);
  const wrt = g.inputs.map((i) => i.role === 'param');
  const seeded = g.outputs.map((_, i) => i === lossIndex);
  const inner = vjpGraph(g, wrt, seeded, opts);
  const b = new GraphBuilder();
  const args = g.inputs.map((inp) => b.input(g.values[inp.value]!.type, inp.role, inp.name));
  const one = b.constant(1);
  const outs = inlineGraph(b, inner, [...args, one]);
  inner.outputs.forEach((o, i) => b.output(outs[i]!, o.role, o.name));
  return eliminateDeadCode(b.build());
}
