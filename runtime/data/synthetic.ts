// Generated datasets, fully determined by the Rng they are given. Validation
// and training sets come from two generators forked in a fixed order
// (validation first), so the validation set does not change when only the
// number of training examples does.
import { RuntimeUserError } from '../io.js';
import type { Rng } from '../rng.js';
import type { Dataset, Example } from './types.js';
import { Vocab } from './vocab.js';

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

export interface SymbolTaskOptions {
  /** Distinct symbols (default 10: the digits). */
  symbols?: number;
  /** Shortest and longest sequence (defaults 3 and 12). */
  minLen?: number;
  maxLen?: number;
  n?: number;
  valid?: number;
}

/** The start token of the symbol tasks' vocabulary: id 0, never in the data. */
export const START_TOKEN = '<s>';

/**
 * A sequence of random symbols (ids 1..symbols; 0 is the start token `<s>`)
 * and the same symbols reversed, or sorted: the classic tests of an
 * encoder-decoder (Sutskever et al. 2014 reverse; Vinyals et al. 2015 sort).
 * Source and target have the same length.
 */
export function symbolTaskExample(rng: Rng, task: 'reverse' | 'sort', symbols: number, minLen: number, maxLen: number): Example {
  const len = minLen + rng.int(maxLen - minLen + 1);
  const src = Int32Array.from({ length: len }, () => 1 + rng.int(symbols));
  const tgt = task === 'reverse' ? src.slice().reverse() : src.slice().sort();
  return { inputs: [{ kind: 'tokens', ids: src }], targets: [{ kind: 'tokens', ids: tgt }] };
}

/** reversal, sorting: input src seq<token[V]>, target tgt seq<token[V]>, V = symbols + 1 (id 0 is `<s>`). */
export function symbolTask(rng: Rng, task: 'reverse' | 'sort', opts: SymbolTaskOptions = {}): Dataset {
  const symbols = positiveInt('symbols', opts.symbols ?? 10, 2);
  const minLen = positiveInt('min_len', opts.minLen ?? 3);
  const maxLen = positiveInt('max_len', opts.maxLen ?? 12);
  if (maxLen < minLen) throw new RuntimeUserError(`max_len (${maxLen}) must be at least min_len (${minLen})`);
  const n = positiveInt('n', opts.n ?? 10000);
  const nValid = nonNegativeInt('valid', opts.valid ?? 1000);
  const validRng = rng.fork();
  const trainRng = rng.fork();
  const names = symbols <= 10 ? Array.from({ length: symbols }, (_, i) => String(i)) : Array.from({ length: symbols }, (_, i) => `s${i}`);
  const vocab = new Vocab([START_TOKEN, ...names], false);
  const type = { kind: 'tokens' as const, vocab: symbols + 1 };
  return {
    name: task === 'reverse' ? 'reversal' : 'sorting',
    inputs: [{ name: 'src', type, vocab }],
    targets: [{ name: 'tgt', type, vocab }],
    train: Array.from({ length: n }, () => symbolTaskExample(trainRng, task, symbols, minLen, maxLen)),
    valid: Array.from({ length: nValid }, () => symbolTaskExample(validRng, task, symbols, minLen, maxLen)),
    task: 'tagging',
    description: `${task === 'reverse' ? 'reversal' : 'sorting'} of ${symbols} symbols, lengths ${minLen}..${maxLen}: ${n} train, ${nValid} valid (id 0 is ${START_TOKEN})`,
  };
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
/** What a human-written date may contain: the source vocabulary of `dates`, fixed so that it does not depend on the sample. */
const DATE_CHARS = [' ', ',', '-', '.', '/', ...'0123456789', ...'abcdefghijklmnopqrstuvwxyz'];
/** The target vocabulary of `dates`: start and end tokens, then what an ISO date is written with. */
export const DATE_TARGET_TOKENS = ['<s>', '</s>', '-', ...'0123456789'];

function ordinal(d: number): string {
  const suffix = d % 10 === 1 && d !== 11 ? 'st' : d % 10 === 2 && d !== 12 ? 'nd' : d % 10 === 3 && d !== 13 ? 'rd' : 'th';
  return `${d}${suffix}`;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The ways `dates` writes a date (two-digit years: 50-99 are 19xx, 00-49 are 20xx). */
export const DATE_FORMATS: readonly ((y: number, m: number, d: number, weekday: number) => string)[] = [
  (y, m, d) => `the ${ordinal(d)} of ${MONTHS[m - 1]} ${y}`,
  (y, m, d) => `${pad2(d)}/${pad2(m)}/${pad2(y % 100)}`,
  (y, m, d) => `${MONTHS[m - 1]} ${d}, ${y}`,
  (y, m, d) => `${d} ${MONTHS[m - 1]!.slice(0, 3)} ${y}`,
  (y, m, d, w) => `${WEEKDAYS[w]}, ${MONTHS[m - 1]} ${d}, ${y}`,
  (y, m, d) => `${d}.${m}.${y}`,
  (y, m, d) => `${MONTHS[m - 1]!.slice(0, 3)} ${d} ${pad2(y % 100)}`,
  (y, m, d) => `${y}-${pad2(m)}-${pad2(d)}`,
];

/** A random date of 1950-2049 written one of DATE_FORMATS' ways, and the same date as ISO 8601 ids followed by `</s>`. */
export function dateExample(rng: Rng): Example {
  const y = 1950 + rng.int(100);
  const m = 1 + rng.int(12);
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const d = 1 + rng.int(days);
  const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  const text = DATE_FORMATS[rng.int(DATE_FORMATS.length)]!(y, m, d, weekday);
  const iso = `${y}-${pad2(m)}-${pad2(d)}`;
  const src = Int32Array.from([...text], (c) => DATE_CHARS.indexOf(c));
  const tgt = Int32Array.from([...[...iso].map((c) => DATE_TARGET_TOKENS.indexOf(c)), 1]);
  return { inputs: [{ kind: 'tokens', ids: src }], targets: [{ kind: 'tokens', ids: tgt }] };
}

/** dates: input src seq<token[V]> (characters), target tgt seq<token[K]> (ISO date then `</s>`; `<s>` = 0, `</s>` = 1): of different lengths. */
export function datesTask(rng: Rng, opts: { n?: number; valid?: number } = {}): Dataset {
  const n = positiveInt('n', opts.n ?? 10000);
  const nValid = nonNegativeInt('valid', opts.valid ?? 1000);
  const validRng = rng.fork();
  const trainRng = rng.fork();
  const srcVocab = new Vocab(DATE_CHARS, false);
  const tgtVocab = new Vocab(DATE_TARGET_TOKENS, false);
  return {
    name: 'dates',
    inputs: [{ name: 'src', type: { kind: 'tokens', vocab: DATE_CHARS.length }, vocab: srcVocab }],
    targets: [{ name: 'tgt', type: { kind: 'tokens', vocab: DATE_TARGET_TOKENS.length }, vocab: tgtVocab }],
    train: Array.from({ length: n }, () => dateExample(trainRng)),
    valid: Array.from({ length: nValid }, () => dateExample(validRng)),
    task: 'tagging',
    description: `dates written ${DATE_FORMATS.length} ways -> ISO 8601 (1950-2049): ${n} train, ${nValid} valid (target ids: <s> 0, </s> 1)`,
  };
}

/** Note names of the `melodies` vocabulary, two octaves from C4; ids 0 and 1 are `<s>` and `</s>`. */
export const MELODY_TOKENS = ['<s>', '</s>', ...['4', '5'].flatMap((o) => ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'].map((n) => `${n}${o}`))];
const MAJOR = [0, 2, 4, 5, 7, 9, 11];
const MINOR = [0, 2, 3, 5, 7, 8, 10];

/** Whether a note id of MELODY_TOKENS lies in the major or natural minor scale on `key` (0 = C). */
export function inScale(id: number, key: number, minor: boolean): boolean {
  const pitch = (id - 2 + 24 - key) % 12;
  return (minor ? MINOR : MAJOR).includes(pitch);
}

/**
 * A melody in a random key (major or natural minor): a walk over the scale's
 * degrees in steps of -2..2 within two octaves. The prime is its first
 * `prime` notes, the target the next `length` notes then `</s>`.
 */
export function melodyExample(rng: Rng, prime: number, length: number): Example {
  const key = rng.int(12);
  const minor = rng.next() < 0.5;
  const scale = minor ? MINOR : MAJOR;
  // Degrees 0..13 are two octaves of the scale from the key's note in octave 4 (wrapped into the vocabulary).
  let degree = rng.int(8);
  const notes: number[] = [];
  for (let i = 0; i < prime + length; i++) {
    const pitch = key + 12 * Math.floor(degree / 7) + scale[degree % 7]!;
    notes.push(2 + (pitch % 24));
    degree = Math.max(0, Math.min(13, degree + rng.int(5) - 2));
  }
  return {
    inputs: [{ kind: 'tokens', ids: Int32Array.from(notes.slice(0, prime)) }],
    targets: [{ kind: 'tokens', ids: Int32Array.from([...notes.slice(prime), 1]) }],
  };
}

/** melodies: input prime seq<token[V]>, target seq<token[V]> (the continuation, then `</s>`), V = 26 note tokens. */
export function melodies(rng: Rng, opts: { n?: number; valid?: number; prime?: number; length?: number } = {}): Dataset {
  const n = positiveInt('n', opts.n ?? 5000);
  const nValid = nonNegativeInt('valid', opts.valid ?? 500);
  const prime = positiveInt('prime', opts.prime ?? 4);
  const length = positiveInt('length', opts.length ?? 12);
  const validRng = rng.fork();
  const trainRng = rng.fork();
  const vocab = new Vocab(MELODY_TOKENS, false);
  const type = { kind: 'tokens' as const, vocab: MELODY_TOKENS.length };
  return {
    name: 'melodies',
    inputs: [{ name: 'prime', type, vocab }],
    targets: [{ name: 'notes', type, vocab }],
    train: Array.from({ length: n }, () => melodyExample(trainRng, prime, length)),
    valid: Array.from({ length: nValid }, () => melodyExample(validRng, prime, length)),
    task: 'tagging',
    description: `melodies in random keys (major or minor), ${prime} notes -> the next ${length} then </s>: ${n} train, ${nValid} valid`,
  };
}
