// TensorFlow.js execution against the float64 reference (ARCHITECTURE.md rule 5), on
// whole models: (a) forward outputs; (b) the symbolic gradients run on tfjs
// against tfjs's own autodiff (tf.grads) of the tfjs forward loss; for the
// truncated graph, whose gate tf.grads cannot see, against the reference's
// symbolic gradients instead, and tf.grads is shown to differ there when a
// gate is 0; (c) the symbolic gradients on tfjs against the reference's.
import { attentionSeq2seq, attentionTagger, bidirectionalTagger, manyToOneGru, tokenLm } from '../helpers/programs.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tf.grads needs the gradient functions, which tfjs-core registers only on request.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import type { Graph } from '../../compiler/ir/types.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import type { Tensor64 } from '../../runtime/reference/tensor.js';
import { executeGraph } from '../../runtime/tfjs/execute.js';
import { compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';


const MODELS: Record<string, string> = {
  lstm: tokenLm('h = lstm(e) with H'),
  gru: tokenLm('h = gru(e) with H'),
  'rnn (relu)': tokenLm('h = rnn(e) with H, act = relu'),
  'bidirectional pair': bidirectionalTagger('gru'),
  'many-to-one mse': manyToOneGru(),
  'attention (additive)': attentionTagger('attend(h[t-1], mem, additive)'),
  'attention (dot, scaled)': attentionTagger('attend(h[t-1], mem, dot, scaled = 1)'),
  'attention decoder (teacher forcing)': attentionSeq2seq(),
};

const TRUNCATED = tokenLm('h = lstm(e) with H');
const LENGTHS = [5, 3, 4];
const TOL = 1e-4;

type Named = Map<string, Float64Array>;

const rounded = (t: Tensor64): Tensor64 => ({ ...t, data: t.data.map((v) => Math.fround(v)) });

function toTf(t: Tensor64): tf.Tensor {
  return t.dtype === 'i32' ? tf.tensor(Int32Array.from(t.data), [...t.shape], 'int32') : tf.tensor(Float32Array.from(t.data), [...t.shape], 'float32');
}

/** Runs g on tfjs and reads every output back (nothing leaks). */
function runTf(g: Graph, feeds: readonly Tensor64[]): Float64Array[] {
  const outs = tf.tidy(() => executeGraph(g, feeds.map(toTf)));
  const data = outs.map((t) => Float64Array.from(t.dataSync()));
  tf.dispose(outs);
  return data;
}

const gradsOf = (g: Graph, outs: readonly (Float64Array | Tensor64)[]): Named =>
  new Map(
    g.outputs.flatMap((o, i) => {
      const v = outs[i]!;
      return o.role === 'grad' ? [[o.name.slice(2), v instanceof Float64Array ? v : v.data] as const] : [];
    }),
  );

/** Worst over entries of max |a - b| / max |b| (per tensor; b is the reference side). */
function relErr(a: ReadonlyMap<string, Float64Array>, b: ReadonlyMap<string, Float64Array>): { err: string; value: number } {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let worst = { err: '', value: 0 };
  for (const [k, av] of a) {
    const bv = b.get(k)!;
    expect(av.length, k).toBe(bv.length);
    let diff = 0;
    let scale = 0;
    av.forEach((x, i) => {
      diff = Math.max(diff, Math.abs(x - bv[i]!));
      scale = Math.max(scale, Math.abs(bv[i]!));
    });
    const rel = diff / Math.max(scale, 1e-6);
    if (rel > worst.value) worst = { err: k, value: rel };
  }
  return worst;
}

/** tf.grads of the tfjs forward loss as a function of the parameter tensors. */
function tfAutodiff(forward: Graph, feeds: readonly Tensor64[]): Named {
  const lossIndex = forward.outputs.findIndex((o) => o.role === 'loss');
  const paramIdx = forward.inputs.flatMap((inp, i) => (inp.role === 'param' ? [i] : []));
  const grads = tf.tidy(() => {
    const base = feeds.map(toTf);
    const lossOf = (...params: tf.Tensor[]): tf.Tensor => {
      const ins = base.slice();
      paramIdx.forEach((k, j) => (ins[k] = params[j]!));
      return executeGraph(forward, ins)[lossIndex]!;
    };
    return tf.grads(lossOf)(paramIdx.map((k) => base[k]!));
  });
  const out: Named = new Map(paramIdx.map((k, j) => [forward.inputs[k]!.name, Float64Array.from(grads[j]!.dataSync())]));
  tf.dispose(grads);
  return out;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('tfjs executes models like the float64 reference', () => {
  for (const [name, text] of Object.entries(MODELS)) {
    describe(name, () => {
      const model = compileModel(text);
      const { forward, training } = trainingGraphs(model, false);
      const feeds = randomFeeds(model, forward, { lengths: LENGTHS, seed: 5, randomState: true }).map(rounded);

      it('(a) forward outputs match the reference', () => {
        const ref = evaluateGraph(forward, feeds);
        const got = runTf(forward, feeds);
        const named = (xs: readonly Float64Array[]): Named => new Map(forward.outputs.map((o, i) => [`${o.role}:${o.name}`, xs[i]!]));
        const r = relErr(named(got), named(ref.map((t) => t.data)));
        expect(r.value, r.err).toBeLessThan(TOL);
        const loss = ref[forward.outputs.findIndex((o) => o.role === 'loss')]!.data[0]!;
        expect(Number.isFinite(loss) && loss > 0).toBe(true);
      });

      it('(b) symbolic gradients on tfjs equal tf.grads of the tfjs forward loss', () => {
        const symbolic = gradsOf(training, runTf(training, feeds));
        const auto = tfAutodiff(forward, feeds);
        expect(symbolic.size).toBe(model.params.length);
        const r = relErr(symbolic, auto);
        expect(r.value, r.err).toBeLessThan(TOL);
        expect([...auto.values()].every((g) => g.some((v) => v !== 0))).toBe(true);
      });

      it('(c) symbolic gradients on tfjs equal the reference symbolic gradients', () => {
        const onTf = gradsOf(training, runTf(training, feeds));
        const ref = gradsOf(training, evaluateGraph(training, feeds));
        const r = relErr(onTf, ref);
        expect(r.value, r.err).toBeLessThan(TOL);
      });
    });
  }
});

describe('truncated graph with a gradient gate', () => {
  const model = compileModel(TRUNCATED);
  const { forward, training } = trainingGraphs(model, true);
  const T = Math.max(...LENGTHS);
  const gate = Array.from({ length: T }, (_, t) => (t < 2 ? 0 : 1));
  const feeds = randomFeeds(model, forward, { lengths: LENGTHS, seed: 9, gate }).map(rounded);

  it('has a control input', () => {
    expect(forward.inputs.some((i) => i.role === 'control' && i.name === 'gate')).toBe(true);
  });

  it('(a) forward outputs match the reference (the gate does not change values)', () => {
    const ref = evaluateGraph(forward, feeds);
    const got = runTf(forward, feeds);
    const named = (xs: readonly Float64Array[]): Named => new Map(forward.outputs.map((o, i) => [o.name, xs[i]!]));
    expect(relErr(named(got), named(ref.map((t) => t.data))).value).toBeLessThan(TOL);
  });

  it('(b, c) symbolic gradients on tfjs equal the reference symbolic gradients', () => {
    const onTf = gradsOf(training, runTf(training, feeds));
    const ref = gradsOf(training, evaluateGraph(training, feeds));
    const r = relErr(onTf, ref);
    expect(r.value, r.err).toBeLessThan(TOL);
  });

  it('tf.grads, which cannot see the gate, differs when a gate is 0 and agrees when all are 1', () => {
    const symbolic = gradsOf(training, runTf(training, feeds));
    const auto = tfAutodiff(forward, feeds);
    // The recurrence's own parameters lose the paths through the cut steps.
    expect(relErr(symbolic, auto).value).toBeGreaterThan(1e-2);
    // The output layer is outside the recurrence: its gradient is untouched.
    const outLayer = (m: Named): Named => new Map([...m].filter(([k]) => k.startsWith('o.')));
    expect(relErr(outLayer(symbolic), outLayer(auto)).value).toBeLessThan(TOL);

    const open = randomFeeds(model, forward, { lengths: LENGTHS, seed: 9 }).map(rounded);
    const r = relErr(gradsOf(training, runTf(training, open)), tfAutodiff(forward, open));
    expect(r.value, r.err).toBeLessThan(TOL);
  });
});
