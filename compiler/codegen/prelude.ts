// The helper code an emitted module carries, as TypeScript text: the op
// helpers that emit-ops.ts calls (the text of runtime/tfjs/portable-ops.ts,
// generated, so interpreter and emitted code run the same helpers), the seeded generator and initialisers (ports of
// runtime/rng.ts and runtime/init.ts, so initParams(seed) matches
// TrainingSession.initParams bit for bit), truncated-BPTT windows
// (runtime/train/windows.ts) and scoped memory helpers. Each snippet is a
// list of top-level statements; module.ts includes only what a model uses.
// Tests compare every port with the runtime it copies, so a change on one
// side shows up as a failing parity test.

/** Names the emitted module defines at top level: no local variable may take them. */
export const PRELUDE_NAMES = [
  'tf', 'hasKernel', 'fastTransposedMatMul', 'unstackTime', 'flatRows', 'sumTo', 'broadcastLike', 'linear', 'mm', 'outer', 'sliceLast', 'padLast',
  'squeezeLast', 'scatterAdd', 'oneHot', 'xent', 'xentGrad', 'timeIndex', 'timePlace', 'scoped', 'Rng', 'rotl',
  'initGlorot', 'initHe', 'initUniform', 'initNormal', 'initOrthogonal', 'initIdentity', 'initFill', 'fans',
  'planWindows', 'windowGate', 'WindowPlan', 'shapeText', 'sameShape', 'restrictFrom', 'batchMajor', 'timeMajor',
  'sliceTime', 'learningRate', 'DIMS', 'PARAM_NAMES', 'PARAM_SHAPES', 'STATE_NAMES', 'mapParams', 'mapState',
  'Params', 'ParamsJson', 'Inputs', 'Targets', 'State', 'Outputs', 'ParamName', 'StateName', 'Batch',
  'LabelledBatch', 'InputTensors', 'TargetTensors', 'undefined', 'Math', 'Number', 'Array', 'Error', 'Object',
  'Float32Array', 'Float64Array', 'Int32Array', 'Uint32Array',
];

/** The op helpers: the text of runtime/tfjs/portable-ops.ts, the interpreter's own code. */
export { OP_HELPERS } from './portable-ops.generated.js';

export const SCOPE_HELPERS = `
/**
 * Runs fn in a tfjs scope: every tensor it makes is disposed when it returns,
 * except those it passed to tf.keep (which the caller then owns).
 */
function scoped<R>(fn: () => R): R {
  const box: R[] = [];
  tf.tidy(() => {
    box.push(fn());
  });
  return box[0] as R;
}

function shapeText(shape: readonly number[]): string {
  return \`[\${shape.join(', ')}]\`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** [B, T, ...] as users write sequences -> [T, B, ...] as the loops walk them. */
function timeMajor(x: tf.Tensor): tf.Tensor {
  return tf.transpose(x, [1, 0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)]);
}

/** [T, B, ...] -> [B, T, ...]. */
function batchMajor(x: tf.Tensor): tf.Tensor {
  return tf.transpose(x, [1, 0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)]);
}

/** Steps [t0, t1) of a time-major tensor. */
function sliceTime(x: tf.Tensor, t0: number, t1: number): tf.Tensor {
  return tf.slice(x, [t0], [t1 - t0]);
}

/** A host [T, B] mark with the steps before \`from\` zeroed (positions outside a window's loss). */
function restrictFrom(marks: Float32Array, batchSize: number, from: number): Float32Array {
  if (from <= 0) return marks;
  const out = Float32Array.from(marks);
  out.fill(0, 0, Math.min(from * batchSize, out.length));
  return out;
}
`;

export const RNG = `
/** Seeded random numbers (xoshiro128**, seeded by splitmix32): a port of rnnc's runtime/rng.ts. */
class Rng {
  private s: Uint32Array;
  private spare: number | null = null;

  constructor(seed: number) {
    this.s = new Uint32Array(4);
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An independent generator derived from this one (advances this one). */
  fork(): Rng {
    return new Rng(this.nextU32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** fan_in / fan_out of a weight [out, in] (shape[0] is fan_out, the rest fan_in). */
function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  return { fanIn: shape.slice(1).reduce((a, b) => a * b, 1), fanOut: shape[0]! };
}
`;

/** Initialisers, one snippet per kind (ports of runtime/init.ts); arguments are bound by the compiler. */
export const INITS: Readonly<Record<string, string>> = {
  fill: `
function initFill(n: number, value: number): Float64Array {
  return new Float64Array(n).fill(value);
}`,
  identity: `
function initIdentity(size: number, gain: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let i = 0; i < size; i++) out[i * size + i] = gain;
  return out;
}`,
  uniform: `
function initUniform(n: number, lo: number, hi: number, rng: Rng): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(lo, hi);
  return out;
}`,
  normal: `
function initNormal(n: number, mean: number, std: number, rng: Rng): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * rng.normal();
  return out;
}`,
  glorot: `
/** U(-limit, limit) with limit = gain * sqrt(6 / (fan_in + fan_out)). */
function initGlorot(shape: readonly number[], gain: number, rng: Rng): Float64Array {
  const { fanIn, fanOut } = fans(shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const limit = fanIn + fanOut === 0 ? 0 : gain * Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(-limit, limit);
  return out;
}`,
  he: `
/** N(0, (gain * sqrt(2 / fan_in))^2). */
function initHe(shape: readonly number[], gain: number, rng: Rng): Float64Array {
  const { fanIn } = fans(shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const std = fanIn === 0 ? 0 : gain * Math.sqrt(2 / fanIn);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = std * rng.normal();
  return out;
}`,
  orthogonal: `
/** A random orthogonal [rows, cols] matrix: Gram-Schmidt (twice) on a standard normal draw. */
function initOrthogonal(rows: number, cols: number, gain: number, rng: Rng): Float64Array {
  const k = Math.min(rows, cols);
  const m = Math.max(rows, cols);
  const vecs: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    let v = new Float64Array(m);
    for (;;) {
      for (let i = 0; i < m; i++) v[i] = rng.normal();
      for (let pass = 0; pass < 2; pass++) {
        for (const q of vecs) {
          let dot = 0;
          for (let i = 0; i < m; i++) dot += q[i]! * v[i]!;
          for (let i = 0; i < m; i++) v[i] = v[i]! - dot * q[i]!;
        }
      }
      let norm = 0;
      for (let i = 0; i < m; i++) norm += v[i]! * v[i]!;
      norm = Math.sqrt(norm);
      if (norm > 1e-8) {
        for (let i = 0; i < m; i++) v[i] = v[i]! / norm;
        break;
      }
      v = new Float64Array(m);
    }
    vecs.push(v);
  }
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (rows >= cols ? vecs[c]![r]! : vecs[r]![c]!);
  }
  return out;
}`,
};

export const WINDOWS = `
/** A truncated-BPTT window: steps [start, end), loss on [lossFrom, end), constants before cutBefore. */
interface WindowPlan {
  readonly start: number;
  readonly end: number;
  readonly lossFrom: number;
  readonly cutBefore: number;
}

/** The windows of a batch of \`steps\` steps (a port of rnnc's runtime/train/windows.ts). */
function planWindows(steps: number, k1: number, k2: number): WindowPlan[] {
  const out: WindowPlan[] = [];
  for (let lossFrom = 0; lossFrom < steps; lossFrom += k1) {
    const end = Math.min(steps, lossFrom + k1);
    out.push({ start: Math.max(0, Math.min(lossFrom, end - k2)), end, lossFrom, cutBefore: Math.max(0, end - k2) });
  }
  return out;
}

/** The gate of a window: 0 on constant steps, 1 where gradients flow back through the recurrence. */
function windowGate(w: WindowPlan): Float32Array {
  const g = new Float32Array(w.end - w.start);
  for (let t = w.start; t < w.end; t++) g[t - w.start] = t >= w.cutBefore ? 1 : 0;
  return g;
}
`;
