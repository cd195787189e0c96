// What `rnnc run --steps N` counts: optimizer steps, one per batch under
// full BPTT and one per window under truncated BPTT, the same steps that
// metrics.jsonl, the checkpoint and the final line number. It stops between
// batches, so under truncated BPTT it can pass N within a batch, and then
// says so (README, options of rnnc run).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abcDir, expectOk, readCheckpoint, readMetrics, removeDir, rnnc, writeAbcLm } from './cli-harness.js';

let dir: string;
let trunc: string;
let full: string;

beforeAll(() => {
  dir = abcDir();
  // seq_len 10, k1 = 4: windows of 4, 4 and 2 steps, three updates a batch.
  trunc = writeAbcLm(dir, 'trunc.rnn', { bptt: 'truncated(k1 = 4, k2 = 6)', seed: 3 });
  full = writeAbcLm(dir, 'full.rnn', { seed: 3 });
});
afterAll(() => removeDir(dir));

async function run(file: string, name: string, ...flags: string[]) {
  const out = join(dir, name);
  const r = await rnnc('run', file, '--backend', 'cpu', '--out', out, '--quiet', ...flags);
  expectOk(r);
  const train = readMetrics(out).filter((m) => m.kind === 'train');
  const ckpt = readCheckpoint(join(out, 'checkpoint.json'));
  const trained = Number(/trained (\d+) steps/.exec(r.stderr)![1]);
  return { r, steps: train.map((m) => m.step), ckpt, trained };
}

describe('--steps counts optimizer steps, as metrics.jsonl does', () => {
  it('full BPTT: a step is a batch; --steps 2 trains two batches', async () => {
    const { r, steps, ckpt, trained } = await run(full, 'full-2', '--steps', '2');
    expect(steps).toEqual([1, 2]);
    expect(ckpt.step).toBe(2);
    expect(ckpt.batchInEpoch).toBe(2);
    expect(trained).toBe(2);
    expect(r.stderr).not.toContain('was reached within');
  });

  it('truncated BPTT: a step is a window; --steps 3 is exactly the first batch\'s three windows', async () => {
    const { r, steps, ckpt, trained } = await run(trunc, 'trunc-3', '--steps', '3');
    expect(steps).toEqual([3]);
    expect(ckpt.step).toBe(3);
    expect(ckpt.batchInEpoch).toBe(1);
    expect(trained).toBe(3);
    expect(r.stderr).not.toContain('was reached within');
  });

  it('truncated BPTT: --steps 4 ends with the batch that reached it (6 steps) and says so', async () => {
    const { r, steps, ckpt, trained } = await run(trunc, 'trunc-4', '--steps', '4');
    expect(steps).toEqual([3, 6]);
    expect(ckpt.step).toBe(6);
    expect(ckpt.batchInEpoch).toBe(2);
    expect(trained).toBe(6);
    expect(r.stderr).toContain('--steps 4 was reached within the last batch, which took the step count from 3 to 6');
    expect(r.stderr).toContain('each window of a batch is a step');
  });
});
