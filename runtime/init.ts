// Parameter initialisers: the values a parameter starts from, computed in
// float64 on the CPU from the seeded Rng, so the same seed gives the same
// starting point on every backend (the tfjs backends only ever see the
// finished numbers). Values are returned row-major.
//
// Shape conventions: a 2-D weight is [out, in] (it multiplies a column vector
// of size `in`), so fan_in = shape[1] and fan_out = shape[0]; a 1-D parameter
// has fan_in = fan_out = n; higher ranks treat shape[0] as fan_out and the
// product of the rest as fan_in.
import { fans, initFill, initGlorot, initHe, initIdentity, initNormal, initOrthogonal, initUniform } from './init-kinds.js';
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

/** The initialisers a `param` declaration may name (`rnnc lsp` completes them). */
export const KNOWN_KINDS = Object.keys(KINDS) as InitKind[];

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
export { fans } from './init-kinds.js';

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
  const bound: Record<string, number> = Object.create(null);
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
      return initFill(n, 1);
    case 'constant':
      return initFill(n, a['value']!);
    case 'identity':
      if (shape.length !== 2 || shape[0] !== shape[1]) {
        throw new RuntimeUserError(
          `initialiser identity needs a square 2-D shape [n, n], got ${fmtShape(shape)}; use orthogonal for non-square matrices`,
        );
      }
      return initIdentity(shape[0]!, a['gain']!);
    case 'orthogonal':
      if (shape.length !== 2) {
        throw new RuntimeUserError(`initialiser orthogonal needs a 2-D shape, got ${fmtShape(shape)}`);
      }
      return initOrthogonal(shape[0]!, shape[1]!, a['gain']!, rng);
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
      return initUniform(n, lo, hi, rng);
    }
    case 'normal': {
      const std = a['std']!;
      if (std < 0) throw new RuntimeUserError(`initialiser normal: std must be >= 0, got ${std}`);
      return initNormal(n, a['mean']!, std, rng);
    }
    case 'glorot':
    case 'xavier':
      return initGlorot(shape, a['gain']!, rng);
    case 'he':
      return initHe(shape, a['gain']!, rng);
  }
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
