// The lookup and layout kernels chosen per backend (runtime/tfjs/portable-ops.ts):
// gatherRows (a copy on the host on cpu and wasm, tf.gather elsewhere),
// scatterAdd (scatterND, summing repeated ids), transpose2d and sumTo over
// leading axes (host loops on cpu and wasm), and the cross-entropy and its
// derivative (softmax kernel, then a host loop) give the numbers a plain
// float64 loop gives, on cpu and on wasm, for small and large tables.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../runtime/backend.js';
import { Rng } from '../../runtime/rng.js';
import { gatherRows, scatterAdd, sumTo, transpose2d, xent, xentGrad } from '../../runtime/tfjs/portable-ops.js';

afterAll(async () => {
  await selectBackend('cpu');
});

function data(V: number, E: number, n: number, seed: number) {
  const rng = new Rng(seed);
  const table = Float32Array.from({ length: V * E }, () => rng.normal());
  const ids = Int32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : rng.int(V))); // id 1 repeats
  const values = Float32Array.from({ length: n * E }, () => rng.normal());
  return { table, ids, values };
}

describe.each(['cpu', 'wasm'])('on %s', (backend) => {
  for (const [V, T] of [[7, 3], [7, 40], [300, 40]] as const) {
    it(`gatherRows and scatterAdd over a table of ${V} rows, ${T * 3} ids`, async () => {
      await selectBackend(backend);
      const [E, B] = [5, 3];
      const { table, ids, values } = data(V, E, T * B, V);
      const got = tf.tidy(() => {
        const g = gatherRows(tf.tensor2d(table, [V, E]), tf.tensor2d(ids, [T, B], 'int32'));
        expect(g.shape).toEqual([T, B, E]);
        const s = scatterAdd(tf.tensor2d(ids, [T, B], 'int32'), tf.tensor3d(values, [T, B, E]), V);
        expect(s.shape).toEqual([V, E]);
        return { g: g.dataSync(), s: s.dataSync() };
      });
      ids.forEach((id, r) => {
        for (let e = 0; e < E; e++) expect(got.g[r * E + e]).toBe(table[id * E + e]);
      });
      const want = new Float64Array(V * E);
      ids.forEach((id, r) => {
        for (let e = 0; e < E; e++) want[id * E + e]! += values[r * E + e]!;
      });
      want.forEach((w, i) => expect(got.s[i]).toBeCloseTo(w, 5));
    });
  }

  for (const [R, C] of [[1, 7], [33, 70], [2048, 40]] as const) {
    it(`transpose2d of ${R} x ${C} and sumTo over the leading axes of [${R}, 3, ${C}]`, async () => {
      await selectBackend(backend);
      const rng = new Rng(R + C);
      const x = Float32Array.from({ length: R * C }, () => rng.normal());
      const y = Float32Array.from({ length: R * 3 * C }, () => rng.normal());
      const got = tf.tidy(() => {
        const t = transpose2d(tf.tensor2d(x, [R, C]));
        expect(t.shape).toEqual([C, R]);
        const s = sumTo(tf.tensor3d(y, [R, 3, C]), [C]);
        expect(s.shape).toEqual([C]);
        return { t: t.dataSync(), s: s.dataSync() };
      });
      for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) expect(got.t[c * R + r]).toBe(x[r * C + c]);
      const want = new Float64Array(C);
      y.forEach((v, i) => (want[i % C]! += v));
      want.forEach((w, j) => expect(Math.abs(got.s[j]! - w)).toBeLessThan(1e-4 * Math.max(1, Math.abs(w))));
    });
  }

  it('xent and xentGrad: a label with a vanishing probability, labels out of range, a row of -Infinity', async () => {
    await selectBackend(backend);
    const [T, B, K] = [5, 4, 6];
    const rng = new Rng(3);
    const logits = Float32Array.from({ length: T * B * K }, () => 3 * rng.normal());
    const labels = Int32Array.from({ length: T * B }, () => rng.int(K));
    const ct = Float32Array.from({ length: T * B }, () => rng.normal());
    // Row 0: the label's probability is e^-300 (underflows float32): the loss is log-sum-exp's, 300.
    logits.fill(0, 0, K);
    logits[1] = 300;
    labels[0] = 0;
    labels[1] = -1; // out of range: picks nothing
    labels[2] = K;
    logits.fill(-Infinity, 3 * K, 4 * K); // loss and gradient NaN, as log-sum-exp gives
    const got = tf.tidy(() => {
      const [x, y, c] = [tf.tensor3d(logits, [T, B, K]), tf.tensor2d(labels, [T, B], 'int32'), tf.tensor2d(ct, [T, B])];
      return { loss: xent(x, y).dataSync(), grad: xentGrad(x, y, c).dataSync() };
    });
    for (let r = 0; r < T * B; r++) {
      const row = Array.from(logits.subarray(r * K, (r + 1) * K));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      const label = labels[r]!;
      const want = lse - (label >= 0 && label < K ? row[label]! : 0);
      if (r === 3) expect(got.loss[r]).toBeNaN();
      else expect(Math.abs(got.loss[r]! - want), `row ${r}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
      row.forEach((v, j) => {
        const g = (Math.exp(v - lse) - (j === label ? 1 : 0)) * ct[r]!;
        if (r === 3) expect(got.grad[r * K + j]).toBeNaN();
        else expect(Math.abs(got.grad[r * K + j]! - g), `row ${r} class ${j}`).toBeLessThan(1e-6);
      });
    }
    expect(got.loss[0]).toBeCloseTo(300, 4);
  });
});
