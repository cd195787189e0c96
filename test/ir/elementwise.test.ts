// The element-wise table (compiler/ir/elementwise.ts): each entry computes
// the same thing on every path, special values included. For every entry, on
// cpu and on wasm, over NaN, +-Infinity, +-0, float32 denormals, values at
// the edges of the host approximations (tanh_: |x| = 4; exp_: |x| = 708) and
// large |x|: the reference kernel (`f64`), the tfjs kernel, a fused group run
// as a host loop (`loop`) and the same group run op by op agree: NaN exactly
// where the reference has NaN, infinities equal, other values within float32
// rounding. The registry test (test/ir/registry.test.ts) checks each entry's
// gradient on ordinary values.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { afterAll, describe, expect, it } from 'vitest';
import { ELEMENTWISE_CODE, ELEMENTWISE_OPS, LANGUAGE_FUNCTIONS } from '../../compiler/ir/elementwise.js';
import { getOp } from '../../compiler/ir/ops.js';
import type { FusedBody } from '../../compiler/ir/types.js';
import { selectBackend } from '../../runtime/backend.js';
import { referenceKernels } from '../../runtime/reference/kernels.js';
import { tensor } from '../../runtime/reference/tensor.js';
import { fused } from '../../runtime/tfjs/portable-ops.js';
import { tfKernels } from '../../runtime/tfjs/kernels.js';

afterAll(async () => {
  await selectBackend('cpu');
});

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 1e-30, 0.5, -0.5, 1, -1, 3.99, -3.99, 4.01, -4.01, 20, -20, 88, -88, 100, -100, 709, -709, 1e30, -1e30];
/** Right operands for the binary ops: each left value meets several kinds of right value. */
const RIGHT = SPECIAL.map((_, i) => [2, -3, 0.25, NaN, Infinity, -0, 1e-40, 7][i % 8]!);

/** float32 agreement with the float64 value rounded to float32: NaN with NaN, infinities equal, else relative 4e-6. */
function agrees(got: number, want64: number): boolean {
  const want = Math.fround(want64);
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= 4e-6 * Math.abs(want) + 1e-30;
}

/** A fused group's values while tfjs's autodiff records: it then runs op by op (portable-ops.ts, taping). */
function opByOp(body: FusedBody, inputs: readonly tf.Tensor[]): Float32Array {
  let out = new Float32Array(0);
  tf.grad((x: tf.Tensor) => {
    const y = fused(body, [x, ...inputs.slice(1)])[0]!;
    out = y.dataSync() as Float32Array;
    return tf.sum(y);
  })(inputs[0]!);
  return out;
}

describe('the element-wise table', () => {
  it('every entry is a registry op, fusable with its arguments, and its language functions are callable by name', () => {
    for (const e of ELEMENTWISE_OPS) {
      expect(getOp(e.name).name).toBe(e.name);
      expect(ELEMENTWISE_CODE[e.name]?.loop).toBe(e.loop);
    }
    expect([...LANGUAGE_FUNCTIONS.keys()]).toEqual(['tanh', 'sigmoid', 'relu', 'leaky_relu', 'softplus', 'exp', 'log', 'square', 'sqrt']);
    expect(ELEMENTWISE_CODE['constructor']).toBeUndefined();
  });
});

describe.each(['cpu', 'wasm'])('on %s', (backend) => {
  for (const e of ELEMENTWISE_OPS) {
    it(`${e.name}: reference, tfjs kernel, fused loop and fused op by op agree on special values`, async () => {
      await selectBackend(backend);
      const attrs = e.attr ? { [e.attr.name]: 0.2 } : {};
      const n = SPECIAL.length;
      const xs = Float32Array.from(SPECIAL);
      const ys = Float32Array.from(RIGHT);
      const ref = referenceKernels[e.name]!(
        e.arity === 2 ? [tensor([n], Float64Array.from(xs)), tensor([n], Float64Array.from(ys))] : [tensor([n], Float64Array.from(xs))],
        attrs,
      ).data;
      const body: FusedBody = { instrs: [{ op: e.name, args: e.arity === 2 ? [{ in: 0 }, { in: 1 }] : [{ in: 0 }], ...(e.attr ? { attr: 0.2 } : {}) }], outputs: [0] };
      const results = tf.tidy(() => {
        const inputs = e.arity === 2 ? [tf.tensor1d(xs), tf.tensor1d(ys)] : [tf.tensor1d(xs)];
        return {
          kernel: tfKernels[e.name]!(inputs, attrs).dataSync(),
          loop: fused(body, inputs)[0]!.dataSync(),
          byOps: opByOp(body, inputs),
        };
      });
      for (const [path, got] of Object.entries(results)) {
        const bad = [...got].map((g, i) => ({ x: xs[i], y: e.arity === 2 ? ys[i] : undefined, got: g, want: ref[i]! })).filter((r, i) => !agrees(got[i]!, ref[i]!));
        expect(bad, `${e.name} ${path} on ${backend}`).toEqual([]);
      }
    });
  }
});
