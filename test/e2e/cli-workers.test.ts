// `rnnc run --workers N`: data-parallel training in worker threads gives the
// single-threaded result up to float32 rounding (the batch sums are split
// differently), under full and truncated BPTT, with uneven slices and with
// slices that count nothing in a window; resumes exactly; refuses more
// workers than examples; and stops cleanly when the loss diverges. Worker
// threads run compiled JavaScript, so these tests use a built executable.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CheckpointJson, fixture, jsonNumbers, readCheckpoint, readMetrics, runProcess, useExecutable, writeFile } from './cli-harness.js';

const exe = useExecutable();

/** Trains `file` into a fresh folder; returns the checkpoint, the train-loss log and stderr. */
function train(file: string, out: string, ...args: string[]): { ckpt: CheckpointJson; losses: number[]; stderr: string; stdout: string } {
  const r = runProcess(exe.bin, ['run', file, '--backend', 'cpu', '--out', join(exe.dir, out), '--quiet', ...args], 120_000);
  expect(r.code, r.stderr).toBe(0);
  const losses = readMetrics(join(exe.dir, out)).filter((m) => m.kind === 'train').map((m) => m.loss);
  return { ckpt: readCheckpoint(join(exe.dir, out, 'checkpoint.json')), losses, stderr: r.stderr, stdout: r.stdout };
}

/** Largest |a - b| over every parameter. */
function maxParamDiff(a: CheckpointJson, b: CheckpointJson): number {
  expect(Object.keys(a.params).sort()).toEqual(Object.keys(b.params).sort());
  let m = 0;
  for (const [name, p] of Object.entries(a.params)) {
    const q = b.params[name]!;
    expect(q.shape).toEqual(p.shape);
    p.data.forEach((x, i) => (m = Math.max(m, Math.abs(x - q.data[i]!))));
  }
  return m;
}

// Variable-length lines: bucketing puts short and long sequences in the same
// batch, so with truncated BPTT some slices end before a window and count nothing in it.
const LINES = ['ab', 'abcabcabcab', 'ba', 'cabcab', 'abcabcabcabca', 'bca', 'cabcabcabc'];

describe('rnnc run --workers', () => {
  it('full BPTT: 2 workers train as 1 does, within float32 rounding', () => {
    const one = train(fixture('clean.rnn'), 'sine-1', '--steps', '6', '--epochs', '3');
    const two = train(fixture('clean.rnn'), 'sine-2', '--steps', '6', '--epochs', '3', '--workers', '2');
    expect(two.stderr).toContain('data-parallel: 2 worker threads (8 examples of each batch apiece)');
    expect(two.ckpt.step).toBe(6);
    expect(one.ckpt.step).toBe(6);
    expect(maxParamDiff(one.ckpt, two.ckpt)).toBeLessThan(1e-5);
    expect(two.losses).toHaveLength(6);
    two.losses.forEach((l, i) => expect(l).toBeCloseTo(one.losses[i]!, 5));
    // A real training: the parameters moved.
    expect(maxParamDiff(one.ckpt, train(fixture('clean.rnn'), 'sine-0', '--steps', '1').ckpt)).toBeGreaterThan(1e-3);
  });

  it('truncated BPTT, uneven slices, slices with nothing to count in a window: 3 workers train as 1 does', () => {
    writeFile(exe.dir, 'lines.jsonl', LINES.map((s) => JSON.stringify({ x: s, y: s.slice(1) + '.' })).join('\n') + '\n');
    const file = writeFile(
      exe.dir,
      'lm.rnn',
      `dim V, E = 3, H = 5
model lm { input x: seq<token[V]>; target y: seq<token[V]>; h = gru(embed(x, E)) with H; loss = cross_entropy(dense(h, V), y) }
train lm { data jsonl("lines.jsonl"); optimizer adam(lr = 1e-2); bptt truncated(k1 = 3, k2 = 3); clip norm 1.0; batch 4; epochs 3; seed 2 }`,
    );
    const one = train(file, 'lm-1');
    const three = train(file, 'lm-3', '--workers', '3');
    // 7 lines in batches of 4 and 3: slices of 2+1+1 and 1+1+1 examples.
    expect(three.stderr).toContain('data-parallel: 3 worker threads (1-2 examples of each batch apiece)');
    expect(three.ckpt.step).toBe(one.ckpt.step);
    expect(one.ckpt.step).toBeGreaterThan(6);
    expect(maxParamDiff(one.ckpt, three.ckpt)).toBeLessThan(1e-5);
    three.losses.forEach((l, i) => expect(l).toBeCloseTo(one.losses[i]!, 5));
    // The same evaluation line (loss to 4 places) after training.
    expect(three.stdout).toBe(one.stdout);
  });

  it('--resume with workers continues exactly', () => {
    const file = fixture('clean.rnn');
    const first = train(file, 'part', '--steps', '3', '--epochs', '3', '--workers', '2');
    expect(first.ckpt.step).toBe(3);
    const resumed = train(file, 'resumed', '--steps', '7', '--epochs', '3', '--workers', '2', '--resume', join(exe.dir, 'part', 'checkpoint.json'));
    const whole = train(file, 'whole', '--steps', '7', '--epochs', '3', '--workers', '2');
    expect(resumed.ckpt.step).toBe(7);
    expect(resumed.ckpt.params).toEqual(whole.ckpt.params);
    expect(resumed.ckpt['optimizer']).toEqual(whole.ckpt['optimizer']);
  });

  it('more workers than examples in a batch: exit 2 and why', () => {
    const r = runProcess(exe.bin, ['run', fixture('clean.rnn'), '--backend', 'cpu', '--out', join(exe.dir, 'too-many'), '--quiet', '--batch', '4', '--workers', '5']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('--workers 5 is more than the batch size 4');
    expect(r.stderr).not.toContain('    at ');
  });

  it('a diverging run stops with exit 1 and a finite checkpoint, workers included', () => {
    const file = writeFile(
      exe.dir,
      'diverge.rnn',
      `dim H = 8
model wave { input x: seq<[1]>; target y: seq<[1]>; h = rnn(x) with H; loss = mse(dense(h, 1), y) }
train wave { data sine(T = 10, n = 64, valid = 16); optimizer sgd(lr = 1e30); batch 16; epochs 10; seed 1 }`,
    );
    const out = join(exe.dir, 'diverge');
    const r = runProcess(exe.bin, ['run', file, '--backend', 'cpu', '--out', out, '--quiet', '--workers', '2']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/loss became (NaN|-?Infinity)/);
    expect(r.stderr).not.toContain('    at ');
    const ckptPath = join(out, 'checkpoint.json');
    expect(existsSync(ckptPath)).toBe(true);
    const ckpt = readCheckpoint(ckptPath);
    expect(jsonNumbers([ckpt.params, ckpt['optimizer']]).filter((x) => typeof x !== 'number' || !Number.isFinite(x))).toEqual([]);
    expect(ckpt.step).toBe(readMetrics(out).filter((m) => m.kind === 'train').length);
  });

  it('the benchmark measures the data-parallel column (npm run bench -- --impls rnnc-workers)', () => {
    const out = join(exe.dir, 'bench.json');
    const script = join(exe.bin, '..', '..', 'bench', 'run.js');
    const args = ['--backend', 'cpu', '--sizes', 'TINY', '--cells', 'gru', '--impls', 'rnnc,rnnc-workers', '--iters', '2', '--warmup', '0', '--infer-iters', '0', '--no-memory', '--no-ceiling', '--no-torch', '--out', out];
    const r = runProcess(script, args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('rnnc 2 workers');
    const rows = (JSON.parse(readFileSync(out, 'utf8')) as { rows: { results: { impl: string; available: boolean; trainMs?: number; firstLoss?: number }[] }[] }).rows;
    const byImpl = new Map(rows[0]!.results.map((x) => [x.impl, x]));
    expect(byImpl.get('rnnc-workers')?.available).toBe(true);
    expect(byImpl.get('rnnc-workers')!.trainMs).toBeGreaterThan(0);
    // The same model from the same initial parameters: the same first loss, up to float32 rounding.
    expect(byImpl.get('rnnc-workers')!.firstLoss).toBeCloseTo(byImpl.get('rnnc')!.firstLoss!, 5);
  });

  it('the scaling measurement times the whole batch, half of it alone and two halves at once (npm run bench -- --scaling)', () => {
    const out = join(exe.dir, 'scaling.json');
    const script = join(exe.bin, '..', '..', 'bench', 'run.js');
    const r = runProcess(script, ['--scaling', '--backend', 'cpu', '--sizes', 'TINY', '--cells', 'rnn,lstm', '--iters', '2', '--warmup', '0', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('2 parts at once ms');
    const results = (JSON.parse(readFileSync(out, 'utf8')) as { results: { cell: string; threads: number; wholeMs: number; partAloneMs: number; partsAtOnceMs: number; bound: number }[] }).results;
    expect(results.map((x) => [x.cell, x.threads])).toEqual([['rnn', 2], ['lstm', 2]]);
    for (const x of results) {
      expect(Math.min(x.wholeMs, x.partAloneMs, x.partsAtOnceMs)).toBeGreaterThan(0);
      expect(x.bound).toBeCloseTo(x.wholeMs / x.partsAtOnceMs, 10);
    }
  });
});
