// Binds the arguments of initialisers, optimizers and schedules to numbers at
// compile time, with the defaults of the runtime that owns them
// (runtime/init.ts, runtime/train/optimizers.ts, runtime/train/schedules.ts):
// the emitted module carries only the resolved constants. The names and
// arguments were already checked by `rnnc check` (src/train-settings.ts), so
// a mismatch here is a CodegenError with the same wording. test/codegen
// compares the results with the runtime, which catches any drift.
export class CodegenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodegenError';
  }
}

const INIT_ARGS: Readonly<Record<string, Readonly<Record<string, number | undefined>>>> = {
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

export function bindInit(kind: string, args: Readonly<Record<string, number>>, positional: readonly number[]): Record<string, number> {
  const spec = INIT_ARGS[kind];
  if (spec === undefined) throw new CodegenError(`unknown initialiser '${kind}' (known: ${Object.keys(INIT_ARGS).join(', ')})`);
  const names = Object.keys(spec);
  const bound: Record<string, number> = Object.create(null);
  for (const [name, value] of Object.entries(args)) {
    if (!names.includes(name)) throw new CodegenError(`initialiser ${kind}: unknown argument '${name}'`);
    bound[name] = value;
  }
  const order = kind === 'uniform' ? (positional.length === 1 ? ['scale'] : ['lo', 'hi']) : names;
  if (positional.length > order.length) throw new CodegenError(`initialiser ${kind}: takes at most ${order.length} positional arguments`);
  positional.forEach((value, i) => {
    if (order[i]! in bound) throw new CodegenError(`initialiser ${kind}: argument '${order[i]}' given both by position and by name`);
    bound[order[i]!] = value;
  });
  for (const name of names) {
    if (name in bound) continue;
    const dflt = spec[name];
    if (dflt === undefined) throw new CodegenError(`initialiser ${kind}: missing required argument '${name}'`);
    bound[name] = dflt;
  }
  if (kind === 'uniform') {
    const hasLo = !Number.isNaN(bound['lo']!);
    if (hasLo !== !Number.isNaN(bound['hi']!)) throw new CodegenError(`initialiser uniform: give both 'lo' and 'hi', or only 'scale'`);
    if (hasLo && 'scale' in args) throw new CodegenError(`initialiser uniform: give either 'scale' or 'lo' and 'hi', not both`);
    const lo = hasLo ? bound['lo']! : -bound['scale']!;
    const hi = hasLo ? bound['hi']! : bound['scale']!;
    if (!(lo <= hi)) throw new CodegenError(`initialiser uniform: needs lo <= hi (scale >= 0), got U(${lo}, ${hi})`);
    return { lo, hi };
  }
  if (kind === 'normal' && bound['std']! < 0) throw new CodegenError(`initialiser normal: std must be >= 0, got ${bound['std']}`);
  return bound;
}

export const OPTIMIZER_DEFAULTS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  sgd: { lr: 0.01 },
  momentum: { lr: 0.01, momentum: 0.9, nesterov: 0 },
  rmsprop: { lr: 0.001, rho: 0.9, eps: 1e-7 },
  adam: { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  adagrad: { lr: 0.001, initial: 0.1, eps: 1e-7 },
};

export const OPTIMIZER_SLOTS: Readonly<Record<string, readonly string[]>> = {
  sgd: [],
  momentum: ['velocity'],
  rmsprop: ['ms'],
  adam: ['m', 'v'],
  adagrad: ['accumulator'],
};

export function bindOptimizer(name: string, args: Readonly<Record<string, number | string>>): Record<string, number> {
  const defaults = OPTIMIZER_DEFAULTS[name];
  if (defaults === undefined) throw new CodegenError(`unknown optimizer '${name}' (known: ${Object.keys(OPTIMIZER_DEFAULTS).join(', ')})`);
  const h: Record<string, number> = { ...defaults };
  for (const [k, v] of Object.entries(args)) {
    if (!(k in defaults)) throw new CodegenError(`optimizer ${name}: unknown argument '${k}'`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new CodegenError(`optimizer ${name}: argument '${k}' must be a finite number`);
    h[k] = v;
  }
  return h;
}

const SCHEDULE_ARGS: Readonly<Record<string, Readonly<Record<string, number | undefined>>>> = {
  constant: {},
  step: { every: undefined, gamma: 0.1 },
  exponential: { gamma: undefined, decay_steps: 1 },
  cosine: { steps: undefined, min_lr: 0 },
};

export function bindSchedule(name: string, args: Readonly<Record<string, number | string>>): Record<string, number> {
  const spec = SCHEDULE_ARGS[name];
  if (spec === undefined) throw new CodegenError(`unknown learning-rate schedule '${name}' (known: ${Object.keys(SCHEDULE_ARGS).join(', ')})`);
  const bound: Record<string, number> = Object.create(null);
  for (const [k, v] of Object.entries(args)) {
    if (!(k in spec) && k !== 'warmup') throw new CodegenError(`learning-rate schedule ${name}: unknown argument '${k}'`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new CodegenError(`learning-rate schedule ${name}: argument '${k}' must be a finite number`);
    bound[k] = v;
  }
  for (const [k, d] of Object.entries(spec)) {
    if (k in bound) continue;
    if (d === undefined) throw new CodegenError(`learning-rate schedule ${name}: missing required argument '${k}'`);
    bound[k] = d;
  }
  bound['warmup'] ??= 0;
  return bound;
}

/** The learning rate when none is given (runtime/train/session.ts). */
export function defaultLr(optimizer: string): number {
  return optimizer === 'sgd' || optimizer === 'momentum' ? 0.01 : 0.001;
}
