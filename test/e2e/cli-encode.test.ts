// `rnnc encode`: a trained autoencoder's codes and reconstructions for the
// validation examples, as JSON lines, with each example's targets; the
// same values as the model computes in `rnnc run`'s evaluation.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, expectUserError, removeDir, rnnc, tempDir, writeFile } from './cli-harness.js';

let dir: string;
let file: string;
let ckpt: string;
beforeAll(async () => {
  dir = tempDir();
  file = writeFile(
    dir,
    'ae.rnn',
    `
cell dec(z: [Z]) -> x_hat: [X] {
  param S: [H, Z]
  param U: [H, H]
  param W: [X, H]
  s[0] = tanh(S @ z)
  s[t] = tanh(U @ s[t-1])
  x_hat[t] = W @ s[t]
}
model ae {
  dim H = 6, Z = 2
  input  x: seq<[1]>
  target y: seq<[1]>
  enc   = gru(x) with H
  code  = dense(last(enc), Z)
  x_hat = dec(code) with H, X = 1
  loss  = mse(x_hat, x)
}
train ae { data sine(T = 8, n = 40, valid = 5); optimizer adam(lr = 0.01); batch 8; epochs 2; seed 1 }`,
  );
  const r = await rnnc('run', file, '--backend', 'cpu', '--out', join(dir, 'run'), '--quiet');
  expectOk(r);
  // An autoencoder's loss compares with its input: the metrics say mse, and no accuracy.
  expect(r.stdout).toMatch(/^validation: loss \d\.\d{4} {2}mse \d\.\d{5} {2}\(40 time steps\)$/m);
  ckpt = join(dir, 'run', 'checkpoint.json');
});
afterAll(() => removeDir(dir));

describe('rnnc encode', () => {
  it('writes each validation example’s code, reconstruction and targets as a JSON line', async () => {
    const r = await rnnc('encode', file, '--ckpt', ckpt, '--backend', 'cpu', '--value', 'code', '--value', 'x_hat');
    expectOk(r);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { index: number; code: number[]; x_hat: number[]; y: number[] });
    expect(rows.map((x) => x.index)).toEqual([0, 1, 2, 3, 4]);
    for (const row of rows) {
      expect(row.code).toHaveLength(2);
      expect(row.x_hat).toHaveLength(8);
      expect(row.y).toHaveLength(8);
      expect(row.code.every(Number.isFinite)).toBe(true);
    }
    const limited = await rnnc('encode', file, '--ckpt', ckpt, '--backend', 'cpu', '--limit', '2', '-o', join(dir, 'codes.jsonl'));
    expectOk(limited);
    const lines = readFileSync(join(dir, 'codes.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]!).code).toEqual(rows[1]!.code);
  });

  it('says which statements exist, and keeps files it did not write', async () => {
    const r = await rnnc('encode', file, '--ckpt', ckpt, '--backend', 'cpu', '--value', 'cod');
    expectUserError(r, 2);
    expect(r.stderr).toContain('model ae has no statement `cod` to encode with; did you mean `code`?');
    const mine = writeFile(dir, 'notes.txt', 'my notes\n');
    const refused = await rnnc('encode', file, '--ckpt', ckpt, '--backend', 'cpu', '-o', mine);
    expectUserError(refused);
    expect(readFileSync(mine, 'utf8')).toBe('my notes\n');
  });
});

describe('rnnc encode --plot', () => {
  it('draws the first two numbers of each code as an SVG chart', async () => {
    const svg = join(dir, 'codes.svg');
    const r = await rnnc('encode', file, '--ckpt', ckpt, '--backend', 'cpu', '--plot', svg);
    expectOk(r);
    const text = readFileSync(svg, 'utf8');
    expect(text.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(text).toContain('code: the first two numbers of each example');
    expect((text.match(/<path /g) ?? []).length).toBeGreaterThanOrEqual(5);
    const bad = await rnnc('encode', file, '--ckpt', ckpt, '--backend', 'cpu', '--plot', join(dir, 'codes.gif'));
    expectUserError(bad, 2);
    expect(bad.stderr).toContain('as .svg, .png or .html');
  });
});
