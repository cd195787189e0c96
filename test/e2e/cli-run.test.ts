// `rnnc run` end to end on tiny problems (cpu backend, seconds): the files a
// run writes (checkpoint.json, metrics.jsonl), the evaluation line, a smoke
// training whose loss must fall, and a diverging run that must stop cleanly
// with a finite checkpoint.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { charLm, expectOk, expectUserError, jsonNumbers, mean, readCheckpoint, readMetrics, removeDir, rnnc, tempDir, writeFile } from './cli-harness.js';

let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => removeDir(dir));

const BROWN_LM = charLm({
  name: 'charlm',
  E: 8,
  H: 16,
  data: 'brown_chars(seq_len = 20, max_chars = 3000)',
  optimizer: 'adam(lr = 1e-2)',
  clip: 'clip      norm 5.0',
  batch: 8,
  epochs: 1,
  seed: 1,
});

describe('rnnc run: a tiny LSTM character model on the Brown corpus', () => {
  it('writes checkpoint.json and metrics.jsonl and prints the validation loss in bits/char', async () => {
    const f = writeFile(dir, 'brown/charlm.rnn', BROWN_LM);
    const out = join(dir, 'brown/out');
    const r = await rnnc('run', f, '--backend', 'cpu', '--steps', '4', '--out', out, '--quiet');
    expectOk(r);
    expect(r.stderr).toContain('backend: cpu');
    expect(r.stderr).toMatch(/vocab \d+/);

    const ckpt = readCheckpoint(join(out, 'checkpoint.json'));
    expect(ckpt.model).toBe('charlm');
    expect(ckpt.step).toBe(4);
    expect(Object.keys(ckpt.params).length).toBeGreaterThan(10);
    expect(jsonNumbers(ckpt.params).every((x) => typeof x === 'number' && Number.isFinite(x))).toBe(true);

    const metrics = readMetrics(out);
    const train = metrics.filter((m) => m.kind === 'train');
    expect(train.map((m) => m.step)).toEqual([1, 2, 3, 4]);
    for (const m of train) {
      expect(Number.isFinite(m.loss)).toBe(true);
      expect(m.count).toBe(8 * 20);
    }
    // The last line is the final evaluation, after the training lines.
    const last = metrics[metrics.length - 1]!;
    expect(last.kind).toBe('eval');
    expect(last.step).toBe(4);
    expect(metrics.filter((m) => m.kind === 'eval')).toHaveLength(1);

    // "validation: loss L  perplexity P  bits/char B  (N characters)", consistent with metrics.jsonl.
    const m = /^validation: loss (\d+\.\d+)\s+perplexity (\d+\.\d+)\s+bits\/char (\d+\.\d+)\s+\((\d[\d,]*) characters\)$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const loss = Number(m![1]);
    expect(loss).toBeCloseTo(last.loss, 4);
    expect(Number(m![2])).toBeCloseTo(Math.exp(loss), 2);
    expect(Number(m![3])).toBeCloseTo(loss / Math.LN2, 3);
    expect(Number(m![4]!.replace(/,/g, ''))).toBe(last['count']);
    // Barely trained over ~50 characters: the loss is near log(V), not near 0.
    expect(loss).toBeGreaterThan(2);
  });

  it('a model without a train block exits 1 and says how to add one', async () => {
    const f = writeFile(dir, 'notrain.rnn', BROWN_LM.replace(/train charlm \{[^}]*\}/, ''));
    const r = await rnnc('run', f, '--backend', 'cpu', '--out', join(dir, 'notrain-out'), '--quiet');
    expectUserError(r);
    expect(r.stderr).toContain('has no train block');
  });
});

describe('rnnc run: training reduces the loss', () => {
  it('the adding problem (T = 10): the last 10 steps average under half the first 3, and beat predicting 1', async () => {
    const f = writeFile(
      dir,
      'adding.rnn',
      `dim H = 8
model adder {
  input  x: seq<[2]>
  target y: [1]
  h = rnn(x) with H
  loss = mse(dense(last(h), 1), y)
}
train adder {
  data      adding(T = 10, n = 640, valid = 32)
  optimizer adam(lr = 2e-2)
  batch 16; epochs 10; seed 1
}`,
    );
    const out = join(dir, 'adding-out');
    const r = await rnnc('run', f, '--backend', 'cpu', '--steps', '200', '--out', out, '--quiet');
    expectOk(r);
    const metrics = readMetrics(out);
    const losses = metrics.filter((m) => m.kind === 'train').map((m) => m.loss);
    expect(losses).toHaveLength(200);
    const first = mean(losses.slice(0, 3));
    const final = mean(losses.slice(-10));
    expect(final).toBeLessThan(0.5 * first);
    // Always answering 1 scores MSE 1/6 on this task: the model must have learnt the sum.
    const ev = metrics.find((m) => m.kind === 'eval')!;
    expect(ev.loss).toBeLessThan(0.167);
    expect(r.stdout).toMatch(/^validation: loss \d+\.\d+\s+mse \d+\.\d+\s+\(32 examples\)$/m);
  });
});

describe('rnnc run: a diverging run', () => {
  it('stops with exit 1, says the loss became NaN/Infinity, names the checkpoint, and that checkpoint is finite', async () => {
    const f = writeFile(
      dir,
      'diverge.rnn',
      `dim H = 8
model wave {
  input  x: seq<[1]>
  target y: seq<[1]>
  h = rnn(x) with H
  loss = mse(dense(h, 1), y)
}
train wave {
  data      sine(T = 10, n = 64, valid = 16)
  optimizer sgd(lr = 1e30)
  batch 16; epochs 10; seed 1
}`,
    );
    const out = join(dir, 'diverge-out');
    const ckptPath = join(out, 'checkpoint.json');
    const r = await rnnc('run', f, '--backend', 'cpu', '--out', out, '--quiet');
    expectUserError(r);
    expect(r.stderr).toMatch(/loss became (NaN|-?Infinity)/);
    expect(r.stderr).toContain(ckptPath);
    expect(r.stdout).toBe('');

    expect(existsSync(ckptPath)).toBe(true);
    const ckpt = readCheckpoint(ckptPath);
    // Parameters and optimizer state (extra.vocabs holds nulls for non-text fields by design).
    const numbers = jsonNumbers([ckpt.params, ckpt['optimizer']]);
    expect(numbers.length).toBeGreaterThan(80);
    expect(numbers.filter((x) => typeof x !== 'number' || !Number.isFinite(x))).toEqual([]);
    // The checkpoint holds the last good step: the steps logged before the bad one.
    const train = readMetrics(out).filter((m) => m.kind === 'train');
    expect(train.length).toBeLessThan(40);
    expect(ckpt.step).toBe(train.length);
    expect(train.every((m) => Number.isFinite(m.loss))).toBe(true);
    // And rnnc can read it back.
    const p = await rnnc('params', ckptPath);
    expectOk(p);
  });
});
