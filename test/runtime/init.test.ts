import { describe, expect, it } from 'vitest';
import { defaultInit, initValues } from '../../runtime/init.js';
import { RuntimeUserError } from '../../runtime/io.js';
import { Rng } from '../../runtime/rng.js';

/** W W^T (rows x rows) of a row-major [rows, cols] matrix. */
function gramRows(w: Float64Array, rows: number, cols: number): number[][] {
  const g: number[][] = [];
  for (let i = 0; i < rows; i++) {
    g.push([]);
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += w[i * cols + k]! * w[j * cols + k]!;
      g[i]!.push(s);
    }
  }
  return g;
}

function transpose(w: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = w[i * cols + j]!;
  return t;
}

function expectIdentity(g: number[][], tol: number, gain = 1): void {
  g.forEach((row, i) =>
    row.forEach((v, j) => expect(Math.abs(v - (i === j ? gain * gain : 0))).toBeLessThan(tol)),
  );
}

describe('initValues', () => {
  it('zeros, ones, constant', () => {
    const rng = new Rng(1);
    expect([...initValues('zeros', {}, [], [2, 2], rng)]).toEqual([0, 0, 0, 0]);
    expect([...initValues('ones', {}, [], [3], rng)]).toEqual([1, 1, 1]);
    expect([...initValues('constant', {}, [0.5], [2], rng)]).toEqual([0.5, 0.5]);
    expect([...initValues('constant', { value: -2 }, [], [1, 2], rng)]).toEqual([-2, -2]);
    expect(() => initValues('constant', {}, [], [2], rng)).toThrow(/missing required argument 'value'/);
  });

  it('identity is I * gain and refuses non-square shapes', () => {
    const rng = new Rng(1);
    expect([...initValues('identity', {}, [], [3, 3], rng)]).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect([...initValues('identity', { gain: 2 }, [], [2, 2], rng)]).toEqual([2, 0, 0, 2]);
    expect(() => initValues('identity', {}, [], [3, 4], rng)).toThrow(RuntimeUserError);
    expect(() => initValues('identity', {}, [], [3, 4], rng)).toThrow(/square 2-D shape.*got \[3, 4\].*orthogonal/);
  });

  it('orthogonal: W W^T = I to 1e-10 for square, wide and tall shapes', () => {
    const rng = new Rng(42);
    const sq = initValues('orthogonal', {}, [], [16, 16], rng);
    expectIdentity(gramRows(sq, 16, 16), 1e-10);
    expectIdentity(gramRows(transpose(sq, 16, 16), 16, 16), 1e-10);
    // Wide: orthonormal rows.
    const wide = initValues('orthogonal', {}, [], [4, 9], rng);
    expectIdentity(gramRows(wide, 4, 9), 1e-10);
    // Tall: orthonormal columns.
    const tall = initValues('orthogonal', {}, [], [9, 4], rng);
    expectIdentity(gramRows(transpose(tall, 9, 4), 4, 9), 1e-10);
    const scaled = initValues('orthogonal', { gain: 0.5 }, [], [5, 5], rng);
    expectIdentity(gramRows(scaled, 5, 5), 1e-10, 0.5);
  });

  it('glorot / xavier stay inside sqrt(6 / (fan_in + fan_out)) and fill it', () => {
    const rng = new Rng(7);
    const [out, inp] = [30, 50];
    const limit = Math.sqrt(6 / (inp + out));
    for (const kind of ['glorot', 'xavier']) {
      const w = initValues(kind, {}, [], [out, inp], rng);
      const max = Math.max(...w.map(Math.abs));
      expect(max).toBeLessThanOrEqual(limit);
      expect(max).toBeGreaterThan(0.95 * limit);
      const mean = w.reduce((a, b) => a + b, 0) / w.length;
      const variance = w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length;
      // U(-l, l) has variance l^2 / 3.
      expect(Math.abs(variance / (limit * limit / 3) - 1)).toBeLessThan(0.1);
    }
    const v = initValues('glorot', {}, [], [12], rng);
    expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 24));
  });

  it('he has std sqrt(2 / fan_in); normal and uniform follow their arguments', () => {
    const rng = new Rng(3);
    const std = (w: Float64Array, mean = 0): number =>
      Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    const he = initValues('he', {}, [], [200, 50], rng);
    expect(Math.abs(std(he) / Math.sqrt(2 / 50) - 1)).toBeLessThan(0.05);
    const n = initValues('normal', {}, [1, 0.5], [10000], rng);
    expect(Math.abs(n.reduce((a, b) => a + b, 0) / n.length - 1)).toBeLessThan(0.03);
    expect(Math.abs(std(n, 1) - 0.5)).toBeLessThan(0.03);
    const u = initValues('uniform', {}, [0.2], [1000], rng);
    expect(Math.max(...u.map(Math.abs))).toBeLessThanOrEqual(0.2);
    const ab = initValues('uniform', { lo: 2, hi: 3 }, [], [1000], rng);
    expect(Math.min(...ab)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...ab)).toBeLessThan(3);
    const d = initValues('uniform', {}, [], [1000], rng);
    expect(Math.max(...d.map(Math.abs))).toBeLessThanOrEqual(0.05);
  });

  it('same seed gives the same values, another seed different ones', () => {
    for (const kind of ['orthogonal', 'uniform', 'normal', 'glorot', 'he']) {
      const a = initValues(kind, {}, [], [6, 6], new Rng(5));
      const b = initValues(kind, {}, [], [6, 6], new Rng(5));
      const c = initValues(kind, {}, [], [6, 6], new Rng(6));
      expect([...a]).toEqual([...b]);
      expect([...a]).not.toEqual([...c]);
    }
  });

  it('reports unknown kinds and arguments with the valid names', () => {
    const rng = new Rng(1);
    expect(() => initValues('kaiming', {}, [], [2], rng)).toThrow(
      /unknown initialiser 'kaiming' \(known: zeros, ones, constant, identity, orthogonal, uniform, normal, glorot, xavier, he\)/,
    );
    expect(() => initValues('normal', { sigma: 1 }, [], [2], rng)).toThrow(/unknown argument 'sigma' \(valid arguments: mean, std\)/);
    expect(() => initValues('zeros', {}, [1], [2], rng)).toThrow(/at most 0 positional/);
    expect(() => initValues('normal', { mean: 0 }, [1], [2], rng)).toThrow(/both by position and by name/);
    expect(() => initValues('uniform', {}, [3, 2], [2], rng)).toThrow(/lo <= hi/);
  });

  it('defaultInit picks by role', () => {
    expect(defaultInit('weight', [4, 3]).kind).toBe('glorot');
    expect(defaultInit('recurrent', [4, 4]).kind).toBe('orthogonal');
    expect(defaultInit('bias', [4]).kind).toBe('zeros');
    expect(defaultInit('embedding', [10, 4])).toEqual({ kind: 'normal', args: { std: 0.1 } });
  });
});
