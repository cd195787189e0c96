// `rnnc compile`: success writes the module; a file with errors prints the
// diagnostics of `rnnc check`, exits 1 and writes nothing; dimensions the
// data fixes come from --dims or a checkpoint, else exit 1 with a message.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, rnnc, tempDir, writeFile } from '../e2e/cli-harness.js';

const dir = tempDir('rnnc-compile-');
afterAll(() => removeDir(dir));

const LM = `
dim V
model lm {
  dim H = 4
  input  x: seq<token[V]>
  target y: seq<token[V]>
  h = gru(embed(x, 3)) with H
  o = dense(h, V)
  loss = cross_entropy(o, y)
}
train lm { optimizer adam(lr = 0.01) }
`;

describe('rnnc compile', () => {
  it('writes a module (dims from --dims)', async () => {
    const src = writeFile(dir, 'lm.rnn', LM);
    const out = join(dir, 'lm.ts');
    const r = await rnnc('compile', src, '-o', out, '--dims', 'V=9');
    expect(r.code).toBe(0);
    const code = readFileSync(out, 'utf8');
    expect(code).toContain('export const DIMS = { V: 9, H: 4 } as const;');
    expect(code).toContain('export function trainStep(');
    expect(r.stderr).toContain('wrote');
  });

  it('--target forward emits no training code', async () => {
    const src = writeFile(dir, 'lm2.rnn', LM);
    const out = join(dir, 'lm2.ts');
    expect((await rnnc('compile', src, '-o', out, '--dims', 'V=9', '--target', 'forward')).code).toBe(0);
    const code = readFileSync(out, 'utf8');
    expect(code).toContain('export function forward(');
    expect(code).not.toContain('trainStep');
  });

  it('takes dims from a checkpoint', async () => {
    const src = writeFile(dir, 'lm3.rnn', LM);
    const ckpt = join(dir, 'ckpt.json');
    writeFileSync(ckpt, JSON.stringify({ version: 1, model: 'lm', step: 0, epoch: 0, batchInEpoch: 0, params: {}, optimizer: { name: 'adam', step: 0, slots: {} }, rng: { s: [1, 2, 3, 4], spare: null }, extra: { dims: { V: 11, H: 4 } } }));
    const out = join(dir, 'lm3.ts');
    const r = await rnnc('compile', src, '-o', out, '--ckpt', ckpt);
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : '');
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('V: 11');
  });

  it('unbound dims: exit 1 with a clear message, nothing written', async () => {
    const src = writeFile(dir, 'lm4.rnn', LM);
    const out = join(dir, 'lm4.ts');
    const r = await rnnc('compile', src, '-o', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('dimension V of model lm is fixed by the data');
    expect(r.stderr).toContain('--dims V=');
    expect(existsSync(out)).toBe(false);
  });

  it('a file with errors: the diagnostics of rnnc check, exit 1, nothing written', async () => {
    const src = writeFile(dir, 'bad.rnn', LM.replace('h = gru(embed(x, 3)) with H', 'h = gru(embed(x, 3)) with H\n  z = undefined_thing(h)'));
    const out = join(dir, 'bad.ts');
    const before = readdirSync(dir).length;
    const check = await rnnc('check', src);
    const r = await rnnc('compile', src, '-o', out, '--dims', 'V=9');
    expect(r.code).toBe(1);
    expect(check.code).toBe(1);
    const diag = check.stderr.split('\n').filter((l) => l.includes('RNN'));
    expect(diag.length).toBeGreaterThan(0);
    for (const line of diag) expect(r.stderr).toContain(line);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).length).toBe(before);
  });

  it('--unroll with truncated BPTT for training is refused with a reason', async () => {
    const src = writeFile(dir, 'tb.rnn', LM.replace('optimizer adam(lr = 0.01)', 'optimizer adam(lr = 0.01); bptt truncated(k1 = 2, k2 = 2)'));
    const out = join(dir, 'tb.ts');
    const r = await rnnc('compile', src, '-o', out, '--dims', 'V=9', '--unroll', '4');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--unroll needs `bptt full`');
    expect(existsSync(out)).toBe(false);
  });
});
