// `rnnc params FILE.rnn --init --seed N`: fresh parameters without a
// checkpoint, the values `rnnc run` with that seed starts from (a run from
// them with --init-params ends where a run from its own initialisation
// does), on dimensions read from the train block's data or given by --dims.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abcDir, expectOk, expectUserError, readCheckpoint, removeDir, rnnc, writeAbcLm, writeFile } from './cli-harness.js';

type Tensor = { shape: number[]; data: number[] };

let dir: string;
let lm: string;

beforeAll(() => {
  dir = abcDir();
  lm = writeAbcLm(dir, 'lm.rnn', { seed: 3 });
});
afterAll(() => removeDir(dir));

const read = (path: string): Record<string, Tensor> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, Tensor>;

describe('rnnc params --init', () => {
  it('writes the parameters rnnc run starts from with the same seed', async () => {
    const init = join(dir, 'init-7.json');
    const r = await rnnc('params', lm, '--init', '--seed', '7', '-o', init);
    expectOk(r);
    const p = read(init);
    expect(p['y.W']!.shape).toEqual([5, 5]);
    // Two runs of one step, one from its own initialisation, one from the exported parameters: the same checkpoint.
    expectOk(await rnnc('run', lm, '--backend', 'cpu', '--seed', '7', '--steps', '1', '--out', join(dir, 'own'), '--quiet'));
    expectOk(await rnnc('run', lm, '--backend', 'cpu', '--seed', '7', '--steps', '1', '--init-params', init, '--out', join(dir, 'given'), '--quiet'));
    const own = readCheckpoint(join(dir, 'own', 'checkpoint.json')).params;
    expect(Object.keys(p).sort()).toEqual(Object.keys(own).sort());
    expect(readCheckpoint(join(dir, 'given', 'checkpoint.json')).params).toEqual(own);
    // ...and a run from another seed's parameters does not end there.
    const other = join(dir, 'init-8.json');
    expectOk(await rnnc('params', lm, '--init', '--seed', '8', '-o', other));
    expect(read(other)).not.toEqual(p);
    expectOk(await rnnc('run', lm, '--backend', 'cpu', '--seed', '7', '--steps', '1', '--init-params', other, '--out', join(dir, 'other'), '--quiet'));
    expect(readCheckpoint(join(dir, 'other', 'checkpoint.json')).params).not.toEqual(readCheckpoint(join(dir, 'own', 'checkpoint.json')).params);
  });

  it('without --seed uses the train block\'s; --dims gives what the data would (stdout without -o)', async () => {
    const fromData = await rnnc('params', lm, '--init');
    expectOk(fromData);
    const seeded = await rnnc('params', lm, '--init', '--seed', '3', '--dims', 'V=5');
    expectOk(seeded);
    expect(JSON.parse(fromData.stdout)).toEqual(JSON.parse(seeded.stdout));
    const wider = await rnnc('params', lm, '--init', '--seed', '3', '--dims', 'V=9');
    expectOk(wider);
    expect((JSON.parse(wider.stdout) as Record<string, Tensor>)['y.W']!.shape).toEqual([9, 5]);
  });

  it('a model without a train block needs --dims for what data would size: exit 1 naming the dimension and the flag', async () => {
    const f = writeFile(dir, 'bare.rnn', 'dim V, H = 3\nmodel bare { input x: seq<token[V]>; target y: seq<token[V]>; h = gru(embed(x, 2)) with H; loss = cross_entropy(dense(h, V), y) }\n');
    const r = await rnnc('params', f, '--init');
    expectUserError(r);
    expect(r.stderr).toContain('--dims V=');
    const ok = await rnnc('params', f, '--init', '--dims', 'V=4', '--model', 'bare');
    expectOk(ok);
    expect(Object.values(JSON.parse(ok.stdout) as Record<string, Tensor>).some((t) => t.shape.includes(4))).toBe(true);
  });

  it('--seed without --init is a usage error (exit 2); -o onto the .rnn file is refused', async () => {
    const ckpt = join(dir, 'own', 'checkpoint.json');
    expectUserError(await rnnc('params', ckpt, '--seed', '3'), 2);
    const r = await rnnc('params', lm, '--init', '-o', lm, '--force');
    expectUserError(r);
    expect(readFileSync(lm, 'utf8')).toContain('model lm');
  });
});
