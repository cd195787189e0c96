// Emitted TypeScript modules against the interpreter (ARCHITECTURE.md rule 5): every
// example and a set of test models are compiled; all emitted files are
// type-checked by one `tsc --strict --noEmit`; and running them on the cpu
// backend gives the same initial parameters (bit for bit), forward outputs,
// loss, gradients (per window under truncated BPTT) and parameters after 5
// training steps as TrainingSession, within 1e-5 relative to each tensor's
// scale. Emitted files go to test/.generated/ (git-ignored) so that
// @tensorflow/tfjs-core resolves from them.
import { alignedDecoder, attentionSeq2seq, attentionTagger, bidirectionalTagger, convClassifier, decoderCallingLstm, LEARNED_START_CELL, manyToOneGru, tokenLm as lm, visualCaptioner } from '../helpers/programs.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, decodingFor, trainingGraphs } from '../../compiler/compile.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import type { TrainConfig } from '../../compiler/sema/train.js';
import type { Batch } from '../../runtime/data/types.js';
import { Rng } from '../../runtime/rng.js';
import { TrainingSession } from '../../runtime/train/session.js';
import { parseBatchJson } from '../../src/batch-json.js';
import { analyzeText, compileModel } from '../helpers/compile.js';
import { attentionWeights, beamSearch, greedy, type Source } from '../../src/commands/translate.js';
import { compileText, GENERATED_DIR, typeCheckFolder, writeGenerated, type Compiled } from './helpers.js';

type Tensors = Readonly<Record<string, tf.Tensor>>;
type Json = Record<string, { shape: number[]; data: number[] }>;
interface Emitted {
  initParams(seed: number): Tensors;
  loadParams(json: Json): Tensors;
  saveParams(p: Tensors): Json;
  disposeParams(p: Tensors): void;
  disposeState(s: Tensors): void;
  /** A model with a teacher-forced decoder takes its targets second: forward(p, inputs, targets, state?). */
  forward(p: Tensors, inputs: Record<string, unknown>, stateOrTargets?: Tensors, state?: Tensors): { outputs: Tensors; state: Tensors };
  loss?(p: Tensors, inputs: Record<string, unknown>, targets: Tensors): number;
  gradients?(p: Tensors, inputs: Record<string, unknown>, targets: Tensors): { loss: number; grads: Tensors } | { windows: { loss: number; grads: Tensors }[] };
  initOptimizer?(p: Tensors): Record<string, unknown>;
  trainStep?(p: Tensors, o: Record<string, unknown>, inputs: Record<string, unknown>, targets: Tensors): { params: Tensors; optimizer: Record<string, unknown>; loss: number };
  /** A model whose decoder writes a target of its own length decodes greedily. */
  decode?(p: Tensors, inputs: Record<string, unknown>, options?: { maxLen?: number; attention?: boolean }): { tokens: number[]; logProb: number; attention?: Record<string, number[][]> }[];
  beamSearch?(p: Tensors, inputs: Record<string, unknown>, options?: { width?: number; maxLen?: number; alpha?: number }): { tokens: number[]; logProb: number }[];
  decoderStep?(p: Tensors, inputs: Record<string, unknown>, rows: readonly { source: number; tokens: readonly number[] }[]): Float32Array[];
  END_TOKEN?: number | null;
}

const TOL = 1e-5;
const tokenLm = (layer: string, train: string): string => lm(layer, { V: 6, H: 4, E: 3, after: train });

const CUSTOM_CELL = `
cell mine(x: [X]) -> h: [H] {
  param A: [H, X] = uniform(0.3)
  param B: [H, H] = identity(0.9)
  param C: [H, X] = he
  param D: [H] = constant(0.5)
  param E2: [H, H] = xavier
  param F: [H] = uniform(-0.2, 0.1)
  u[t] = leaky_relu(A @ x[t] + B @ h[t-1] + D, 0.2)
  h[t] = tanh(u[t] + E2 @ h[t-1]) * sigmoid(C @ x[t] + F)
}
model m {
  dim H = 3
  input x: seq<[2]>
  target y: seq<[2]>
  h = mine(x) with H
  p[t] = dense(h[t], 2)
  loss = mse(p, y)
}
train m { optimizer adagrad(lr = 0.05); clip value 0.5 }`;

// Names of Object.prototype's members for a cell, an input, a dimension and statements (ARCHITECTURE.md rule 10).
const PROTOTYPE_NAMES = `
cell constructor(x: [X]) -> h: [H] {
  param W: [H, X] = glorot
  param U: [H, H] = orthogonal
  h[t] = tanh(W @ x[t] + U @ h[t-1])
}
model m {
  dim H = 3
  dim valueOf = 2
  input __proto__: seq<[2]>
  target y: seq<[valueOf]>
  toString = constructor(__proto__) with H
  hasOwnProperty[t] = dense(toString[t], valueOf)
  loss = mse(hasOwnProperty, y)
}
train m { optimizer adam(lr = 0.01) }`;

// Models without recurrent state (only `dense`), and one without parameters: their State (and Params) name unions are empty.
const DENSE_REGRESSOR = `
model m {
  input x: [4]
  target y: [2]
  loss = mse(dense(tanh(dense(x, 8)), 2), y)
}
train m { optimizer adam(lr = 0.01); clip norm 1.0 }`;
const DENSE_TOKEN_CLASSIFIER = `
model m {
  dim V = 7, K = 3
  input w: token[V]
  target c: token[K]
  loss = cross_entropy(dense(relu(dense(embed(w, 5), 6)), K), c)
}
train m { optimizer momentum(lr = 0.1); clip value 0.5 }`;
const DENSE_MANY_TO_ONE = `
model m {
  input x: seq<[3]>
  target y: [2]
  loss = mse(dense(mean(tanh(dense(x, 4))), 2), y)
}
train m { optimizer rmsprop(lr = 0.01) }`;
const DENSE_TAGGER = `
model m {
  dim V = 6
  input x: seq<token[V]>
  target y: seq<token[V]>
  e = embed(x, 4)
  o[t] = dense(sigmoid(dense(e[t], 5)), V)
  loss = cross_entropy(o, y)
}
train m { optimizer adagrad(lr = 0.1); bptt truncated(k1 = 2, k2 = 3) }`;
// A cell that reads no [t-1]: applied over a sequence, it carries no state.
const STATELESS_CELL = `
cell ff(x: [X]) -> h: [H] {
  param W: [H, X]
  h[t] = tanh(W @ x[t])
}
model m {
  input x: seq<[3]>
  target y: [2]
  h = ff(x) with H = 4
  loss = mse(dense(last(h), 2), y)
}
train m { optimizer sgd(lr = 0.1) }`;
const NO_PARAMS = `
model m {
  input x: [3]
  target y: [3]
  loss = mse(tanh(x), y)
}
train m { optimizer adam(lr = 0.1); clip norm 1.0 }`;

interface Case {
  readonly text: string;
  readonly model?: string;
  readonly dims?: Record<string, number>;
  /** Also compare 5 training steps with TrainingSession.trainBatch. */
  readonly trainSteps?: boolean;
  readonly unroll?: number;
  readonly target?: 'forward' | 'train';
  /** Batch shape for the run. */
  readonly B?: number;
  readonly T?: number;
}

const CASES: Record<string, Case> = {
  lstm_adam_clipnorm: { text: tokenLm('h = lstm(e) with H', 'train m { optimizer adam(lr = 0.05); clip norm 0.5 }'), trainSteps: true },
  gru_tbptt_nesterov_step: {
    text: tokenLm('h = gru(e) with H', 'train m { optimizer momentum(lr = 0.2, nesterov = 1); schedule step(every = 2, gamma = 0.5, warmup = 1); bptt truncated(k1 = 2, k2 = 3) }'),
    trainSteps: true,
    T: 7,
  },
  gru_ra_tbptt_rmsprop_cosine: {
    text: tokenLm('h = gru_ra(e) with H', 'train m { optimizer rmsprop(lr = 0.01); schedule cosine(steps = 4, min_lr = 0.001); clip norm 1.0; bptt truncated(k1 = 3, k2 = 2) }'),
    trainSteps: true,
    T: 7,
  },
  many_to_one_mse_sgd: {
    text: manyToOneGru('train m { optimizer sgd(lr = 0.1) }'),
    trainSteps: true,
  },
  rnn_relu: { text: tokenLm('h = rnn(e) with H, act = relu', 'train m { optimizer sgd(lr = 0.1) }') },
  irnn: { text: tokenLm('h = irnn(e) with H', 'train m { optimizer adam(lr = 0.1) }') },
  bidirectional_adagrad: {
    text: bidirectionalTagger('gru', { K: 3 }, 'train m { optimizer adagrad(lr = 0.1) }'),
    trainSteps: true,
  },
  custom_cell_adagrad_clipvalue: { text: CUSTOM_CELL, trainSteps: true },
  object_prototype_names: { text: PROTOTYPE_NAMES, trainSteps: true },
  lstm_unrolled: { text: tokenLm('h = lstm(e) with H', 'train m { optimizer adam(lr = 0.05) }'), unroll: 5, T: 5, trainSteps: true },
  forward_only: { text: tokenLm('h = gru(e) with H', ''), target: 'forward' },
  dense_regressor_adam_clipnorm: { text: DENSE_REGRESSOR, trainSteps: true },
  dense_token_classifier_momentum_clipvalue: { text: DENSE_TOKEN_CLASSIFIER, trainSteps: true },
  dense_many_to_one_rmsprop: { text: DENSE_MANY_TO_ONE, trainSteps: true },
  dense_tagger_adagrad_tbptt: { text: DENSE_TAGGER, trainSteps: true, T: 7 },
  dense_forward_only: { text: DENSE_REGRESSOR, target: 'forward' },
  stateless_cell_sgd: { text: STATELESS_CELL, trainSteps: true },
  no_params_adam_clipnorm: { text: NO_PARAMS, trainSteps: true },
  attention_additive_adam: { text: attentionTagger('attend(h[t-1], mem, additive)') + '\ntrain m { optimizer adam(lr = 0.05) }', trainSteps: true },
  learned_start_state_tbptt: { text: LEARNED_START_CELL + tokenLm('h = rnn0(e) with H', 'train m { optimizer adam(lr = 0.05); bptt truncated(k1 = 2, k2 = 2) }'), trainSteps: true, T: 6 },
  // Decoders that also read the source step by step (aligned: the target has the source's length) compile;
  // those that write a target of its own length do not yet (the test at the end of this file).
  aligned_decoder_hand_off: { text: alignedDecoder('train m { optimizer sgd(lr = 0.1) }'), trainSteps: true },
  aligned_attention_decoder_adam: { text: alignedDecoder('train m { optimizer adam(lr = 0.05) }', true), trainSteps: true },
  conv_classifier_adam: { text: convClassifier('train cnn { optimizer adam(lr = 0.05) }'), trainSteps: true },
  // Decoders that write targets of their own length (U steps, their own lengths): from a sequence, and from an image.
  seq2seq_attention_adam: { text: attentionSeq2seq('additive', {}, 'train m { optimizer adam(lr = 0.05) }'), trainSteps: true },
  visual_attention_sgd: { text: visualCaptioner('train caption { optimizer sgd(lr = 0.1) }'), trainSteps: true },
  // A cell calling a cell: the decoder's recurrence is the standard lstm (states and parameters named y.s.*).
  decoder_calling_lstm_adam: { text: decoderCallingLstm(false, 'train m { optimizer adam(lr = 0.05) }'), trainSteps: true },
  attention_dot_scaled_feature_map: {
    text: `
cell att(x: [X], mem: [L, D]) -> h: [H] {
  param W: [H, X]
  param U: [H, H]
  param C: [H, D]
  c[t] = attend(h[t-1], mem, general, scaled = 1)
  h[t] = tanh(W @ x[t] + U @ h[t-1] + C @ c[t])
}
model m {
  dim H = 4
  input x: seq<[2]>
  input img: [6, 3]
  target y: seq<[1]>
  d = att(x, img) with H
  loss = mse(dense(d, 1), y)
}
train m { optimizer sgd(lr = 0.1) }`,
    trainSteps: true,
  },
};

// Every model of every example, with small sizes for the dimensions the data fixes.
const EXAMPLES = readdirSync(new URL('../../examples/', import.meta.url)).filter((f) => f.endsWith('.rnn'));
for (const file of EXAMPLES) {
  const text = readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8');
  for (const m of text.matchAll(/^model\s+(\w+)/gm)) CASES[`example_${file.replace('.rnn', '')}_${m[1]}`] = { text, model: m[1]!, dims: { V: 7, K: 5 }, B: 2, T: 4 };
}

const compiled = new Map<string, Compiled>();
const figures: Record<string, Record<string, number>> = {};

beforeAll(async () => {
  rmSync(GENERATED_DIR, { recursive: true, force: true });
  for (const [name, c] of Object.entries(CASES)) {
    const out = await compileText(c.text, {
      ...(c.model ? { model: c.model } : {}),
      ...(c.dims ? { dims: c.dims } : {}),
      ...(c.unroll !== undefined ? { unroll: c.unroll } : {}),
      ...(c.target ? { target: c.target } : {}),
      file: c.model ? `${name}.rnn` : 'test.rnn',
    });
    compiled.set(name, out);
    writeGenerated(name, out.code);
  }
  await tf.setBackend('cpu');
});

describe('emitted modules', () => {
  it('type-check under tsc --strict --noEmit (one run over all of them)', () => {
    expect(typeCheckFolder(GENERATED_DIR)).toBe('');
  });

  it('use no `any` and import only @tensorflow/tfjs-core', () => {
    for (const [name, c] of compiled) {
      expect(c.code, name).not.toMatch(/:\s*any\b|\bas any\b|<any>|\bany\[\]/);
      const imports = [...c.code.matchAll(/^import .* from '([^']+)'/gm)].map((m) => m[1]);
      expect(imports, name).toEqual(['@tensorflow/tfjs-core']);
    }
  });

  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: same numbers as the interpreter`, async () => {
      const out = compiled.get(name)!;
      const mod = (await import(pathToFileURL(join(GENERATED_DIR, `${name}.ts`)).href)) as Emitted;
      figures[name] = await parity(mod, out, c);
    });
  }

  it('check inputs, state and parameters at the entry with clear errors', async () => {
    const mod = (await import(pathToFileURL(join(GENERATED_DIR, 'lstm_adam_clipnorm.ts')).href)) as Emitted;
    const unrolled = (await import(pathToFileURL(join(GENERATED_DIR, 'lstm_unrolled.ts')).href)) as Emitted;
    const p = mod.initParams(1);
    const ids = (b: number, t: number, v = 1) => tf.fill([b, t], v, 'int32');
    expect(() => mod.forward(p, { x: tf.zeros([2, 3]) })).toThrow('inputs.x must be int32 [B, T], got float32 [2, 3]');
    expect(() => mod.forward(p, { x: ids(2, 3, 6) })).toThrow('inputs.x: token id 6 (example 0, step 0) is outside [0, 6)');
    const late = tf.tensor2d([[1, 1, 1], [1, 1, 9]], [2, 3], 'int32');
    expect(() => mod.forward(p, { x: late })).toThrow('inputs.x: token id 9 (example 1, step 2) is outside [0, 6)');
    expect(() => mod.forward(p, { x: tf.zeros([2], 'int32') })).toThrow('inputs.x must have shape [B, T], got [2]');
    expect(() => mod.forward(p, {})).toThrow('inputs.x is missing');
    expect(() => mod.forward(p, { x: ids(2, 3), lengths: [3, 4] })).toThrow('inputs.lengths must be 2 whole numbers between 1 and 3');
    expect(() => mod.loss!(p, { x: ids(2, 3) }, { y: ids(3, 3) })).toThrow('targets.y has batch size 3 but inputs.x has 2');
    expect(() => mod.loss!(p, { x: ids(2, 3) }, { y: ids(2, 4) })).toThrow('targets.y has 4 steps but inputs.x has 3');
    expect(() => unrolled.forward(p, { x: ids(2, 3) })).toThrow('compiled with --unroll 5: sequences must have exactly 5 steps, got 3');
    const s = mod.forward(p, { x: ids(2, 3) }).state;
    expect(() => mod.forward(p, { x: ids(3, 3) }, s)).toThrow('state h.c has shape [2, 4], expected [3, 4]');
    const json = mod.saveParams(p);
    expect(() => mod.loadParams({ ...json, 'h.W_g': { shape: [1, 2], data: [0, 0] } })).toThrow('loadParams: parameter h.W_g has shape [1, 2], the model needs [4, 3]');
    expect(() => mod.loadParams({ ...json, extra: { shape: [1], data: [0] } })).toThrow('loadParams: the model has no parameter extra');
    const { 'o.b': _dropped, ...missing } = json;
    expect(() => mod.loadParams(missing)).toThrow('loadParams: parameter o.b is missing');
    const back = mod.loadParams(json);
    expect(mod.saveParams(back)).toEqual(json);
    const { 'o.W': _w, ...partial } = p;
    expect(() => mod.forward(partial, { x: ids(2, 3) })).toThrow('parameter o.W is missing');
    mod.disposeParams(back);
    expect(() => mod.forward(back, { x: ids(2, 3) })).toThrow('parameter e.table was disposed (disposeParams): load or initialise the parameters again');
  });

  for (const name of ['seq2seq_attention_adam', 'visual_attention_sgd', 'example_dates_dates', 'decoder_calling_lstm_adam', 'example_reverse_reverse_attention']) {
    it(`${name}: decode() and beamSearch() give rnnc translate's tokens and log-probabilities (greedy, beam), and its attention weights`, async () => {
      const c = CASES[name]!;
      const out = compiled.get(name)!;
      const model = out.model;
      const mod = (await import(pathToFileURL(join(GENERATED_DIR, `${name}.ts`)).href)) as Emitted;
      expect(typeof mod.decode).toBe('function');
      const B = 4;
      const { json, lengths } = randomBatch(model, B, 5, 17);
      const inputs = json['lengths'] !== undefined ? { ...toTensors(model, json, 'inputs'), lengths } : toTensors(model, json, 'inputs');
      const maxLen = 6;
      const a = analyzeText(c.text, c.model ? `${name}.rnn` : 'test.rnn');
      const decoding = decodingFor(a, model)!;
      // Without an end token an output has its input's length, as in rnnc translate (no maxLen given).
      const noEnd = decoding.end === undefined;
      const options = noEnd ? { attention: true } : { maxLen, attention: true };
      // The first seed whose random parameters write some token before the end token (so that the comparison compares something).
      let seed = 3;
      let p = mod.initParams(seed);
      let decoded = mod.decode!(p, inputs, options);
      while (!decoded.some((d) => d.tokens.length > 0) && seed < 30) {
        p = mod.initParams(++seed);
        decoded = mod.decode!(p, inputs, options);
      }
      if (noEnd) expect(decoded.map((d) => d.tokens.length)).toEqual(lengths);
      const session = sessionFor(out);
      session.initParams(seed);
      // The interpreter: translate's greedy decoding and attention weights, on the same sources.
      expect(mod.END_TOKEN).toBe(decoding.end ?? null);
      const src = model.inputs[0]!;
      const field = json[src.name] as { shape: number[]; data: number[] };
      const width = field.data.length / B;
      const dims = src.type.kind === 'vector' ? src.type.dims.map(Number) : undefined;
      const sources: Source[] = Array.from({ length: B }, (_, b) =>
        dims ? Float32Array.from(field.data.slice(b * width, (b + 1) * width)) : Int32Array.from(field.data.slice(b * width, b * width + lengths[b]!)),
      );
      const limits = { lengths: noEnd ? lengths : new Array<number>(B).fill(maxLen), own: true, alpha: 0, ...(decoding.end !== undefined ? { end: decoding.end } : {}), ...(dims ? { dims } : {}) };
      const graph = trainingGraphs(decoding.model, false, { liftParamTransposes: true }).predict;
      const ref = await greedy(session, graph, sources, limits);
      const dimValues = Object.fromEntries([...model.dims].filter(([, v]) => typeof v === 'number')) as Record<string, number>;
      const taught = buildModel(a, model.name, dimValues, { kind: 'teacher' }, { attention: true }).model!;
      const weights = await attentionWeights(session, taught, sources, ref, dims);
      expect(decoded.map((d) => d.tokens)).toEqual(ref.map((d) => d.tokens));
      expect(decoded.some((d) => d.tokens.length > 0)).toBe(true);
      decoded.forEach((d, b) => {
        expect(Math.abs(d.logProb - ref[b]!.logProb)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref[b]!.logProb)));
        expect(Object.keys(d.attention!)).toEqual(Object.keys(weights[b]!));
        for (const [k, w] of Object.entries(weights[b]!)) {
          expect(d.attention![k]!.length).toBe(w.length);
          w.forEach((row, t) => {
            expect(d.attention![k]![t]!.length).toBe(row.length);
            row.forEach((v, l) => expect(Math.abs(d.attention![k]![t]![l]! - v)).toBeLessThan(1e-5));
          });
        }
      });
      expect(() => mod.decode!(p, inputs, { maxLen: 0 })).toThrow('decode: maxLen must be a whole number of at least 1, got 0');
      // Beam search: width 1 is greedy; width 3 with length normalisation equals translate's, hypothesis for hypothesis.
      const beamLen = noEnd ? {} : { maxLen };
      expect(mod.beamSearch!(p, inputs, { width: 1, ...beamLen }).map((d) => d.tokens)).toEqual(ref.map((d) => d.tokens));
      const beam = mod.beamSearch!(p, inputs, { width: 3, ...beamLen, alpha: 0.6 });
      const refBeam = await beamSearch(session, sources, 3, { ...limits, alpha: 0.6 });
      expect(beam.map((d) => d.tokens)).toEqual(refBeam.map((d) => d.tokens));
      beam.forEach((d, b) => expect(Math.abs(d.logProb - refBeam[b]!.logProb)).toBeLessThan(1e-4 * Math.max(1, Math.abs(refBeam[b]!.logProb))));
      expect(() => mod.beamSearch!(p, inputs, { width: 0 })).toThrow('beamSearch: width must be a whole number of at least 1, got 0');
      // One decoder step over prefixes of different lengths: each row's next-token scores are those greedy decoding
      // saw after the same prefix (its log-probabilities add up to the greedy output's).
      const rows = ref.flatMap((d, b) => d.tokens.map((_, t) => ({ source: b, tokens: d.tokens.slice(0, t) })));
      const steps = mod.decoderStep!(p, inputs, rows);
      expect(steps).toHaveLength(rows.length);
      rows.forEach((r, i) => {
        const s = steps[i]!;
        let best = 0;
        for (let k = 1; k < s.length; k++) if (s[k]! > s[best]!) best = k;
        expect(best, `example ${r.source}, step ${r.tokens.length}`).toBe(ref[r.source]!.tokens[r.tokens.length]);
      });
      expect(() => mod.decoderStep!(p, inputs, [{ source: B, tokens: [] }])).toThrow(`decoderStep: source ${B} is not an example of the inputs`);
      session.dispose();
    });
  }

  it('report', () => {
    console.log(JSON.stringify(figures, null, 1));
  });
});

/** max |a - b| / max(max |b|, 1e-3): the difference relative to the tensor's scale. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let scale = 1e-3;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d / scale;
}

function randomBatch(model: LoweredModel, B: number, T: number, seed: number): { json: Record<string, unknown>; lengths: number[]; targetLengths?: number[] } {
  const rng = new Rng(seed);
  const json: Record<string, unknown> = Object.create(null);
  // The steps T: of the sequences, but not of a target with steps of its own.
  const hasSeq = [...model.inputs, ...model.targets].some((s) => (s.type.kind === 'tokens' || s.type.kind === 'vectors') && s.name !== model.targetAxis);
  for (const s of [...model.inputs, ...model.targets]) {
    const t = s.type;
    const seq = t.kind === 'tokens' || t.kind === 'vectors';
    const inner = t.kind === 'vectors' || t.kind === 'vector' ? t.dims.map((d) => d as number) : [];
    // A target a decoder writes over steps of its own: one step more than the inputs.
    const shape = [B, ...(seq ? [s.name === model.targetAxis ? T + 1 : T] : []), ...inner];
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Array.from({ length: n }, () => (t.kind === 'tokens' || t.kind === 'token' ? rng.int(t.vocab as number) : rng.normal()));
    json[s.name] = { shape, data };
  }
  const lengths = Array.from({ length: B }, (_, b) => (hasSeq ? Math.max(1, T - (b % 3)) : 1));
  if (hasSeq) json['lengths'] = lengths;
  const targetLengths = model.targetAxis !== undefined ? Array.from({ length: B }, (_, b) => Math.max(1, T + 1 - ((b + 1) % 3))) : undefined;
  if (targetLengths) json['target_lengths'] = targetLengths;
  return { json, lengths, ...(targetLengths ? { targetLengths } : {}) };
}

function toTensors(model: LoweredModel, json: Record<string, unknown>, which: 'inputs' | 'targets'): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = Object.create(null);
  for (const s of model[which]) {
    const v = json[s.name] as { shape: number[]; data: number[] };
    const int = s.type.kind === 'tokens' || s.type.kind === 'token';
    out[s.name] = tf.tensor(v.data, v.shape, int ? 'int32' : 'float32');
  }
  return out;
}

function sessionFor(out: Compiled): TrainingSession {
  const config: TrainConfig = out.train ?? {
    model: out.model.name,
    optimizer: { name: 'sgd', args: {}, positional: [], span: out.model.span },
    bptt: { kind: 'full' },
    batch: 1,
    epochs: 1,
    seed: 0,
    checkpoint: 0,
    span: out.model.span,
  };
  const truncated = config.bptt.kind === 'truncated';
  // As the CLI builds them: with the variant for batches without padding, which the emitted module also chooses per call.
  return new TrainingSession(out.model, config, { ...trainingGraphs(out.model, truncated), unpadded: trainingGraphs(out.model, truncated, { assumeFullMask: true }) });
}

const read = (t: tf.Tensor): Float32Array => t.dataSync() as Float32Array;

type GradientsResult = ReturnType<NonNullable<Emitted['gradients']>>;

/** Largest relative differences of loss and gradients, window by window, between the module and the interpreter (disposes both). */
function compareWindows(mod: Emitted, g: GradientsResult, refs: { loss: number; grads: Map<string, tf.Tensor> }[]): { loss: number; grads: number } {
  let loss = 0;
  let grads = 0;
  ('windows' in g ? g.windows : [g]).forEach((w, i) => {
    const r = refs[i]!;
    loss = Math.max(loss, Math.abs(w.loss - r.loss) / Math.max(Math.abs(r.loss), 1e-3));
    for (const [k, t] of r.grads) grads = Math.max(grads, relDiff(read(w.grads[k]!), read(t)));
    tf.dispose([...r.grads.values()]);
    mod.disposeParams(w.grads);
  });
  return { loss, grads };
}

async function parity(mod: Emitted, out: Compiled, c: Case): Promise<Record<string, number>> {
  const figs: Record<string, number> = {};
  const model = out.model;
  const B = c.B ?? 3;
  const T = c.T ?? 5;
  const session = sessionFor(out);
  const seed = 7;
  session.initParams(seed);
  const p = mod.initParams(seed);
  // Initial parameters: bit for bit.
  expect(mod.saveParams(p)).toEqual(await session.paramsJson());

  const { json, lengths, targetLengths } = randomBatch(model, B, T, 11);
  const batch: Batch = parseBatchJson(JSON.stringify(json), 'batch', model);
  // Models without sequence inputs (an image captioner) take no input lengths.
  const inputs = json['lengths'] !== undefined ? { ...toTensors(model, json, 'inputs'), lengths } : toTensors(model, json, 'inputs');
  const targets = { ...toTensors(model, json, 'targets'), ...(targetLengths ? { lengths: targetLengths } : {}) };

  // Forward: prediction and final states, then streaming in two chunks.
  const ref = session.forward(batch);
  // A decoder taught with its target reads the targets in forward too (compiler/codegen/module.ts).
  const taught = mod.forward.length === 4;
  const fw = taught ? mod.forward(p, inputs, targets) : mod.forward(p, inputs);
  const pred = fw.outputs[model.output]!;
  const predTm = pred.rank >= 3 ? tf.transpose(pred, [1, 0, ...Array.from({ length: pred.rank - 2 }, (_, i) => i + 2)]) : pred;
  figs['forward'] = relDiff(read(predTm), read(ref.prediction));
  let stateDiff = 0;
  for (const [k, t] of ref.states) stateDiff = Math.max(stateDiff, relDiff(read(fw.state[k]!), read(t)));
  figs['state'] = stateDiff;
  expect(figs['forward']).toBeLessThan(TOL);
  expect(stateDiff).toBeLessThan(TOL);
  tf.dispose([predTm, ref.prediction, ...ref.states.values(), pred]);
  mod.disposeState(fw.state);

  // A backward recurrence cannot stream: it needs the end of the sequence first.
  if (c.unroll === undefined && !taught && !model.readsAhead && model.inputs.every((s) => s.type.kind === 'tokens' || s.type.kind === 'vectors') && T >= 2) {
    // Streaming: two chunks with the state carried equal one pass (all sequences full length).
    const full = Object.fromEntries(Object.entries(toTensors(model, json, 'inputs')));
    const cut = Math.floor(T / 2);
    const part = (a: number, b: number) => Object.fromEntries(Object.entries(full).map(([k, t]) => [k, tf.slice(t, [0, a], [-1, b - a])]));
    const whole = mod.forward(p, full);
    const first = mod.forward(p, part(0, cut));
    const second = mod.forward(p, part(cut, T), first.state);
    let d = 0;
    for (const k of Object.keys(whole.state)) d = Math.max(d, relDiff(read(second.state[k]!), read(whole.state[k]!)));
    figs['streaming'] = d;
    expect(d).toBeLessThan(TOL);
  }
  if (!mod.loss || !mod.gradients || !out.train) {
    session.dispose();
    return figs;
  }

  // Loss over the whole batch.
  const refLoss = (await session.evaluate([batch])).loss;
  figs['loss'] = Math.abs(mod.loss(p, inputs, targets) - refLoss) / Math.max(Math.abs(refLoss), 1e-3);
  expect(figs['loss']).toBeLessThan(TOL);

  // Gradients (per window under truncated BPTT).
  const refGrads = await session.gradients(batch);
  const g = mod.gradients(p, inputs, targets);
  expect('windows' in g ? g.windows.length : 1).toBe(refGrads.length);
  expect('windows' in g).toBe(out.train.bptt.kind === 'truncated');
  const padded = compareWindows(mod, g, refGrads);
  figs['windowLoss'] = padded.loss;
  figs['gradients'] = padded.grads;
  expect(padded.loss).toBeLessThan(TOL);
  expect(padded.grads).toBeLessThan(TOL);

  // A batch without padding: both sides run the unpadded variants of the graphs.
  // Every sequence as long as the longest (T; 1 for a model without sequences).
  const fullLengths = new Array<number>(B).fill(Math.max(...lengths));
  const fullBatch: Batch = parseBatchJson(JSON.stringify({ ...json, lengths: fullLengths }), 'batch', model);
  const full = compareWindows(mod, mod.gradients(p, { ...toTensors(model, json, 'inputs'), lengths: fullLengths }, targets), await session.gradients(fullBatch));
  figs['unpadded'] = Math.max(full.loss, full.grads);
  expect(figs['unpadded']).toBeLessThan(TOL);

  if (c.trainSteps && mod.trainStep && mod.initOptimizer) {
    let params = p;
    let opt = mod.initOptimizer(params);
    let maxLoss = 0;
    const counts: number[] = [];
    for (let step = 0; step < 5; step++) {
      const r = mod.trainStep(params, opt, inputs, targets);
      const refStep = await session.trainBatch(batch);
      maxLoss = Math.max(maxLoss, Math.abs(r.loss - refStep.loss) / Math.max(Math.abs(refStep.loss), 1e-3));
      params = r.params;
      opt = r.optimizer;
      counts.push(tf.memory().numTensors);
    }
    let pd = 0;
    const after = await session.paramsJson();
    const mine = mod.saveParams(params);
    for (const k of Object.keys(after)) pd = Math.max(pd, relDiff(mine[k]!.data, after[k]!.data));
    figs['trainLoss'] = maxLoss;
    figs['paramsAfter5Steps'] = pd;
    expect(maxLoss).toBeLessThan(TOL);
    expect(pd).toBeLessThan(TOL);
    // Memory: flat from the second step on (the first creates the session's slot variables).
    expect(new Set(counts.slice(1)).size).toBe(1);
  }
  session.dispose();
  return figs;
}
