import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend, useBackend } from '../../runtime/backend.js';
import { RuntimeUserError } from '../../runtime/io.js';

function product(): number[] {
  return tf.tidy(() => {
    const a = tf.tensor2d([0.5, -1, 2, 0.25, 3, -0.75], [2, 3]);
    const b = tf.tensor2d([1, 2, -0.5, 4, 0.125, -2], [3, 2]);
    return [...tf.matMul(a, b).dataSync()];
  });
}

// Whether tfjs-node is installed decides the automatic choice; on this
// project's machines it is not, and the tests check the fallbacks then.
const hasTfjsNode = await (async () => {
  try {
    const moduleName: string = '@tensorflow/tfjs-node';
    await import(moduleName);
    return true;
  } catch {
    return false;
  }
})();

describe('backend selection', () => {
  it('cpu and wasm both run and agree on a matMul', async () => {
    expect(await selectBackend('cpu')).toEqual({ name: 'cpu', reason: 'requested' });
    expect(tf.getBackend()).toBe('cpu');
    const onCpu = product();
    expect(await selectBackend('wasm')).toEqual({ name: 'wasm', reason: 'requested' });
    expect(tf.getBackend()).toBe('wasm');
    const onWasm = product();
    expect(onWasm).toEqual(onCpu);
    // By hand: [0.5+0.5+0.25, 1-4-4; 0.25-1.5-0.09375, 0.5+12+1.5].
    expect(onCpu).toEqual([1.25, -7, -1.34375, 14]);
    await useBackend('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it.skipIf(hasTfjsNode)('explains a missing tfjs-node when tensorflow is requested', async () => {
    const err = await selectBackend('tensorflow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeUserError);
    const message = (err as Error).message;
    expect(message).toMatch(/^backend 'tensorflow' is not available: /);
    expect(message).toMatch(/@tensorflow\/tfjs-node, an optional dependency whose native part failed to install/);
    expect(message).toMatch(/npm install @tensorflow\/tfjs-node@4\.22\.0/);
    expect(message).toMatch(/--backend wasm/);
    await expect(useBackend('tensorflow')).rejects.toThrow(/optional dependency/);
  });

  it.skipIf(hasTfjsNode)('chooses wasm automatically when tfjs-node is absent', async () => {
    const chosen = await selectBackend();
    expect(chosen.name).toBe('wasm');
    expect(chosen.reason).toMatch(/^chosen automatically; tensorflow unavailable \(/);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('rejects unknown names, listing the valid ones', async () => {
    await expect(selectBackend('webgl')).rejects.toThrow("unknown backend 'webgl' (valid: tensorflow, webgpu, wasm, cpu)");
  });

  it('refuses a backend the command cannot run on, saying why, and never chooses it', async () => {
    // rnnc translate's beam search reads synchronously, which webgpu cannot (src/commands/translate.ts).
    const without = { name: 'webgpu' as const, why: 'it reads each step synchronously' };
    await expect(selectBackend('webgpu', without)).rejects.toThrow("backend 'webgpu' cannot run this: it reads each step synchronously; use --backend wasm or cpu");
    expect((await selectBackend(undefined, without)).name).not.toBe('webgpu');
    expect(await selectBackend('cpu', without)).toEqual({ name: 'cpu', reason: 'requested' });
  });
});
