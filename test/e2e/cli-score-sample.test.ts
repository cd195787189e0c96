// `rnnc score` says which of its numbers to compare across models; `rnnc
// sample` and `rnnc score` on a model that is not a language model (a text
// classifier, a tagger over token ids) say so, exit 1, before anything about
// --prime or the texts.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abcDir, abcLm, expectOk, expectUserError, removeDir, rnnc, writeFile } from './cli-harness.js';

let dir: string;

beforeAll(() => {
  dir = abcDir();
});
afterAll(() => removeDir(dir));

async function trained(name: string, program: string): Promise<{ file: string; ckpt: string }> {
  const file = writeFile(dir, `${name}.rnn`, program);
  expectOk(await rnnc('run', file, '--backend', 'cpu', '--out', join(dir, name), '--quiet'));
  return { file, ckpt: join(dir, name, 'checkpoint.json') };
}

describe('rnnc score', () => {
  it('prints total log P and per-token perplexity per text, and a one-line note on which to compare across models', async () => {
    const { file, ckpt } = await trained('lm', abcLm({ H: 5, bptt: 'full', epochs: 1, seed: 3 }));
    const r = await rnnc('score', file, '--ckpt', ckpt, '--backend', 'cpu', 'abcab', 'abcab cabba');
    expectOk(r);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(/log P = -\d+\.\d+ nats \(-\d+\.\d+ bits\), perplexity \d+\.\d+ per token over \d+ chars/);
    const notes = r.stderr.split('\n').filter((l) => l.startsWith('note:'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/log P is the total .* between texts under one model/);
    expect(notes[0]).toMatch(/perplexity is per token: compare it across models/);
    // --json: the same numbers under stable names, one object per text.
    const json = await rnnc('score', file, '--ckpt', ckpt, '--backend', 'cpu', '--json', 'abcab', 'abcab cabba');
    expectOk(json);
    const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { text: string; logprob: number; bits: number; perplexity: number; tokens: number });
    expect(rows.map((x) => x.text)).toEqual(['abcab', 'abcab cabba']);
    rows.forEach((x, i) => {
      expect(lines[i]).toContain(`log P = ${x.logprob.toFixed(4)} nats`);
      expect(x.bits).toBeCloseTo(x.logprob / Math.LN2, 10);
      expect(x.perplexity).toBeCloseTo(Math.exp(-x.logprob / x.tokens), 10);
    });
    const sample = await rnnc('sample', file, '--ckpt', ckpt, '--backend', 'cpu', '--prime', 'ab', '--length', '12', '--seed', '3');
    const sampleJson = await rnnc('sample', file, '--ckpt', ckpt, '--backend', 'cpu', '--prime', 'ab', '--length', '12', '--seed', '3', '--json');
    expectOk(sampleJson);
    const s = JSON.parse(sampleJson.stdout) as { prime: string; text: string; tokens: string[]; ids: number[]; seed: number };
    expect(`${s.prime}${s.text}\n`).toBe(sample.stdout);
    expect(s.tokens).toHaveLength(12);
    expect(s.tokens.join('')).toBe(s.text);
  });
});

describe('sample and score on a model that is not a language model', () => {
  const LINES = [
    { x: 'abcab', y: 0 },
    { x: 'cabba', y: 1 },
    { x: 'bbaca', y: 0 },
    { x: 'acbca', y: 1 },
  ];
  const TAGS = [
    { x: 'abcab', y: [0, 1, 2, 0, 1] },
    { x: 'cabba', y: [2, 0, 1, 1, 0] },
    { x: 'bbaca', y: [1, 1, 0, 2, 0] },
    { x: 'acbca', y: [0, 2, 1, 2, 0] },
  ];
  const cases = [
    [
      'a text classifier (seq<token[V]> -> token[K])',
      'cls.jsonl',
      LINES,
      'dim V, K, H = 4\nmodel cls { input x: seq<token[V]>; target y: token[K]; h = gru(embed(x, 3)) with H; loss = cross_entropy(dense(last(h), K), y) }\ntrain cls { data jsonl("cls.jsonl", split = 1); optimizer adam(lr = 1e-2); batch 2; epochs 1; seed 1 }',
      /its input is x: seq<token\[3\]> and its target y: token/,
    ],
    [
      'a tagger (seq<token[V]> -> seq<token[K]>, which the runtime\'s own check lets through)',
      'tags.jsonl',
      TAGS,
      'dim V, K, H = 4\nmodel tag { input x: seq<token[V]>; target y: seq<token[K]>; h = gru(embed(x, 3)) with H; loss = cross_entropy(dense(h, K), y) }\ntrain tag { data jsonl("tags.jsonl", split = 1); optimizer adam(lr = 1e-2); batch 2; epochs 1; seed 1 }',
      /is not over the input's vocabulary/,
    ],
  ] as const;

  it.each(cases)('%s: exit 1, "not a language model", before asking for --prime', async (_what, data, rows, program, why) => {
    writeFile(dir, data, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const { file, ckpt } = await trained(data.replace('.jsonl', ''), program);
    for (const r of [
      await rnnc('sample', file, '--ckpt', ckpt, '--backend', 'cpu', '--length', '5'),
      await rnnc('sample', file, '--ckpt', ckpt, '--backend', 'cpu', '--length', '5', '--prime', 'ab'),
      await rnnc('score', file, '--ckpt', ckpt, '--backend', 'cpu', 'abc'),
    ]) {
      expectUserError(r);
      expect(r.stderr).toContain('is not a language model');
      expect(r.stderr).toContain(ckpt);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).not.toContain('--prime');
      expect(r.stdout).toBe('');
    }
  });
});
