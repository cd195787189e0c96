// `rnnc grad`: loss and gradients as JSON for given parameters and batch,
// on tfjs and on the float64 reference (the oracle), which must agree; one
// entry per truncated-BPTT window that has loss positions; malformed batch
// files are user errors that name the file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abcDir, abcLm, expectOk, expectUserError, removeDir, rnnc, writeFile } from './cli-harness.js';

interface TensorOut {
  shape: number[];
  data: number[];
}
interface GradEntry {
  loss: number;
  grads: Record<string, TensorOut>;
}

let dir: string;
let paramsPath: string;
let params: Record<string, TensorOut>;
let V: number;
let fullFile: string;
let truncFile: string;

const program = (bptt: string): string => abcLm({ H: 5, bptt, epochs: 1, seed: 3 });

/** A batch of B sequences of T tokens in [0, V), next = the input shifted by one. */
function batchJson(B: number, T: number, lengths?: number[]): string {
  const ids = Array.from({ length: B * (T + 1) }, (_, i) => (i * 7 + Math.floor(i / 3)) % V);
  const chars: number[] = [];
  const next: number[] = [];
  for (let b = 0; b < B; b++) {
    const row = ids.slice(b * (T + 1), (b + 1) * (T + 1));
    chars.push(...row.slice(0, T));
    next.push(...row.slice(1));
  }
  return JSON.stringify({ chars: { shape: [B, T], data: chars }, next: { shape: [B, T], data: next }, ...(lengths ? { lengths } : {}) });
}

beforeAll(async () => {
  dir = abcDir();
  fullFile = writeFile(dir, 'full.rnn', program('full'));
  truncFile = writeFile(dir, 'trunc.rnn', program('truncated(k1 = 4, k2 = 6)'));
  // Parameters after one training step (not the initial ones), exported with `rnnc params`.
  const run = await rnnc('run', fullFile, '--backend', 'cpu', '--steps', '1', '--out', join(dir, 'out'), '--quiet');
  expectOk(run);
  V = Number(/vocab (\d+)/.exec(run.stderr)![1]);
  expect(V).toBe(5);
  paramsPath = join(dir, 'params.json');
  const p = await rnnc('params', join(dir, 'out', 'checkpoint.json'), '-o', paramsPath);
  expectOk(p);
  params = JSON.parse(readFileSync(paramsPath, 'utf8')) as Record<string, TensorOut>;
});
afterAll(() => removeDir(dir));

async function grad(file: string, batchPath: string, reference: boolean): Promise<unknown> {
  const r = await rnnc('grad', file, '--params', paramsPath, '--batch', batchPath, ...(reference ? ['--reference'] : ['--backend', 'cpu']));
  expectOk(r);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  return JSON.parse(r.stdout);
}

/** tfjs (float32) against the reference (float64): loss to 1e-5, each gradient to 1e-4 of its largest entry. */
function expectAgree(tfjs: GradEntry, ref: GradEntry): void {
  expect(Object.keys(tfjs).sort()).toEqual(['grads', 'loss']);
  expect(Object.keys(ref).sort()).toEqual(['grads', 'loss']);
  expect(Object.keys(tfjs.grads).sort()).toEqual(Object.keys(params).sort());
  expect(Object.keys(ref.grads).sort()).toEqual(Object.keys(params).sort());
  expect(Number.isFinite(ref.loss)).toBe(true);
  expect(Math.abs(tfjs.loss - ref.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(ref.loss));
  let nonZero = 0;
  for (const [name, r] of Object.entries(ref.grads)) {
    const t = tfjs.grads[name]!;
    expect(t.shape, name).toEqual(params[name]!.shape);
    expect(r.shape, name).toEqual(params[name]!.shape);
    expect(t.data).toHaveLength(r.data.length);
    const scale = Math.max(...r.data.map(Math.abs));
    if (scale > 1e-6) nonZero++;
    const err = Math.max(...r.data.map((x, i) => Math.abs(x - t.data[i]!)));
    expect(err, `${name}: max |tfjs - reference| = ${err}, largest |gradient| ${scale}`).toBeLessThanOrEqual(1e-4 * Math.max(scale, 1e-6));
  }
  // Gradients that are all zero would agree trivially.
  expect(nonZero).toBeGreaterThanOrEqual(Object.keys(params).length - 2);
}

describe('rnnc grad, full BPTT', () => {
  it.each([
    ['all sequences full length', undefined],
    ['with lengths', [10, 6, 3]],
  ] as const)('tfjs and --reference agree (%s)', async (_what, lengths) => {
    const b = writeFile(dir, `batch-full-${lengths ? 'len' : 'all'}.json`, batchJson(3, 10, lengths ? [...lengths] : undefined));
    const tfjs = (await grad(fullFile, b, false)) as GradEntry;
    const ref = (await grad(fullFile, b, true)) as GradEntry;
    expectAgree(tfjs, ref);
    // A uniform guess scores log V; parameters after one step are still close to it.
    expect(ref.loss).toBeGreaterThan(0.5 * Math.log(V));
    expect(ref.loss).toBeLessThan(2 * Math.log(V));
  });

  it('padding past a sequence\'s length does not change the loss or gradients', async () => {
    const short = writeFile(dir, 'batch-short.json', batchJson(1, 6));
    const padded = JSON.parse(batchJson(1, 6)) as { chars: TensorOut; next: TensorOut };
    const pad = (t: TensorOut): TensorOut => ({ shape: [1, 9], data: [...t.data, 1, 2, 3] });
    const long = writeFile(dir, 'batch-padded.json', JSON.stringify({ chars: pad(padded.chars), next: pad(padded.next), lengths: [6] }));
    const a = (await grad(fullFile, short, true)) as GradEntry;
    const b = (await grad(fullFile, long, true)) as GradEntry;
    expect(b.loss).toBeCloseTo(a.loss, 12);
    for (const k of Object.keys(a.grads)) {
      b.grads[k]!.data.forEach((x, i) => expect(x).toBeCloseTo(a.grads[k]!.data[i]!, 12));
    }
  });
});

describe('rnnc grad, truncated BPTT (k1 = 4, k2 = 6)', () => {
  // A batch read from JSON has float32 [T, B] mask/last: they must be cut to
  // each window like the sequences (a regression test).
  it.each([
    ['T = 10, all full length: ceil(10 / 4) = 3 windows', 10, undefined, 3],
    ['T = 10, lengths 7 and 5: the last window has no loss position, 2 windows', 10, [7, 5], 2],
    ['T = 8: 2 windows', 8, undefined, 2],
  ] as const)('{"windows": [...]}, tfjs and --reference agree per window (%s)', async (_what, T, lengths, windows) => {
    const b = writeFile(dir, `batch-trunc-${T}-${lengths ? 'len' : 'all'}.json`, batchJson(2, T, lengths ? [...lengths] : undefined));
    const tfjs = (await grad(truncFile, b, false)) as { windows: GradEntry[] };
    const ref = (await grad(truncFile, b, true)) as { windows: GradEntry[] };
    expect(Object.keys(tfjs)).toEqual(['windows']);
    expect(Object.keys(ref)).toEqual(['windows']);
    expect(ref.windows).toHaveLength(windows);
    expect(tfjs.windows).toHaveLength(windows);
    ref.windows.forEach((w, i) => expectAgree(tfjs.windows[i]!, w));
  });
});

describe('rnnc grad, malformed input', () => {
  const cases: [string, () => string, RegExp][] = [
    ['a token id outside the vocabulary', () => JSON.stringify({ chars: { shape: [1, 3], data: [0, 99, 1] }, next: { shape: [1, 3], data: [1, 2, 0] } }), /"chars"\[1\] = 99 is not a token id in \[0, 5\)/],
    ['a fractional token id', () => JSON.stringify({ chars: { shape: [1, 3], data: [0, 1.5, 1] }, next: { shape: [1, 3], data: [1, 2, 0] } }), /"chars"\[1\] = 1\.5 is not a token id/],
    ['a missing target', () => JSON.stringify({ chars: { shape: [1, 3], data: [0, 1, 1] } }), /"next" is missing/],
    ['an unknown field', () => JSON.stringify({ chars: { shape: [1, 3], data: [0, 1, 1] }, next: { shape: [1, 3], data: [1, 2, 0] }, labels: { shape: [1], data: [0] } }), /no input or target "labels"/],
    ['data that does not fill the shape', () => JSON.stringify({ chars: { shape: [1, 3], data: [0, 1] }, next: { shape: [1, 3], data: [1, 2, 0] } }), /shape \[1, 3\] needs 3/],
    ['bad lengths', () => JSON.stringify({ chars: { shape: [1, 3], data: [0, 1, 1] }, next: { shape: [1, 3], data: [1, 2, 0] }, lengths: [4] }), /"lengths" must be/],
    ['text that is not JSON', () => '{"chars": {"shape": [1, 3], "data": [0, 1, 1]},', /not valid JSON|JSON/],
    ['a JSON array instead of an object', () => '[1, 2, 3]', /a batch is a JSON object/],
  ];
  it.each(cases)('%s: exit 1, a message naming the batch file', async (_what, text, message) => {
    const b = writeFile(dir, 'bad-batch.json', text());
    for (const reference of [false, true]) {
      const r = await rnnc('grad', fullFile, '--params', paramsPath, '--batch', b, ...(reference ? ['--reference'] : ['--backend', 'cpu']));
      expectUserError(r);
      expect(r.stderr).toContain(b);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });

  it('a batch file that does not exist: exit 1, file not found', async () => {
    const missing = join(dir, 'missing.json');
    const r = await rnnc('grad', fullFile, '--params', paramsPath, '--batch', missing, '--reference');
    expectUserError(r);
    expect(r.stderr).toContain(`file not found: ${missing}`);
  });

  it('a parameters file without one of the parameters: exit 1, names the file and the parameter', async () => {
    const [dropped, ...rest] = Object.keys(params);
    const p = writeFile(dir, 'params-missing.json', JSON.stringify(Object.fromEntries(rest.map((k) => [k, params[k]]))));
    const b = writeFile(dir, 'ok-batch.json', batchJson(1, 4));
    const r = await rnnc('grad', fullFile, '--params', p, '--batch', b, '--reference');
    expectUserError(r);
    expect(r.stderr).toContain(p);
    expect(r.stderr).toContain(dropped!);
  });

  it('without --batch: a usage error, exit 2', async () => {
    expectUserError(await rnnc('grad', fullFile, '--params', paramsPath), 2);
  });
});
