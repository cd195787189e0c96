// The image kernels (runtime/tfjs/portable-ops.ts: patches, unpatches, pool2d,
// maxPoolGrad, unpoolAvg) have two paths: one host pass on cpu and wasm, and
// tf ops elsewhere (and while tfjs's autodiff records). Both must give the
// float64 reference kernels' numbers (runtime/reference/kernels.ts), on cpu
// and wasm, including ties inside a max-pooling block (the first largest
// value, row-major, takes the derivative) and images whose sides are not
// multiples of the block.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { Attrs } from '../../compiler/ir/types.js';
import { selectBackend } from '../../runtime/backend.js';
import { referenceKernels } from '../../runtime/reference/kernels.js';
import { tensor } from '../../runtime/reference/tensor.js';
import { Rng } from '../../runtime/rng.js';
import { maxPoolGrad, patches, pool2d, unpatches, unpoolAvg } from '../../runtime/tfjs/portable-ops.js';

afterAll(async () => {
  await selectBackend('cpu');
});

/** `run`'s result computed while tfjs's autodiff records: the op-by-op path. */
function whileTaping(run: () => tf.Tensor): Float32Array {
  let out: tf.Tensor | undefined;
  tf.grad((x: tf.Tensor) => {
    out = tf.keep(run());
    return tf.sum(x);
  })(tf.scalar(0));
  const data = out!.dataSync() as Float32Array;
  out!.dispose();
  return data;
}

function values(n: number, seed: number, ties: boolean): number[] {
  const rng = new Rng(seed);
  // With ties: values from a small set, so blocks hold equal largest values.
  return Array.from({ length: n }, () => Math.fround(ties ? rng.int(3) - 1 : rng.normal()));
}

interface Case {
  readonly label: string;
  readonly op: 'patches' | 'unpatches' | 'max_pool' | 'avg_pool' | 'max_pool_grad' | 'unpool_avg';
  readonly shapes: readonly (readonly number[])[];
  readonly attrs: Attrs;
  readonly ties?: boolean;
}

const CASES: readonly Case[] = [
  { label: 'patches 3 of [2, 5, 6, 3]', op: 'patches', shapes: [[2, 5, 6, 3]], attrs: { size: 3 } },
  { label: 'patches 5 of [1, 3, 4, 2]', op: 'patches', shapes: [[1, 3, 4, 2]], attrs: { size: 5 } },
  { label: 'unpatches 3 of [2, 4, 5, 18]', op: 'unpatches', shapes: [[2, 4, 5, 18]], attrs: { size: 3 } },
  { label: 'max_pool 2 of [2, 5, 7, 3]', op: 'max_pool', shapes: [[2, 5, 7, 3]], attrs: { size: 2 } },
  { label: 'avg_pool 3 of [2, 7, 6, 2]', op: 'avg_pool', shapes: [[2, 7, 6, 2]], attrs: { size: 3 } },
  { label: 'max_pool_grad 2 of [2, 5, 6, 2] with ties', op: 'max_pool_grad', shapes: [[2, 5, 6, 2], [2, 2, 3, 2]], attrs: { size: 2 }, ties: true },
  { label: 'unpool_avg 2 into 5 x 7', op: 'unpool_avg', shapes: [[2, 2, 3, 3]], attrs: { size: 2, height: 5, width: 7 } },
];

function tfOp(c: Case, xs: readonly tf.Tensor[]): tf.Tensor {
  const k = c.attrs['size'] as number;
  switch (c.op) {
    case 'patches':
      return patches(xs[0]!, k);
    case 'unpatches':
      return unpatches(xs[0]!, k);
    case 'max_pool':
      return pool2d(xs[0]!, k, 'max');
    case 'avg_pool':
      return pool2d(xs[0]!, k, 'avg');
    case 'max_pool_grad':
      return maxPoolGrad(xs[0]!, xs[1]!, k);
    case 'unpool_avg':
      return unpoolAvg(xs[0]!, k, c.attrs['height'] as number, c.attrs['width'] as number);
  }
}

describe.each(['cpu', 'wasm'])('on %s', (backend) => {
  for (const c of CASES) {
    it(`${c.label}: the host pass and the op-by-op path give the reference's numbers`, async () => {
      await selectBackend(backend);
      const ins = c.shapes.map((s, k) => ({ shape: s, data: values(s.reduce((a, b) => a * b, 1), k + 7, c.ties === true && k === 0) }));
      const want = referenceKernels[c.op](ins.map((t) => tensor([...t.shape], t.data)), c.attrs);
      const make = (): tf.Tensor[] => ins.map((t) => tf.tensor(t.data, [...t.shape], 'float32'));
      const host = tf.tidy(() => {
        const y = tfOp(c, make());
        expect(y.shape).toEqual(want.shape);
        return y.dataSync();
      });
      const taped = whileTaping(() => tfOp(c, make()));
      expect(want.data.some((v) => v !== 0)).toBe(true);
      for (const got of [host, taped]) {
        expect(got.length).toBe(want.data.length);
        want.data.forEach((w, i) => expect(Math.abs(got[i]! - w), `element ${i}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(w))));
      }
    });
  }
});
