// The lookup and layout kernels chosen per backend (runtime/tfjs/portable-ops.ts):
// gatherRows (a copy on the host on cpu and wasm, tf.gather elsewhere),
// scatterAdd (scatterND, summing repeated ids), transpose2d and sumTo over
// leading axes (host loops on cpu and wasm), matrix products (a host loop on
// cpu, every remainder of its blocks of four), an Adam update (one host pass
// vs the op-by-op path taken elsewhere), views of one step (no kernel, the
// data kept while any view lives), and the cross-entropy and its
// derivative (softmax kernel, then a host loop) give the numbers a plain
// float64 loop gives, on cpu and on wasm, for small and large tables.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../runtime/backend.js';
import { Rng } from '../../runtime/rng.js';
import { adamStep, gatherRows, product, reshaped, scatterAdd, stackTime, sumTo, transpose2d, unstackTime, xent, xentGrad } from '../../runtime/tfjs/portable-ops.js';

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

  it('product of every size around blocks of four rows and four steps, one row (streaming) and a large one', async () => {
    await selectBackend(backend);
    const sizes: [number, number, number][] = [[1, 1, 1], [1, 7, 5], [3, 4, 2], [4, 8, 3], [5, 9, 33], [9, 3, 1], [32, 256, 70]];
    for (const [M, K, N] of sizes) {
      const rng = new Rng(M * 100 + K * 10 + N);
      const a = Float32Array.from({ length: M * K }, () => rng.normal());
      const b = Float32Array.from({ length: K * N }, () => rng.normal());
      const got = tf.tidy(() => product(tf.tensor2d(a, [M, K]), tf.tensor2d(b, [K, N])).dataSync());
      expect(got.length).toBe(M * N);
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let [want, scale] = [0, 0];
          for (let p = 0; p < K; p++) {
            want += a[i * K + p]! * b[p * N + j]!;
            scale += Math.abs(a[i * K + p]! * b[p * N + j]!);
          }
          // Float32 rounding of the sum (wasm sums in float32) stays far below it; a misplaced term does not.
          expect(Math.abs(got[i * N + j]! - want), `${M}x${K}x${N} at ${i},${j}`).toBeLessThan(1e-6 * scale);
        }
      }
    }
  });

  it('adamStep: one host pass equals the op-by-op path (taken off the host, and under tf.grad) at steps 1 and 50', async () => {
    await selectBackend(backend);
    const rng = new Rng(11);
    const vals = (scale: number): Float32Array => Float32Array.from({ length: 300 }, () => scale * rng.normal());
    const [p, g, m] = [vals(1), vals(0.1), vals(0.01)];
    const v = Float32Array.from(vals(0.001), Math.abs);
    for (const t of [1, 50]) {
      const args = (): tf.Tensor[] => [p, g, m, v].map((x) => tf.tensor1d(x));
      const host = tf.tidy(() => adamStep(...(args() as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]), 0.9, 0.999, 1e-8, 0.01, t).map((x) => x.dataSync()));
      let ops: Float32Array[] = [];
      // Recording a gradient turns host kernels off: the op-by-op path.
      tf.tidy(() =>
        tf.grad((x: tf.Tensor) => {
          const out = adamStep(x, ...(args().slice(1) as [tf.Tensor, tf.Tensor, tf.Tensor]), 0.9, 0.999, 1e-8, 0.01, t);
          ops = out.map((y) => y.dataSync() as Float32Array);
          return tf.sum(out[0]!);
        })(tf.tensor1d(p)),
      );
      host.forEach((h, k) => h.forEach((x, i) => expect(Math.abs(x - ops[k]![i]!), `output ${k} at ${i}, step ${t}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(x)))));
      // The first step moves each weight by about lr (bias-corrected m / sqrt(v) is sign(g) when m = v = 0; here nearly).
      expect(Math.abs(host[0]![0]! - p[0]!)).toBeLessThan(0.02);
    }
  });

  it('a one-step stack and unstack are views: same data, no kernel, freed with the last of them', async () => {
    await selectBackend(backend);
    const before = tf.memory();
    const y = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    let stacked: tf.Tensor | undefined;
    const profile = await tf.profile(() => {
      stacked = stackTime([y]);
    });
    expect(profile.kernels.map((k) => k.name)).toEqual([]);
    expect(stacked!.shape).toEqual([1, 2, 3]);
    y.dispose();
    // The view keeps the data alive after the tensor it was made from is gone.
    expect([...stacked!.dataSync()]).toEqual([1, 2, 3, 4, 5, 6]);
    const [step] = unstackTime(stacked!);
    const flat = reshaped(step!, [6]);
    stacked!.dispose();
    step!.dispose();
    expect([...flat.dataSync()]).toEqual([1, 2, 3, 4, 5, 6]);
    flat.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(() => reshaped(tf.zeros([2, 3]), [5])).toThrow(/internal: reshaped \[2, 3\] to \[5\]/);
  });
});
