// The lookup kernels chosen per backend (runtime/tfjs/portable-ops.ts):
// gatherRows (a one-hot product on wasm for small tables, tf.gather
// elsewhere) and scatterAdd (scatterND, summing repeated ids) give the
// numbers a plain loop gives, on cpu and on wasm, for small and large tables.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../runtime/backend.js';
import { Rng } from '../../runtime/rng.js';
import { gatherRows, scatterAdd } from '../../runtime/tfjs/portable-ops.js';

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
});
