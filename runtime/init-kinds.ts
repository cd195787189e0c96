// The numeric work of the initialisers: portable on purpose (it imports only
// the generator's type), because its text is also what `rnnc compile` puts
// in emitted modules (compiler/codegen/portable.generated.ts, made by
// test/codegen/portable.test.ts), so initParams(seed) there draws exactly the
// numbers TrainingSession.initParams(seed) draws. Checking arguments and
// shapes is runtime/init.ts's job.
import type { Rng } from './rng.js';

/** fan_in / fan_out of a weight [out, in] (shape[0] is fan_out, the rest fan_in). */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  return { fanIn: shape.slice(1).reduce((a, b) => a * b, 1), fanOut: shape[0]! };
}

export function initFill(n: number, value: number): Float64Array {
  return new Float64Array(n).fill(value);
}

export function initIdentity(size: number, gain: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let i = 0; i < size; i++) out[i * size + i] = gain;
  return out;
}

export function initUniform(n: number, lo: number, hi: number, rng: Rng): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(lo, hi);
  return out;
}

export function initNormal(n: number, mean: number, std: number, rng: Rng): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * rng.normal();
  return out;
}

/** U(-limit, limit) with limit = gain * sqrt(6 / (fan_in + fan_out)). */
export function initGlorot(shape: readonly number[], gain: number, rng: Rng): Float64Array {
  const { fanIn, fanOut } = fans(shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const limit = fanIn + fanOut === 0 ? 0 : gain * Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(-limit, limit);
  return out;
}

/** N(0, (gain * sqrt(2 / fan_in))^2). */
export function initHe(shape: readonly number[], gain: number, rng: Rng): Float64Array {
  const { fanIn } = fans(shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const std = fanIn === 0 ? 0 : gain * Math.sqrt(2 / fanIn);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = std * rng.normal();
  return out;
}

/** A random orthogonal [rows, cols] matrix: Gram-Schmidt (twice) on a standard normal draw. */
export function initOrthogonal(rows: number, cols: number, gain: number, rng: Rng): Float64Array {
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
}
