import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipByGlobalNorm, clipByValue } from '../../runtime/train/clip.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): number {
  let s = 0;
  for (const g of grads.values()) for (const x of g.dataSync()) s += x * x;
  return Math.sqrt(s);
}

function disposeMap(m: ReadonlyMap<string, tf.Tensor>): void {
  for (const t of m.values()) t.dispose();
}

describe('clipByGlobalNorm', () => {
  it('scales to exactly maxNorm when above, keeping the direction', () => {
    // Norm is sqrt(9 + 16 + 144) = 13.
    const grads = new Map<string, tf.Tensor>([
      ['a', tf.tensor([3, 4])],
      ['b', tf.tensor([[12]])],
    ]);
    const before = tf.memory().numTensors;
    const { grads: out, norm } = clipByGlobalNorm(grads, 1);
    // Only the results survive: two gradients and the norm.
    expect(tf.memory().numTensors).toBe(before + 3);
    expect(norm.dataSync()[0]).toBeCloseTo(13, 5);
    expect(globalNorm(out)).toBeCloseTo(1, 6);
    expect([...out.get('a')!.dataSync()].map((x) => x * 13)).toEqual([
      expect.closeTo(3, 5),
      expect.closeTo(4, 5),
    ]);
    expect(out.get('b')!.shape).toEqual([1, 1]);
    disposeMap(out);
    norm.dispose();
    disposeMap(grads);
  });

  it('leaves gradients unchanged below the limit, and all-zero gradients alone', () => {
    const grads = new Map<string, tf.Tensor>([['a', tf.tensor([0.3, -0.4])]]);
    const { grads: out, norm } = clipByGlobalNorm(grads, 1);
    expect([...out.get('a')!.dataSync()]).toEqual([...grads.get('a')!.dataSync()]);
    expect(out.get('a')).not.toBe(grads.get('a'));
    disposeMap(out);
    norm.dispose();
    disposeMap(grads);

    const zeros = new Map<string, tf.Tensor>([['z', tf.zeros([3])]]);
    const clipped = clipByGlobalNorm(zeros, 5);
    expect([...clipped.grads.get('z')!.dataSync()]).toEqual([0, 0, 0]);
    expect(clipped.norm.dataSync()[0]).toBe(0);
    disposeMap(clipped.grads);
    clipped.norm.dispose();
    disposeMap(zeros);
  });

  it('rejects a non-positive limit', () => {
    expect(() => clipByGlobalNorm(new Map(), 0)).toThrow(/clip norm must be a positive finite number/);
  });
});

describe('clipByValue', () => {
  it('clamps each element', () => {
    const grads = new Map<string, tf.Tensor>([['a', tf.tensor([-3, -0.5, 0.5, 3])]]);
    const out = clipByValue(grads, 1);
    expect([...out.get('a')!.dataSync()]).toEqual([-1, -0.5, 0.5, 1]);
    disposeMap(out);
    disposeMap(grads);
    expect(() => clipByValue(grads, -1)).toThrow(/clip value must be/);
  });
});
