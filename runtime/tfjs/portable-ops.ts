// The tfjs implementations of the IR ops that take more than one tf call.
// This file is portable on purpose: it imports only @tensorflow/tfjs-core
// and nothing of rnnc, because its text is also the prelude of every module
// `rnnc compile` emits (compiler/codegen/portable-ops.generated.ts is made
// from it by test/codegen/portable.test.ts; run `npx vitest run -u` after a
// change). The interpreter and emitted code therefore run the same code.
import * as tf from '@tensorflow/tfjs-core';
import { ELEMENTWISE_CODE } from '../../compiler/ir/elementwise.js';
import type { FusedArg, FusedBody } from '../../compiler/ir/types.js';
import { adamOnWebgpu, fusedOnWebgpu } from './webgpu-fused.js';

/** Whether the active backend implements a kernel (wasm lacks a few; those ops get another lowering). */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * Whether matMul's transpose flags are as fast as a plain product here. On
 * the wasm and cpu backends they are 5 to 60 times slower (measured by
 * bench/matmul-transpose.ts), so the operand is transposed explicitly. On
 * webgpu the product's shader reads either layout, and a transpose would be
 * a dispatch of its own.
 */
export function fastTransposedMatMul(): boolean {
  const name = tf.getBackend();
  return name === 'tensorflow' || name === 'webgpu';
}

/** x as rows of its last axis; a matrix as it is. */
export function flatRows(x: tf.Tensor): tf.Tensor2D {
  return x.rank === 2 ? (x as tf.Tensor2D) : (reshaped(x, [x.shape.slice(0, -1).reduce((a, b) => a * b, 1), x.shape[x.rank - 1]!]) as tf.Tensor2D);
}

/** Sums leading axes, and axes where the target shape has a literal 1 (undoes a broadcast). */
export function sumTo(x: tf.Tensor, target: readonly (number | string)[]): tf.Tensor {
  const lead = x.rank - target.length;
  const ones: number[] = [];
  target.forEach((d, i) => {
    if (d === 1 && x.shape[lead + i] !== 1) ones.push(lead + i);
  });
  if (ones.length === 0 && lead > 0 && hostBackend() && !taping() && x.dtype === 'float32') return sumLeadingOnHost(x, lead);
  let y = ones.length > 0 ? tf.sum(x, ones, true) : x;
  if (lead > 0) y = tf.sum(y, Array.from({ length: lead }, (_, i) => i));
  return y;
}

/**
 * Sums over the leading axes on the host (a bias gradient over all steps):
 * 0.6 ms for [64, 32, 256] where wasm's sum kernel takes 4 ms. Accumulates
 * in float64.
 */
function sumLeadingOnHost(x: tf.Tensor, lead: number): tf.Tensor {
  const shape = x.shape.slice(lead);
  const width = shape.reduce((a, b) => a * b, 1);
  return onHost([x], [shape], ([a], [out]) => {
    const acc = new Float64Array(width);
    for (let base = 0; base < a!.length; base += width) for (let j = 0; j < width; j++) acc[j] += a![base + j]!;
    out!.set(acc);
  })[0]!;
}

export function broadcastLike(x: tf.Tensor, like: tf.Tensor): tf.Tensor {
  return hasKernel('BroadcastTo') ? tf.broadcastTo(x, like.shape) : tf.add(tf.zeros(like.shape), x);
}

/** x W^T: the `W @ x` of the language, over any leading axes. */
export function linear(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const w2 = w as tf.Tensor2D;
  const y = fastTransposedMatMul() ? tf.matMul(flatRows(x), w2, false, true) : product(flatRows(x), transpose2d(w2) as tf.Tensor2D);
  return x.rank === 2 ? y : reshaped(y, [...x.shape.slice(0, -1), w.shape[0]!]);
}

/** x W over any leading axes. */
export function mm(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const y = product(flatRows(x), w as tf.Tensor2D);
  return x.rank === 2 ? y : reshaped(y, [...x.shape.slice(0, -1), w.shape[1]!]);
}

/**
 * The matrix product a b. On the cpu backend a host loop (four rows of a
 * against four rows of b at a time, float64 sums): 7.5 to 8 GFLOP/s where
 * the backend's kernel runs 1.0 to 1.5 (32x256x256 to 2048^3). Elsewhere
 * the backend's kernel (wasm's XNNPACK: 30 to 45).
 */
export function product(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (tf.getBackend() !== 'cpu' || !hostBackend() || taping() || a.dtype !== 'float32' || b.dtype !== 'float32') return tf.matMul(a, b);
  const [m, k] = a.shape;
  const n = b.shape[1];
  return onHost([a, b], [[m, n]], ([x, y], [out]) => productRows(x!, y!, out!, m, k, n))[0] as tf.Tensor2D;
}

/** out[M, N] = a[M, K] b[K, N], by blocks of four rows of out and four steps of k (the last rows one by one). */
function productRows(a: ArrayLike<number>, b: ArrayLike<number>, out: Float32Array, m: number, k: number, n: number): void {
  const acc = new Float64Array(4 * n);
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    acc.fill(0);
    const [r0, r1, r2, r3] = [i * k, (i + 1) * k, (i + 2) * k, (i + 3) * k];
    let p = 0;
    for (; p + 4 <= k; p += 4) {
      const a00 = a[r0 + p]!, a01 = a[r0 + p + 1]!, a02 = a[r0 + p + 2]!, a03 = a[r0 + p + 3]!;
      const a10 = a[r1 + p]!, a11 = a[r1 + p + 1]!, a12 = a[r1 + p + 2]!, a13 = a[r1 + p + 3]!;
      const a20 = a[r2 + p]!, a21 = a[r2 + p + 1]!, a22 = a[r2 + p + 2]!, a23 = a[r2 + p + 3]!;
      const a30 = a[r3 + p]!, a31 = a[r3 + p + 1]!, a32 = a[r3 + p + 2]!, a33 = a[r3 + p + 3]!;
      const b0 = p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
      for (let j = 0; j < n; j++) {
        const v0 = b[b0 + j]!, v1 = b[b1 + j]!, v2 = b[b2 + j]!, v3 = b[b3 + j]!;
        acc[j] += a00 * v0 + a01 * v1 + a02 * v2 + a03 * v3;
        acc[n + j] += a10 * v0 + a11 * v1 + a12 * v2 + a13 * v3;
        acc[2 * n + j] += a20 * v0 + a21 * v1 + a22 * v2 + a23 * v3;
        acc[3 * n + j] += a30 * v0 + a31 * v1 + a32 * v2 + a33 * v3;
      }
    }
    for (; p < k; p++) {
      const a0 = a[r0 + p]!, a1 = a[r1 + p]!, a2 = a[r2 + p]!, a3 = a[r3 + p]!;
      const b0 = p * n;
      for (let j = 0; j < n; j++) {
        const v = b[b0 + j]!;
        acc[j] += a0 * v;
        acc[n + j] += a1 * v;
        acc[2 * n + j] += a2 * v;
        acc[3 * n + j] += a3 * v;
      }
    }
    out.set(acc, i * n);
  }
  for (; i < m; i++) {
    acc.fill(0, 0, n);
    const r = i * k;
    let p = 0;
    for (; p + 4 <= k; p += 4) {
      const a0 = a[r + p]!, a1 = a[r + p + 1]!, a2 = a[r + p + 2]!, a3 = a[r + p + 3]!;
      const b0 = p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
      for (let j = 0; j < n; j++) acc[j] += a0 * b[b0 + j]! + a1 * b[b1 + j]! + a2 * b[b2 + j]! + a3 * b[b3 + j]!;
    }
    for (; p < k; p++) {
      const a0 = a[r + p]!;
      const b0 = p * n;
      for (let j = 0; j < n; j++) acc[j] += a0 * b[b0 + j]!;
    }
    out.set(acc.subarray(0, n), i * n);
  }
}

/** The transposes of matrices side by side (a cell's gate matrices as one): concat(w_k^T) along the last axis. */
export function joinedTranspose(ws: readonly tf.Tensor[]): tf.Tensor {
  return ws.length === 1 ? transpose2d(ws[0]!) : tf.tidy(() => tf.concat(ws.map((w) => transpose2d(w)), -1));
}

/** a^T b summed over all leading axes. */
export function outer(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return fastTransposedMatMul()
    ? tf.matMul(flatRows(a), flatRows(b), true, false)
    : product(transpose2d(flatRows(a)) as tf.Tensor2D, flatRows(b));
}

/** The last axis moved to the front: [..., N] -> [N, ...]. */
export function leadLast(x: tf.Tensor): tf.Tensor {
  if (x.rank === 2) return transpose2d(x);
  return tf.reshape(transpose2d(flatRows(x)), [x.shape[x.rank - 1]!, ...x.shape.slice(0, -1)]);
}

/** a^T b summed over the leading axes of b, with a given as leadLast(a) [M, ...]: one plain matMul. */
export function outerLt(at: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return product(reshaped(at, [at.shape[0]!, at.shape.slice(1).reduce((x, y) => x * y, 1)]) as tf.Tensor2D, flatRows(b));
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

/** The first two axes swapped: time-major [T, B, ...] <-> batch-major [B, T, ...]. */
export function swapLead(x: tf.Tensor): tf.Tensor {
  return tf.transpose(x, [1, 0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)]);
}

/** An image [..., H, W, C] as its leading count and sizes. */
function imageSizes(shape: readonly number[]): [number, number, number, number] {
  const [h, w, c] = shape.slice(-3) as [number, number, number];
  return [shape.slice(0, -3).reduce((a, b) => a * b, 1), h, w, c];
}

/**
 * The size x size neighbourhood of every pixel, zero-padded, side by side:
 * [..., H, W, C] -> [..., H, W, size*size*C], channel (di*size + dj)*C + c
 * (compiler/ir/ops.ts `patches`; a convolution is patches, then a product).
 * On the host one copying pass; elsewhere a pad and size^2 slices.
 */
export function patches(x: tf.Tensor, k: number): tf.Tensor {
  const [outer, h, w, c] = imageSizes(x.shape);
  const p = (k - 1) / 2;
  const width = k * k * c;
  if (hostBackend() && !taping() && x.dtype === 'float32') {
    return onHost([x], [[...x.shape.slice(0, -1), width]], ([a], [out]) => {
      out!.fill(0);
      for (let n = 0; n < outer; n++)
        for (let i = 0; i < h; i++)
          for (let j = 0; j < w; j++) {
            const o = ((n * h + i) * w + j) * width;
            for (let di = 0; di < k; di++) {
              const y = i + di - p;
              if (y < 0 || y >= h) continue;
              for (let dj = 0; dj < k; dj++) {
                const z = j + dj - p;
                if (z < 0 || z >= w) continue;
                const from = ((n * h + y) * w + z) * c;
                out!.set(a!.subarray(from, from + c), o + (di * k + dj) * c);
              }
            }
          }
    })[0]!;
  }
  return tf.tidy(() => {
    const x4 = tf.reshape(x, [outer, h, w, c]);
    const padded = tf.pad(x4, [[0, 0], [p, p], [p, p], [0, 0]]);
    const parts: tf.Tensor[] = [];
    for (let di = 0; di < k; di++) for (let dj = 0; dj < k; dj++) parts.push(tf.slice(padded, [0, di, dj, 0], [outer, h, w, c]));
    return tf.reshape(tf.concat(parts, -1), [...x.shape.slice(0, -1), width]);
  });
}

/** The transpose of patches: each neighbourhood value summed back onto its pixel ([..., H, W, size*size*C] -> [..., H, W, C]). */
export function unpatches(g: tf.Tensor, k: number): tf.Tensor {
  const [outer, h, w, width] = imageSizes(g.shape);
  const p = (k - 1) / 2;
  const c = width / (k * k);
  if (hostBackend() && !taping() && g.dtype === 'float32') {
    return onHost([g], [[...g.shape.slice(0, -1), c]], ([a], [out]) => {
      out!.fill(0);
      for (let n = 0; n < outer; n++)
        for (let i = 0; i < h; i++)
          for (let j = 0; j < w; j++) {
            const o = ((n * h + i) * w + j) * width;
            for (let di = 0; di < k; di++) {
              const y = i + di - p;
              if (y < 0 || y >= h) continue;
              for (let dj = 0; dj < k; dj++) {
                const z = j + dj - p;
                if (z < 0 || z >= w) continue;
                const to = ((n * h + y) * w + z) * c;
                const from = o + (di * k + dj) * c;
                for (let ch = 0; ch < c; ch++) out![to + ch] += a![from + ch]!;
              }
            }
          }
    })[0]!;
  }
  return tf.tidy(() => {
    const g4 = tf.reshape(g, [outer, h, w, width]);
    let sum: tf.Tensor = tf.zeros([outer, h, w, c]);
    // out[y, z] += block(di, dj)[y - di + p, z - dj + p]: the block padded by p on each side, read from (2p - di, 2p - dj).
    for (let di = 0; di < k; di++)
      for (let dj = 0; dj < k; dj++) {
        const block = tf.slice(g4, [0, 0, 0, (di * k + dj) * c], [outer, h, w, c]);
        const padded = tf.pad(block, [[0, 0], [p, p], [p, p], [0, 0]]);
        sum = tf.add(sum, tf.slice(padded, [0, 2 * p - di, 2 * p - dj, 0], [outer, h, w, c]));
      }
    return tf.reshape(sum, [...g.shape.slice(0, -1), c]);
  });
}

/** The max or mean of each size x size block of [..., H, W, C]; rows and columns past the last whole block are dropped. */
export function pool2d(x: tf.Tensor, k: number, kind: 'max' | 'avg'): tf.Tensor {
  const [outer, h, w, c] = imageSizes(x.shape);
  const [ph, pw] = [Math.floor(h / k), Math.floor(w / k)];
  const shape = [...x.shape.slice(0, -3), ph, pw, c];
  if (hostBackend() && !taping() && x.dtype === 'float32') {
    return onHost([x], [shape], ([a], [out]) => {
      for (let n = 0; n < outer; n++)
        for (let i = 0; i < ph; i++)
          for (let j = 0; j < pw; j++)
            for (let ch = 0; ch < c; ch++) {
              let acc = kind === 'max' ? -Infinity : 0;
              for (let di = 0; di < k; di++)
                for (let dj = 0; dj < k; dj++) {
                  const v = a![((n * h + i * k + di) * w + j * k + dj) * c + ch]!;
                  acc = kind === 'max' ? (v > acc || v !== v ? v : acc) : acc + v;
                }
              out![((n * ph + i) * pw + j) * c + ch] = kind === 'max' ? acc : acc / (k * k);
            }
    })[0]!;
  }
  return tf.tidy(() => {
    const x4 = tf.reshape(x, [outer, h, w, c]) as tf.Tensor4D;
    const y = kind === 'max' ? tf.maxPool(x4, k, k, 'valid') : tf.avgPool(x4, k, k, 'valid');
    return tf.reshape(y, shape);
  });
}

/** The derivative of max pooling: g at the first largest value of each block (row-major), 0 elsewhere. */
export function maxPoolGrad(x: tf.Tensor, g: tf.Tensor, k: number): tf.Tensor {
  const [outer, h, w, c] = imageSizes(x.shape);
  const [ph, pw] = [Math.floor(h / k), Math.floor(w / k)];
  if (hostBackend() && !taping() && x.dtype === 'float32' && g.dtype === 'float32') {
    return onHost([x, g], [x.shape], ([a, b], [out]) => {
      out!.fill(0);
      for (let n = 0; n < outer; n++)
        for (let i = 0; i < ph; i++)
          for (let j = 0; j < pw; j++)
            for (let ch = 0; ch < c; ch++) {
              let best = -1;
              for (let di = 0; di < k; di++)
                for (let dj = 0; dj < k; dj++) {
                  const at = ((n * h + i * k + di) * w + j * k + dj) * c + ch;
                  if (best < 0 || a![at]! > a![best]!) best = at;
                }
              out![best] += b![((n * ph + i) * pw + j) * c + ch]!;
            }
    })[0]!;
  }
  return tf.tidy(() => {
    // Blocks as a last axis of size^2 (row-major), the first largest picked by argMax.
    const x4 = tf.slice(tf.reshape(x, [outer, h, w, c]), [0, 0, 0, 0], [outer, ph * k, pw * k, c]);
    const blocks = tf.reshape(tf.transpose(tf.reshape(x4, [outer, ph, k, pw, k, c]), [0, 1, 3, 5, 2, 4]), [outer, ph, pw, c, k * k]);
    const picked = tf.mul(tf.cast(tf.oneHot(tf.argMax(blocks, -1), k * k), 'float32'), tf.reshape(g, [outer, ph, pw, c, 1]));
    const back = tf.reshape(tf.transpose(tf.reshape(picked, [outer, ph, pw, c, k, k]), [0, 1, 4, 2, 5, 3]), [outer, ph * k, pw * k, c]);
    return tf.reshape(tf.pad(back, [[0, 0], [0, h - ph * k], [0, w - pw * k], [0, 0]]), x.shape);
  });
}

/** The transpose of average pooling: each value / size^2 over its block of a height x width image, 0 past the last whole block. */
export function unpoolAvg(g: tf.Tensor, k: number, height: number, width: number): tf.Tensor {
  const [outer, ph, pw, c] = imageSizes(g.shape);
  const shape = [...g.shape.slice(0, -3), height, width, c];
  if (hostBackend() && !taping() && g.dtype === 'float32') {
    return onHost([g], [shape], ([a], [out]) => {
      out!.fill(0);
      for (let n = 0; n < outer; n++)
        for (let y = 0; y < ph * k; y++)
          for (let z = 0; z < pw * k; z++)
            for (let ch = 0; ch < c; ch++) out![((n * height + y) * width + z) * c + ch] = a![((n * ph + Math.floor(y / k)) * pw + Math.floor(z / k)) * c + ch]! / (k * k);
    })[0]!;
  }
  return tf.tidy(() => {
    const spread = tf.tile(tf.reshape(g, [outer, ph, 1, pw, 1, c]), [1, 1, k, 1, k, 1]);
    const blocks = tf.mul(tf.reshape(spread, [outer, ph * k, pw * k, c]), 1 / (k * k));
    return tf.reshape(tf.pad(blocks, [[0, 0], [0, height - ph * k], [0, width - pw * k], [0, 0]]), shape);
  });
}

/** Axis `axis` and the next joined into one (row-major): a reshape. */
export function mergeAxes(x: tf.Tensor, axis: number): tf.Tensor {
  const s = x.shape;
  return reshaped(x, [...s.slice(0, axis), s[axis]! * s[axis + 1]!, ...s.slice(axis + 2)]);
}

/** Axis `axis` split into [size, rest] (row-major): a reshape. */
export function splitAxis(x: tf.Tensor, axis: number, size: number): tf.Tensor {
  const s = x.shape;
  return reshaped(x, [...s.slice(0, axis), size, s[axis]! / size, ...s.slice(axis + 1)]);
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
 * Rows of a [V, E] table at ids (an embedding lookup). Where the data is on
 * the host (cpu, wasm) the rows are copied there: 0.1 ms for 2048 rows of
 * 256, where wasm's gather kernel takes 12 ms (and a one-hot product 3 ms).
 */
export function gatherRows(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  if (!hostBackend() || taping() || table.dtype !== 'float32') return tf.gather(table, ids);
  const [rows, width] = [table.shape[0]!, table.shape[1]!];
  return onHost([table, ids], [[...ids.shape, width]], ([t, i], [out]) => {
    for (let r = 0; r < i!.length; r++) {
      const id = i![r]!;
      if (id >= 0 && id < rows) out!.set(t!.subarray(id * width, (id + 1) * width), r * width);
      else out!.fill(0, r * width, (r + 1) * width);
    }
  })[0]!;
}

/**
 * The transpose of a matrix. On the host (cpu, wasm) a blocked copy: 0.6 ms
 * for 2048 x 256 where wasm's transpose kernel takes 3.8 ms (the weight
 * gradients transpose the stacked steps of a sequence).
 */
export function transpose2d(x: tf.Tensor): tf.Tensor {
  if (x.rank !== 2 || !hostBackend() || taping() || x.dtype !== 'float32') return tf.transpose(x);
  const [rows, cols] = [x.shape[0]!, x.shape[1]!];
  return onHost([x], [[cols, rows]], ([a], [out]) => {
    const block = 32;
    for (let r0 = 0; r0 < rows; r0 += block) {
      const r1 = Math.min(r0 + block, rows);
      for (let c0 = 0; c0 < cols; c0 += block) {
        const c1 = Math.min(c0 + block, cols);
        for (let c = c0; c < c1; c++) {
          const o = c * rows;
          for (let r = r0; r < r1; r++) out![o + r] = a![r * cols + c]!;
        }
      }
    }
  })[0]!;
}

export function oneHot(ids: tf.Tensor, depth: number): tf.Tensor {
  return tf.cast(tf.oneHot(ids as tf.Tensor1D, depth), 'float32');
}

/**
 * Per-position cross-entropy of logits [..., K] against integer labels [...]
 * (a label outside [0, K) picks nothing: the loss is log-sum-exp). On wasm:
 * -log of the label's softmax probability (wasm's softmax kernel is
 * vectorised, 0.24 ms for [64, 32, 128] where its exp alone takes 1.5), with
 * log-sum-exp in float64 for a row whose probability is below 1e-30 or not
 * finite. On cpu: log-sum-exp in a host loop (2 ms; the backend's softmax
 * kernel takes 40).
 */
export function xent(logits: tf.Tensor, labels: tf.Tensor): tf.Tensor {
  const k = logits.shape[logits.rank - 1]!;
  if (hostBackend() && !taping() && logits.dtype === 'float32') {
    const pick = (x: ArrayLike<number>, r: number, label: number): number => (label >= 0 && label < k ? x[r * k + label]! : 0);
    if (tf.getBackend() === 'cpu') {
      return onHost([logits, labels], [labels.shape], ([x, y], [out]) => {
        for (let r = 0; r < out!.length; r++) out![r] = logSumExpRow(x!, r * k, k) - pick(x!, r, y![r]!);
      })[0]!;
    }
    return withSoftmax(logits, (p) =>
      onHost([p, logits, labels], [labels.shape], ([p, x, y], [out]) => {
        for (let r = 0; r < out!.length; r++) {
          const label = y![r]!;
          const q = label >= 0 && label < k ? p![r * k + label]! : 0;
          out![r] = q > 1e-30 && q <= 1 ? -Math.log(q) : logSumExpRow(x!, r * k, k) - pick(x!, r, label);
        }
      })[0]!,
    );
  }
  const picked = tf.sum(tf.mul(logits, oneHot(labels, k)), -1);
  return tf.sub(tf.logSumExp(logits, -1), picked);
}

/** `use` of softmax(logits) over the last axis, disposed after. */
function withSoftmax(logits: tf.Tensor, use: (p: tf.Tensor) => tf.Tensor): tf.Tensor {
  const p = tf.softmax(logits);
  try {
    return use(p);
  } finally {
    p.dispose();
  }
}

/** log Σ_j e^(x[at + j]) for j < k, in float64. */
function logSumExpRow(x: ArrayLike<number>, at: number, k: number): number {
  let m = -Infinity;
  for (let j = 0; j < k; j++) m = Math.max(m, x[at + j]!);
  if (!Number.isFinite(m)) return m;
  let sum = 0;
  for (let j = 0; j < k; j++) sum += Math.exp(x[at + j]! - m);
  return m + Math.log(sum);
}

/** (softmax(logits) - one_hot(labels)) * ct: the derivative of xent. On wasm one pass over its softmax; on cpu a host loop. */
export function xentGrad(logits: tf.Tensor, labels: tf.Tensor, ct: tf.Tensor): tf.Tensor {
  const k = logits.shape[logits.rank - 1]!;
  if (hostBackend() && !taping() && logits.dtype === 'float32' && ct.dtype === 'float32' && ct.size === labels.size) {
    if (tf.getBackend() === 'cpu') {
      return onHost([logits, labels, ct], [logits.shape], ([x, y, c], [out]) => {
        for (let r = 0; r < y!.length; r++) {
          const at = r * k;
          let m = -Infinity;
          for (let j = 0; j < k; j++) m = Math.max(m, x![at + j]!);
          let sum = 0;
          for (let j = 0; j < k; j++) sum += out![at + j] = Math.exp(x![at + j]! - m);
          const scale = c![r]!;
          for (let j = 0; j < k; j++) out![at + j] = (out![at + j]! / sum - (j === y![r] ? 1 : 0)) * scale;
        }
      })[0]!;
    }
    return withSoftmax(logits, (p) =>
      onHost([p, labels, ct], [logits.shape], ([p, y, c], [out]) => {
        for (let r = 0, e = 0; r < y!.length; r++) {
          const label = y![r]!;
          const scale = c![r]!;
          for (let j = 0; j < k; j++, e++) out![e] = (p![e]! - (j === label ? 1 : 0)) * scale;
        }
      })[0]!,
    );
  }
  return tf.mul(tf.sub(tf.softmax(logits), oneHot(labels, k)), tf.expandDims(ct, -1));
}

/**
 * One Adam update of a parameter p with gradient g and moments m, v at step
 * t (1 for the first): m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2,
 * p' = p - lr (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps); returns
 * [p', m', v']. On the host (cpu, wasm) one pass in float64, rounded once
 * (a dozen kernels and their temporaries otherwise: 3 ms of a 200 ms batch
 * on cpu where the kernels took 30).
 */
export function adamStep(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, b1: number, b2: number, eps: number, lr: number, t: number): tf.Tensor[] {
  // On webgpu one generated kernel per parameter (runtime/tfjs/webgpu-fused.ts).
  const gpu = adamOnWebgpu(p, g, m, v, b1, b2, eps, lr, t);
  if (gpu !== null) return gpu;
  const [c1, c2] = [1 - Math.pow(b1, t), 1 - Math.pow(b2, t)];
  if (hostBackend() && !taping() && [p, g, m, v].every((x) => x.dtype === 'float32' && x.size === p.size)) {
    return onHost([p, g, m, v], [p.shape, p.shape, p.shape], ([pv, gv, mv, vv], [po, mo, vo]) => {
      for (let i = 0; i < po!.length; i++) {
        const gi = gv![i]!;
        const mi = b1 * mv![i]! + (1 - b1) * gi;
        const vi = b2 * vv![i]! + (1 - b2) * gi * gi;
        mo![i] = mi;
        vo![i] = vi;
        po![i] = pv![i]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
      }
    });
  }
  return tf.tidy(() => {
    const m2 = tf.add(tf.mul(tf.scalar(b1), m), tf.mul(tf.scalar(1 - b1), g));
    const v2 = tf.add(tf.mul(tf.scalar(b2), v), tf.mul(tf.scalar(1 - b2), tf.square(g)));
    // The bias corrections are computed in float64; only the final factors enter float32.
    const step = tf.div(tf.mul(tf.scalar(lr), tf.div(m2, tf.scalar(c1))), tf.add(tf.sqrt(tf.div(v2, tf.scalar(c2))), tf.scalar(eps)));
    return [tf.sub(p, step), m2, v2];
  });
}

/**
 * One update of one parameter by a first-order optimizer (the rules, their
 * defaults and sources: runtime/train/optimizer-rules.ts): the new
 * parameter and slots, as new tensors. The runtime assigns them to its
 * variables (runtime/train/optimizers.ts); an emitted module keeps them in
 * its optimizer state. Call it inside a tidy or scope.
 */
export function optimizerUpdate(
  name: string,
  p: tf.Tensor,
  g: tf.Tensor,
  s: Readonly<Record<string, tf.Tensor>>,
  h: Readonly<Record<string, number>>,
  lr: number,
  t: number,
): { p: tf.Tensor; slots: Record<string, tf.Tensor> } {
  switch (name) {
    case 'sgd':
      return { p: tf.sub(p, tf.mul(tf.scalar(lr), g)), slots: {} };
    case 'momentum': {
      const mu = tf.scalar(h['momentum']!);
      const lrG = tf.mul(tf.scalar(lr), g);
      const v = tf.sub(tf.mul(mu, s['velocity']!), lrG);
      return { p: h['nesterov'] === 1 ? tf.add(p, tf.sub(tf.mul(mu, v), lrG)) : tf.add(p, v), slots: { velocity: v } };
    }
    case 'rmsprop': {
      const rho = h['rho']!;
      const ms = tf.add(tf.mul(tf.scalar(rho), s['ms']!), tf.mul(tf.scalar(1 - rho), tf.square(g)));
      return { p: tf.sub(p, tf.div(tf.mul(tf.scalar(lr), g), tf.add(tf.sqrt(ms), tf.scalar(h['eps']!)))), slots: { ms } };
    }
    case 'adam': {
      // One pass on the host where the data lives there (adamStep).
      const [p2, m2, v2] = adamStep(p, g, s['m']!, s['v']!, h['beta1']!, h['beta2']!, h['eps']!, lr, t);
      return { p: p2!, slots: { m: m2!, v: v2! } };
    }
    case 'adagrad': {
      const acc = tf.add(s['accumulator']!, tf.square(g));
      return { p: tf.sub(p, tf.div(tf.mul(tf.scalar(lr), g), tf.add(tf.sqrt(acc), tf.scalar(h['eps']!)))), slots: { accumulator: acc } };
    }
    default:
      throw new Error(`internal: unknown optimizer ${name}`);
  }
}

/**
 * Gradient clipping by the global norm: g <- g * min(1, maxNorm / ||g||)
 * with ||g|| the L2 norm of all gradients taken together (Pascanu et al.),
 * so the direction of the whole update is kept; the factor is maxNorm /
 * max(||g||, maxNorm), with no division by zero when every gradient is 0.
 * Returns the norm before clipping, then the clipped gradients (new tensors).
 */
export function clipGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number): tf.Tensor[] {
  return tf.tidy(() => {
    const squares = grads.map((g) => tf.sum(tf.square(g)));
    const total = squares.length === 0 ? tf.scalar(0) : addMany(squares);
    const globalNorm = tf.sqrt(total);
    const limit = tf.scalar(maxNorm);
    const factor = tf.div(limit, tf.maximum(globalNorm, limit));
    return [globalNorm, ...grads.map((g) => tf.mul(g, factor))];
  });
}

/**
 * The sum of tensors of one shape: tf.addN over at most 7 at a time. The
 * webgpu backend's AddN binds every input as a storage buffer, and a WebGPU
 * device offers 8 per shader unless asked for more (the output takes one),
 * so a model with more parameters failed there.
 */
function addMany(xs: readonly tf.Tensor[]): tf.Tensor {
  let parts = [...xs];
  while (parts.length > 7) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < parts.length; i += 7) next.push(i + 1 === parts.length ? parts[i]! : tf.addN(parts.slice(i, i + 7)));
    parts = next;
  }
  return tf.addN(parts);
}

/** Gradient clipping by value: every element clamped to [-limit, limit] (new tensors). */
export function clipValues(grads: readonly tf.Tensor[], limit: number): tf.Tensor[] {
  return grads.map((g) => tf.clipByValue(g, -limit, limit));
}

/** Token ids [T, ...] one step later, `fill` first: a decoder's previous tokens under teacher forcing. */
export function shiftTime(x: tf.Tensor, fill: number): tf.Tensor {
  const first = tf.fill([1, ...x.shape.slice(1)], fill, 'int32');
  if (x.shape[0]! <= 1) return x.shape[0] === 1 ? first : tf.slice(first, [0], [0]);
  return tf.concat([first, tf.slice(x, [0], [x.shape[0]! - 1])], 0);
}

/**
 * A token drawn from softmax(logits) per row by inverse transform of the
 * uniform draws u: the first index whose cumulative probability exceeds u.
 */
export function sampleIds(logits: tf.Tensor, u: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const k = logits.shape[logits.rank - 1]!;
    const cdf = tf.cumsum(tf.softmax(logits), logits.rank - 1);
    const below = tf.cast(tf.lessEqual(cdf, tf.expandDims(u, -1)), 'int32');
    return tf.minimum(tf.sum(below, -1), tf.scalar(k - 1, 'int32'));
  });
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
  const steps = x.shape[0]!;
  const inner = x.shape.slice(1);
  // One step (streaming): a view of the same data, no copy.
  if (steps === 1) return [reshaped(x, inner)];
  if (tf.getBackend() !== 'wasm') return tf.unstack(x);
  const size = inner.reduce((a, b) => a * b, 1);
  const values = x.dataSync();
  return Array.from({ length: steps }, (_, t) => tf.tensor(values.subarray(t * size, (t + 1) * size), inner, x.dtype));
}

/** Per-step values stacked along a new leading time axis; one step is a view of its data. */
export function stackTime(steps: readonly tf.Tensor[]): tf.Tensor {
  return steps.length === 1 ? reshaped(steps[0]!, [1, ...steps[0]!.shape]) : tf.stack([...steps]);
}

/**
 * x with another shape of the same size, sharing its data. On cpu and wasm
 * without a kernel (what their reshape kernels do, less the dispatch: 0.1 us
 * where a reshape takes 0.7 and stacking one step 0.8).
 */
export function reshaped(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
  const backend = tf.backend() as unknown as { incRef?(dataId: object): void };
  if (!hostBackend() || taping() || typeof backend.incRef !== 'function') return tf.reshape(x, [...shape]);
  if (shape.reduce((a, b) => a * b, 1) !== x.size) throw new Error(`internal: reshaped [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
  backend.incRef(x.dataId);
  return tf.engine().makeTensorFromTensorInfo({ dataId: x.dataId, shape: [...shape], dtype: x.dtype });
}

// ---------------------------------------------------------------- fused elementwise groups
//
// A `fused` node (compiler/passes/fuse-elementwise.ts) computes a group of
// elementwise ops in one call. Its body (compiler/ir/types.ts FusedBody)
// lists one instruction per op; an argument is an input (`{ in: 0 }`), an
// earlier result (`{ tmp: 3 }`) or a number (`{ num: 0.5 }`). On the cpu
// backend, and on wasm when the arithmetic is small enough that per-kernel
// dispatch would dominate, the group runs as one kernel: a JavaScript loop
// over the elements, in float64, rounding to float32 only on the way out.
// Elsewhere (webgl, webgpu, tensorflow), and where a page forbids
// `new Function`, it runs op by op with the same tf calls as the unfused ops.

/** The op-by-op form: the same tf calls as the unfused ops (runtime/tfjs/kernels.ts). */
function fusedByOps(body: FusedBody, inputs: readonly tf.Tensor[]): tf.Tensor[] {
  const results: tf.Tensor[] = [];
  const arg = (a: FusedArg): tf.Tensor => ('in' in a ? inputs[a.in]! : 'tmp' in a ? results[a.tmp]! : tf.scalar(a.num));
  for (const { op, args, attr } of body.instrs) {
    // As runtime/tfjs/kernels.ts calls an element-wise op: tf.<fn>(operands..., attribute, extra...).
    const code = ELEMENTWISE_CODE[op];
    const fn = code === undefined ? undefined : (tf as unknown as Record<string, ((...a: (tf.Tensor | number)[]) => tf.Tensor) | undefined>)[code.tf];
    if (code === undefined || fn === undefined) throw new Error(`fused: unknown op ${op}`);
    results.push(fn(...args.map(arg), ...(attr !== undefined ? [attr] : []), ...code.extra));
  }
  return asFused(body.outputs.map((k) => results[k]!), inputs);
}

/** Results computed op by op, each broadcast to the shape of all inputs broadcast, as the fused loop writes them. */
function asFused(results: readonly tf.Tensor[], inputs: readonly tf.Tensor[]): tf.Tensor[] {
  const shape = inputs.reduce<number[]>((s, t) => tf.backend_util.assertAndGetBroadcastShape(s, t.shape), []);
  return results.map((r) => (r.size === shape.reduce((x, y) => x * y, 1) ? r : tf.broadcastTo(r, shape)));
}

/**
 * tanh in a fused loop: for |x| < 4 a rational minimax approximation
 * (Eigen's fast float tanh: relative error at most 1.3e-7, about one float32
 * rounding; 3 ns where Math.tanh takes 17 and wasm's kernel 10), beyond it
 * 1 - 2 / (e^2x + 1), exact to float64 rounding there.
 */
export function tanh_(x: number): number {
  if (x > -4 && x < 4) {
    const x2 = x * x;
    let p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13;
    p = x2 * p - 8.60467152213735e-11;
    p = x2 * p + 5.12229709037114e-8;
    p = x2 * p + 1.48572235717979e-5;
    p = x2 * p + 6.37261928875436e-4;
    p = x2 * p + 4.89352455891786e-3;
    let q = x2 * 1.19825839466702e-6 + 1.18534705686654e-4;
    q = x2 * q + 2.268434632439e-3;
    q = x2 * q + 4.89352518554385e-3;
    return (x * p) / q;
  }
  return 1 - 2 / (exp_(2 * x) + 1);
}

/** 2^k for k in [-1023, 1023], at k + 1023: exp_'s scale. */
const P2 = Float64Array.from({ length: 2047 }, (_, k) => 2 ** (k - 1023));

/**
 * e^x in a fused loop: for |x| < 708, x = k ln 2 + r with |r| <= ln 2 / 2
 * (k rounded by adding and subtracting 1.5 * 2^52), e^r by its Taylor
 * polynomial of degree 7 (relative error below 1e-8, a sixth of a float32
 * rounding) times 2^k from a table (P2[k + 1023]); beyond, Math.exp.
 * 3 ns where Math.exp takes 7 and wasm's kernel 6.
 */
export function exp_(x: number): number {
  if (x > -708 && x < 708) {
    const k = x * 1.4426950408889634 + 6755399441055744 - 6755399441055744;
    const r = x - k * 0.6931471803691238 - k * 1.9082149292705877e-10;
    const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040)))))));
    return p * P2[(k + 1023) | 0]!;
  }
  return Math.exp(x);
}

/** One element of an op, as JavaScript over float64 values: the entry's `loop` (compiler/ir/elementwise.ts; with tanh_ and exp_ above). */
function fusedExpression(op: string, a: string, b: string | undefined): string {
  const code = ELEMENTWISE_CODE[op];
  if (code === undefined) throw new Error(`fused: unknown op ${op}`);
  return `(${code.loop.replace(/\$([01])/g, (_, k: string) => (k === '0' ? a : b ?? 'NaN'))})`;
}

/**
 * How an input broadcasts against the output, by element index e of n:
 * 'e' (same size), 's' (one value), 'm' (a trailing block: e % size) or
 * 'd' (leading axes with trailing ones: e / (n / size)); null: none of these.
 * (The fifth mode, 'w', a window of the last axis, is the input's attribute.)
 */
function broadcastMode(shape: readonly number[], out: readonly number[]): 'e' | 's' | 'm' | 'd' | 'w' | null {
  const size = shape.reduce((a, b) => a * b, 1);
  const n = out.reduce((a, b) => a * b, 1);
  if (size === n) return 'e';
  if (size === 1) return 's';
  const s = [...Array<number>(Math.max(0, out.length - shape.length)).fill(1), ...shape];
  let lead = 0;
  while (s[lead] === 1) lead++;
  if (s.slice(lead).every((d, i) => d === out[lead + i])) return 'm';
  let end = s.length;
  while (s[end - 1] === 1) end--;
  if (s.slice(0, end).every((d, i) => d === out[i])) return 'd';
  return null;
}

/** p[k]: what input k's reads need (mode m: its size; d: n / size; w: output width, input width, window begin). */
type FusedLoop = (ins: readonly ArrayLike<number>[], outs: Float32Array[], n: number, p: readonly (readonly number[])[]) => void;
const fusedLoops = new WeakMap<FusedBody, Map<string, FusedLoop | null>>();

/**
 * The statements of a host loop that read the inputs in these broadcast modes:
 * `pre` before the loop, `step` at the end of each element, `input(k)` the
 * expression of input k's value at element e (to be evaluated once per element).
 */
function loopReads(modes: string): { pre: string[]; step: string[]; input: (k: number) => string } {
  const pre: string[] = [];
  // Broadcast reads index through counters stepped once per element (no division or remainder in the loop):
  // m: c cycles through [0, q); d: c advances every q elements (r counts); w: c cycles through the window's
  // w columns while r steps by the input's row width z.
  const step: string[] = [];
  [...modes].forEach((m, k) => {
    pre.push(`const a${k} = ins[${k}];`);
    if (m === 's') pre.push(`const s${k} = a${k}[0];`);
    else if (m === 'm') {
      pre.push(`const q${k} = p[${k}][0]; let c${k} = 0;`);
      step.push(`if (++c${k} === q${k}) c${k} = 0;`);
    } else if (m === 'd') {
      pre.push(`const q${k} = p[${k}][0]; let c${k} = 0, r${k} = 0;`);
      step.push(`if (++r${k} === q${k}) { r${k} = 0; c${k}++; }`);
    } else if (m === 'w') {
      pre.push(`const w${k} = p[${k}][0], z${k} = p[${k}][1]; let c${k} = p[${k}][2], r${k} = 0;`);
      step.push(`if (++r${k} === w${k}) { r${k} = 0; c${k} += z${k} - w${k}; }`);
    }
  });
  const input = (k: number): string => {
    const m = modes[k];
    if (m === 'w') return `a${k}[c${k}++]`;
    return m === 'e' ? `a${k}[e]` : m === 's' ? `s${k}` : `a${k}[c${k}]`;
  };
  return { pre, step, input };
}

/** The loop of a body for these broadcast modes, compiled once per body object; null where `new Function` is not allowed. */
function fusedLoop(body: FusedBody, modes: string): FusedLoop | null {
  let loops = fusedLoops.get(body);
  if (loops === undefined) fusedLoops.set(body, (loops = new Map()));
  if (loops.has(modes)) return loops.get(modes)!;
  const { instrs, outputs } = body;
  const { pre, step, input } = loopReads(modes);
  const lines: string[] = [];
  outputs.forEach((_, k) => pre.push(`const o${k} = outs[${k}];`));
  // Each input is read once per element, then used by name.
  const read = new Set<number>();
  instrs.forEach(({ op, args, attr }, k) => {
    const names = args.map((a) => {
      if ('tmp' in a) return `t${a.tmp}`;
      if ('num' in a) return `(${a.num})`;
      if (!read.has(a.in)) {
        read.add(a.in);
        lines.push(`const i${a.in} = ${input(a.in)};`);
      }
      return `i${a.in}`;
    });
    lines.push(`const t${k} = ${fusedExpression(op, names[0]!, attr !== undefined ? `(${attr})` : names[1])};`);
  });
  outputs.forEach((t, k) => lines.push(`o${k}[e] = t${t};`));
  lines.push(...step);
  let loop: FusedLoop | null;
  try {
    const source = `return function (ins, outs, n, p) {\n${pre.join('\n')}\nfor (let e = 0; e < n; e++) {\n${lines.join('\n')}\n}\n};`;
    loop = (new Function('tanh_', 'exp_', source) as (t: typeof tanh_, x: typeof exp_) => FusedLoop)(tanh_, exp_);
  } catch {
    loop = null;
  }
  loops.set(modes, loop);
  return loop;
}

/**
 * A fused group as an emitted module writes it (compiler/codegen/emit-fused.ts):
 * its host loop, and its body as a function of tensors.
 */
export interface FusedGroup {
  /** The host loop, written out, reading input k in mode modes[k] (broadcastMode's letters) with what p[k] gives (fusedLoop's). */
  readonly loop: FusedLoop;
  readonly modes: string;
  /** The same body over tensors, one tf call per op (the ops' unfused kernels); returns the outputs. */
  readonly tensors: (...inputs: tf.Tensor[]) => tf.Tensor[];
  /** Its instructions and outputs: the ops the choice between the host loop and one kernel per op weighs (fusedOnHost), and what the webgpu kernels are generated from. */
  readonly body: FusedBody;
}

/**
 * Whether a loop written for mode `written` reads an input right that is in
 * mode `found` here: the same mode, or a special case of it (a trailing block
 * or leading axes of the whole size, or of one value; one value of a size-1
 * output).
 */
function readsAs(written: string, found: string | null): boolean {
  return found !== null && (written === found || written === 'm' || written === 'd' || (written === 's' && found === 'e'));
}

/**
 * Whether the host loop beats one kernel per op: always on cpu (its kernels
 * are JavaScript loops too, one pass and one allocation each); on wasm by
 * the fitted costs (about 3.4 us per dispatched kernel, 3 us per host call).
 */
function fusedOnHost(ops: readonly string[], n: number): boolean {
  if (!hostBackend()) return false;
  if (tf.getBackend() === 'cpu') return true;
  let host = 3000;
  let kernels = 0;
  for (const op of ops) {
    // Per-element costs in ns (host loop, wasm kernel) of each entry (compiler/ir/elementwise.ts), fitted to
    // groups timed both ways on wasm inside training and streaming steps (LSTM, GRU and RNN steps, a backward
    // chain; batch 1 to 64 of 128 to 512). An LSTM step's group of 17 ops at batch 32 of 256 is the even case.
    const [h, w] = ELEMENTWISE_CODE[op]?.cost ?? [0.5, 0.3];
    host += n * h;
    kernels += 3400 + n * w;
  }
  return host < kernels;
}

// ---------------------------------------------------------------- kernels run on the host
//
// The cpu and wasm backends keep tensor data in host memory (a JavaScript
// array; wasm's heap), so a kernel can be a JavaScript function over views
// of it: one dispatch however much it does.

const HOST_KERNEL = 'RnncHost';

/** Fills the outputs (float32, zeroed on cpu, uninitialised on wasm) from the inputs. */
type HostFill = (ins: readonly (Float32Array | Int32Array)[], outs: Float32Array[]) => void;

interface HostKernelAttrs {
  readonly fill: HostFill;
  readonly shapes: readonly (readonly number[])[];
}

/** The host memory of a tensor: wasm's heap, or the cpu backend's array. */
interface HostBackend {
  makeOutput?(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap?(t: tf.TensorInfo): Float32Array | Int32Array;
  data?: { get(id: unknown): { values: Float32Array | Int32Array } };
  makeTensorInfo?(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

function registerHostKernel(backendName: string): void {
  if (tf.getKernel(HOST_KERNEL, backendName)) return;
  tf.registerKernel({
    kernelName: HOST_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as HostBackend;
      const ins = inputs as unknown as tf.TensorInfo[];
      const { fill, shapes } = attrs as unknown as HostKernelAttrs;
      if (b.makeOutput && b.typedArrayFromHeap) {
        // Allocate first: a growing heap detaches views taken before.
        const outs = shapes.map((shape) => b.makeOutput!([...shape], 'float32'));
        fill(ins.map((t) => b.typedArrayFromHeap!(t)), outs.map((t) => b.typedArrayFromHeap!(t) as Float32Array));
        return outs;
      }
      const outs = shapes.map((shape) => new Float32Array(shape.reduce((x, y) => x * y, 1)));
      fill(ins.map((t) => b.data!.get(t.dataId).values), outs);
      return outs.map((v, k) => b.makeTensorInfo!([...shapes[k]!], 'float32', v));
    },
  });
}

/**
 * Whether the active backend keeps its data on the host (cpu, wasm) and
 * exposes the internals the host kernels, the views of `reshaped` and
 * `taping` use. These are not tfjs's public API: each is probed once per
 * backend, and where one is missing (another tfjs version) every op takes
 * its plain tf path instead, slower but the same numbers.
 * test/backends/tfjs-internals.test.ts fails on a tfjs whose internals
 * changed; README ("Compile and ship") gives the supported versions.
 */
function hostBackend(): boolean {
  const name = tf.getBackend();
  if (name !== 'cpu' && name !== 'wasm') return false;
  let ok = hostInternals.get(name);
  if (ok === undefined) {
    ok = hasHostInternals(name, tf.backend(), tf.engine());
    hostInternals.set(name, ok);
  }
  return ok;
}
const hostInternals = new Map<string, boolean>();

/** Whether a backend and the engine have the internals of hostBackend's comment. */
export function hasHostInternals(name: string, backend: object, engine: object): boolean {
  const b = backend as HostBackend & { incRef?: unknown };
  const e = engine as { state?: { gradientDepth?: unknown }; makeTensorFromTensorInfo?: unknown; runKernel?: unknown };
  const memory =
    name === 'wasm' ? typeof b.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function' : typeof b.data?.get === 'function' && typeof b.makeTensorInfo === 'function';
  return memory && typeof b.incRef === 'function' && typeof e.state?.gradientDepth === 'number' && typeof e.makeTensorFromTensorInfo === 'function' && typeof e.runKernel === 'function';
}

/** Runs `fill` as one kernel over host views of the inputs and of new float32 outputs of the given shapes. */
function onHost(inputs: readonly tf.Tensor[], shapes: readonly (readonly number[])[], fill: HostFill): tf.Tensor[] {
  registerHostKernel(tf.getBackend());
  const attrs: HostKernelAttrs = { fill, shapes };
  const out = tf.engine().runKernel(HOST_KERNEL, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? out : [out as tf.Tensor];
}

/** Whether tfjs's own autodiff is recording (tests check ours with it): it cannot differentiate host kernels. */
function taping(): boolean {
  return (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;
}

/**
 * Runs a fused elementwise body on its inputs; returns its outputs.
 * `windows` ([begin, size] per input, [-1, -1] for all of it) names the part
 * of an input's last axis the body reads: a gate's columns of a product
 * computed for all gates at once.
 */
export function fused(body: FusedBody, inputs: readonly tf.Tensor[], windows?: readonly number[]): tf.Tensor[] {
  // On webgpu generated kernels, most often one for the whole group (runtime/tfjs/webgpu-fused.ts).
  const gpu = fusedOnWebgpu(body, inputs, windows);
  if (gpu !== null) return gpu;
  const ops = body.instrs.map((instr) => instr.op);
  const loopFor = (modes: readonly (string | null)[]): { loop: FusedLoop; modes: string } | null => {
    const loop = modes.includes(null) ? null : fusedLoop(body, modes.join(''));
    return loop === null ? null : { loop, modes: modes.join('') };
  };
  return runFused(ops, body.outputs.length, inputs, windows, loopFor, (read) => fusedByOps(body, read));
}

/** Runs a fused group of an emitted module (FusedGroup) on its inputs, as `fused` runs a body; returns its outputs. */
export function fusedGroup(group: FusedGroup, inputs: readonly tf.Tensor[], windows?: readonly number[]): tf.Tensor[] {
  const gpu = fusedOnWebgpu(group.body, inputs, windows);
  if (gpu !== null) return gpu;
  const loopFor = (modes: readonly (string | null)[]): { loop: FusedLoop; modes: string } | null =>
    modes.every((m, k) => readsAs(group.modes[k]!, m)) ? { loop: group.loop, modes: group.modes } : null;
  const ops = group.body.instrs.map((instr) => instr.op);
  return runFused(ops, group.body.outputs.length, inputs, windows, loopFor, (read) => asFused(group.tensors(...read), read));
}

/**
 * How a fused group reads its inputs (windows as `fused` takes them): each
 * input's window, the output's shape and size, each input's broadcast mode
 * against it (broadcastMode's letters, 'w' for a window; null: a pattern no
 * loop reads), and for modes chosen, what each input's reads need
 * (fusedLoop's p). The host loops and the webgpu kernels
 * (runtime/tfjs/webgpu-fused.ts) read inputs the same way.
 */
export function fusedReads(
  inputs: readonly tf.Tensor[],
  windows: readonly number[] | undefined,
): {
  windowOf: (k: number) => [number, number] | undefined;
  shape: number[];
  n: number;
  found: ('e' | 's' | 'm' | 'd' | 'w' | null)[];
  params: (modes: string) => number[][];
} {
  const windowOf = (k: number): [number, number] | undefined =>
    windows !== undefined && windows[2 * k]! >= 0 ? [windows[2 * k]!, windows[2 * k + 1]!] : undefined;
  const shapes = inputs.map((t, k) => {
    const w = windowOf(k);
    return w === undefined ? t.shape : [...t.shape.slice(0, -1), w[1]];
  });
  const shape = shapes.reduce<number[]>((s, t) => tf.backend_util.assertAndGetBroadcastShape(s, t), []);
  const n = shape.reduce((x, y) => x * y, 1);
  const found = shapes.map((s, k) => (windowOf(k) === undefined ? broadcastMode(s, shape) : s.reduce((x, y) => x * y, 1) === n ? 'w' : null));
  const params = (modes: string): number[][] =>
    inputs.map((t, k) => {
      const w = windowOf(k);
      return modes[k] === 'w' ? [w![1], t.shape[t.rank - 1]!, w![0]] : modes[k] === 'm' ? [t.size] : modes[k] === 'd' ? [n / t.size] : [];
    });
  return { windowOf, shape, n, found, params };
}

/**
 * One host loop over the elements where that pays and a loop reads the
 * inputs' broadcast modes (`loopFor`: the loop and the modes it reads them
 * in), else op by op (`byOps` of the windowed inputs).
 */
function runFused(
  ops: readonly string[],
  nOutputs: number,
  inputs: readonly tf.Tensor[],
  windows: readonly number[] | undefined,
  loopFor: (modes: readonly (string | null)[]) => { loop: FusedLoop; modes: string } | null,
  byOps: (read: tf.Tensor[]) => tf.Tensor[],
): tf.Tensor[] {
  const { windowOf, shape, n, found, params } = fusedReads(inputs, windows);
  if (!taping() && fusedOnHost(ops, n) && inputs.every((t) => t.dtype === 'float32')) {
    const loop = loopFor(found);
    if (loop) return onHost(inputs, Array.from({ length: nOutputs }, () => shape), (ins, outs) => loop.loop(ins, outs, n, params(loop.modes)));
  }
  const read = inputs.map((t, k) => {
    const w = windowOf(k);
    return w === undefined ? t : sliceLast(t, w[0], w[1]);
  });
  return byOps(read);
}
