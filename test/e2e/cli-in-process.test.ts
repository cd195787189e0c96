// main() is exported (src/cli.ts) and may run several commands in one
// process: a command must release its tfjs variables and tensors on every
// path, including sample/score that fail after loading the model, a run that
// stops on a non-finite loss, and a run whose --init-params is rejected.
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, fixture, removeDir, rnnc, rnncKeepingState, tempDir, writeFile } from './cli-harness.js';

const DIVERGING = `dim H = 4
model wave { input x: seq<[1]>; target y: seq<[1]>; h = rnn(x) with H; loss = mse(dense(h, 1), y) }
train wave { data sine(T = 5, n = 32, valid = 4); optimizer sgd(lr = 1e30); batch 16; epochs 10; seed 1 }`;

let dir: string;
let lmFile: string;
let ckpt: string;

beforeAll(async () => {
  dir = tempDir();
  writeFile(dir, 'cat.txt', readFileSync(fixture('cat.txt'), 'utf8'));
  lmFile = writeFile(
    dir,
    'lm.rnn',
    `dim V, E = 4, H = 5
model lm { input chars: seq<token[V]>; target next: seq<token[V]>; h = lstm(embed(chars, E)) with H; y = dense(h, V); loss = cross_entropy(y, next) }
train lm { data text("cat.txt", seq_len = 10); optimizer adam(lr = 1e-2); batch 4; epochs 1; seed 1 }`,
  );
  expectOk(await rnnc('run', lmFile, '--backend', 'cpu', '--steps', '2', '--out', join(dir, 'lm'), '--quiet'));
  ckpt = join(dir, 'lm', 'checkpoint.json');
});
afterEach(() => tf.disposeVariables());
afterAll(() => removeDir(dir));

describe('commands that succeed release everything', () => {
  it('run, sample, score, params, grad, check, ir: no variables or tensors left', async () => {
    const params = join(dir, 'p.json');
    const batch = writeFile(dir, 'b.json', JSON.stringify({ chars: { shape: [1, 3], data: [0, 1, 2] }, next: { shape: [1, 3], data: [1, 2, 3] } }));
    const results = [
      await rnncKeepingState('run', lmFile, '--backend', 'cpu', '--steps', '1', '--out', join(dir, 'again'), '--quiet'),
      await rnncKeepingState('sample', lmFile, '--ckpt', ckpt, '--backend', 'cpu', '--length', '3'),
      await rnncKeepingState('score', lmFile, '--ckpt', ckpt, '--backend', 'cpu', 'the cat'),
      await rnncKeepingState('params', ckpt, '-o', params),
      await rnncKeepingState('grad', lmFile, '--params', params, '--batch', batch, '--backend', 'cpu'),
      await rnncKeepingState('grad', lmFile, '--params', params, '--batch', batch, '--reference'),
      await rnncKeepingState('check', lmFile),
      await rnncKeepingState('ir', lmFile, '--grad'),
    ];
    results.forEach(expectOk);
  });
});

describe('commands that fail after building a session release it', () => {
  const failing: [string, () => string[]][] = [
    ['score with a character outside the vocabulary', () => ['score', lmFile, '--ckpt', ckpt, '--backend', 'cpu', 'dog']],
    ['sample with a prime outside the vocabulary', () => ['sample', lmFile, '--ckpt', ckpt, '--backend', 'cpu', '--prime', 'dog']],
    ['run whose loss becomes infinite', () => ['run', writeFile(dir, 'diverge.rnn', DIVERGING), '--backend', 'cpu', '--out', join(dir, 'diverge'), '--quiet']],
    ['run with --init-params missing a parameter', () => ['run', lmFile, '--backend', 'cpu', '--init-params', writeFile(dir, 'empty.json', '{}'), '--out', join(dir, 'x'), '--quiet']],
  ];
  it.each(failing)('%s: exit 1 and nothing left alive', async (_what, argv) => {
    const r = await rnncKeepingState(...argv());
    expect(r.code).toBe(1);
    expect(r.leaked).toEqual({ variables: 0, tensors: 0 });
  });

  it('after a failed score, a run in the same process still works', async () => {
    const bad = await rnncKeepingState('score', lmFile, '--ckpt', ckpt, '--backend', 'cpu', 'dog');
    expect(bad.code).toBe(1);
    const r = await rnncKeepingState('run', lmFile, '--backend', 'cpu', '--steps', '1', '--out', join(dir, 'after'), '--quiet');
    expect(r.stderr).not.toContain('already registered');
    expect(r.code).toBe(0);
  });

  it('the harness (rnnc) disposes what a failed command left, so later tests are independent', async () => {
    const bad = await rnnc('score', lmFile, '--ckpt', ckpt, '--backend', 'cpu', 'dog');
    expect(bad.code).toBe(1);
    expectOk(await rnnc('run', lmFile, '--backend', 'cpu', '--steps', '1', '--out', join(dir, 'after2'), '--quiet'));
  });
});
