import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnistDigits, mnistImages, mnistRows, mnistStrips, type MnistDigits } from '../../runtime/data/mnist.js';
import { checkDataSource } from '../../runtime/data/registry.js';
import { Rng } from '../../runtime/rng.js';
import { nodeFileIO as io } from './node-file-io.js';

describe('MNIST', () => {
  let digits: MnistDigits;
  beforeAll(() => {
    digits = loadMnistDigits(io);
  });

  it('holds 10,000 digits of 784 pixels in [0, 1]', () => {
    expect(digits.count).toBe(10000);
    expect(digits.images).toHaveLength(10000 * 784);
    let min = Infinity;
    let max = -Infinity;
    for (const v of digits.images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
  });

  it('has per-class counts as shipped: roughly uniform', () => {
    const counts = new Array<number>(10).fill(0);
    for (const l of digits.labels) counts[l]!++;
    expect(counts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  });

  it('pins the first seven: pixel checksum', () => {
    const first7 = digits.labels.indexOf(7);
    expect(first7).toBe(7008);
    const px = digits.images.subarray(first7 * 784, (first7 + 1) * 784);
    // Pixels are stored with 3 decimals; hash them as integers.
    let sum = 0;
    let hash = 0;
    for (const v of px) {
      const q = Math.round(v * 1000);
      sum += q;
      hash = (Math.imul(hash, 31) + q) | 0;
    }
    expect(sum).toBe(99193);
    expect(hash).toBe(-1763479219);
    // Row-major: the stroke's top bar is in rows 7..9, the image's edges are blank.
    expect(px[8 * 28 + 16]).toBeGreaterThan(0.5);
    expect(px[0]).toBe(0);
  });

  it('mnist_rows: 28 steps of 28 pixels, a fixed split that mixes the classes', () => {
    const d = mnistRows(io);
    expect(d.task).toBe('classification');
    expect(d.inputs[0]!.type).toEqual({ kind: 'vectors', dims: [28] });
    expect(d.targets[0]!.type).toEqual({ kind: 'token', vocab: 10 });
    expect(d.train).toHaveLength(9000);
    expect(d.valid).toHaveLength(1000);
    const x = d.train[0]!.inputs[0]!;
    if (x.kind !== 'vectors') throw new Error('vectors expected');
    expect(x.steps).toBe(28);
    expect(x.data).toHaveLength(784);
    const counts = new Array<number>(10).fill(0);
    for (const e of d.valid) counts[(e.targets[0] as { id: number }).id]!++;
    for (const c of counts) expect(c).toBeGreaterThan(60);
    // The split does not depend on anything but the data.
    const again = mnistRows(io);
    expect(again.valid.map((e) => (e.targets[0] as { id: number }).id)).toEqual(d.valid.map((e) => (e.targets[0] as { id: number }).id));
    const small = mnistRows(io, { n: 500, split: 0.8 });
    expect(small.train).toHaveLength(400);
    expect(small.valid).toHaveLength(100);
    expect(() => mnistRows(io, { n: 20000 })).toThrow(/n must be/);
  });
});

describe('mnist_strips', () => {
  let digits: MnistDigits;
  beforeAll(() => {
    digits = loadMnistDigits(io);
  });

  /** Which digit images of the set a strip holds: each 28-column block that equals a digit image. */
  function digitsIn(image: Float32Array, width: number, channels: number): number[] {
    const found: number[] = [];
    for (let left = 0; left + 28 <= width; left++) {
      for (let i = 0; i < digits.count; i++) {
        let same = true;
        for (let y = 0; y < 28 && same; y++)
          for (let x = 0; x < 28 && same; x++) same = image[(y * width + left + x) * channels]! === digits.images[i * 784 + y * 28 + x]!;
        if (same && digits.images.subarray(i * 784, (i + 1) * 784).some((v) => v > 0)) {
          found.push(i);
          left += 27;
          break;
        }
      }
    }
    return found;
  }

  it('puts 1 to `digits` digits left to right on a strip; the caption is their classes as ids 2..11, then </s>', () => {
    const data = mnistStrips(io, new Rng(4), { digits: 3, n: 12, valid: 4 });
    expect(data.inputs[0]!.type).toEqual({ kind: 'vector', dims: [28, 84, 1] });
    expect(data.targets[0]!.type).toEqual({ kind: 'tokens', vocab: 12 });
    const counts = new Set<number>();
    for (const e of data.train.slice(0, 6)) {
      const image = (e.inputs[0] as { data: Float32Array }).data;
      const caption = [...(e.targets[0] as { ids: Int32Array }).ids];
      expect(image).toHaveLength(28 * 84);
      expect(caption.at(-1)).toBe(1);
      const found = digitsIn(image, 84, 1);
      expect(caption.slice(0, -1)).toEqual(found.map((i) => digits.labels[i]! + 2));
      counts.add(found.length);
    }
    expect([...counts].every((c) => c >= 1 && c <= 3)).toBe(true);
  });

  it('makes validation strips of digits never used in training, and the same strips for the same seed', () => {
    const a = mnistStrips(io, new Rng(9), { digits: 2, n: 30, valid: 10 });
    const b = mnistStrips(io, new Rng(9), { digits: 2, n: 30, valid: 10 });
    expect(a.valid.map((e) => [...(e.targets[0] as { ids: Int32Array }).ids])).toEqual(b.valid.map((e) => [...(e.targets[0] as { ids: Int32Array }).ids]));
    const used = (list: typeof a.train) => new Set(list.flatMap((e) => digitsIn((e.inputs[0] as { data: Float32Array }).data, 56, 1)));
    const train = used(a.train.slice(0, 8));
    const valid = used(a.valid.slice(0, 8));
    expect(valid.size).toBeGreaterThan(0);
    expect([...valid].filter((i) => train.has(i))).toEqual([]);
  });

  it('coords = 1 adds a channel holding each pixel\'s column, 0 at the left to 1 at the right', () => {
    const data = mnistStrips(io, new Rng(2), { digits: 2, n: 2, valid: 0, coords: true });
    expect(data.inputs[0]!.type).toEqual({ kind: 'vector', dims: [28, 56, 2] });
    const image = (data.train[0]!.inputs[0] as { data: Float32Array }).data;
    expect(image).toHaveLength(28 * 56 * 2);
    for (const [y, x] of [[0, 0], [5, 55], [27, 28]] as const) expect(image[(y * 56 + x) * 2 + 1]).toBeCloseTo(x / 55, 6);
    const caption = [...(data.train[0]!.targets[0] as { ids: Int32Array }).ids];
    expect(caption.slice(0, -1)).toEqual(digitsIn(image, 56, 2).map((i) => digits.labels[i]! + 2));
  });

  it('refuses sizes it cannot make, before loading anything (what rnnc check runs)', () => {
    expect(() => mnistStrips(io, new Rng(1), { digits: 0 })).toThrow('digits must be a whole number from 1 to 8, not 0');
    expect(() => mnistStrips(io, new Rng(1), { digits: 2, minDigits: 3 })).toThrow('min_digits must be a whole number from 1 to digits (2), not 3');
    expect(() => checkDataSource('mnist_strips', { digits: 9 })).toThrow('mnist_strips: argument digits must be at most 8, not 9');
    expect(() => checkDataSource('mnist_strips', { digits: 2, min_digits: 3 })).toThrow('mnist_strips: min_digits (3) must be at most digits (2)');
    expect(checkDataSource('mnist_strips', { digits: 2, min_digits: 2 }).get('coords')).toBe(0);
  });
});

describe('mnist (images)', () => {
  it('gives the digits of mnist_rows as images [28, 28, 1], same order, same split, same labels', () => {
    const rows = mnistRows(io, { n: 50 });
    const images = mnistImages(io, { n: 50 });
    expect(images.inputs[0]!.type).toEqual({ kind: 'vector', dims: [28, 28, 1] });
    expect(images.targets).toEqual(rows.targets);
    expect(images.train).toHaveLength(45);
    expect(images.valid).toHaveLength(5);
    images.train.forEach((e, i) => {
      expect(e.inputs[0]!.kind).toBe('vector');
      expect((e.inputs[0] as { data: Float32Array }).data).toEqual((rows.train[i]!.inputs[0] as { data: Float32Array }).data);
      expect(e.targets).toEqual(rows.train[i]!.targets);
    });
    expect(images.description).toMatch(/images of 28 x 28 pixels/);
  });
});
