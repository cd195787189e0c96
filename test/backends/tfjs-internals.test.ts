// The tfjs internals rnnc's host kernels use (runtime/tfjs/portable-ops.ts,
// hostBackend): present on the tfjs this project pins, on cpu and on wasm.
// This test is the one that fails, loudly and by name, on a tfjs version
// whose internals moved; rnnc itself then takes the plain tf path (checked
// here with a backend that lacks them), so emitted modules and the runtime
// keep computing the same numbers.
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../runtime/backend.js';
import { hasHostInternals } from '../../runtime/tfjs/portable-ops.js';
import { compileText } from '../codegen/helpers.js';

afterAll(async () => {
  await selectBackend('cpu');
});

/** The tfjs versions the README promises (and emitted modules' headers name). */
const SUPPORTED = /^4\.22\.\d+$/;

describe('tfjs internals', () => {
  it('the installed tfjs packages are the supported versions', () => {
    expect(tf.version_core).toMatch(SUPPORTED);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm']) expect(pkg.dependencies[name], name).toMatch(SUPPORTED);
  });

  for (const backend of ['cpu', 'wasm']) {
    it(`${backend}: the backend and the engine have every internal the host kernels read`, async () => {
      await selectBackend(backend);
      const b = tf.backend() as unknown as Record<string, unknown>;
      const missing = (backend === 'wasm' ? ['makeOutput', 'typedArrayFromHeap', 'incRef'] : ['makeTensorInfo', 'incRef']).filter((k) => typeof b[k] !== 'function');
      expect(missing, `tfjs ${tf.version_core} moved these ${backend} backend internals`).toEqual([]);
      if (backend === 'cpu') expect(typeof (b['data'] as { get?: unknown }).get).toBe('function');
      expect(typeof (tf.engine() as unknown as { state: { gradientDepth: unknown } }).state.gradientDepth).toBe('number');
      expect(hasHostInternals(backend, tf.backend(), tf.engine())).toBe(true);
    });
  }

  it('emitted modules name the supported versions in their header', async () => {
    const { code } = await compileText('model m { input x: [2]; target y: [1]; loss = mse(dense(x, 1), y) }', { target: 'forward' });
    expect(code.split('\n').slice(0, 8).join('\n')).toContain('@tensorflow/tfjs-core, versions 4.22.x (a peer dependency)');
  });

  it('a backend without them is not used through them', () => {
    expect(hasHostInternals('wasm', {}, tf.engine())).toBe(false);
    expect(hasHostInternals('cpu', { incRef() {} }, tf.engine())).toBe(false);
    expect(hasHostInternals('cpu', tf.backend(), {})).toBe(false);
  });
});
