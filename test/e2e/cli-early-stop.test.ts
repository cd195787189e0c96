// Validation after every epoch, the best checkpoint kept beside the last
// (runs/<model>/best.json), and `early_stop val_loss(patience = N,
// min_delta = D)` in the train block: metrics.jsonl gets one validation per
// epoch, best.json holds the step of the best one, and a run whose
// validation loss stops improving ends early, saying so.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seqRegressor } from '../helpers/programs.js';
import { expectOk, expectUserError, readMetrics, removeDir, rnnc, tempDir, writeFile } from './cli-harness.js';

let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => removeDir(dir));

const program = (train: string): string =>
  seqRegressor('gru(x)', { H: 4, X: 1 }, `train m { data sine(T = 10, n = 40, valid = 10); optimizer adam(lr = 0.01); batch 10; seed 3; ${train} }`);

describe('validation every epoch, best.json and early stopping', () => {
  it('validates after every epoch, and keeps the best checkpoint', async () => {
    const file = writeFile(dir, 'v.rnn', program('epochs 4'));
    const out = join(dir, 'v');
    const r = await rnnc('run', file, '--backend', 'cpu', '--out', out);
    expectOk(r);
    expect(r.stderr).toMatch(/^epoch 1\/4 validation: loss \d/m);
    expect(r.stderr).toMatch(/^epoch 3\/4 validation: loss \d/m);
    const evals = readMetrics(out).filter((m) => m.kind === 'eval');
    // Epochs 1 to 3 at their ends, and the last epoch's by the final evaluation.
    expect(evals.map((m) => m['epoch'])).toEqual([1, 2, 3, undefined]);
    const best = evals.reduce((a, b) => ((b.loss as number) < (a.loss as number) ? b : a));
    const saved = JSON.parse(readFileSync(join(out, 'best.json'), 'utf8')) as { step: number; extra: { validation: { best: number; bestStep: number } } };
    expect(saved.step).toBe(best.step);
    expect(saved.extra.validation.best).toBeCloseTo(best.loss as number, 10);
    // The last checkpoint knows the best so far too (the final validation came after it was first written).
    const last = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as typeof saved;
    expect([last.extra.validation.best, last.extra.validation.bestStep]).toEqual([saved.extra.validation.best, saved.extra.validation.bestStep]);
    expect(r.stderr).toContain(`best val_loss ${(best.loss as number).toPrecision(5)} at step ${best.step as number}: ${join(out, 'best.json')}`);
  });

  it('stops when the validation loss has not improved for `patience` epochs', async () => {
    // min_delta is so large that no epoch after the first counts as better: the third epoch's end stops the run.
    const file = writeFile(dir, 'e.rnn', program('epochs 10; early_stop val_loss(patience = 2, min_delta = 100)'));
    const out = join(dir, 'e');
    const r = await rnnc('run', file, '--backend', 'cpu', '--out', out);
    expectOk(r);
    expect(r.stderr).toMatch(/early stop: val_loss has not improved for 2 epochs \(best [\d.]+ at step \d+; best\.json\)/);
    const train = readMetrics(out).filter((m) => m.kind === 'train');
    expect(Math.max(...train.map((m) => m.epoch as number))).toBe(3);
    // The validation that stopped the run is logged once, not again as the final one.
    const steps = readMetrics(out).filter((m) => m.kind === 'eval').map((m) => m.step);
    expect(steps).toEqual([...new Set(steps)]);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^validation: loss /);
    // min_delta decides the patience only: best.json keeps the lowest validation loss all the same.
    const evals = readMetrics(out).filter((m) => m.kind === 'eval' && m['epoch'] !== undefined);
    const best = evals.reduce((a, b) => ((b.loss as number) < (a.loss as number) ? b : a));
    expect((JSON.parse(readFileSync(join(out, 'best.json'), 'utf8')) as { step: number }).step).toBe(best.step);
  });

  it('validates every N steps as well with `validate N`', async () => {
    const file = writeFile(dir, 'n.rnn', program('epochs 2; validate 3'));
    const out = join(dir, 'n');
    const r = await rnnc('run', file, '--backend', 'cpu', '--out', out);
    expectOk(r);
    // 4 steps an epoch: steps 3 and 6 (every 3), the end of epoch 1 (step 4) and the end of the run (step 8).
    const evals = readMetrics(out).filter((m) => m.kind === 'eval');
    expect(evals.map((m) => [m.step, m["epoch"]])).toEqual([[3, undefined], [4, 1], [6, undefined], [8, undefined]]);
    expect(r.stderr).toMatch(/^step 3 validation: loss \d/m);
  });

  it('refuses what it cannot watch, and data without training examples', async () => {
    const none = writeFile(dir, 'nv.rnn', program('epochs 2; early_stop val_loss(patience = 1)').replace('valid = 10', 'valid = 0'));
    const nv = await rnnc('run', none, '--backend', 'cpu', '--out', join(dir, 'nv'));
    expectUserError(nv);
    expect(nv.stderr).toContain('early_stop val_loss watches the validation split, but the data has none');
    writeFile(dir, 'one.jsonl', '{"x": [[0.5]], "y": [[1]]}\n');
    const empty = writeFile(dir, 'one.rnn', program('epochs 1').replace('sine(T = 10, n = 40, valid = 10)', 'jsonl("one.jsonl")'));
    const e = await rnnc('run', empty, '--backend', 'cpu', '--out', join(dir, 'one'));
    expectUserError(e);
    expect(e.stderr).toContain('the data has no training examples');
    expect(e.stderr).toContain('a larger `split`');
    const acc = writeFile(dir, 'a.rnn', program('epochs 2; early_stop val_accuracy(patience = 1)'));
    const r = await rnnc('run', acc, '--backend', 'cpu', '--out', join(dir, 'a'));
    expectUserError(r);
    expect(r.stderr).toContain('early_stop val_accuracy needs a model scored by accuracy (a cross_entropy loss)');
    const checked = await rnnc('check', acc);
    expectUserError(checked);
    expect(checked.stderr).toContain('RNN5002');
    for (const [setting, message] of [
      ['early_stop val_los(patience = 2)', 'early_stop watches `val_loss` or `val_accuracy`, not `val_los`'],
      ['early_stop val_loss(patience = 0)', 'patience must be a whole number of epochs, at least 1'],
      ['early_stop val_loss(wait = 2)', 'early_stop takes `patience` and `min_delta`, not `wait`'],
    ] as const) {
      const f = writeFile(dir, 'bad.rnn', program(setting));
      const c = await rnnc('check', f);
      expectUserError(c);
      expect(c.stderr, setting).toContain('RNN5002');
      expect(c.stderr, setting).toContain(message);
    }
  });
});
