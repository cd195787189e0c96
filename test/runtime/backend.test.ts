import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend, useBackend, webgpuPassedOver, type GpuProbe } from '../../runtime/backend.js';
import { RuntimeUserError } from '../../runtime/io.js';
import { gpuDeviceNodes } from '../../src/backend-choice.js';

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

  it.skipIf(hasTfjsNode)('passes webgpu over without a GPU, saying why, and takes wasm', async () => {
    const noGpu: GpuProbe = { deviceNodes: async () => [], adapter: async () => expect.fail('Dawn must not be loaded without a GPU device') };
    const chosen = await selectBackend(undefined, undefined, noGpu);
    expect(chosen.name).toBe('wasm');
    expect(chosen.reason).toMatch(/; webgpu unavailable \(no GPU device in \/dev\/dri or \/dev\/nvidia\*; --backend webgpu looks for a software adapter\)$/);
  });

  it("lists a Linux machine's GPU device nodes without loading Dawn (src/backend-choice.ts)", async () => {
    const nodes = await gpuDeviceNodes();
    if (process.platform !== 'linux') expect(nodes).toBeNull();
    else for (const n of nodes!) expect(n).toMatch(/^\/dev\/(dri\/renderD\d+|nvidia\d+)$/);
  });

  it('tries webgpu automatically only on a hardware adapter (webgpuPassedOver)', async () => {
    const probe = (nodes: string[] | null, adapter: Awaited<ReturnType<GpuProbe['adapter']>>): GpuProbe => ({ deviceNodes: async () => nodes, adapter: async () => adapter });
    const lavapipe = { info: { vendor: 'mesa', architecture: 'software', description: 'llvmpipe' }, software: true };
    const nvidia = { info: { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100' }, software: false };
    expect(await webgpuPassedOver(probe([], nvidia))).toMatch(/^no GPU device/);
    expect(await webgpuPassedOver(probe(['/dev/dri/renderD128'], lavapipe))).toBe('only a software adapter (mesa software llvmpipe), slower than wasm; --backend webgpu runs on it');
    expect(await webgpuPassedOver(probe(['/dev/nvidia0'], 'no WebGPU adapter'))).toBe('no WebGPU adapter');
    expect(await webgpuPassedOver(probe(['/dev/nvidia0'], nvidia))).toBeNull();
    // macOS and Windows have no device nodes to look at: the adapter decides.
    expect(await webgpuPassedOver(probe(null, nvidia))).toBeNull();
    expect(await webgpuPassedOver(probe(null, lavapipe))).toMatch(/^only a software adapter/);
  });

  it('rejects unknown names, listing the valid ones', async () => {
    await expect(selectBackend('webgl')).rejects.toThrow("unknown backend 'webgl' (valid: tensorflow, webgpu, wasm, cpu)");
  });

  it('refuses a backend the command cannot run on, saying why, and never chooses it', async () => {
    // rnnc run --workers trains replicas on the CPU cores (src/commands/run.ts).
    const without = { name: 'webgpu' as const, why: '--workers runs replicas on the CPU cores' };
    await expect(selectBackend('webgpu', without)).rejects.toThrow("backend 'webgpu' cannot run this: --workers runs replicas on the CPU cores; use --backend wasm or cpu");
    const gpu: GpuProbe = { deviceNodes: async () => ['/dev/nvidia0'], adapter: async () => ({ info: { vendor: 'nvidia' }, software: false }) };
    const chosen = await selectBackend(undefined, without, gpu);
    expect(chosen.name).not.toBe('webgpu');
    expect(chosen.reason).toContain('webgpu passed over (--workers runs replicas on the CPU cores)');
    expect(await selectBackend('cpu', without)).toEqual({ name: 'cpu', reason: 'requested' });
  });
});
