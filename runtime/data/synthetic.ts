// Generated datasets, fully determined by the Rng they are given. Validation
// and training sets come from two generators forked in a fixed order
// (validation first), so the validation set does not change when only the
// number of training examples does.
import { RuntimeUserError } from '../io.js';
import type { Rng } from '../rng.js';
import type { Dataset, Example } from './types.js';

export interface AddingOptions {
  /** Sequence length (default 50). */
  T?: number;
  /** Training examples (default 10000). */
  n?: number;
  /** Validation examples (default 1000). */
  valid?: number;
}

function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new RuntimeUserError(`${name} must be an integer of at least ${min}, not ${v}`);
  return v;
}

function nonNegativeInt(name: string, v: number): number {
  return positiveInt(name, v, 0);
}

/**
 * One adding-problem example (Hochreiter & Schmidhuber 1997; the variant of
 * Le, Jaitly & Hinton 2015): channel 0 holds T values uniform in [0, 1),
 * channel 1 is 1 at exactly two steps, one in the first half [0, T/2) and one
 * in the second half [T/2, T), 0 elsewhere. The target is the sum of the two
 * marked values, so predicting the constant 1 scores MSE Var(a + b) = 1/6.
 */
export function addingExample(rng: Rng, T: number): Example {
  const data = new Float32Array(T * 2);
  for (let t = 0; t < T; t++) data[t * 2] = rng.next();
  const half = Math.floor(T / 2);
  const first = rng.int(half);
  const second = half + rng.int(T - half);
  data[first * 2 + 1] = 1;
  data[second * 2 + 1] = 1;
  // The sum of the stored float32 values, so the target is exact for the data the model sees.
  const sum = new Float32Array([data[first * 2]! + data[second * 2]!]);
  return { inputs: [{ kind: 'vectors', data, steps: T }], targets: [{ kind: 'vector', data: sum }] };
}

/** adding: input seq<[2]>, target [1], task regression. */
export function addingProblem(rng: Rng, opts: AddingOptions = {}): Dataset {
  const T = positiveInt('T', opts.T ?? 50, 2);
  const n = positiveInt('n', opts.n ?? 10000);
  const nValid = nonNegativeInt('valid', opts.valid ?? 1000);
  const validRng = rng.fork();
  const trainRng = rng.fork();
  return {
    name: 'adding',
    inputs: [{ name: 'x', type: { kind: 'vectors', dims: [2] } }],
    targets: [{ name: 'y', type: { kind: 'vector', dims: [1] } }],
    train: Array.from({ length: n }, () => addingExample(trainRng, T)),
    valid: Array.from({ length: nValid }, () => addingExample(validRng, T)),
    task: 'regression',
    description: `adding problem, T=${T}: ${n} train, ${nValid} valid (predicting 1 scores MSE 0.167)`,
  };
}

export interface SineOptions {
  T?: number;
  n?: number;
  valid?: number;
  /** Standard deviation of Gaussian noise added to every observed value (default 0). */
  noise?: number;
}

/**
 * One series x_t = a * sin(w t + phi) + noise, t = 0..T, with period 2pi/w
 * uniform in [8, 40) steps, amplitude a in [0.5, 1), phase in [0, 2pi). Input
 * x_0..x_{T-1}, target x_1..x_T: the model must infer frequency, amplitude and
 * phase from what it has seen to predict the next value. The noise is part of
 * the observed series, so the target is the next noisy observation.
 */
export function sineExample(rng: Rng, T: number, noise: number): Example {
  const period = 8 + 32 * rng.next();
  const amp = 0.5 + 0.5 * rng.next();
  const phase = 2 * Math.PI * rng.next();
  const series = new Float32Array(T + 1);
  for (let t = 0; t <= T; t++) {
    series[t] = amp * Math.sin((2 * Math.PI * t) / period + phase) + (noise > 0 ? noise * rng.normal() : 0);
  }
  return {
    inputs: [{ kind: 'vectors', data: series.slice(0, T), steps: T }],
    targets: [{ kind: 'vectors', data: series.slice(1), steps: T }],
  };
}

/** sine: input seq<[1]>, target seq<[1]> (the next values), task regression. */
export function sineWaves(rng: Rng, opts: SineOptions = {}): Dataset {
  const T = positiveInt('T', opts.T ?? 50);
  const n = positiveInt('n', opts.n ?? 2000);
  const nValid = nonNegativeInt('valid', opts.valid ?? 200);
  const noise = opts.noise ?? 0;
  if (!(noise >= 0 && Number.isFinite(noise))) throw new RuntimeUserError(`noise must be a finite number >= 0, not ${noise}`);
  const validRng = rng.fork();
  const trainRng = rng.fork();
  return {
    name: 'sine',
    inputs: [{ name: 'x', type: { kind: 'vectors', dims: [1] } }],
    targets: [{ name: 'y', type: { kind: 'vectors', dims: [1] } }],
    train: Array.from({ length: n }, () => sineExample(trainRng, T, noise)),
    valid: Array.from({ length: nValid }, () => sineExample(validRng, T, noise)),
    task: 'regression',
    description: `sine waves, next-value prediction, T=${T}, noise ${noise}: ${n} train, ${nValid} valid`,
  };
}
