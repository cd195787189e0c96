// Random valid programs (fast-check): a custom cell of random equations over
// the smooth element-wise functions, random sizes, one or two state
// variables, forwards or reversed, padded batches, a sequence or a
// many-to-one head, and full or truncated BPTT. For each program:
//   1. `rnnc check` accepts it (no diagnostics);
//   2. the optimised training graph equals the unoptimised one on the
//      float64 reference (loss and every gradient, relative 1e-12; per
//      truncated-BPTT window graph as well);
//   3. under full BPTT the symbolic gradients equal central finite
//      differences on the reference (1e-6 of each gradient's scale, at
//      least 1e-4);
//   4. the optimised training graph on tfjs (cpu, float32) equals the
//      reference within float32 tolerance;
//   5. (a few programs) the emitted TypeScript module's forward output and
//      gradients equal the interpreter's.
// A second generator makes models without recurrent state (embed, one_hot,
// dense, element-wise functions, concat, softmax, last, mean over vector or
// token inputs, per-example or sequence heads, every optimizer, clipping,
// schedules, forward-only modules): each is accepted by check, and all their
// emitted modules type-check under one `tsc --strict`.
// `npm test` runs a short sweep; RNNC_PROPERTY_RUNS=500 npx vitest run
// test/property runs a long one. A failure prints the program and fast-check's
// seed and path to replay it.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import type { Graph } from '../../compiler/ir/types.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import type { Tensor64 } from '../../runtime/reference/tensor.js';
import { executeGraph } from '../../runtime/tfjs/execute.js';
import { compileText, typeCheckFolder, writeGenerated } from '../codegen/helpers.js';
import { analyzeText, compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { fdGradient, gradCheck } from '../helpers/gradcheck.js';

const RUNS = Number(process.env['RNNC_PROPERTY_RUNS'] ?? 40);

// ------------------------------------------------------------------ programs

/** Smooth functions only: finite differences across a kink (relu) would measure nothing useful. */
const FUNCTIONS = ['tanh', 'sigmoid', 'softplus', 'square', 'softmax'] as const;

type Expr = string;

interface Program {
  readonly text: string;
  readonly lengths: readonly number[];
  readonly truncated: boolean;
  readonly seed: number;
}

/** A random expression of depth <= d over the given leaves (a tanh keeps every value bounded). */
function exprArb(leaves: readonly string[], d: number): fc.Arbitrary<Expr> {
  const leaf = fc.constantFrom(...leaves);
  if (d === 0) return leaf;
  const sub = exprArb(leaves, d - 1);
  return fc.oneof(
    { weight: 2, arbitrary: leaf },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...FUNCTIONS), sub).map(([f, e]) => (f === 'square' ? `square(tanh(${e}))` : `${f}(${e})`)) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('+', '-', '*'), sub, sub).map(([op, a, b]) => `(${a} ${op} ${b})`) },
    { weight: 1, arbitrary: fc.tuple(sub, sub).map(([a, b]) => `${a} / (1.5 + square(tanh(${b})))`) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('0.5', '2', '-1.25'), sub).map(([c, e]) => `${c} * ${e}`) },
  );
}

const programArb: fc.Arbitrary<Program> = fc
  .record({
    X: fc.integer({ min: 1, max: 3 }),
    H: fc.integer({ min: 1, max: 3 }),
    O: fc.integer({ min: 1, max: 2 }),
    twoStates: fc.boolean(),
    reverse: fc.boolean(),
    manyToOne: fc.boolean(),
    truncated: fc.boolean(),
    k1: fc.integer({ min: 1, max: 3 }),
    k2: fc.integer({ min: 1, max: 4 }),
    lengths: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
  })
  .chain((s) => {
    // The products a cell may read, and the states of the step before.
    const leaves = ['A @ x[t]', 'B @ h[t-1]', 'b', ...(s.twoStates ? ['C @ c[t-1]', 'c[t-1]'] : []), 'h[t-1]'];
    return fc.record({ s: fc.constant(s), h: exprArb(leaves, 3), c: exprArb(leaves, 2) });
  })
  .map(({ s, h, c }) => {
    const cell = [
      `cell mine(x: [X]) -> h: [H] {`,
      `  param A: [H, X] = glorot`,
      `  param B: [H, H] = orthogonal`,
      `  param b: [H] = uniform(-0.5, 0.5)`,
      // `+ b` gives c its shape whatever the random part reads (else RNN3003: a state of unknown shape).
      ...(s.twoStates ? [`  param C: [H, H] = glorot`, `  c[t] = tanh(${c} + b)`] : []),
      // tanh keeps the recurrence bounded whatever the random equation does.
      `  h[t] = tanh(${h})`,
      `}`,
    ];
    const head = s.manyToOne
      ? [`  target y: [${s.O}]`, `  loss = mse(dense(last(h), ${s.O}), y)`]
      : [`  target y: seq<[${s.O}]>`, `  p[t] = dense(h[t], ${s.O})`, `  loss = mse(p, y)`];
    const model = [
      `model m {`,
      `  dim H = ${s.H}`,
      `  input x: seq<[${s.X}]>`,
      head[0]!,
      `  h = mine(${s.reverse ? 'reverse ' : ''}x) with H`,
      ...head.slice(1),
      `}`,
    ];
    // Truncated BPTT trains forward recurrences only (RNN5006).
    const truncated = s.truncated && !s.reverse;
    const train = `train m { optimizer sgd(lr = 0.1); bptt ${truncated ? `truncated(k1 = ${s.k1}, k2 = ${Math.max(s.k1, s.k2)})` : 'full'} }`;
    return { text: [...cell, ...model, train].join('\n'), lengths: s.lengths, truncated, seed: s.seed };
  });

/**
 * A random model without recurrent state: an input of each kind (vectors or tokens, per example or a sequence), tokens
 * through embed or one_hot, then up to three dense layers with element-wise functions, sometimes two branches joined by
 * concat, sometimes softmax; a sequence either predicts per step or goes through last/mean to a per-example head;
 * mse on a vector target, cross_entropy on a token target; a random train block, or none (a forward-only module).
 */
const denseProgramArb: fc.Arbitrary<string> = fc
  .record({
    seq: fc.boolean(),
    tokens: fc.boolean(),
    oneHot: fc.boolean(),
    D: fc.integer({ min: 1, max: 4 }),
    V: fc.integer({ min: 2, max: 6 }),
    layers: fc.array(fc.tuple(fc.integer({ min: 1, max: 5 }), fc.constantFrom('tanh', 'sigmoid', 'relu', 'leaky_relu', 'softplus', 'square', 'softmax', '')), { maxLength: 3 }),
    branch: fc.boolean(),
    pool: fc.constantFrom('', 'last', 'mean'),
    tokenTarget: fc.boolean(),
    O: fc.integer({ min: 1, max: 3 }),
    train: fc.boolean(),
    optimizer: fc.constantFrom('sgd(lr = 0.1)', 'momentum(lr = 0.1, nesterov = 1)', 'rmsprop(lr = 0.01)', 'adam(lr = 0.01)', 'adagrad(lr = 0.1)'),
    clip: fc.constantFrom('', 'clip norm 1.0', 'clip value 0.5'),
    schedule: fc.constantFrom('', 'schedule cosine(steps = 10)', 'schedule step(every = 2, gamma = 0.5, warmup = 1)'),
    truncated: fc.boolean(),
  })
  .map((s) => {
    const input = s.tokens ? (s.seq ? 'seq<token[V]>' : 'token[V]') : s.seq ? `seq<[${s.D}]>` : `[${s.D}]`;
    const lines = [`model m {`, `  dim V = ${s.V}, O = ${s.O}`, `  input x: ${input}`];
    const perStep = s.seq && s.pool === '';
    const target = s.tokenTarget ? 'token[O]' : '[O]';
    lines.push(`  target y: ${perStep ? `seq<${target}>` : target}`);
    let v = s.tokens ? (s.oneHot ? 'one_hot(x)' : `embed(x, ${s.D})`) : 'x';
    s.layers.forEach(([n, f], i) => {
      const d = `dense(${v}, ${n})`;
      const layer = f === '' ? d : `${f}(${d})`;
      v = s.branch && i === 0 ? `concat(${layer}, ${v})` : layer;
      lines.push(`  h${i} = ${v}`);
      v = `h${i}`;
    });
    if (s.seq && s.pool !== '') v = `${s.pool}(${v})`;
    lines.push(`  loss = ${s.tokenTarget ? 'cross_entropy' : 'mse'}(dense(${v}, O), y)`, `}`);
    if (s.train) {
      const bptt = s.truncated ? 'bptt truncated(k1 = 2, k2 = 3)' : 'bptt full';
      lines.push(`train m { ${[`optimizer ${s.optimizer}`, s.clip, s.schedule, bptt].filter((x) => x !== '').join('; ')} }`);
    }
    return lines.join('\n');
  });

// ------------------------------------------------------------------ checks

type Named = Map<string, Float64Array>;

/** Evaluates g on the reference with feeds matched by input name; returns the loss and the gradients. */
function reference(g: Graph, feeds: ReadonlyMap<string, Tensor64>): { loss: number; grads: Named } {
  const outs = evaluateGraph(g, g.inputs.map((i) => feeds.get(i.name)!));
  return collect(g, outs.map((t) => t.data));
}

function collect(g: Graph, outs: readonly Float64Array[]): { loss: number; grads: Named } {
  let loss = NaN;
  const grads: Named = new Map();
  g.outputs.forEach((o, i) => {
    if (o.role === 'loss') loss = outs[i]![0]!;
    if (o.role === 'grad') grads.set(o.name, outs[i]!);
  });
  return { loss, grads };
}

/** max over tensors of max |a - b| / max(max |b|, floor). */
function relDiff(a: Named, b: Named, floor: number): number {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let worst = 0;
  for (const [k, av] of a) {
    const bv = b.get(k)!;
    let diff = 0;
    let scale = floor;
    av.forEach((x, i) => {
      diff = Math.max(diff, Math.abs(x - bv[i]!));
      scale = Math.max(scale, Math.abs(bv[i]!));
    });
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

function feedsFor(model: LoweredModel, g: Graph, p: Program): Map<string, Tensor64> {
  const feeds = randomFeeds(model, g, { lengths: p.lengths, seed: p.seed });
  return new Map(g.inputs.map((inp, k) => [inp.name, feeds[k]!] as const));
}

function checkProgram(p: Program): void {
  const a = analyzeText(p.text);
  // Warnings (an unused parameter) are allowed: the program is accepted.
  expect(a.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.message}`)).toEqual([]);
  const model = compileModel(p.text);
  const optimised = trainingGraphs(model, p.truncated);
  const plain = trainingGraphs(model, p.truncated, { optimize: false });
  const feeds = feedsFor(model, plain.training, p);

  // 2. optimised == unoptimised on the reference.
  const want = reference(plain.training, feeds);
  const got = reference(optimised.training, feeds);
  expect(Math.abs(got.loss - want.loss) / Math.max(Math.abs(want.loss), 1e-12)).toBeLessThan(1e-12);
  // Per tensor, with a floor of 1e-3 of the largest gradient: a gradient that cancels to 0 in one graph
  // (`b - b`) is 1e-17 in the other, a float64 rounding that no relative measure of that tensor can judge.
  const largest = Math.max(1e-12, ...[...want.grads.values()].flatMap((v) => [...v].map(Math.abs)));
  expect(relDiff(got.grads, want.grads, 1e-3 * largest)).toBeLessThan(1e-12);

  // 3. symbolic gradients == finite differences (full BPTT: the truncated gradient is another quantity by design).
  if (!p.truncated) {
    // Relative to each gradient's scale, with a floor of 1e-4: a gradient of 1e-7 is compared to 1e-10 absolutely,
    // where central differences (eps 1e-5) are still exact to about 1e-11 but a relative error would measure their noise.
    const inputs = plain.forward.inputs.map((i) => feeds.get(i.name)!);
    const { analytic } = gradCheck(plain.forward, inputs);
    const numeric = fdGradient(plain.forward, inputs, () => true);
    expect(relDiff(analytic, numeric, 1e-4)).toBeLessThan(1e-6);
  }

  // 4. tfjs float32 == reference.
  const tfOuts = tf.tidy(() =>
    executeGraph(
      optimised.training,
      optimised.training.inputs.map((i) => {
        const t = feeds.get(i.name)!;
        return t.dtype === 'i32' ? tf.tensor(Int32Array.from(t.data), [...t.shape], 'int32') : tf.tensor(Float32Array.from(t.data), [...t.shape]);
      }),
    ),
  );
  const onTf = collect(optimised.training, tfOuts.map((t) => Float64Array.from(t.dataSync())));
  tf.dispose(tfOuts);
  expect(Math.abs(onTf.loss - want.loss) / Math.max(Math.abs(want.loss), 1e-3)).toBeLessThan(1e-4);
  expect(relDiff(onTf.grads, want.grads, 1e-3)).toBeLessThan(2e-3);
}

describe('random programs', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it(`check, optimised == unoptimised, gradients == finite differences, tfjs == reference (${RUNS} programs)`, () => {
    fc.assert(
      fc.property(programArb, (p) => {
        try {
          checkProgram(p);
        } catch (e) {
          throw new Error(`${(e as Error).message}\n--- program (lengths ${p.lengths.join(', ')}, seed ${p.seed}) ---\n${p.text}`);
        }
      }),
      { numRuns: RUNS, seed: Number(process.env['RNNC_PROPERTY_SEED'] ?? 20261205) },
    );
  }, 600_000);

  // Programs earlier sweeps found, kept as they were found.
  const FOUND: readonly Program[] = [
    {
      // A state nothing reads: its update was a fused group without outputs, which the verifier rejects.
      text: 'cell mine(x: [X]) -> h: [H] {\n  param A: [H, X] = glorot\n  param B: [H, H] = orthogonal\n  param b: [H] = uniform(-0.5, 0.5)\n  param C: [H, H] = glorot\n  c[t] = tanh(tanh(A @ x[t]))\n  h[t] = tanh(A @ x[t])\n}\nmodel m {\n  dim H = 2\n  input x: seq<[1]>\n  target y: [1]\n  h = mine(reverse x) with H\n  loss = mse(dense(last(h), 1), y)\n}\ntrain m { optimizer sgd(lr = 0.1); bptt full }',
      lengths: [3, 3, 3],
      truncated: false,
      seed: 999997,
    },
    {
      // A gradient that cancels exactly (`b - b`).
      text: 'cell mine(x: [X]) -> h: [H] {\n  param A: [H, X] = glorot\n  param B: [H, H] = orthogonal\n  param b: [H] = uniform(-0.5, 0.5)\n  param C: [H, H] = glorot\n  c[t] = tanh(0.5 * -1.25 * A @ x[t] + b)\n  h[t] = tanh((tanh(square(tanh(A @ x[t]))) + (B @ h[t-1] / (1.5 + square(tanh(c[t-1]))) * (b - b))))\n}\nmodel m {\n  dim H = 2\n  input x: seq<[2]>\n  target y: [1]\n  h = mine(x) with H\n  loss = mse(dense(last(h), 1), y)\n}\ntrain m { optimizer sgd(lr = 0.1); bptt full }',
      lengths: [4, 4, 2],
      truncated: false,
      seed: 18324,
    },
  ];
  for (const [k, p] of FOUND.entries()) it(`a program an earlier sweep found (${k + 1})`, () => checkProgram(p));

  it('models without recurrent state: accepted by check, and every emitted module type-checks under tsc --strict', async () => {
    const count = Math.max(12, Math.ceil(RUNS / 2));
    const programs = fc.sample(denseProgramArb, { numRuns: count, seed: Number(process.env['RNNC_PROPERTY_SEED'] ?? 20261205) });
    // A directory of its own (test/codegen/emitted.test.ts empties test/.generated/ when it starts), where
    // @tensorflow/tfjs-core resolves through a link to the repository's node_modules.
    const dir = mkdtempSync(join(tmpdir(), 'rnnc-dense-'));
    try {
      symlinkSync(fileURLToPath(new URL('../../node_modules/', import.meta.url)), join(dir, 'node_modules'), 'dir');
      const sources: string[] = [];
      for (const [k, text] of programs.entries()) {
        const a = analyzeText(text);
        expect(a.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.message}`), text).toEqual([]);
        const out = await compileText(text, { file: `dense_${k}.rnn` });
        writeFileSync(join(dir, `dense_${k}.ts`), out.code);
        sources.push(`--- dense_${k}.ts ---\n${text}`);
      }
      const output = typeCheckFolder(dir);
      expect(output, output === '' ? '' : sources.join('\n')).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('the emitted module computes what the interpreter computes (3 programs)', async () => {
    const programs = fc.sample(programArb.filter((p) => !p.truncated), { numRuns: 3, seed: 7 });
    for (const [k, p] of programs.entries()) {
      const out = await compileText(p.text, { file: `property_${k}.rnn` });
      const mod = (await import(pathToFileURL(writeGenerated(`property_${k}`, out.code)).href)) as {
        initParams(seed: number): Record<string, tf.Tensor>;
        forward(params: Record<string, tf.Tensor>, inputs: Record<string, unknown>): { outputs: Record<string, tf.Tensor> };
        loss(params: Record<string, tf.Tensor>, inputs: Record<string, unknown>, targets: Record<string, tf.Tensor>): number;
      };
      // The interpreter: the optimised inference graph on tfjs, fed the module's own initial parameters.
      const params = mod.initParams(p.seed);
      const model = out.model;
      const B = p.lengths.length;
      const T = Math.max(...p.lengths);
      const X = (model.inputs[0]!.type as { dims: number[] }).dims[0]!;
      const xs = tf.randomNormal([B, T, X], 0, 1, 'float32', p.seed);
      const yShape = model.targets[0]!.type.kind === 'vector' ? [B, (model.targets[0]!.type as { dims: number[] }).dims[0]!] : [B, T, (model.targets[0]!.type as { dims: number[] }).dims[0]!];
      const ys = tf.randomNormal(yShape, 0, 1, 'float32', p.seed + 1);
      const lossModule = mod.loss(params, { x: xs, lengths: [...p.lengths] }, { y: ys });
      const g = trainingGraphs(model, false).inference;
      const mask = new Float32Array(T * B);
      const last = new Float32Array(T * B);
      p.lengths.forEach((l, b) => {
        for (let t = 0; t < l; t++) mask[t * B + b] = 1;
        last[(l - 1) * B + b] = 1;
      });
      const feed = (name: string, role: string): tf.Tensor => {
        if (role === 'param') return params[name]!;
        if (role === 'state') return tf.zeros(g.values[g.inputs.find((i) => i.name === name)!.value]!.type.shape.map((d) => (d === 'B' ? B : (d as number))));
        if (name === 'x') return tf.transpose(xs, [1, 0, 2]);
        if (name === 'y') return ys.rank === 3 ? tf.transpose(ys, [1, 0, 2]) : ys;
        if (name === 'mask' || name === 'weight') return tf.tensor2d(mask, [T, B]);
        if (name === 'last') return tf.tensor2d(last, [T, B]);
        throw new Error(`no feed for ${name}`);
      };
      const lossIndex = g.outputs.findIndex((o) => o.role === 'loss');
      const lossInterpreter = tf.tidy(() => executeGraph(g, g.inputs.map((i) => feed(i.name, i.role)))[lossIndex]!.dataSync()[0]!);
      expect(Math.abs(lossModule - lossInterpreter) / Math.max(Math.abs(lossInterpreter), 1e-6), p.text).toBeLessThan(1e-5);
    }
  }, 300_000);
});
