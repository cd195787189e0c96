// Bad files and flags are user errors (exit 1, or 2 for a flag) that name
// the file, field or flag: never exit 3 ("internal error"), never a wrong
// result, never minutes of work before the refusal.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abcDir, expectOk, expectUserError, removeDir, rnnc, writeAbcLm, writeFile } from './cli-harness.js';

let dir: string;
let lm: string;
let params: string;
beforeAll(async () => {
  dir = abcDir();
  lm = writeAbcLm(dir, 'lm.rnn', { seed: 1 });
  expectOk(await rnnc('run', lm, '--backend', 'cpu', '--steps', '1', '--out', join(dir, 'out'), '--quiet'));
  params = join(dir, 'params.json');
  expectOk(await rnnc('params', join(dir, 'out', 'checkpoint.json'), '-o', params));
});
afterAll(() => removeDir(dir));

const grad = (batch: string, paramsFile = params) => rnnc('grad', lm, '--params', paramsFile, '--batch', batch, '--reference');
const tensor = (shape: number[], fill = 1) => ({ shape, data: new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(fill) });

describe('parameter files', () => {
  it('200,000 nested `[` (not JSON): exit 1, names the file and the depth, no stack overflow', async () => {
    const f = writeFile(dir, 'deep.json', '['.repeat(200_000));
    const r = await rnnc('run', lm, '--backend', 'cpu', '--steps', '1', '--out', join(dir, 'o1'), '--quiet', '--init-params', f);
    expectUserError(r);
    expect(r.stderr).toContain(`${f}: parameters file is not valid JSON, and nests arrays or objects more than 1000 levels deep`);
  });

  it('200,000 nested arrays as a parameter\'s data (valid JSON): exit 1, names the parameter and the field', async () => {
    const f = writeFile(dir, 'deep-valid.json', `{"y.W": {"shape": [1], "data": ${'['.repeat(200_000)}${']'.repeat(200_000)}}}`);
    const r = await grad(writeFile(dir, 'b0.json', JSON.stringify({ chars: tensor([1, 2]), next: tensor([1, 2]) })), f);
    expectUserError(r);
    expect(r.stderr).toContain(`${f}: parameter "y.W": data[0] must be a finite number, found an array`);
  });
});

describe('batch files', () => {
  const batch = (name: string, value: unknown) => writeFile(dir, name, JSON.stringify(value));

  it('a token batch shaped [B, T, 1] (one-hot style): exit 1, says the shape the model takes', async () => {
    const r = await grad(batch('b1.json', { chars: tensor([2, 3, 1]), next: tensor([2, 3]) }));
    expectUserError(r);
    expect(r.stderr).toContain('"chars" has shape [2, 3, 1], but the model\'s token ids "chars" take [B, T]');
  });

  it('a vector where token ids are due, and the other way round, by rank: exit 1', async () => {
    const r = await grad(batch('b2.json', { chars: tensor([2]), next: tensor([2, 3]) }));
    expectUserError(r);
    expect(r.stderr).toContain('"chars" has shape [2], but the model\'s token ids "chars" take [B, T]');
  });

  it('T = 0: exit 1, a sequence needs at least one step', async () => {
    const r = await grad(batch('b3.json', { chars: tensor([2, 0]), next: tensor([2, 0]) }));
    expectUserError(r);
    expect(r.stderr).toContain('"chars" has shape [2, 0]: a sequence needs at least one step (T >= 1)');
  });

  it('B = 0: exit 1 (it used to exit 0 with a loss and zero gradients)', async () => {
    const r = await grad(batch('b4.json', { chars: tensor([0, 3]), next: tensor([0, 3]) }));
    expectUserError(r);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('"chars" has shape [0, 3]: a batch needs at least one example (B >= 1)');
  });

  it('fields with different numbers of steps, the first of one step: exit 1', async () => {
    const r = await grad(batch('b5.json', { chars: tensor([2, 1]), next: tensor([2, 3]) }));
    expectUserError(r);
    expect(r.stderr).toContain('"next" has 3 steps, another field has 1');
  });

  it('a well-formed batch still works', async () => {
    expectOk(await grad(batch('b6.json', { chars: tensor([2, 3]), next: tensor([2, 3], 2) })));
  });
});

describe('flags', () => {
  it('compile --unroll 100000 is refused at once, with the limit and the reason (exit 2), nothing written', async () => {
    const out = join(dir, 'unrolled.ts');
    const r = await rnnc('compile', lm, '--dims', 'V=5', '--unroll', '100000', '-o', out);
    expectUserError(r, 2);
    expect(r.stderr).toContain('--unroll must be at most 1000');
    expect(r.stderr).toContain('once per step');
    expect(() => readFileSync(out)).toThrow();
  });
});
