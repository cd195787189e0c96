// The tfjs implementations of the IR ops that take more than one tf call.
// This file is portable on purpose: it imports only @tensorflow/tfjs-core
// and nothing of rnnc, because its text is also the prelude of every module
// `rnnc compile` emits (compiler/codegen/portable-ops.generated.ts is made
// from it by test/codegen/portable.test.ts; run `npx vitest run -u` after a
// change). The interpreter and emitted code therefore run the same code.
import * as tf from '@tensorflow/tfjs-core';

/** Whether the active backend implements a kernel (wasm lacks a few; those ops get another lowering). */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * Whether matMul's transpose flags are as fast as a plain product here. On
 * the wasm and cpu backends they are 5 to 60 times slower (measured by
 * bench/matmul-transpose.ts), so the operand is transposed explicitly.
 */
export function fastTransposedMatMul(): boolean {
  return tf.getBackend() === 'tensorflow';
}

export function flatRows(x: tf.Tensor): tf.Tensor2D {
  return tf.reshape(x, [-1, x.shape[x.rank - 1]!]) as tf.Tensor2D;
}

/** Sums leading axes, and axes where the target shape has a literal 1 (undoes a broadcast). */
export function sumTo(x: tf.Tensor, target: readonly (number | string)[]): tf.Tensor {
  const lead = x.rank - target.length;
  const ones: number[] = [];
  target.forEach((d, i) => {
    if (d === 1 && x.shape[lead + i] !== 1) ones.push(lead + i);
  });
  let y = ones.length > 0 ? tf.sum(x, ones, true) : x;
  if (lead > 0) y = tf.sum(y, Array.from({ length: lead }, (_, i) => i));
  return y;
}

export function broadcastLike(x: tf.Tensor, like: tf.Tensor): tf.Tensor {
  return hasKernel('BroadcastTo') ? tf.broadcastTo(x, like.shape) : tf.add(tf.zeros(like.shape), x);
}

/** x W^T: the `W @ x` of the language, over any leading axes. */
export function linear(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const w2 = w as tf.Tensor2D;
  const y = fastTransposedMatMul() ? tf.matMul(flatRows(x), w2, false, true) : tf.matMul(flatRows(x), tf.transpose(w2));
  return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), w.shape[0]!]);
}

/** x W over any leading axes. */
export function mm(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const y = tf.matMul(flatRows(x), w as tf.Tensor2D);
  return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), w.shape[1]!]);
}

/** a^T b summed over all leading axes. */
export function outer(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return fastTransposedMatMul()
    ? tf.matMul(flatRows(a), flatRows(b), true, false)
    : tf.matMul(tf.transpose(flatRows(a)), flatRows(b));
}

/** The last axis moved to the front: [..., N] -> [N, ...]. */
export function leadLast(x: tf.Tensor): tf.Tensor {
  if (x.rank === 2) return tf.transpose(x);
  return tf.reshape(tf.transpose(flatRows(x)), [x.shape[x.rank - 1]!, ...x.shape.slice(0, -1)]);
}

/** a^T b summed over the leading axes of b, with a given as leadLast(a) [M, ...]: one plain matMul. */
export function outerLt(at: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.matMul(tf.reshape(at, [at.shape[0]!, -1]) as tf.Tensor2D, flatRows(b));
}

export function sliceLast(x: tf.Tensor, begin: number, size: number): tf.Tensor {
  return tf.slice(
    x,
    x.shape.map((_, i) => (i === x.rank - 1 ? begin : 0)),
    x.shape.map((d, i) => (i === x.rank - 1 ? size : d)),
  );
}

export function padLast(x: tf.Tensor, before: number, after: number): tf.Tensor {
  return tf.pad(x, x.shape.map((_, i): [number, number] => (i === x.rank - 1 ? [before, after] : [0, 0])));
}

export function squeezeLast(x: tf.Tensor): tf.Tensor {
  return tf.squeeze(x, [x.rank - 1]);
}

/** Sums rows of values into a [rows, E] table at ids (the derivative of an embedding lookup). */
export function scatterAdd(ids: tf.Tensor, values: tf.Tensor, rows: number): tf.Tensor {
  // scatterND sums the updates of repeated ids. Measured for 2048 rows of 256: 0.3 ms on wasm (a one-hot
  // product: 6 ms; wasm has no UnsortedSegmentSum), 1.2 ms on cpu (its UnsortedSegmentSum: 780 ms).
  return tf.scatterND(tf.reshape(ids, [-1, 1]), flatRows(values), [rows, values.shape[values.rank - 1]!]);
}

/**
 * Rows of a [V, E] table at ids (an embedding lookup). The wasm backend's
 * gather kernel copies slowly (15 ms for 2048 rows of 256); for small tables
 * a one-hot product there is 4x faster and gives the same numbers. A few ids
 * (streaming) stay a gather: one kernel instead of four.
 */
export function gatherRows(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const rows = table.shape[0]!;
  if (tf.getBackend() !== 'wasm' || rows > 256 || ids.size < 64) return tf.gather(table, ids);
  const flatIds = tf.reshape(ids, [-1]) as tf.Tensor1D;
  const y = tf.matMul(tf.cast(tf.oneHot(flatIds, rows), 'float32'), table as tf.Tensor2D);
  return tf.reshape(y, [...ids.shape, table.shape[1]!]);
}

export function oneHot(ids: tf.Tensor, depth: number): tf.Tensor {
  return tf.cast(tf.oneHot(ids as tf.Tensor1D, depth), 'float32');
}

/** Per-position cross-entropy of logits [..., K] against integer labels [...]. */
export function xent(logits: tf.Tensor, labels: tf.Tensor): tf.Tensor {
  const k = logits.shape[logits.rank - 1]!;
  const picked = tf.sum(tf.mul(logits, tf.oneHot(labels as tf.Tensor1D, k)), -1);
  return tf.sub(tf.logSumExp(logits, -1), picked);
}

/** (softmax(logits) - one_hot(labels)) * ct: the derivative of xent. */
export function xentGrad(logits: tf.Tensor, labels: tf.Tensor, ct: tf.Tensor): tf.Tensor {
  const k = logits.shape[logits.rank - 1]!;
  return tf.mul(tf.sub(tf.softmax(logits), tf.oneHot(labels as tf.Tensor1D, k)), tf.expandDims(ct, -1));
}

export function timeIndex(x: tf.Tensor, index: number): tf.Tensor {
  return tf.squeeze(tf.slice(x, [index], [1]), [0]);
}

export function timePlace(x: tf.Tensor, like: tf.Tensor, index: number): tf.Tensor {
  const steps = like.shape[0]!;
  return tf.pad(tf.expandDims(x, 0), [[index, steps - 1 - index], ...x.shape.map((): [number, number] => [0, 0])]);
}

/**
 * The steps of a time-major tensor [T, ...] as T tensors. The wasm
 * backend's slice kernel copies its whole input for every slice, so
 * tf.unstack there costs T full copies; reading the values once and
 * making each step from them costs one.
 */
export function unstackTime(x: tf.Tensor): tf.Tensor[] {
  if (tf.getBackend() !== 'wasm') return tf.unstack(x);
  const steps = x.shape[0]!;
  const inner = x.shape.slice(1);
  const size = inner.reduce((a, b) => a * b, 1);
  const values = x.dataSync();
  return Array.from({ length: steps }, (_, t) => tf.tensor(values.subarray(t * size, (t + 1) * size), inner, x.dtype));
}
