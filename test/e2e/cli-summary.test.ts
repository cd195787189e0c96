// `rnnc summary`: a model's parameter table (name, shape, values,
// initialiser, where declared) and totals, as text and as JSON; dimensions
// the data fixes from --dims or a checkpoint, or left open and said so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectOk, expectUserError, removeDir, rnnc, tempDir, writeFile } from './cli-harness.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => removeDir(dir));

const PROGRAM = `
model m {
  dim V, H = 4
  input  x: seq<token[V]>
  target y: seq<token[V]>
  h = lstm(embed(x, 3)) with H
  loss = cross_entropy(dense(h, V), y)
}`;

describe('rnnc summary', () => {
  it('prints every parameter with its shape, values, initialiser and line, and the total', async () => {
    const file = writeFile(dir, 'm.rnn', PROGRAM);
    const r = await rnnc('summary', file, '--dims', 'V=10');
    expectOk(r);
    expect(r.stdout).toMatch(/^model m: 15 parameter tensors\n\nparameter +shape +values +initialiser +declared at\n/);
    expect(r.stdout).toMatch(/^h\.embed\.table +\[10, 3\] +30 +normal\(mean = 0, std = 0\.1\) +m\.rnn:6$/m);
    expect(r.stdout).toMatch(/^h\.W_g +\[4, 3\] +12 +glorot +cells\.rnn:\d+$/m);
    expect(r.stdout).toMatch(/^h\.b_f +\[4\] +4 +ones +cells\.rnn:\d+$/m);
    // 30 + 4 (4*3 + 4*4 + 4) + 10*4 + 10 = 30 + 128 + 50
    expect(r.stdout).toContain('total: 208 values (0.00 MiB as float32)');
    const json = await rnnc('summary', file, '--dims', 'V=10', '--json');
    expectOk(json);
    const parsed = JSON.parse(json.stdout) as { model: string; params: { name: string; shape: number[]; count: number }[]; total: number; unbound: string[] };
    expect(parsed.total).toBe(208);
    expect(parsed.params.reduce((a, p) => a + p.count, 0)).toBe(208);
    expect(parsed.unbound).toEqual([]);
  });

  it('leaves the counts that need a data dimension open, and says which', async () => {
    const r = await rnnc('summary', join(repo, 'examples', 'dates.rnn'));
    expectOk(r);
    expect(r.stdout).toMatch(/^y\.E +\[16, K\] +\? +glorot +dates\.rnn:\d+$/m);
    expect(r.stdout).toContain('V, K are fixed by the data: give --dims V=...,K=... or --ckpt');
    const json = JSON.parse((await rnnc('summary', join(repo, 'examples', 'dates.rnn'), '--json')).stdout) as { total: number | null; unbound: string[] };
    expect(json).toMatchObject({ total: null, unbound: ['V', 'K'] });
  });

  it('a checkpoint of another model is an error', async () => {
    const ckpt = writeFile(dir, 'c.json', JSON.stringify({ format: 'rnnc-checkpoint', version: 1, model: 'other', step: 0, params: {} }));
    const r = await rnnc('summary', join(repo, 'examples', 'dates.rnn'), '--ckpt', ckpt);
    expectUserError(r);
  });

  it('--dims names only the model\'s dimensions', async () => {
    const r = await rnnc('summary', join(repo, 'examples', 'dates.rnn'), '--dims', 'V=12,Q=3');
    expectUserError(r, 2);
    expect(r.stderr).toMatch(/--dims Q: model \w+ has no dimension `Q` \(its dimensions: .*V.*\)/);
  });
});
