// Parameter initialisers: the values a parameter starts from, computed in
// float64 on the CPU from the seeded Rng, so the same seed gives the same
// starting point on every backend (the tfjs backends only ever see the
// finished numbers). Values are returned row-major.
//
// Shape conventions: a 2-D weight is [out, in] (it multiplies a column vector
// of size `in`), so fan_in = shape[1] and fan_out = shape[0]; a 1-D parameter
// has fan_in = fan_out = n; higher ranks treat shape[0] as fan_out and the
// product of the rest as fan_in.
import { RuntimeUserError } from './io.js';
import type { Rng } from './rng.js';

export type InitKind =
  | 'zeros'
  | 'ones'
  | 'constant'
  | 'identity'
  | 'orthogonal'
  | 'uniform'
  | 'normal'
  | 'glorot'
  | 'xavier'
  | 'he';

/**
 * Each kind's arguments in positional order with their defaults (`undefined`
 * means required). `uniform` is special-cased in bindArgs: one positional
 * argument is `scale`, two are `lo, hi`.
 */
const KINDS: Readonly<Record<InitKind, Readonly<Record<string, number | undefined>>>> = {
  zeros: {},
  ones: {},
  constant: { value: undefined },
  identity: { gain: 1 },
  orthogonal: { gain: 1 },
  uniform: { scale: 0.05, lo: Number.NaN, hi: Number.NaN },
  normal: { mean: 0, std: 0.05 },
  glorot: { gain: 1 },
  xavier: { gain: 1 },
  he: { gain: 1 },
};

const KNOWN_KINDS = Object.keys(KINDS) as InitKind[];

function isInitKind(kind: string): kind is InitKind {
  return Object.prototype.hasOwnProperty.call(KINDS, kind);
}

function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RuntimeUserError(`initialiser: invalid shape ${fmtShape(shape)}: dimensions must be non-negative integers`);
    }
    n *= d;
  }
  return n;
}

/** fan_in / fan_out under the [out, in] convention described at the top of the file. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  return { fanIn: sizeOf(shape.slice(1)), fanOut: shape[0]! };
}

/**
 * Merges positional and named arguments into one record with defaults filled
 * in, rejecting unknown names, duplicates, too many positionals and
 * non-finite values, so every kind below can read its arguments blindly.
 */
function bindArgs(
  kind: InitKind,
  args: Readonly<Record<string, number>>,
  positional: readonly number[],
): Record<string, number> {
  const spec = KINDS[kind];
  const names = Object.keys(spec);
  const bound: Record<string, number> = {};
  for (const [name, value] of Object.entries(args)) {
    if (!names.includes(name)) {
      const valid = names.length === 0 ? 'it takes no arguments' : `valid arguments: ${names.join(', ')}`;
      throw new RuntimeUserError(`initialiser ${kind}: unknown argument '${name}' (${valid})`);
    }
    bound[name] = value;
  }
  // uniform(x) means U(-x, x) and uniform(a, b) means U(a, b): the positional
  // meaning depends on the count, so it cannot use the generic order.
  const order = kind === 'uniform' ? (positional.length === 1 ? ['scale'] : ['lo', 'hi']) : names;
  if (positional.length > order.length) {
    throw new RuntimeUserError(
      `initialiser ${kind}: takes at most ${order.length} positional argument${order.length === 1 ? '' : 's'}, got ${positional.length}`,
    );
  }
  positional.forEach((value, i) => {
    const name = order[i]!;
    if (name in bound) {
      throw new RuntimeUserError(`initialiser ${kind}: argument '${name}' given both by position and by name`);
    }
    bound[name] = value;
  });
  for (const [name, value] of Object.entries(bound)) {
    if (!Number.isFinite(value)) {
      throw new RuntimeUserError(`initialiser ${kind}: argument '${name}' must be a finite number, got ${value}`);
    }
  }
  for (const name of names) {
    if (name in bound) continue;
    const dflt = spec[name];
    if (dflt === undefined) {
      throw new RuntimeUserError(`initialiser ${kind}: missing required argument '${name}'`);
    }
    bound[name] = dflt;
  }
  return bound;
}

/** Initial values for a parameter of `shape`, row-major, float64. */
export function initValues(
  kind: string,
  args: Readonly<Record<string, number>>,
  positional: readonly number[],
  shape: readonly number[],
  rng: Rng,
): Float64Array {
  if (!isInitKind(kind)) {
    throw new RuntimeUserError(`unknown initialiser '${kind}' (known: ${KNOWN_KINDS.join(', ')})`);
  }
  const a = bindArgs(kind, args, positional);
  const n = sizeOf(shape);
  const out = new Float64Array(n);
  switch (kind) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'constant':
      return out.fill(a['value']!);
    case 'identity':
      return identity(shape, a['gain']!, out);
    case 'orthogonal':
      return orthogonal(shape, a['gain']!, rng);
    case 'uniform': {
      const hasLo = !Number.isNaN(a['lo']!);
      const hasHi = !Number.isNaN(a['hi']!);
      if (hasLo !== hasHi) {
        throw new RuntimeUserError(`initialiser uniform: give both 'lo' and 'hi', or only 'scale'`);
      }
      if (hasLo && 'scale' in args) {
        throw new RuntimeUserError(`initialiser uniform: give either 'scale' or 'lo' and 'hi', not both`);
      }
      const lo = hasLo ? a['lo']! : -a['scale']!;
      const hi = hasLo ? a['hi']! : a['scale']!;
      if (!(lo <= hi)) {
        throw new RuntimeUserError(`initialiser uniform: needs lo <= hi (scale >= 0), got U(${lo}, ${hi})`);
      }
      for (let i = 0; i < n; i++) out[i] = rng.uniform(lo, hi);
      return out;
    }
    case 'normal': {
      const std = a['std']!;
      if (std < 0) throw new RuntimeUserError(`initialiser normal: std must be >= 0, got ${std}`);
      for (let i = 0; i < n; i++) out[i] = a['mean']! + std * rng.normal();
      return out;
    }
    case 'glorot':
    case 'xavier': {
      const { fanIn, fanOut } = fans(shape);
      const limit = fanIn + fanOut === 0 ? 0 : a['gain']! * Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) out[i] = rng.uniform(-limit, limit);
      return out;
    }
    case 'he': {
      const { fanIn } = fans(shape);
      const std = fanIn === 0 ? 0 : a['gain']! * Math.sqrt(2 / fanIn);
      for (let i = 0; i < n; i++) out[i] = std * rng.normal();
      return out;
    }
  }
}

function identity(shape: readonly number[], gain: number, out: Float64Array): Float64Array {
  if (shape.length !== 2 || shape[0] !== shape[1]) {
    throw new RuntimeUserError(
      `initialiser identity needs a square 2-D shape [n, n], got ${fmtShape(shape)}; use orthogonal for non-square matrices`,
    );
  }
  const size = shape[0]!;
  for (let i = 0; i < size; i++) out[i * size + i] = gain;
  return out;
}

/**
 * A random orthogonal matrix: Gram-Schmidt on a standard normal matrix, which
 * is the QR factorisation with R's diagonal positive, i.e. the Haar-uniform
 * draw (no sign correction needed, unlike LAPACK's QR). Each vector is
 * orthogonalised twice ("twice is enough", Giraud et al.) so W W^T = I holds
 * to ~1e-15 rather than degrading with the condition number. For [r, c] with
 * r != c the min(r, c) vectors of length max(r, c) become the columns (r > c)
 * or the rows (r < c) of the result.
 */
function orthogonal(shape: readonly number[], gain: number, rng: Rng): Float64Array {
  if (shape.length !== 2) {
    throw new RuntimeUserError(`initialiser orthogonal needs a 2-D shape, got ${fmtShape(shape)}`);
  }
  const [rows, cols] = [shape[0]!, shape[1]!];
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
      // A draw (numerically) inside the span of the previous vectors has
      // probability zero; redraw rather than divide by ~0.
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
    for (let c = 0; c < cols; c++) {
      // rows >= cols: vector c is column c; rows < cols: vector r is row r.
      const value = rows >= cols ? vecs[c]![r]! : vecs[r]![c]!;
      out[r * cols + c] = gain * value;
    }
  }
  return out;
}

export type ParamRole = 'weight' | 'recurrent' | 'bias' | 'embedding';

/**
 * The initialiser a parameter gets when the program names none: Glorot for
 * input weights, orthogonal for square recurrent matrices (keeps the
 * recurrence's gain near 1 at the start), zeros for biases, N(0, 0.1) for
 * embeddings (small and symmetric; fan-based scaling means little for a lookup
 * table).
 */
export function defaultInit(
  role: ParamRole,
  shape: readonly number[],
): { kind: InitKind; args: Record<string, number> } {
  switch (role) {
    case 'weight':
      return { kind: 'glorot', args: {} };
    case 'recurrent':
      return shape.length === 2 && shape[0] === shape[1]
        ? { kind: 'orthogonal', args: {} }
        : { kind: 'glorot', args: {} };
    case 'bias':
      return { kind: 'zeros', args: {} };
    case 'embedding':
      return { kind: 'normal', args: { std: 0.1 } };
  }
}
