// `rnnc evaluate` (the metrics of a checkpoint on its validation split, the
// training split or other data) and `rnnc run --json` (the final metrics as
// one object with stable field names): the same numbers as the run printed.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abcDir, expectOk, expectUserError, removeDir, rnnc, writeAbcLm } from './cli-harness.js';

let dir: string;
beforeAll(() => {
  dir = abcDir();
});
afterAll(() => removeDir(dir));

describe('rnnc evaluate and run --json', () => {
  it('evaluate prints what run printed at its end; --json gives the same numbers under stable names', async () => {
    const lm = writeAbcLm(dir, 'lm.rnn', { seed: 4 });
    const out = join(dir, 'run');
    const text = await rnnc('run', lm, '--backend', 'cpu', '--out', out, '--quiet');
    expectOk(text);
    const finalLine = text.stdout.trim().split('\n').at(-1)!;
    expect(finalLine).toMatch(/^validation: loss \d+\.\d{4} {2}perplexity/);
    const ckpt = join(out, 'checkpoint.json');
    const ev = await rnnc('evaluate', lm, '--ckpt', ckpt, '--backend', 'cpu');
    expectOk(ev);
    expect(ev.stdout.trim()).toBe(finalLine);

    const json = await rnnc('evaluate', lm, '--ckpt', ckpt, '--backend', 'cpu', '--json');
    expectOk(json);
    const e = JSON.parse(json.stdout) as Record<string, number | string>;
    expect(Object.keys(e)).toEqual(['model', 'step', 'split', 'examples', 'loss', 'count', 'perplexity', 'bits_per_char']);
    expect(finalLine).toContain(`loss ${(e['loss'] as number).toFixed(4)}`);
    expect(e['perplexity']).toBeCloseTo(Math.exp(e['loss'] as number), 10);

    const run = await rnnc('run', lm, '--backend', 'cpu', '--out', join(dir, 'run2'), '--quiet', '--json');
    expectOk(run);
    const r = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(r).toMatchObject({ model: 'lm', status: 'done', split: 'validation', loss: e['loss'], perplexity: e['perplexity'], checkpoint: join(dir, 'run2', 'checkpoint.json') });
    expect((r['best'] as { on: string; path: string }).on).toBe('val_loss');
  });

  it('evaluates the training split, and says what is wrong', async () => {
    const lm = join(dir, 'lm.rnn');
    const ckpt = join(dir, 'run', 'checkpoint.json');
    const train = await rnnc('evaluate', lm, '--ckpt', ckpt, '--backend', 'cpu', '--split', 'train');
    expectOk(train);
    expect(train.stdout).toMatch(/^training: loss \d/);
    const badSplit = await rnnc('evaluate', lm, '--ckpt', ckpt, '--split', 'test');
    expectUserError(badSplit, 2);
    const noCkpt = await rnnc('evaluate', lm, '--ckpt', join(dir, 'nope.json'));
    expectUserError(noCkpt);
  });
});
