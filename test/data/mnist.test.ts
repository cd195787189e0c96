import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnistDigits, mnistRows, type MnistDigits } from '../../runtime/data/mnist.js';
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
