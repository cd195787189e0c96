// Float64 tensors for the reference evaluator: row-major, plain arrays, no
// cleverness. Integer tensors (token ids) are stored as whole numbers.
export interface Tensor64 {
  readonly shape: readonly number[];
  readonly data: Float64Array;
  readonly dtype: 'f32' | 'i32';
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensor(shape: readonly number[], data: ArrayLike<number>, dtype: 'f32' | 'i32' = 'f32'): Tensor64 {
  if (data.length !== size(shape)) throw new Error(`tensor of shape [${shape}] needs ${size(shape)} values, got ${data.length}`);
  return { shape: [...shape], data: Float64Array.from(data), dtype };
}

export function zeros(shape: readonly number[]): Tensor64 {
  return { shape: [...shape], data: new Float64Array(size(shape)), dtype: 'f32' };
}

export function scalar(v: number): Tensor64 {
  return { shape: [], data: Float64Array.of(v), dtype: 'f32' };
}

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** Slice index t of the leading axis. */
export function sliceLead(x: Tensor64, t: number): Tensor64 {
  const inner = size(x.shape.slice(1));
  return { shape: x.shape.slice(1), data: x.data.slice(t * inner, (t + 1) * inner), dtype: x.dtype };
}

/** Stacks equal-shaped tensors along a new leading axis. */
export function stackLead(items: readonly Tensor64[], fallbackShape: readonly number[], dtype: 'f32' | 'i32'): Tensor64 {
  const inner = items[0]?.shape ?? fallbackShape;
  const n = size(inner);
  const data = new Float64Array(items.length * n);
  items.forEach((it, i) => data.set(it.data, i * n));
  return { shape: [items.length, ...inner], data, dtype: items[0]?.dtype ?? dtype };
}
