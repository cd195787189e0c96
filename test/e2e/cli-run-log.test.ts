// What metrics.jsonl logs per optimizer step besides the loss: the learning
// rate the update used (following a schedule) and the global norm of the
// gradients before clipping.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, readMetrics, removeDir, rnnc, tempDir, writeFile } from './cli-harness.js';

let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => removeDir(dir));

describe('the per-step log', () => {
  it('gives the learning rate of each update and the gradient norm before clipping', async () => {
    const file = writeFile(dir, 'm.rnn', `
model m { dim H = 4; input x: seq<[1]>; target y: seq<[1]>; h = gru(x) with H; loss = mse(dense(h, 1), y) }
train m { data sine(T = 8, n = 40, valid = 8); optimizer sgd(lr = 0.1); schedule step(every = 2, gamma = 0.5); clip norm 0.001; batch 10; epochs 1; seed 2 }`);
    const out = join(dir, 'm');
    expectOk(await rnnc('run', file, '--backend', 'cpu', '--out', out, '--quiet'));
    const train = readMetrics(out).filter((m) => m.kind === 'train');
    expect(train).toHaveLength(4);
    // step(every = 2, gamma = 0.5): updates 0 and 1 at 0.1, 2 and 3 at 0.05.
    expect(train.map((m) => m['lr'])).toEqual([0.1, 0.1, 0.05, 0.05]);
    for (const m of train) {
      const norm = m['grad_norm'] as number;
      expect(Number.isFinite(norm)).toBe(true);
      // Before clipping: far above the clipping threshold.
      expect(norm).toBeGreaterThan(0.001);
    }
  });
});
