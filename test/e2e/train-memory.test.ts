// Memory stays flat over a run: the path of `rnnc run` (loadProgram ->
// trainConfigFor -> loadData -> modelForData -> newSession -> trainLoop), on
// a text file, with the live tfjs tensor count taken in the loop's onStep
// callback at steps 10 and 40. Measured through the pieces the CLI calls
// because the count inside a run is not visible from outside main().
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../runtime/rng.js';
import { trainLoop } from '../../runtime/train/loop.js';
import { startBackend } from '../../src/backend-choice.js';
import { newSession } from '../../src/new-session.js';
import { loadData, loadProgram, modelForData, pickModel, trainConfigFor } from '../../src/project.js';
import { abcLm, removeDir, tempDir, writeAbcText, writeFile } from './cli-harness.js';

let dir: string;
beforeAll(async () => {
  await startBackend('cpu');
  dir = tempDir();
  writeAbcText(dir);
});
afterAll(() => removeDir(dir));

const program = (bptt: string, clip: string): string => abcLm({ H: 6, bptt, epochs: 5, seed: 1, clip });

/** Trains 40 batches; returns the live tensor counts after batches 10 and 40, and after disposing the session. */
async function countTensors(bptt: string, clip: string, leakPerStep = 0): Promise<{ at10: number; at40: number; after: number; losses: number[] }> {
  const file = writeFile(dir, `lm-${bptt.length}-${clip.length}.rnn`, program(bptt, clip));
  const before = tf.memory().numTensors;
  const p = loadProgram(file, { quietWarnings: true });
  const name = pickModel(p);
  const config = trainConfigFor(p, name);
  const data = loadData(p, config);
  const session = newSession(modelForData(p, name, data), config);
  session.initParams(config.seed);
  const counts = new Map<number, number>();
  const losses: number[] = [];
  const kept: tf.Tensor[] = [];
  let batches = 0;
  const result = await trainLoop({
    session,
    examples: data.train,
    specs: data,
    batchSize: config.batch,
    epochs: config.epochs,
    seed: config.seed,
    checkpointEvery: 5,
    // A checkpoint every 5 steps, as `run` would write it, so reading parameters and optimizer slots is measured too.
    save: async (pos) => void (await session.checkpoint(pos, new Rng(1), {})),
    // Stop after batch 40 (maxSteps would count truncated-BPTT windows, not batches).
    shouldStop: () => batches >= 40,
    onStep: (s) => {
      batches++;
      losses.push(s.loss);
      for (let i = 0; i < leakPerStep; i++) kept.push(tf.scalar(i));
      if (batches === 10 || batches === 40) counts.set(batches, tf.memory().numTensors);
    },
  });
  expect(result.status).toBe('stopped');
  expect(batches).toBe(40);
  session.dispose();
  tf.dispose(kept);
  return { at10: counts.get(10)!, at40: counts.get(40)!, after: tf.memory().numTensors - before, losses };
}

describe('tfjs memory over a training run', () => {
  it.each([
    ['full BPTT, clip norm', 'full', 'clip norm 1.0'],
    ['truncated(k1 = 4, k2 = 6), clip value', 'truncated(k1 = 4, k2 = 6)', 'clip value 0.5'],
    ['truncated(k1 = 5, k2 = 3), no clipping', 'truncated(k1 = 5, k2 = 3)', ''],
  ])('%s: numTensors is the same after batch 10 and batch 40, and back to zero after dispose', async (_what, bptt, clip) => {
    const c = await countTensors(bptt, clip);
    expect(c.at10).toBeGreaterThan(0);
    expect(c.at40).toBe(c.at10);
    expect(c.after).toBe(0);
    expect(c.losses.every(Number.isFinite)).toBe(true);
  });

  it('the measurement sees a leak of one tensor per step (30 more between batch 10 and 40)', async () => {
    const c = await countTensors('full', '', 1);
    expect(c.at40 - c.at10).toBe(30);
  });
});
