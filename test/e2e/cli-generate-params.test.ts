// After a tiny character model learns "the cat sat on the mat": its loss
// falls well below log V; `sample` continues a prime reproducibly; `score`
// prefers the sentence to its scramble; `params` exports the checkpoint in
// the params format and `run --init-params` starts from it. Non-LM
// checkpoints and characters outside the vocabulary are clear user errors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseParamsJson } from '../../runtime/params-json.js';
import { charLm, expectOk, expectUserError, fixture, mean, readCheckpoint, readMetrics, removeDir, rnnc, tempDir, writeFile } from './cli-harness.js';

const SENTENCE = 'the cat sat on the mat';

let dir: string;
let lmFile: string;
let ckpt: string;
let V: number;
let runStdout: string;

const lmProgram = (optimizer: string): string =>
  charLm({ name: 'catlm', E: 8, H: 24, data: 'text("cat.txt", seq_len = 12)', optimizer, batch: 8, epochs: 20, seed: 1 });

beforeAll(async () => {
  dir = tempDir();
  writeFile(dir, 'cat.txt', readFileSync(fixture('cat.txt'), 'utf8'));
  lmFile = writeFile(dir, 'catlm.rnn', lmProgram('adam(lr = 3e-2)'));
  const r = await rnnc('run', lmFile, '--backend', 'cpu', '--steps', '60', '--out', join(dir, 'lm'), '--quiet');
  expectOk(r);
  runStdout = r.stdout;
  V = Number(/vocab (\d+)/.exec(r.stderr)![1]);
  ckpt = join(dir, 'lm', 'checkpoint.json');
});
afterAll(() => removeDir(dir));

describe('a character model on a repeated sentence', () => {
  it('has 11 characters and after 60 steps a loss well below log V (train and validation)', () => {
    expect(V).toBe(new Set(`${SENTENCE}\n`).size);
    const train = readMetrics(join(dir, 'lm')).filter((m) => m.kind === 'train');
    expect(train).toHaveLength(60);
    const first = mean(train.slice(0, 3).map((m) => m.loss));
    const last = mean(train.slice(-10).map((m) => m.loss));
    // At the start the model guesses about uniformly: loss near log V.
    expect(first).toBeGreaterThan(0.8 * Math.log(V));
    expect(last).toBeLessThan(0.25 * Math.log(V));
    const valid = Number(/^validation: loss (\d+\.\d+)/m.exec(runStdout)![1]);
    expect(valid).toBeLessThan(0.25 * Math.log(V));
  });
});

describe('rnnc sample', () => {
  const sample = (...extra: string[]) => rnnc('sample', lmFile, '--ckpt', ckpt, '--backend', 'cpu', '--length', '20', ...extra);

  it('prints the prime then exactly 20 characters, the same for the same seed', async () => {
    const a = await sample('--seed', '3', '--prime', 'the c');
    const b = await sample('--seed', '3', '--prime', 'the c');
    expectOk(a);
    expect(a.stdout.endsWith('\n')).toBe(true);
    const text = a.stdout.slice(0, -1);
    expect(text.startsWith('the c')).toBe(true);
    expect([...text.slice('the c'.length)]).toHaveLength(20);
    expect(b.stdout).toBe(a.stdout);
    // Every character comes from the sentence's vocabulary, and the model has learnt what follows "the c".
    expect([...text].every((c) => `${SENTENCE}\n`.includes(c))).toBe(true);
    expect(text.startsWith('the cat')).toBe(true);
  });

  it('without a prime starts from a line break and prints 20 characters', async () => {
    const r = await sample('--seed', '3');
    expectOk(r);
    expect([...r.stdout.slice(0, -1)]).toHaveLength(20);
  });

  it('the seed matters: at a high temperature different seeds give different texts', async () => {
    const texts = new Set<string>();
    for (const seed of ['1', '2', '3', '4']) {
      const r = await sample('--seed', seed, '--temperature', '5');
      expectOk(r);
      texts.add(r.stdout);
    }
    expect(texts.size).toBeGreaterThan(1);
  });

  it('a prime with a character outside the vocabulary: exit 1, names it', async () => {
    const r = await sample('--prime', 'the dog');
    expectUserError(r);
    expect(r.stderr).toContain('"d"');
    expect(r.stderr).toContain('not in the vocabulary');
  });

  it('--temperature 0 and --length 0 are usage errors: exit 2', async () => {
    expectUserError(await sample('--temperature', '0'), 2);
    expectUserError(await rnnc('sample', lmFile, '--ckpt', ckpt, '--length', '0'), 2);
  });
});

describe('rnnc score', () => {
  it('prints one `log P = ` line per text; the sentence scores higher than its scramble', async () => {
    const scrambled = 'mat eht no tas tac eht';
    const r = await rnnc('score', lmFile, '--ckpt', ckpt, '--backend', 'cpu', SENTENCE, scrambled);
    expectOk(r);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    const logP = lines.map((l) => {
      const m = /: log P = (-?\d+\.\d+) nats \((-?\d+\.\d+) bits\), perplexity (\d+\.\d+) per token over (\d+) chars/.exec(l);
      expect(m, l).not.toBeNull();
      expect(Number(m![2])).toBeCloseTo(Number(m![1]) / Math.LN2, 3);
      expect(Number(m![4])).toBe(22);
      return Number(m![1]);
    });
    expect(lines[0]!.startsWith(JSON.stringify(SENTENCE))).toBe(true);
    expect(lines[1]!.startsWith(JSON.stringify(scrambled))).toBe(true);
    expect(logP[0]!).toBeLessThan(0);
    expect(logP[0]!).toBeGreaterThan(logP[1]! + 10);
  });

  it('a text with a character outside the vocabulary: exit 1, names the text and the character', async () => {
    const r = await rnnc('score', lmFile, '--ckpt', ckpt, '--backend', 'cpu', 'the dog');
    expectUserError(r);
    expect(r.stderr).toContain('"the dog"');
    expect(r.stderr).toContain('"d" is not in the vocabulary');
    expect(r.stdout).toBe('');
  });

  it('a checkpoint that does not exist: exit 1', async () => {
    const missing = join(dir, 'nope.json');
    const r = await rnnc('score', lmFile, '--ckpt', missing, SENTENCE);
    expectUserError(r);
    expect(r.stderr).toContain(missing);
  });
});

describe('sample and score on a model that is not a language model', () => {
  it('an adding-problem checkpoint: exit 1 with a message that it is not text / not a language model', async () => {
    const f = writeFile(
      dir,
      'adder.rnn',
      `dim H = 4
model adder { input x: seq<[2]>; target y: [1]; h = rnn(x) with H; loss = mse(dense(last(h), 1), y) }
train adder { data adding(T = 4, n = 8, valid = 4); optimizer adam(lr = 1e-2); batch 4; epochs 1; seed 1 }`,
    );
    const run = await rnnc('run', f, '--backend', 'cpu', '--out', join(dir, 'adder'), '--quiet');
    expectOk(run);
    const adderCkpt = join(dir, 'adder', 'checkpoint.json');
    for (const r of [
      await rnnc('sample', f, '--ckpt', adderCkpt, '--backend', 'cpu', '--prime', 'ab', '--length', '5'),
      await rnnc('score', f, '--ckpt', adderCkpt, '--backend', 'cpu', 'abc'),
    ]) {
      expectUserError(r);
      expect(r.stderr).toMatch(/not text|not a language model|no vocabulary/);
      expect(r.stdout).toBe('');
    }
  });

  it('a checkpoint of another model: exit 1, names both models', async () => {
    const f = writeFile(dir, 'renamed.rnn', lmProgram('adam(lr = 3e-2)').replace(/catlm/g, 'doglm'));
    const r = await rnnc('sample', f, '--ckpt', ckpt, '--backend', 'cpu', '--length', '5');
    expectUserError(r);
    expect(r.stderr).toContain('catlm');
    expect(r.stderr).toContain('doglm');
  });
});

describe('rnnc params', () => {
  it('prints the checkpoint parameters in the params format, exactly; -o writes the same text', async () => {
    const r = await rnnc('params', ckpt);
    expectOk(r);
    const saved = readCheckpoint(ckpt).params;
    const printed = JSON.parse(r.stdout) as Record<string, { shape: number[]; data: number[] }>;
    expect(printed).toEqual(saved);
    const parsed = parseParamsJson(r.stdout, 'stdout');
    expect([...parsed.keys()]).toEqual(Object.keys(saved));
    for (const [k, v] of parsed) {
      expect(v.shape).toEqual(saved[k]!.shape);
      expect(Array.from(v.data)).toEqual(saved[k]!.data);
    }
    const out = join(dir, 'exported.json');
    const o = await rnnc('params', ckpt, '-o', out);
    expectOk(o);
    expect(o.stdout).toBe('');
    expect(readFileSync(out, 'utf8').trim()).toBe(r.stdout.trim());
  });

  it('run --init-params starts from the exported values (one step at a negligible learning rate keeps them)', async () => {
    const exported = join(dir, 'init.json');
    expect((await rnnc('params', ckpt, '-o', exported)).code).toBe(0);
    const source = readCheckpoint(ckpt).params;
    // The same model; a different seed (so fresh parameters would differ) and a learning rate too small to move them.
    const f = writeFile(dir, 'catlm-init.rnn', lmProgram('sgd(lr = 1e-30)').replace('seed 1', 'seed 2'));
    const withInit = await rnnc('run', f, '--backend', 'cpu', '--steps', '1', '--init-params', exported, '--out', join(dir, 'init'), '--quiet');
    expectOk(withInit);
    expect(withInit.stderr).toContain(`parameters from ${exported}`);
    const fresh = await rnnc('run', f, '--backend', 'cpu', '--steps', '1', '--out', join(dir, 'fresh'), '--quiet');
    expectOk(fresh);

    const maxDiff = (p: Record<string, { data: number[] }>): number =>
      Math.max(...Object.entries(source).map(([k, t]) => Math.max(...t.data.map((x, i) => Math.abs(x - p[k]!.data[i]!)))));
    expect(maxDiff(readCheckpoint(join(dir, 'init', 'checkpoint.json')).params)).toBeLessThan(1e-20);
    expect(maxDiff(readCheckpoint(join(dir, 'fresh', 'checkpoint.json')).params)).toBeGreaterThan(0.1);
    // Starting from the trained values, the first training loss is already low.
    const first = readMetrics(join(dir, 'init'))[0]!;
    expect(first.kind).toBe('train');
    expect(first.loss).toBeLessThan(0.25 * Math.log(V));
  });

  it('run --init-params with a parameter of the wrong shape: exit 1, names the file and the parameter', async () => {
    const exported = JSON.parse((await rnnc('params', ckpt)).stdout) as Record<string, { shape: number[]; data: number[] }>;
    const [name] = Object.keys(exported);
    exported[name!] = { shape: [1], data: [0] };
    const bad = writeFile(dir, 'bad-init.json', JSON.stringify(exported));
    const r = await rnnc('run', lmFile, '--backend', 'cpu', '--steps', '1', '--init-params', bad, '--out', join(dir, 'bad-init'), '--quiet');
    expectUserError(r);
    expect(r.stderr).toContain(bad);
    expect(r.stderr).toContain(name!);
  });

  it('a checkpoint that does not exist: exit 1', async () => {
    const r = await rnnc('params', join(dir, 'nope.json'));
    expectUserError(r);
    expect(r.stderr).toContain('checkpoint not found');
  });
});
