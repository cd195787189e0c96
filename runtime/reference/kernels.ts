// Reference kernels in float64: the oracle every other execution is compared
// with. Written for obviousness, not speed. One kernel per registry op
// (the table's type makes a missing one a compile error).
import { ELEMENTWISE_OPS, type ElementwiseOp } from '../../compiler/ir/elementwise.js';
import type { KernelOp } from '../../compiler/ir/ops.js';
import type { Attrs, Dim } from '../../compiler/ir/types.js';
import { size, sliceLead, stackLead, strides, type Tensor64 } from './tensor.js';

export type RefKernel = (inputs: readonly Tensor64[], attrs: Attrs) => Tensor64;

const f = (shape: readonly number[], data: Float64Array): Tensor64 => ({ shape: [...shape], data, dtype: 'f32' });

function map1(x: Tensor64, fn: (v: number) => number): Tensor64 {
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = fn(x.data[i]!);
  return f(x.shape, out);
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`reference: cannot broadcast [${a}] with [${b}]`);
    out.push(Math.max(da, db) === 1 ? 1 : da === 1 ? db : da);
  }
  return out;
}

/** For each flat index of `outShape`, the flat index into a tensor of `inShape` broadcast to it. */
function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const n = size(outShape);
  const idx = new Int32Array(n);
  const lead = outShape.length - inShape.length;
  const inStr = strides(inShape);
  const outStr = strides(outShape);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let j = 0;
    for (let ax = 0; ax < outShape.length; ax++) {
      const c = Math.floor(rem / outStr[ax]!);
      rem -= c * outStr[ax]!;
      if (ax >= lead && inShape[ax - lead] !== 1) j += c * inStr[ax - lead]!;
    }
    idx[i] = j;
  }
  return idx;
}

function map2(a: Tensor64, b: Tensor64, fn: (x: number, y: number) => number): Tensor64 {
  const shape = broadcastShape(a.shape, b.shape);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) out[i] = fn(a.data[ia[i]!]!, b.data[ib[i]!]!);
  return f(shape, out);
}

function broadcastTo(x: Tensor64, shape: readonly number[]): Tensor64 {
  const idx = broadcastIndex(x.shape, shape);
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) out[i] = x.data[idx[i]!]!;
  return f(shape, out);
}

function sumTo(x: Tensor64, target: readonly Dim[]): Tensor64 {
  const lead = x.shape.length - target.length;
  const outShape = x.shape.slice(lead).map((d, i) => (target[i] === 1 ? 1 : d));
  // Each input element adds into the output element it broadcasts from.
  const idx = broadcastIndex(outShape, x.shape);
  const out = new Float64Array(size(outShape));
  for (let i = 0; i < x.data.length; i++) out[idx[i]!]! += x.data[i]!;
  return f(outShape, out);
}

function rows(x: Tensor64): number {
  return size(x.shape.slice(0, -1));
}

function lastDim(x: Tensor64): number {
  return x.shape[x.shape.length - 1]!;
}

/** The last axis moved to the front: [..., N] -> [N, ...]. */
function leadLast(x: Tensor64): Tensor64 {
  const [n, r] = [lastDim(x), rows(x)];
  const out = new Float64Array(n * r);
  for (let i = 0; i < r; i++) for (let j = 0; j < n; j++) out[j * r + i] = x.data[i * n + j]!;
  return f([n, ...x.shape.slice(0, -1)], out);
}

/** at [M, ...] times b [..., P] summed over the shared axes: [M, P]. */
function outerLt(at: Tensor64, b: Tensor64): Tensor64 {
  const [m, p, r] = [at.shape[0]!, lastDim(b), rows(b)];
  const out = new Float64Array(m * p);
  for (let i = 0; i < m; i++)
    for (let k = 0; k < r; k++) {
      const av = at.data[i * r + k]!;
      for (let j = 0; j < p; j++) out[i * p + j]! += av * b.data[k * p + j]!;
    }
  return f([m, p], out);
}

const ownKernels: Record<KernelOp, RefKernel> = {
  constant: (_i, attrs) => f([], Float64Array.of(attrs['value'] as number)),
  zeros_like: ([x]) => f(x!.shape, new Float64Array(x!.data.length)),
  stop_gradient: ([x]) => x!,
  grad_gate: ([x]) => x!,
  sum_to: ([x], attrs) => sumTo(x!, attrs['shape'] as readonly Dim[]),
  broadcast_like: ([x, like]) => broadcastTo(x!, like!.shape),
  sum_all: ([x]) => f([], Float64Array.of(x!.data.reduce((a, b) => a + b, 0))),
  linear: ([x, w]) => {
    const [n, k, h] = [rows(x!), lastDim(x!), w!.shape[0]!];
    const out = new Float64Array(n * h);
    for (let r = 0; r < n; r++)
      for (let j = 0; j < h; j++) {
        let s = 0;
        for (let i = 0; i < k; i++) s += x!.data[r * k + i]! * w!.data[j * k + i]!;
        out[r * h + j] = s;
      }
    return f([...x!.shape.slice(0, -1), h], out);
  },
  mm: ([x, w]) => {
    const [n, k, m] = [rows(x!), lastDim(x!), w!.shape[1]!];
    const out = new Float64Array(n * m);
    for (let r = 0; r < n; r++)
      for (let i = 0; i < k; i++) {
        const xv = x!.data[r * k + i]!;
        for (let j = 0; j < m; j++) out[r * m + j]! += xv * w!.data[i * m + j]!;
      }
    return f([...x!.shape.slice(0, -1), m], out);
  },
  // a^T b is the product of lead_last(a) with b: the same sums in the same order.
  outer: ([a, b]) => outerLt(leadLast(a!), b!),
  lead_last: ([x]) => leadLast(x!),
  outer_lt: ([at, b]) => outerLt(at!, b!),
  transpose: ([x]) => {
    const [m, n] = [x!.shape[0]!, x!.shape[1]!];
    const out = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = x!.data[i * n + j]!;
    return f([n, m], out);
  },
  concat: (inputs) => {
    const n = rows(inputs[0]!);
    const widths = inputs.map(lastDim);
    const total = widths.reduce((a, b) => a + b, 0);
    const out = new Float64Array(n * total);
    for (let r = 0; r < n; r++) {
      let off = 0;
      inputs.forEach((x, k) => {
        out.set(x.data.subarray(r * widths[k]!, (r + 1) * widths[k]!), r * total + off);
        off += widths[k]!;
      });
    }
    return f([...inputs[0]!.shape.slice(0, -1), total], out);
  },
  slice_last: ([x], attrs) => {
    const [begin, width] = [attrs['begin'] as number, attrs['size'] as number];
    const [n, d] = [rows(x!), lastDim(x!)];
    const out = new Float64Array(n * width);
    for (let r = 0; r < n; r++) out.set(x!.data.subarray(r * d + begin, r * d + begin + width), r * width);
    return f([...x!.shape.slice(0, -1), width], out);
  },
  pad_last: ([x], attrs) => {
    const [before, after] = [attrs['before'] as number, attrs['after'] as number];
    const [n, d] = [rows(x!), lastDim(x!)];
    const w = before + d + after;
    const out = new Float64Array(n * w);
    for (let r = 0; r < n; r++) out.set(x!.data.subarray(r * d, (r + 1) * d), r * w + before);
    return f([...x!.shape.slice(0, -1), w], out);
  },
  expand_last: ([x]) => ({ shape: [...x!.shape, 1], data: x!.data, dtype: x!.dtype }),
  squeeze_last: ([x]) => ({ shape: x!.shape.slice(0, -1), data: x!.data, dtype: x!.dtype }),
  insert_axis: ([x], attrs) => {
    const axis = attrs['axis'] as number;
    return { shape: [...x!.shape.slice(0, axis), 1, ...x!.shape.slice(axis)], data: x!.data, dtype: x!.dtype };
  },
  drop_axis: ([x], attrs) => {
    const axis = attrs['axis'] as number;
    return { shape: [...x!.shape.slice(0, axis), ...x!.shape.slice(axis + 1)], data: x!.data, dtype: x!.dtype };
  },
  swap_lead: ([x]) => {
    const [a, b] = [x!.shape[0]!, x!.shape[1]!];
    const inner = x!.data.length / Math.max(1, a * b);
    const out = new Float64Array(x!.data.length);
    for (let i = 0; i < a; i++)
      for (let j = 0; j < b; j++) out.set(x!.data.subarray((i * b + j) * inner, (i * b + j + 1) * inner), (j * a + i) * inner);
    return { shape: [b, a, ...x!.shape.slice(2)], data: out, dtype: x!.dtype };
  },
  patches: ([x], attrs) => {
    const { outer, h, w, c } = imageDims(x!.shape);
    const k = attrs['size'] as number;
    const p = (k - 1) / 2;
    const width = k * k * c;
    const out = new Float64Array(outer * h * w * width);
    for (let n = 0; n < outer; n++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          for (let di = 0; di < k; di++)
            for (let dj = 0; dj < k; dj++) {
              const [y, z] = [i + di - p, j + dj - p];
              if (y < 0 || y >= h || z < 0 || z >= w) continue;
              for (let ch = 0; ch < c; ch++) out[((n * h + i) * w + j) * width + (di * k + dj) * c + ch] = x!.data[((n * h + y) * w + z) * c + ch]!;
            }
    return f([...x!.shape.slice(0, -1), width], out);
  },
  unpatches: ([g], attrs) => {
    const k = attrs['size'] as number;
    const { outer, h, w, c: width } = imageDims(g!.shape);
    const p = (k - 1) / 2;
    const c = width / (k * k);
    const out = new Float64Array(outer * h * w * c);
    for (let n = 0; n < outer; n++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          for (let di = 0; di < k; di++)
            for (let dj = 0; dj < k; dj++) {
              const [y, z] = [i + di - p, j + dj - p];
              if (y < 0 || y >= h || z < 0 || z >= w) continue;
              for (let ch = 0; ch < c; ch++) out[((n * h + y) * w + z) * c + ch]! += g!.data[((n * h + i) * w + j) * width + (di * k + dj) * c + ch]!;
            }
    return f([...g!.shape.slice(0, -1), c], out);
  },
  max_pool: ([x], attrs) => pool(x!, attrs['size'] as number, 'max'),
  avg_pool: ([x], attrs) => pool(x!, attrs['size'] as number, 'avg'),
  max_pool_grad: ([x, g], attrs) => {
    const k = attrs['size'] as number;
    const { outer, h, w, c } = imageDims(x!.shape);
    const [ph, pw] = [Math.floor(h / k), Math.floor(w / k)];
    const out = new Float64Array(x!.data.length);
    for (let n = 0; n < outer; n++)
      for (let i = 0; i < ph; i++)
        for (let j = 0; j < pw; j++)
          for (let ch = 0; ch < c; ch++) {
            // The first largest value of the block, in row-major order, takes the derivative.
            let best = -1;
            for (let di = 0; di < k; di++)
              for (let dj = 0; dj < k; dj++) {
                const at = ((n * h + i * k + di) * w + j * k + dj) * c + ch;
                if (best < 0 || x!.data[at]! > x!.data[best]!) best = at;
              }
            out[best] += g!.data[((n * ph + i) * pw + j) * c + ch]!;
          }
    return f(x!.shape, out);
  },
  unpool_avg: ([g], attrs) => {
    const k = attrs['size'] as number;
    const [h, w] = [attrs['height'] as number, attrs['width'] as number];
    const { outer, h: ph, w: pw, c } = imageDims(g!.shape);
    const out = new Float64Array(outer * h * w * c);
    for (let n = 0; n < outer; n++)
      for (let y = 0; y < ph * k; y++)
        for (let z = 0; z < pw * k; z++)
          for (let ch = 0; ch < c; ch++) out[((n * h + y) * w + z) * c + ch] = g!.data[((n * ph + Math.floor(y / k)) * pw + Math.floor(z / k)) * c + ch]! / (k * k);
    return f([...g!.shape.slice(0, -3), h, w, c], out);
  },
  merge_axes: ([x], attrs) => {
    const axis = attrs['axis'] as number;
    const s = x!.shape;
    return { shape: [...s.slice(0, axis), s[axis]! * s[axis + 1]!, ...s.slice(axis + 2)], data: x!.data, dtype: x!.dtype };
  },
  split_axis: ([x], attrs) => {
    const axis = attrs['axis'] as number;
    const size = attrs['size'] as number;
    const s = x!.shape;
    return { shape: [...s.slice(0, axis), size, s[axis]! / size, ...s.slice(axis + 1)], data: x!.data, dtype: x!.dtype };
  },
  gather: ([table, ids]) => {
    const [v, e] = [table!.shape[0]!, table!.shape[1]!];
    const out = new Float64Array(ids!.data.length * e);
    ids!.data.forEach((id, r) => {
      if (id < 0 || id >= v) throw new Error(`reference: id ${id} outside a table of ${v} rows`);
      out.set(table!.data.subarray(id * e, (id + 1) * e), r * e);
    });
    return f([...ids!.shape, e], out);
  },
  scatter_add: ([ids, vals], attrs) => {
    const v = attrs['rows'] as number;
    const e = lastDim(vals!);
    const out = new Float64Array(v * e);
    ids!.data.forEach((id, r) => {
      for (let j = 0; j < e; j++) out[id * e + j]! += vals!.data[r * e + j]!;
    });
    return f([v, e], out);
  },
  softmax: ([x]) => {
    const k = lastDim(x!);
    const out = new Float64Array(x!.data.length);
    for (let r = 0; r < out.length; r += k) {
      let m = -Infinity;
      for (let j = 0; j < k; j++) m = Math.max(m, x!.data[r + j]!);
      let sum = 0;
      for (let j = 0; j < k; j++) sum += out[r + j] = Math.exp(x!.data[r + j]! - m);
      for (let j = 0; j < k; j++) out[r + j]! /= sum;
    }
    return f(x!.shape, out);
  },
  shift_time: ([x], attrs) => {
    const step = x!.data.length / Math.max(1, x!.shape[0]!);
    const out = new Float64Array(x!.data.length);
    out.fill(attrs['fill'] as number, 0, step);
    out.set(x!.data.subarray(0, x!.data.length - step), step);
    return { shape: x!.shape, data: out, dtype: x!.dtype };
  },
  argmax: ([x]) => {
    const k = lastDim(x!);
    const out = new Float64Array(x!.data.length / k);
    for (let r = 0; r < out.length; r++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (x!.data[r * k + j]! > x!.data[r * k + best]!) best = j;
      out[r] = best;
    }
    return { shape: x!.shape.slice(0, -1), data: out, dtype: 'i32' };
  },
  sample_ids: ([x, u]) => {
    const k = lastDim(x!);
    const out = new Float64Array(u!.data.length);
    for (let r = 0; r < out.length; r++) out[r] = sampleRow(x!.data, r * k, k, u!.data[r]!);
    return { shape: u!.shape, data: out, dtype: 'i32' };
  },
  one_hot: ([ids], attrs) => {
    const depth = attrs['depth'] as number;
    const out = new Float64Array(ids!.data.length * depth);
    ids!.data.forEach((id, r) => {
      if (id >= 0 && id < depth) out[r * depth + id] = 1;
    });
    return f([...ids!.shape, depth], out);
  },
  xent: ([logits, labels]) => {
    const k = lastDim(logits!);
    const out = new Float64Array(labels!.data.length);
    labels!.data.forEach((label, r) => {
      const row = logits!.data.subarray(r * k, (r + 1) * k);
      const m = Math.max(...row);
      let s = 0;
      for (const v of row) s += Math.exp(v - m);
      out[r] = m + Math.log(s) - row[label]!;
    });
    return f(labels!.shape, out);
  },
  xent_grad: ([logits, labels, ct]) => {
    const k = lastDim(logits!);
    const out = new Float64Array(logits!.data.length);
    labels!.data.forEach((label, r) => {
      const row = logits!.data.subarray(r * k, (r + 1) * k);
      const m = Math.max(...row);
      let s = 0;
      for (const v of row) s += Math.exp(v - m);
      for (let j = 0; j < k; j++) out[r * k + j] = (Math.exp(row[j]! - m) / s - (j === label ? 1 : 0)) * ct!.data[r]!;
    });
    return f(logits!.shape, out);
  },
  time_index: ([x], attrs) => sliceLead(x!, attrs['index'] as number),
  time_place: ([x, like], attrs) => {
    const out = new Float64Array(like!.data.length);
    out.set(x!.data, (attrs['index'] as number) * x!.data.length);
    return f(like!.shape, out);
  },
  time_stack: (inputs) => stackLead(inputs, inputs[0]!.shape, inputs[0]!.dtype),
};

/** An element-wise entry's kernel: its `f64` element by element (compiler/ir/elementwise.ts). */
function elementwiseKernel(e: ElementwiseOp): RefKernel {
  if (e.arity === 2) return ([a, b]) => map2(a!, b!, e.f64);
  const attr = e.attr?.name;
  return ([x], attrs) => {
    const extra = attr === undefined ? 0 : (attrs[attr] as number);
    return map1(x!, (v) => e.f64(v, extra));
  };
}

/** Every op's float64 kernel, by op name (scan and fused are the evaluator's own). */
/** An image [..., H, W, C] as its leading count and sizes. */
function imageDims(shape: readonly number[]): { outer: number; h: number; w: number; c: number } {
  const [h, w, c] = shape.slice(-3) as [number, number, number];
  return { outer: size(shape.slice(0, -3)), h, w, c };
}

/** The max or mean of each size x size block; rows and columns past the last whole block are dropped. */
function pool(x: Tensor64, k: number, kind: 'max' | 'avg'): Tensor64 {
  const { outer, h, w, c } = imageDims(x.shape);
  const [ph, pw] = [Math.floor(h / k), Math.floor(w / k)];
  const out = new Float64Array(outer * ph * pw * c);
  for (let n = 0; n < outer; n++)
    for (let i = 0; i < ph; i++)
      for (let j = 0; j < pw; j++)
        for (let ch = 0; ch < c; ch++) {
          let acc = kind === 'max' ? -Infinity : 0;
          for (let di = 0; di < k; di++)
            for (let dj = 0; dj < k; dj++) {
              const v = x.data[((n * h + i * k + di) * w + j * k + dj) * c + ch]!;
              acc = kind === 'max' ? (v > acc || Number.isNaN(v) ? v : acc) : acc + v;
            }
          out[((n * ph + i) * pw + j) * c + ch] = kind === 'max' ? acc : acc / (k * k);
        }
  return f([...x.shape.slice(0, -3), ph, pw, c], out);
}

export const referenceKernels: Readonly<Record<KernelOp, RefKernel>> & Readonly<Record<string, RefKernel | undefined>> = Object.assign(
  Object.create(null) as Record<string, RefKernel>,
  Object.fromEntries(ELEMENTWISE_OPS.map((e) => [e.name, elementwiseKernel(e)])),
  ownKernels,
);

/** The token whose softmax(x[at..at+k]) mass first exceeds u (inverse transform sampling); the last on rounding. */
export function sampleRow(x: ArrayLike<number>, at: number, k: number, u: number): number {
  let m = -Infinity;
  for (let j = 0; j < k; j++) m = Math.max(m, x[at + j]!);
  let total = 0;
  for (let j = 0; j < k; j++) total += Math.exp(x[at + j]! - m);
  let acc = 0;
  for (let j = 0; j < k; j++) {
    acc += Math.exp(x[at + j]! - m) / total;
    if (u < acc) return j;
  }
  return k - 1;
}
