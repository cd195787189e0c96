// Resuming is exact: N steps in one run and k steps, then --resume to N in
// another output folder, end with bit-identical parameters and optimizer
// state, for full BPTT and for truncated BPTT (windows, so several optimizer
// steps per batch), with the resume point in the middle of an epoch and the
// run crossing into the next epoch afterwards.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abcLm, type CheckpointJson, expectOk, readCheckpoint, readMetrics, removeDir, rnnc, tempDir, writeAbcText, writeFile } from './cli-harness.js';

let dir: string;
beforeAll(() => {
  dir = tempDir();
  // 480 characters, seq_len 10: 44 training chunks, 11 batches of 4 per epoch.
  writeAbcText(dir);
});
afterAll(() => removeDir(dir));

const program = (bptt: string): string => abcLm({ H: 6, bptt, epochs: 3, seed: 7, clip: 'clip      norm 1.0' });

const BATCHES_PER_EPOCH = 11;

async function train(file: string, out: string, steps: number, resume?: string): Promise<CheckpointJson> {
  const r = await rnnc('run', file, '--backend', 'cpu', '--steps', String(steps), '--out', out, '--quiet', ...(resume ? ['--resume', resume] : []));
  expectOk(r);
  if (resume) expect(r.stderr).toContain(`resumed from ${resume}`);
  return readCheckpoint(join(out, 'checkpoint.json'));
}

describe.each([
  // [bptt, optimizer steps per batch, batches before the resume, batches in all]
  ['full', 1, 5, 15],
  ['truncated(k1 = 4, k2 = 6)', 3, 2, 15],
] as const)('resume == uninterrupted, bptt %s', (bptt, perBatch, kBatches, nBatches) => {
  it(`${kBatches} batches, then --resume to ${nBatches}, equals ${nBatches} batches in one run`, async () => {
    const tag = bptt.startsWith('full') ? 'full' : 'trunc';
    const file = writeFile(dir, `${tag}.rnn`, program(bptt));
    const k = kBatches * perBatch;
    const N = nBatches * perBatch;

    const whole = await train(file, join(dir, `${tag}-whole`), N);
    const part = await train(file, join(dir, `${tag}-part`), k);
    const resumedCkptPath = join(dir, `${tag}-part`, 'checkpoint.json');
    const resumed = await train(file, join(dir, `${tag}-resumed`), N, resumedCkptPath);

    // The resume point is inside the first epoch; the end is in the second.
    expect(part.step).toBe(k);
    expect([part.epoch, part.batchInEpoch]).toEqual([0, kBatches]);
    expect(whole.step).toBe(N);
    expect([whole.epoch, whole.batchInEpoch]).toEqual([1, nBatches - BATCHES_PER_EPOCH]);
    expect([resumed.step, resumed.epoch, resumed.batchInEpoch]).toEqual([whole.step, whole.epoch, whole.batchInEpoch]);

    // Exactly equal numbers, not close ones.
    expect(Object.keys(resumed.params)).toEqual(Object.keys(whole.params));
    for (const [name, t] of Object.entries(whole.params)) {
      expect(resumed.params[name]!.shape, name).toEqual(t.shape);
      expect(resumed.params[name]!.data, name).toEqual(t.data);
    }
    expect(resumed['optimizer']).toEqual(whole['optimizer']);

    // Not vacuous: training moved the parameters after the resume point.
    const moved = Object.entries(part.params).some(([name, t]) => t.data.some((x, i) => x !== whole.params[name]!.data[i]));
    expect(moved).toBe(true);

    // The resumed run logs (one line per batch) only its own batches, continuing the step count, with the same losses.
    const wholeLog = readMetrics(join(dir, `${tag}-whole`)).filter((m) => m.kind === 'train');
    const resumedLog = readMetrics(join(dir, `${tag}-resumed`)).filter((m) => m.kind === 'train');
    expect(wholeLog).toHaveLength(nBatches);
    expect(resumedLog.map((m) => [m.step, m.loss])).toEqual(wholeLog.slice(kBatches).map((m) => [m.step, m.loss]));
  });
});
