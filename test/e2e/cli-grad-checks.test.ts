// `rnnc grad` checks its inputs the same way on tfjs and on the float64
// reference (src/commands/grad.ts, checkParams; src/batch-json.ts): a batch
// whose feature size is not the model's, a parameter of the wrong shape, a
// parameter the model does not have are each exit 1 with the file, the name
// and both shapes, never an internal error or null losses; and `--bptt`
// overrides the train block as `rnnc run --bptt` does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, expectUserError, removeDir, rnnc, tempDir, writeAbcLm, writeAbcText, writeFile } from './cli-harness.js';

type Tensor = { shape: number[]; data: number[] };
type Entry = { loss: number; grads: Record<string, Tensor> };

let dir: string;
/** x: seq<[D]> with D fixed by the data (sine: D = 1), and its parameters after one step. */
let waveFile: string;
let waveParams: string;
/** x: seq<[2]>, a size the program declares. */
let adderFile: string;
let adderParams: string;

const WAVE = `dim H = 4, D
model wave { input x: seq<[D]>; target y: seq<[1]>; h = rnn(x) with H; loss = mse(dense(h, 1), y) }
train wave { data sine(T = 5, n = 32, valid = 4); optimizer sgd(lr = 0.1); batch 16; epochs 1; seed 1 }`;
const ADDER = `dim H = 4
model adder { input x: seq<[2]>; target y: [1]; h = rnn(x) with H; loss = mse(dense(last(h), 1), y) }
train adder { data adding(T = 4, n = 8, valid = 4); optimizer adam(lr = 1e-2); batch 4; epochs 1; seed 1 }`;

async function trainedParams(file: string, name: string): Promise<string> {
  expectOk(await rnnc('run', file, '--backend', 'cpu', '--steps', '1', '--out', join(dir, name), '--quiet'));
  const out = join(dir, `${name}-params.json`);
  expectOk(await rnnc('params', join(dir, name, 'checkpoint.json'), '-o', out));
  return out;
}

beforeAll(async () => {
  dir = tempDir();
  waveFile = writeFile(dir, 'wave.rnn', WAVE);
  adderFile = writeFile(dir, 'adder.rnn', ADDER);
  waveParams = await trainedParams(waveFile, 'wave');
  adderParams = await trainedParams(adderFile, 'adder');
});
afterAll(() => removeDir(dir));

const paths = [
  ['tfjs', ['--backend', 'cpu']],
  ['--reference', ['--reference']],
] as const;

describe('rnnc grad: a batch whose feature size is not the model\'s', () => {
  // [what, program, parameters, batch file, its x and y, the shape x has, the layout the model takes]; a
  // function because the programs and parameters are made in beforeAll.
  const cases = () =>
    [
      ['D from the parameters', waveFile, waveParams, 'wave-d2.json', { shape: [1, 3, 2], data: [1, 2, 3, 4, 5, 6] }, { shape: [1, 3, 1], data: [1, 2, 3] }, '[1, 3, 2]', '[B, T, 1]'],
      ['a size the program declares', adderFile, adderParams, 'adder-d3.json', { shape: [1, 2, 3], data: [1, 2, 3, 4, 5, 6] }, { shape: [1, 1], data: [1] }, '[1, 2, 3]', '[B, T, 2]'],
    ] as const;
  for (const [path, flags] of paths) {
    it(`${path}: exit 1, names the batch file, the input and both shapes (a size from the parameters, a size the program declares)`, async () => {
      for (const [what, file, params, name, x, y, got, want] of cases()) {
        const b = writeFile(dir, name, JSON.stringify({ x, y }));
        const r = await rnnc('grad', file, '--params', params, '--batch', b, ...flags);
        expectUserError(r);
        expect(r.stderr, what).toContain(b);
        expect(r.stderr, what).toContain(`"x" has shape ${got}`);
        expect(r.stderr, what).toContain(want);
        expect(r.stdout, what).toBe('');
      }
    });
  }
});

describe('rnnc grad: parameters checked by name and shape on both paths', () => {
  const batch = (): string => writeFile(dir, 'adder-ok.json', JSON.stringify({ x: { shape: [1, 3, 2], data: [0.5, 0, 0.25, 1, 0.75, 1] }, y: { shape: [1, 1], data: [1] } }));
  const edited = (name: string, edit: (p: Record<string, Tensor>) => void): string => {
    const p = JSON.parse(readFileSync(adderParams, 'utf8')) as Record<string, Tensor>;
    edit(p);
    return writeFile(dir, name, JSON.stringify(p));
  };

  it.each(paths)('%s: a parameter of another shape is exit 1 naming the file, the parameter and both shapes', async (_path, flags) => {
    const p = edited('wrong-shape.json', (q) => (q['h.U'] = { shape: [4, 1], data: [0.1, 0.2, 0.3, 0.4] }));
    const r = await rnnc('grad', adderFile, '--params', p, '--batch', batch(), ...flags);
    expectUserError(r);
    expect(r.stderr).toContain(`${p}: parameter h.U has shape [4, 1], the model needs [4, 2]`);
    expect(r.stdout).toBe('');
  });

  it.each(paths)('%s: a parameter the model does not have is exit 1 naming it', async (_path, flags) => {
    const p = edited('extra.json', (q) => (q['extra.W'] = { shape: [1], data: [1] }));
    const r = await rnnc('grad', adderFile, '--params', p, '--batch', batch(), ...flags);
    expectUserError(r);
    expect(r.stderr).toContain(`${p}: the model has no parameter extra.W`);
    expect(r.stdout).toBe('');
  });

  it.each(paths)('%s: a missing parameter is exit 1 naming it', async (_path, flags) => {
    const p = edited('missing.json', (q) => delete q['h.b']);
    const r = await rnnc('grad', adderFile, '--params', p, '--batch', batch(), ...flags);
    expectUserError(r);
    expect(r.stderr).toContain(`${p}: parameter h.b is missing`);
  });
});

describe('rnnc grad --bptt', () => {
  let full: string;
  let trunc: string;
  let params: string;
  let batch: string;
  beforeAll(async () => {
    writeAbcText(dir);
    full = writeAbcLm(dir, 'lm-full.rnn', { seed: 3 });
    trunc = writeAbcLm(dir, 'lm-trunc.rnn', { bptt: 'truncated(k1 = 4, k2 = 6)', seed: 3 });
    params = await trainedParams(full, 'lm');
    const ids = [0, 1, 2, 0, 1, 4, 3, 0, 1, 2, 2];
    batch = writeFile(dir, 'lm-batch.json', JSON.stringify({ chars: { shape: [1, 10], data: ids.slice(0, 10) }, next: { shape: [1, 10], data: ids.slice(1) } }));
  });

  it.each(paths)('%s: --bptt k1=4,k2=6 on a full-BPTT program gives the truncated program\'s windows; --bptt full the reverse', async (_path, flags) => {
    const get = async (file: string, ...extra: string[]): Promise<unknown> => {
      const r = await rnnc('grad', file, '--params', params, '--batch', batch, ...flags, ...extra);
      expectOk(r);
      return JSON.parse(r.stdout);
    };
    const windows = (await get(full, '--bptt', 'k1=4,k2=6')) as { windows: Entry[] };
    expect(windows.windows).toHaveLength(3);
    expect(windows).toEqual(await get(trunc));
    const whole = (await get(trunc, '--bptt', 'full')) as Entry;
    expect(Object.keys(whole).sort()).toEqual(['grads', 'loss']);
    expect(whole).toEqual(await get(full));
  });

  it('a malformed --bptt is a usage error (exit 2)', async () => {
    expectUserError(await rnnc('grad', full, '--params', params, '--batch', batch, '--reference', '--bptt', 'k1=0,k2=3'), 2);
  });

  it('--bptt k1=N alone means k2 = k1, as in the train block', async () => {
    const get = async (spec: string): Promise<unknown> => {
      const r = await rnnc('grad', full, '--params', params, '--batch', batch, '--reference', '--bptt', spec);
      expectOk(r);
      return JSON.parse(r.stdout);
    };
    expect(await get('k1=4')).toEqual(await get('k1=4,k2=4'));
  });
});
