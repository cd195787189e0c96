// The programmatic API through its public entry point only (src/index.ts):
// compile a program, fit a small classifier on examples in memory with
// callbacks, early stopping, predict / evaluate (the same results as the
// CLI's --json for the same checkpoint), save / load, toModule, and user
// mistakes as RnncErrors with diagnostics.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, RnncError, type EpochReport, type Example, type Model, type StepReport } from '../../src/index.js';
import { expectOk, removeDir, rnnc, tempDir } from '../e2e/cli-harness.js';

// A GRU reads a string of a's and b's and says whether a's are the majority.
const PROGRAM = `model majority {
  dim V, K, H = 6
  input x: seq<token[V]>
  target y: token[K]
  h = gru(one_hot(x)) with H
  loss = cross_entropy(dense(last(h), K), y)
}
train majority { data jsonl("ab.jsonl"); optimizer adam(lr = 0.05); batch 20; epochs 2; seed 1 }
`;

/** Seeded strings of 3 to 7 letters, labelled 1 when more than half are a's. */
function examples(n: number, seed: number): Example[] {
  let s = seed;
  const next = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: n }, () => {
    const x = Array.from({ length: 3 + Math.floor(next() * 5) }, () => (next() < 0.5 ? 'a' : 'b')).join('');
    return { x, y: [...x].filter((c) => c === 'a').length > x.length / 2 ? 1 : 0 };
  });
}

const train = examples(160, 1);
const valid = examples(40, 2);
let dir: string;
const models: Model[] = [];
const model = (): Model => {
  const m = compile(PROGRAM, { backend: 'cpu' }).model();
  models.push(m);
  return m;
};

/** Releases every model so far: the CLI harness counts every tfjs variable alive after a command as the command's leak. */
const disposeAll = (): void => models.splice(0).forEach((m) => m.dispose());

beforeAll(() => {
  dir = tempDir('rnnc-api-');
});
afterAll(() => {
  disposeAll();
  removeDir(dir);
});

describe('compile', () => {
  it('a clean program: ok, its models, and a model by name or by default', () => {
    const r = compile(PROGRAM);
    expect(r.ok).toBe(true);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.models).toEqual(['majority']);
    expect(r.model().name).toBe('majority');
    expect(r.model('majority').trained).toBe(false);
  });

  it('mistakes in the text are diagnostics with code and position, never exceptions; model() then throws an RnncError carrying them', () => {
    const r = compile('model m {\n  input x: seq<token[V]>\n  h = nosuchcell(x)\n}\n', { file: 'bad.rnn' });
    expect(r.ok).toBe(false);
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.code).toMatch(/^RNN\d{4}$/);
    expect(errors[0]!.file).toBe('bad.rnn');
    expect(errors.some((d) => d.line === 3 && d.message.includes('nosuchcell'))).toBe(true);
    let thrown: unknown;
    try {
      r.model();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(RnncError);
    expect((thrown as RnncError).diagnostics).toEqual(errors);
    const syntax = compile('model {', { file: 'syntax.rnn' });
    expect(syntax.ok).toBe(false);
    expect(syntax.diagnostics[0]!.line).toBe(1);
  });

  it('an unknown backend is an RnncError at compile(), naming the valid ones', () => {
    expect(() => compile(PROGRAM, { backend: 'gpu' as never })).toThrow(RnncError);
    expect(() => compile(PROGRAM, { backend: 'gpu' as never })).toThrow('compile(text, { backend }): unknown backend "gpu" (valid: tensorflow, webgpu, wasm, cpu)');
  });

  it('a model that does not exist, and a model without parameters, are RnncErrors', async () => {
    expect(() => compile(PROGRAM).model('nope')).toThrow(RnncError);
    expect(() => compile(PROGRAM).model('nope')).toThrow(/no model named nope \(models: majority\)/);
    const m = model();
    await expect(m.predict(['ab'])).rejects.toThrow(/no parameters to predict with/);
    await expect(m.evaluate(valid)).rejects.toThrow(RnncError);
    await expect(m.save(join(dir, 'x.json'))).rejects.toThrow(RnncError);
    await expect(m.load(join(dir, 'missing.json'))).rejects.toThrow(RnncError);
    await expect(m.load(join(dir, 'missing.json'))).rejects.toThrow(/checkpoint not found/);
  });
});

describe('Model.fit', () => {
  it('trains on examples in memory: onStep after every batch with a falling loss, onEpoch with validation metrics', async () => {
    const m = model();
    const steps: StepReport[] = [];
    const epochs: EpochReport[] = [];
    const history = await m.fit(train, { epochs: 6, batch: 20, seed: 3, validation: valid, onStep: (s) => steps.push(s), onEpoch: (e) => epochs.push(e) });
    expect(history.status).toBe('done');
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 6 * 8 }, (_, i) => i + 1));
    expect(steps.every((s) => s.batchesPerEpoch === 8 && Number.isFinite(s.loss))).toBe(true);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(history.epochs).toEqual(epochs);
    const mean = (xs: readonly StepReport[]): number => xs.reduce((a, s) => a + s.loss, 0) / xs.length;
    expect(mean(steps.slice(-8))).toBeLessThan(mean(steps.slice(0, 8)) * 0.7);
    expect(epochs.at(-1)!.loss).toBeLessThan(epochs[0]!.loss);
    expect(epochs.every((e) => e.validation !== undefined && e.validation.count === valid.length)).toBe(true);
    expect(epochs.at(-1)!.validation!.accuracy!).toBeGreaterThan(0.75);
    expect(history.best!.on).toBe('val_loss');
    expect(m.trained).toBe(true);
    expect(m.dims).toEqual({ V: 2, K: 2, H: 6 });
  });

  it('early stopping ends training when the validation loss stops improving', async () => {
    const m = model();
    const epochs: EpochReport[] = [];
    // No improvement can be larger than min_delta = 1e9: the second validation already runs out of patience.
    const history = await m.fit(train, { epochs: 10, batch: 40, validation: valid, earlyStop: { patience: 1, minDelta: 1e9 }, onEpoch: (e) => epochs.push(e) });
    expect(history.status).toBe('early-stop');
    expect(epochs).toHaveLength(2);
    expect(history.steps).toBe(2 * 4);
  });

  it('an aborted signal stops between batches', async () => {
    const m = model();
    const stop = new AbortController();
    const history = await m.fit(train, { epochs: 3, batch: 20, signal: stop.signal, onStep: (s) => s.step === 5 && stop.abort() });
    expect(history.status).toBe('stopped');
    expect(history.steps).toBe(5);
  });

  it('data that does not fit is an RnncError naming the example', async () => {
    const m = model();
    await expect(m.fit([{ x: 'ab', y: 1 }, { x: 'ba' } as unknown as Example])).rejects.toThrow(/train\[1\]: missing "y"/);
    await expect(m.fit([])).rejects.toThrow(RnncError);
    await expect(m.fit(train, { epochs: 0 })).rejects.toThrow(/epochs must be a whole number from 1/);
    await expect(m.fit(train, { earlyStop: { patience: 2 } })).rejects.toThrow(/earlyStop needs validation data/);
    expect(m.trained).toBe(false);
  });
});

describe('predict, evaluate, save and load', () => {
  it('agree with rnnc predict --json and rnnc evaluate --json on the checkpoint that save() wrote', async () => {
    const m = model();
    await m.fit(train, { epochs: 3, validation: valid });
    const ckpt = join(dir, 'majority', 'checkpoint.json');
    await m.save(ckpt);
    const queries = [{ x: 'aaab' }, { x: 'bbba' }, { x: 'ab' }];
    const predicted = await m.predict(queries);
    const evaluated = await m.evaluate(valid);
    disposeAll();
    expect(predicted[0]!.label).toBe('1');
    expect(predicted[1]!.label).toBe('0');
    expect(evaluated.split).toBe('examples');
    expect(evaluated.examples).toBe(valid.length);

    const file = join(dir, 'majority.rnn');
    writeFileSync(file, PROGRAM);
    writeFileSync(join(dir, 'q.jsonl'), queries.map((q) => JSON.stringify(q)).join('\n') + '\n');
    writeFileSync(join(dir, 'valid.jsonl'), valid.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const p = await rnnc('predict', file, '--ckpt', ckpt, '--input', join(dir, 'q.jsonl'), '--backend', 'cpu', '--json');
    expectOk(p);
    const lines = p.stdout.trim().split('\n').map((l) => JSON.parse(l) as { input: unknown; label: string; id: number; probs: number[] });
    expect(lines.map((l) => [l.input, l.label, l.id])).toEqual(predicted.map((r) => [r.input, r.label, r.id]));
    lines.forEach((l, i) => l.probs.forEach((x, k) => expect(predicted[i]!.probs![k]).toBeCloseTo(x, 6)));
    const e = await rnnc('evaluate', file, '--ckpt', ckpt, '--data-arg', `path=${join(dir, 'valid.jsonl')}`, '--data-arg', 'split=1', '--backend', 'cpu', '--json');
    expectOk(e);
    const cli = JSON.parse(e.stdout) as Record<string, number>;
    expect(cli['examples']).toBe(evaluated.examples);
    expect(cli['count']).toBe(evaluated.count);
    expect(cli['step']).toBe(evaluated.step);
    expect(cli['accuracy']).toBe(evaluated.accuracy);
    expect(cli['loss']).toBeCloseTo(evaluated.loss, 6);
  });

  it('a saved model loads into a fresh model with identical predictions and metrics; evaluate() alone uses the validation examples', async () => {
    const a = model();
    await a.fit(train, { epochs: 2, validation: valid });
    const path = join(dir, 'round', 'trip.json');
    await a.save(path);
    expect(JSON.parse(readFileSync(path, 'utf8')).model).toBe('majority');
    const b = await model().load(path);
    expect(b.trained).toBe(true);
    const queries = ['aab', 'bba', 'abababa', [0, 0, 1]];
    expect(await b.predict(queries)).toEqual(await a.predict(queries));
    expect(await b.evaluate(valid)).toEqual(await a.evaluate(valid));
    const own = await a.evaluate();
    expect(own.split).toBe('validation');
    expect(own.examples).toBe(valid.length);
    expect(own.loss).toBe((await a.evaluate(valid)).loss);
    // The checkpoint names no file for examples that were in memory.
    await expect(b.evaluate()).rejects.toThrow(/trained on examples in memory, which its checkpoint does not hold/);
  });

  it('loads a checkpoint of rnnc run: evaluate() reads the data its train block names, as rnnc evaluate does', async () => {
    disposeAll();
    const file = join(dir, 'cli', 'majority.rnn');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, PROGRAM);
    writeFileSync(join(dir, 'cli', 'ab.jsonl'), [...train, ...valid].map((e) => JSON.stringify(e)).join('\n') + '\n');
    expectOk(await rnnc('run', file, '--backend', 'cpu', '--out', join(dir, 'cli', 'run'), '--quiet'));
    const ckpt = join(dir, 'cli', 'run', 'checkpoint.json');
    const e = await rnnc('evaluate', file, '--ckpt', ckpt, '--backend', 'cpu', '--json');
    expectOk(e);
    const cli = JSON.parse(e.stdout) as Record<string, unknown>;
    const m = compile(PROGRAM, { file, backend: 'cpu' }).model();
    models.push(m);
    await m.load(ckpt);
    const api = await m.evaluate();
    expect(api.split).toBe('validation');
    expect(api.examples).toBe(20);
    expect({ ...api, loss: 0 }).toEqual({ ...cli, loss: 0 });
    expect(api.loss).toBeCloseTo(cli['loss'] as number, 6);
  });

  it('inputs that do not fit are RnncErrors naming the input', async () => {
    const m = model();
    await m.fit(train, { epochs: 1 });
    await expect(m.predict(['abz'])).rejects.toThrow(RnncError);
    await expect(m.predict([{ y: 'ab' }])).rejects.toThrow(/inputs\[0\]: "x" is missing/);
    await expect(m.predict([[0, 7]])).rejects.toThrow(/inputs\[0\]: "x": token id 7 \(position 1\) is outside \[0, 2\)/);
  });
});

describe('a data source', () => {
  it('fit() reads one as a train block names it; evaluate() uses its validation split; a regressor predicts values', async () => {
    const m = compile('model add { dim H = 6; input x: seq<[2]>; target y: [1]; h = gru(x) with H; loss = mse(dense(last(h), 1), y) }', { backend: 'cpu' }).model();
    models.push(m);
    const history = await m.fit({ source: 'adding', args: { T: 5, n: 100, valid: 10 } }, { epochs: 2, batch: 20 });
    expect(history.status).toBe('done');
    expect(history.steps).toBe(2 * 5);
    const ev = await m.evaluate();
    expect(ev.split).toBe('validation');
    expect(ev.examples).toBe(10);
    expect(ev.accuracy).toBeUndefined();
    const [p] = await m.predict([[[0.5, 1], [0.2, 0], [0.1, 1]]]);
    expect(p!.values).toHaveLength(1);
    await expect(m.fit({ source: 'no_such_source' })).rejects.toThrow(RnncError);
    await expect(m.fit({ source: 'adding', args: { T: 5, n: 100, valid: 10 } }, { validation: [{ x: [[1, 0]], y: 1 }] })).rejects.toThrow(/a data source has its own validation split/);
  });
});

describe('Model.toModule', () => {
  it('is the rnnc compile output: a TypeScript module with the forward function, at the trained sizes', async () => {
    const m = model();
    await expect(m.toModule()).rejects.toThrow(/V, K of model majority are fixed by the data; train or load the model first/);
    const forward = await m.toModule({ target: 'forward', dims: { V: 3, K: 2 } });
    expect(forward).toContain('export function forward(');
    expect(forward).not.toContain('export function trainStep(');
    await m.fit(train, { epochs: 1 });
    const code = await m.toModule();
    expect(code).toContain('export function forward(');
    expect(code).toContain('export function trainStep(');
    const ckpt = join(dir, 'module', 'checkpoint.json');
    await m.save(ckpt);
    disposeAll();
    const file = join(dir, 'majority.rnn');
    writeFileSync(file, PROGRAM);
    const out = join(dir, 'module', 'majority.ts');
    expectOk(await rnnc('compile', file, '-o', out, '--ckpt', ckpt));
    // The same module but for the name of the source it was compiled from.
    const strip = (s: string): string => s.replace(/majority\.rnn|<input>/g, 'SOURCE');
    expect(strip(code)).toBe(strip(readFileSync(out, 'utf8')));
  });
});
