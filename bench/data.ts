// The fixed random batch every implementation of a row trains on: input and
// target token ids, and the real-valued input features of the dense-input
// rows, seeded, stored time-major (element (t, b) at t * B + b) like
// runtime/data/batching.ts lays out a Batch. Each implementation builds the
// layout it needs from these same values.
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
  /** Dense-input rows: features uniform in [-1, 1), time-major [T, B, X]. */
  readonly feats: Float32Array;
  /** Dense-input rows: one feature vector per streaming step, [64, X]. */
  readonly streamFeats: Float32Array;
}

export function makeBenchData(shape: BenchShape, seed = 1): BenchData {
  const rng = new Rng(seed);
  const n = shape.T * shape.B;
  const xs = Int32Array.from({ length: n }, () => rng.int(shape.X));
  const ts = Int32Array.from({ length: n }, () => rng.int(shape.O));
  const stream = Int32Array.from({ length: 64 }, () => rng.int(shape.X));
  const feats = Float32Array.from({ length: n * shape.X }, () => rng.uniform(-1, 1));
  const streamFeats = Float32Array.from({ length: 64 * shape.X }, () => rng.uniform(-1, 1));
  return { shape, xs, ts, stream, feats, streamFeats };
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

/** Batch-major [B, T, X] of the time-major [T, B, X] features (what tf.layers is fed). */
export function featsBatchMajor(data: BenchData): Float32Array {
  const { B, T, X } = data.shape;
  const out = new Float32Array(B * T * X);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) out.set(data.feats.subarray((t * B + b) * X, (t * B + b + 1) * X), (b * T + t) * X);
  return out;
}

/** Batch-major [B, T] ids of time-major [T, B] ones (tf.layers' embedding input). */
export function idsBatchMajor(ids: Int32Array, shape: BenchShape): Int32Array {
  const out = new Int32Array(shape.B * shape.T);
  for (let t = 0; t < shape.T; t++) for (let b = 0; b < shape.B; b++) out[b * shape.T + t] = ids[t * shape.B + b]!;
  return out;
}
