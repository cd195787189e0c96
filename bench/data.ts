// The fixed random batch every implementation of a row trains on: input and
// target token ids, seeded, stored time-major (element (t, b) at t * B + b)
// like runtime/data/batching.ts lays out a Batch. Each implementation builds
// the layout it needs from these same ids.
import { Rng } from '../runtime/rng.js';
import type { BenchShape } from './config.js';

export interface BenchData {
  readonly shape: BenchShape;
  /** Input token ids in [0, X), time-major [T, B]. */
  readonly xs: Int32Array;
  /** Target token ids in [0, O), time-major [T, B]. */
  readonly ts: Int32Array;
  /** One input token per step for the streaming-inference measurement (batch 1). */
  readonly stream: Int32Array;
}

export function makeBenchData(shape: BenchShape, seed = 1): BenchData {
  const rng = new Rng(seed);
  const n = shape.T * shape.B;
  const xs = Int32Array.from({ length: n }, () => rng.int(shape.X));
  const ts = Int32Array.from({ length: n }, () => rng.int(shape.O));
  const stream = Int32Array.from({ length: 64 }, () => rng.int(shape.X));
  return { shape, xs, ts, stream };
}

/** Row b of a time-major [T, B] id array, as one sequence of T ids. */
export function sequenceOf(ids: Int32Array, shape: BenchShape, b: number): Int32Array {
  return Int32Array.from({ length: shape.T }, (_, t) => ids[t * shape.B + b]!);
}

/** Batch-major one-hot [B, T, depth] floats of time-major [T, B] ids (what a tf.layers user feeds). */
export function oneHotBatchMajor(ids: Int32Array, shape: BenchShape, depth: number): Float32Array {
  const out = new Float32Array(shape.B * shape.T * depth);
  for (let t = 0; t < shape.T; t++) {
    for (let b = 0; b < shape.B; b++) out[(b * shape.T + t) * depth + ids[t * shape.B + b]!] = 1;
  }
  return out;
}
