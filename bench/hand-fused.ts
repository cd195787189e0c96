// The best hand-written tfjs-core training step we know, the "hand-fused per
// step, transpose-free bwd" column of issue 4: what rnnc must beat.
//
// - Gates fused: one matMul per step against the concatenated input weights
//   ([X, G*H]) and one against the concatenated recurrent weights ([H, G*H]);
//   the GRU's candidate reads r * h[t-1], so its recurrent part is two
//   matMuls ([H, 2H] for z, r and [H, H] for n).
// - Per step, not hoisted: x[t] @ Wx is computed inside the loop, because on
//   wasm slicing one big [T*B, G*H] projection per step copies the whole
//   tensor every time (Slice reads its input with readSync, a full copy).
// - Token inputs are looked up (issue 10: the same work as rnnc): x[t] @ Wx
//   of a one-hot x[t] is tf.gather of rows of Wx, and its gradient one
//   scatter of the gate gradients (tf.scatterND, which sums repeated ids).
//   Dense inputs multiply.
// - Starts from rnnc's initial weights (`handParamsFromRnnc`), so that its
//   first loss can be checked against rnnc's.
// - Backward written out by hand (no tf.grads): the reverse loop walks the
//   residuals the forward saved; every matMul is plain, against transposes
//   made once per batch (wasm's transposeA/transposeB kernels run 10-60x
//   slower than its plain one).
// - Weight gradients over all steps as one large matMul per weight:
//   concat the per-step slabs once, transpose once, multiply once.
// - Adam from tf.train on tf.variables (the same optimizer tf.layers uses).
// The output layer (dense + softmax cross-entropy, mean over T*B positions)
// runs per step for the same reason as the input projection.
//
// `handLoss` is the same forward as a plain function of the parameters, so a
// test can check `handGradients` against tf.grads.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../runtime/rng.js';
import { GATES, type BenchShape, type CellKind, type InputKind } from './config.js';
import type { BenchData } from './data.js';
import type { BenchImpl } from './measure.js';
import type { InitialParams } from './rnnc-interpreted.js';

/** The input of a batch: per step, token ids [B] (looked up in Wx) or dense rows [B, X] (multiplied by Wx). */
export type HandInputs = { readonly kind: 'ids'; readonly ids: tf.Tensor1D[] } | { readonly kind: 'dense'; readonly xs: tf.Tensor2D[] };

export type HandParams = Readonly<Record<string, tf.Tensor>>;

/** Parameter names and shapes per cell. */
export function handParamShapes(cell: CellKind, s: BenchShape): Record<string, [number, number] | [number]> {
  const G = GATES[cell];
  const shapes: Record<string, [number, number] | [number]> = {
    Wx: [s.X, G * s.H],
    Wh: [s.H, (cell === 'gru' ? 2 : G) * s.H],
    b: [G * s.H],
    Wy: [s.H, s.O],
    by: [s.O],
  };
  if (cell === 'gru') shapes['Whn'] = [s.H, s.H];
  return shapes;
}

/** Seeded uniform(-a, a) weights with a = sqrt(6 / (fan_in + fan_out)) (Glorot); zero biases, LSTM forget bias one. */
export function handInitValues(cell: CellKind, s: BenchShape, seed: number): Map<string, { shape: number[]; data: Float32Array }> {
  const rng = new Rng(seed);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of Object.entries(handParamShapes(cell, s))) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (shape.length === 2) {
      const a = Math.sqrt(6 / (shape[0] + shape[1]));
      for (let i = 0; i < n; i++) data[i] = rng.uniform(-a, a);
    } else if (cell === 'lstm' && name === 'b') {
      data.fill(1, s.H, 2 * s.H); // gate order i, f, g, o
    }
    out.set(name, { shape: [...shape], data });
  }
  return out;
}

/** Joins matrices side by side after transposing each: rnnc's [H, K] gate matrices as one [K, G*H]. */
function joinT(mats: { shape: readonly number[]; data: Float32Array }[]): { shape: number[]; data: Float32Array } {
  const [H, K] = mats[0]!.shape as [number, number];
  const n = mats.length * H;
  const data = new Float32Array(K * n);
  mats.forEach((m, g) => {
    for (let i = 0; i < H; i++) for (let k = 0; k < K; k++) data[k * n + g * H + i] = m.data[i * K + k]!;
  });
  return { shape: [K, n], data };
}

function joinVec(vs: { data: Float32Array }[]): { shape: number[]; data: Float32Array } {
  const data = new Float32Array(vs.reduce((a, v) => a + v.data.length, 0));
  let o = 0;
  for (const v of vs) {
    data.set(v.data, o);
    o += v.data.length;
  }
  return { shape: [data.length], data };
}

/**
 * rnnc's initial parameters (compiler/stdlib/cells.rnn: `h.U`, `h.W_i`, ...,
 * `y.W` [O, H]) in this step's layout: gate matrices transposed and joined
 * in the order i, f, g, o (LSTM) or z, r, n (GRU), as tf.layers lays them out.
 */
export function handParamsFromRnnc(cell: CellKind, init: InitialParams): Map<string, { shape: number[]; data: Float32Array }> {
  const p = (name: string) => {
    const v = init.get(name);
    if (!v) throw new Error(`internal: rnnc has no parameter ${name}`);
    return v;
  };
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  switch (cell) {
    case 'rnn':
      out.set('Wx', joinT([p('h.U')]));
      out.set('Wh', joinT([p('h.W')]));
      out.set('b', joinVec([p('h.b')]));
      break;
    case 'lstm':
      out.set('Wx', joinT(['W_i', 'W_f', 'W_g', 'W_o'].map((n) => p(`h.${n}`))));
      out.set('Wh', joinT(['W_ih', 'W_fh', 'W_gh', 'W_oh'].map((n) => p(`h.${n}`))));
      out.set('b', joinVec(['b_i', 'b_f', 'b_g', 'b_o'].map((n) => p(`h.${n}`))));
      break;
    case 'gru':
      out.set('Wx', joinT(['W_z', 'W_r', 'W_n'].map((n) => p(`h.${n}`))));
      out.set('Wh', joinT(['U_z', 'U_r'].map((n) => p(`h.${n}`))));
      out.set('Whn', joinT([p('h.U_n')]));
      out.set('b', joinVec(['b_z', 'b_r', 'b_n'].map((n) => p(`h.${n}`))));
      break;
  }
  out.set('Wy', joinT([p('y.W')]));
  out.set('by', joinVec([p('y.b')]));
  return out;
}

type State = tf.Tensor2D[]; // rnn, gru: [h]; lstm: [h, c]

interface Saved {
  /** per step, what the backward of that step reads */
  readonly steps: tf.Tensor2D[][];
  /** h[t] per step (after the step) */
  readonly hs: tf.Tensor2D[];
  /** log-softmax of the logits per step */
  readonly logps: tf.Tensor2D[];
}

/** x[t] @ Wx: a lookup of rows for token ids, a product for dense rows. */
function inputProjection(p: HandParams, inp: HandInputs, t: number): tf.Tensor2D {
  return inp.kind === 'ids' ? (tf.gather(p['Wx']!, inp.ids[t]!) as tf.Tensor2D) : tf.matMul(inp.xs[t]!, p['Wx'] as tf.Tensor2D);
}

/** One cell step from the input projection xw = x[t] @ Wx: the next state and the residuals its backward needs. */
function cellStep(cell: CellKind, p: HandParams, xw: tf.Tensor2D, state: State): { state: State; saved: tf.Tensor2D[] } {
  const h = state[0]!;
  switch (cell) {
    case 'rnn': {
      const hNew = tf.tanh(tf.add(tf.add(xw, tf.matMul(h, p['Wh'] as tf.Tensor2D)), p['b']!)) as tf.Tensor2D;
      return { state: [hNew], saved: [hNew] };
    }
    case 'lstm': {
      const c = state[1]!;
      const z = tf.add(tf.add(xw, tf.matMul(h, p['Wh'] as tf.Tensor2D)), p['b']!) as tf.Tensor2D;
      const [zi, zf, zg, zo] = tf.split(z, 4, 1) as tf.Tensor2D[];
      const i = tf.sigmoid(zi!);
      const f = tf.sigmoid(zf!);
      const g = tf.tanh(zg!);
      const o = tf.sigmoid(zo!);
      const cNew = tf.add(tf.mul(f, c), tf.mul(i, g)) as tf.Tensor2D;
      const tc = tf.tanh(cNew);
      const hNew = tf.mul(o, tc) as tf.Tensor2D;
      return { state: [hNew, cNew], saved: [i, f, g, o, c, tc] };
    }
    case 'gru': {
      const H = h.shape[1];
      const xp = tf.add(xw, p['b']!) as tf.Tensor2D;
      const [xzr, xn] = tf.split(xp, [2 * H, H], 1) as tf.Tensor2D[];
      const zr = tf.sigmoid(tf.add(xzr!, tf.matMul(h, p['Wh'] as tf.Tensor2D))) as tf.Tensor2D;
      const [z, r] = tf.split(zr, 2, 1) as tf.Tensor2D[];
      const rh = tf.mul(r!, h) as tf.Tensor2D;
      const n = tf.tanh(tf.add(xn!, tf.matMul(rh, p['Whn'] as tf.Tensor2D))) as tf.Tensor2D;
      const hNew = tf.add(n, tf.mul(z!, tf.sub(h, n))) as tf.Tensor2D;
      return { state: [hNew], saved: [h, z!, r!, n, rh] };
    }
  }
}

function zeroState(cell: CellKind, B: number, H: number): State {
  return cell === 'lstm' ? [tf.zeros([B, H]), tf.zeros([B, H])] : [tf.zeros([B, H])];
}

/** The forward over a batch: mean cross-entropy over T*B positions, and (when `save`) the residuals. */
function forward(cell: CellKind, p: HandParams, inp: HandInputs, ys: tf.Tensor2D[], save: boolean): { loss: tf.Scalar; saved: Saved } {
  const B = ys[0]!.shape[0];
  const H = (p['Wh'] as tf.Tensor2D).shape[0];
  let state = zeroState(cell, B, H);
  const saved: Saved = { steps: [], hs: [], logps: [] };
  let total: tf.Tensor | undefined;
  for (let t = 0; t < ys.length; t++) {
    const r = cellStep(cell, p, inputProjection(p, inp, t), state);
    state = r.state;
    const h = state[0]!;
    const logp = tf.logSoftmax(tf.add(tf.matMul(h, p['Wy'] as tf.Tensor2D), p['by']!)) as tf.Tensor2D;
    const term = tf.sum(tf.mul(ys[t]!, logp));
    total = total ? tf.add(total, term) : term;
    if (save) {
      saved.steps.push(r.saved);
      saved.hs.push(h);
      saved.logps.push(logp);
    }
  }
  const loss = tf.div(tf.neg(total!), ys.length * B) as tf.Scalar;
  return { loss, saved };
}

/** The loss as a function of the parameters, for tf.grads in tests. */
export function handLoss(cell: CellKind, p: HandParams, inp: HandInputs, ys: tf.Tensor2D[]): tf.Scalar {
  return forward(cell, p, inp, ys, false).loss;
}

/** Loss and gradients with the backward written out (call inside tf.tidy; the caller keeps what it returns). */
export function handGradients(cell: CellKind, p: HandParams, inp: HandInputs, ys: tf.Tensor2D[]): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const { loss, saved } = forward(cell, p, inp, ys, true);
  const T = ys.length;
  const B = ys[0]!.shape[0];
  const H = (p['Wh'] as tf.Tensor2D).shape[0];
  const one = tf.scalar(1);
  const scale = tf.scalar(1 / (T * B));
  // Transposes once per batch: every backward matMul below is a plain one.
  const WyT = tf.transpose(p['Wy']!) as tf.Tensor2D;
  const WhT = tf.transpose(p['Wh']!) as tf.Tensor2D;
  const WhnT = cell === 'gru' ? (tf.transpose(p['Whn']!) as tf.Tensor2D) : undefined;
  const h0 = tf.zeros([B, H]) as tf.Tensor2D;
  const hPrev = (t: number): tf.Tensor2D => (t === 0 ? h0 : saved.hs[t - 1]!);

  const dLogits: tf.Tensor2D[] = new Array(T);
  const dZ: tf.Tensor2D[] = new Array(T); // rnn, lstm: d pre-activation [B, G*H]; gru: d of the z, r pre-activation [B, 2H]
  const dN: tf.Tensor2D[] = new Array(T); // gru: d of the candidate's pre-activation [B, H]
  let dhNext: tf.Tensor2D | undefined;
  let dcNext: tf.Tensor2D | undefined;
  for (let t = T - 1; t >= 0; t--) {
    const dlog = tf.mul(tf.sub(tf.exp(saved.logps[t]!), ys[t]!), scale) as tf.Tensor2D;
    dLogits[t] = dlog;
    let dh = tf.matMul(dlog, WyT);
    if (dhNext) dh = tf.add(dh, dhNext);
    const s = saved.steps[t]!;
    switch (cell) {
      case 'rnn': {
        const [h] = s;
        const da = tf.mul(dh, tf.sub(one, tf.square(h!))) as tf.Tensor2D;
        dZ[t] = da;
        if (t > 0) dhNext = tf.matMul(da, WhT);
        break;
      }
      case 'lstm': {
        const [i, f, g, o, cPrev, tc] = s as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const dO = tf.mul(dh, tc);
        let dc = tf.mul(tf.mul(dh, o), tf.sub(one, tf.square(tc)));
        if (dcNext) dc = tf.add(dc, dcNext);
        const dzi = tf.mul(tf.mul(dc, g), tf.mul(i, tf.sub(one, i)));
        const dzf = tf.mul(tf.mul(dc, cPrev), tf.mul(f, tf.sub(one, f)));
        const dzg = tf.mul(tf.mul(dc, i), tf.sub(one, tf.square(g)));
        const dzo = tf.mul(dO, tf.mul(o, tf.sub(one, o)));
        dcNext = tf.mul(dc, f) as tf.Tensor2D;
        const dz = tf.concat([dzi, dzf, dzg, dzo], 1) as tf.Tensor2D;
        dZ[t] = dz;
        if (t > 0) dhNext = tf.matMul(dz, WhT);
        break;
      }
      case 'gru': {
        const [hp, z, r, n] = s as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const dn = tf.mul(dh, tf.sub(one, z));
        const dz = tf.mul(dh, tf.sub(hp, n));
        const dan = tf.mul(dn, tf.sub(one, tf.square(n))) as tf.Tensor2D;
        dN[t] = dan;
        const drh = tf.matMul(dan, WhnT!);
        const dr = tf.mul(drh, hp);
        const dzr = tf.concat([tf.mul(dz, tf.mul(z, tf.sub(one, z))), tf.mul(dr, tf.mul(r, tf.sub(one, r)))], 1) as tf.Tensor2D;
        dZ[t] = dzr;
        if (t > 0) dhNext = tf.add(tf.add(tf.mul(dh, z), tf.mul(drh, r)), tf.matMul(dzr, WhT)) as tf.Tensor2D;
        break;
      }
    }
  }

  // Weight gradients over all steps: one concat, one transpose, one matMul each.
  const catT = (ts: tf.Tensor2D[]): tf.Tensor2D => tf.transpose(tf.concat(ts, 0)) as tf.Tensor2D;
  // d Wx: for token ids one scatter of the gate gradients into the rows of their ids; for dense rows X^T dA.
  const X = (p['Wx'] as tf.Tensor2D).shape[0];
  const dWx = (dA: tf.Tensor2D): tf.Tensor =>
    inp.kind === 'ids' ? tf.scatterND(tf.reshape(tf.concat(inp.ids, 0), [T * B, 1]), dA, [X, dA.shape[1]]) : tf.matMul(catT(inp.xs), dA);
  const HprevT = catT(Array.from({ length: T }, (_, t) => hPrev(t)));
  const HT = catT(saved.hs);
  const dLog = tf.concat(dLogits, 0) as tf.Tensor2D;
  const dZcat = tf.concat(dZ, 0) as tf.Tensor2D;
  const grads: Record<string, tf.Tensor> = {
    Wy: tf.matMul(HT, dLog),
    by: tf.sum(dLog, 0),
    Wh: tf.matMul(HprevT, dZcat),
  };
  if (cell === 'gru') {
    const dNcat = tf.concat(dN, 0) as tf.Tensor2D;
    const dA = tf.concat([dZcat, dNcat], 1) as tf.Tensor2D;
    grads['Whn'] = tf.matMul(catT(saved.steps.map((s) => s[4]!)), dNcat);
    grads['Wx'] = dWx(dA);
    grads['b'] = tf.sum(dA, 0);
  } else {
    grads['Wx'] = dWx(dZcat);
    grads['b'] = tf.sum(dZcat, 0);
  }
  return { loss, grads };
}

/** Per-step one-hot tensors [B, depth] from time-major ids: built per batch, as feeding a batch would. */
function perStepOneHot(ids: Int32Array, T: number, B: number, depth: number): tf.Tensor2D[] {
  return Array.from({ length: T }, (_, t) => tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(ids.subarray(t * B, (t + 1) * B), 'int32'), depth), 'float32') as tf.Tensor2D));
}

/** The batch's inputs per step, built per batch as feeding a batch would: ids [B], or feature rows [B, X]. */
function batchInputs(data: BenchData, input: InputKind): HandInputs {
  const { T, B, X } = data.shape;
  return input === 'tokens'
    ? { kind: 'ids', ids: Array.from({ length: T }, (_, t) => tf.tensor1d(data.xs.subarray(t * B, (t + 1) * B), 'int32')) }
    : { kind: 'dense', xs: Array.from({ length: T }, (_, t) => tf.tensor2d(data.feats.subarray(t * B * X, (t + 1) * B * X), [B, X])) };
}

const inputTensors = (inp: HandInputs): tf.Tensor[] => (inp.kind === 'ids' ? inp.ids : inp.xs);

export function handFused(cell: CellKind, data: BenchData, opts: { lr?: number; seed?: number; input?: InputKind; init?: InitialParams } = {}): BenchImpl {
  const s = data.shape;
  const input = opts.input ?? 'tokens';
  const vars = new Map<string, tf.Variable>();
  const init = opts.init ? handParamsFromRnnc(cell, opts.init) : handInitValues(cell, s, opts.seed ?? 1);
  for (const [name, v] of init) vars.set(name, tf.tidy(() => tf.variable(tf.tensor(v.data, v.shape), true)));
  const params: HandParams = Object.fromEntries(vars);
  const adam = tf.train.adam(opts.lr ?? 1e-3);
  let streamState: State | undefined;
  let streamPos = 0;

  return {
    name: 'hand-fused',
    async trainStep() {
      const inp = batchInputs(data, input);
      const ys = perStepOneHot(data.ts, s.T, s.B, s.O);
      const { loss, grads } = tf.tidy(() => {
        const r = handGradients(cell, params, inp, ys);
        return { loss: r.loss, grads: r.grads };
      });
      adam.applyGradients(Object.entries(grads).map(([name, g]) => ({ name: vars.get(name)!.name, tensor: g })));
      const value = (await loss.data())[0]!;
      tf.dispose([loss, ...Object.values(grads), ...inputTensors(inp), ...ys]);
      return value;
    },
    async inferStep() {
      const k = streamPos++ % data.stream.length;
      const next = tf.tidy(() => {
        const prev = streamState ?? zeroState(cell, 1, s.H);
        const inp: HandInputs = input === 'tokens' ? { kind: 'ids', ids: [tf.tensor1d([data.stream[k]!], 'int32')] } : { kind: 'dense', xs: [tf.tensor2d(data.streamFeats.subarray(k * s.X, (k + 1) * s.X), [1, s.X])] };
        const r = cellStep(cell, params, inputProjection(params, inp, 0), prev);
        const probs = tf.softmax(tf.add(tf.matMul(r.state[0]!, params['Wy'] as tf.Tensor2D), params['by']!));
        return { state: r.state, probs };
      });
      await next.probs.data();
      next.probs.dispose();
      if (streamState) tf.dispose(streamState);
      streamState = next.state;
    },
    dispose() {
      if (streamState) tf.dispose(streamState);
      adam.dispose();
      vars.forEach((v) => v.dispose());
    },
  };
}
