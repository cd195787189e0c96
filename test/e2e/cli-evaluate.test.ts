// `rnnc evaluate` (the metrics of a checkpoint on its validation split, the
// training split or other data) and `rnnc run --json` (the final metrics as
// one object with stable field names): the same numbers as the run printed.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { Rng } from '../../runtime/rng.js';
import { abcDir, expectOk, expectUserError, removeDir, rnnc, writeAbcLm, writeFile } from './cli-harness.js';

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

  it('other data is read in the model\'s vocabulary: the loss equals the cross-entropy of predict\'s probabilities', async () => {
    const rng = new Rng(8);
    const rows = Array.from({ length: 60 }, () => {
      const t = Array.from({ length: 3 + rng.int(4) }, () => 'abcd'[rng.int(4)]).join('');
      return `${t},${t.split('').filter((c) => c === 'a').length >= 2 ? 1 : 0}`;
    });
    writeFileSync(join(dir, 'all.csv'), `text,label\n${rows.join('\n')}\n`);
    // Other data: a few rows with only some of the characters (its own vocabulary would number them differently).
    const few = ['ddd,0', 'dda,0', 'aad,1'];
    writeFileSync(join(dir, 'few.csv'), `text,label\n${few.join('\n')}\n`);
    const file = writeFile(dir, 'c.rnn', `model c { dim V, K, H = 6
  input x: seq<token[V]>; target y: token[K]
  h = gru(one_hot(x)) with H
  loss = cross_entropy(dense(last(h), K), y) }
train c { data csv("all.csv", x = "text", y = "label"); optimizer adam(lr = 0.05); batch 10; epochs 2; seed 1 }`);
    expectOk(await rnnc('run', file, '--backend', 'cpu', '--out', join(dir, 'c'), '--quiet'));
    const ckpt = join(dir, 'c', 'checkpoint.json');
    const ev = await rnnc('evaluate', file, '--ckpt', ckpt, '--backend', 'cpu', '--json', '--data-arg', 'path=few.csv', '--data-arg', 'split=1', '--split', 'train');
    expectOk(ev);
    const e = JSON.parse(ev.stdout) as { loss: number; examples: number };
    expect(e.examples).toBe(3);
    const input = writeFile(dir, 'few.jsonl', few.map((r) => JSON.stringify({ x: r.split(",")[0] })).join('\n') + '\n');
    const pr = await rnnc('predict', file, '--ckpt', ckpt, '--backend', 'cpu', '--json', '--input', input);
    expectOk(pr);
    const probs = pr.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { probs: number[] }).probs);
    const labels = few.map((r) => Number(r.split(',')[1]));
    const xent = probs.reduce((acc, p, i) => acc - Math.log(p[labels[i]!]!), 0) / probs.length;
    expect(e.loss).toBeCloseTo(xent, 5);
  });

  it('another file is evaluated whole and named, read by its own extension; a checkpoint of examples in memory asks for a file', async () => {
    const rng = new Rng(9);
    const rows = Array.from({ length: 50 }, () => {
      const t = Array.from({ length: 3 + rng.int(4) }, () => 'ab'[rng.int(2)]).join('');
      return { text: t, label: [...t].filter((c) => c === 'a').length * 2 > t.length ? 1 : 0 };
    });
    writeFileSync(join(dir, 'w.csv'), `text,label\n${rows.map((r) => `${r.text},${r.label}`).join('\n')}\n`);
    writeFileSync(join(dir, 'w-test.jsonl'), `${rows.slice(0, 20).map((r) => JSON.stringify(r)).join('\n')}\n`);
    const file = writeFile(dir, 'w.rnn', `model w { dim V, K, H = 6
  input x: seq<token[V]>; target y: token[K]
  h = gru(one_hot(x)) with H
  loss = cross_entropy(dense(last(h), K), y) }
train w { data csv("w.csv", x = "text", y = "label"); optimizer adam(lr = 0.05); batch 10; epochs 1; seed 1 }`);
    expectOk(await rnnc('run', file, '--backend', 'cpu', '--out', join(dir, 'w'), '--quiet'));
    const ckpt = join(dir, 'w', 'checkpoint.json');
    const ev = await rnnc('evaluate', file, '--ckpt', ckpt, '--backend', 'cpu', '--data-arg', 'path=w-test.jsonl');
    expectOk(ev);
    expect(ev.stdout).toMatch(/^w-test\.jsonl: loss \d+\.\d+ {2}accuracy [\d.]+% {2}\(20 examples\)\n$/);
    const json = await rnnc('evaluate', file, '--ckpt', ckpt, '--backend', 'cpu', '--data-arg', 'path=w-test.jsonl', '--json');
    expectOk(json);
    expect(JSON.parse(json.stdout)).toMatchObject({ split: 'file', examples: 20 });
    // A checkpoint whose data was held in memory (as the TypeScript API saves one) and a model without a train block.
    const bare = writeFile(dir, 'bare.rnn', `model w { dim V, K, H = 6
  input x: seq<token[V]>; target y: token[K]
  h = gru(one_hot(x)) with H
  loss = cross_entropy(dense(last(h), K), y) }`);
    const saved = JSON.parse(readFileSync(ckpt, 'utf8')) as { extra: { data: { name: string; args: Record<string, unknown> } } };
    saved.extra.data = { name: 'jsonl', args: {} };
    const memory = writeFile(dir, 'memory.json', JSON.stringify(saved));
    const p = await rnnc('predict', bare, '--ckpt', memory, '--backend', 'cpu', '--input', writeFile(dir, 'wq.txt', 'aaab\n'));
    expectOk(p);
    const noFile = await rnnc('evaluate', bare, '--ckpt', memory, '--backend', 'cpu');
    expectUserError(noFile, 2);
    expect(noFile.stderr).toContain('was trained on examples held in memory (the TypeScript API), which it does not keep: give a file with --data-arg path=FILE');
    expectOk(await rnnc('evaluate', bare, '--ckpt', memory, '--backend', 'cpu', '--data-arg', `path=${join(dir, 'w-test.jsonl')}`, '--data-arg', 'x=text', '--data-arg', 'y=label'));
  });
});
