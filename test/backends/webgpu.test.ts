// The webgpu backend (tfjs-backend-webgpu through Dawn, the optional package
// `webgpu`) executes rnnc's graphs like the float64 reference (ARCHITECTURE.md
// rule 5): forward outputs and symbolic gradients, optimised (fused groups
// run op by op there) and not, for every standard cell, a cell of the
// user's, a bidirectional tagger, attention, a decoder and a convolutional
// captioner. Results are read with `await data()`: the webgpu backend has no
// synchronous reads in Node.js. Without a GPU this runs on Mesa's lavapipe
// (software Vulkan; README "Backends"); where no adapter exists at all the
// tests are skipped and say why.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import type { Graph } from '../../compiler/ir/types.js';
import { useWebgpu, webgpuAdapter } from '../../runtime/backend.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import type { Tensor64 } from '../../runtime/reference/tensor.js';
import { executeGraph } from '../../runtime/tfjs/execute.js';
import { compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { attentionSeq2seq, attentionTagger, bidirectionalTagger, manyToOneGru, tokenLm, visualCaptioner } from '../helpers/programs.js';

const probe = await webgpuAdapter();
const skip = typeof probe === 'string' ? probe : undefined;
if (skip !== undefined) console.log(`webgpu tests skipped: ${skip}`);
else console.log(`webgpu adapter: ${[probe.info.vendor, probe.info.architecture, probe.info.description].filter((x) => x).join(' ')}`);

const CUSTOM = `
cell peephole(x: [X]) -> h: [H] {
  param W: [H, X] = glorot
  param U: [H, H] = orthogonal
  param p: [H] = zeros
  param b: [H] = zeros
  c[t] = sigmoid(W @ x[t] + U @ h[t-1] + p * c[t-1] + b) * softplus(c[t-1]) + tanh(W @ x[t])
  h[t] = tanh(c[t]) * sigmoid(U @ h[t-1])
}
model m {
  dim V = 5, H = 3
  input  x: seq<token[V]>
  target y: seq<token[V]>
  h = peephole(embed(x, 4)) with H
  loss = cross_entropy(dense(h, V), y)
}`;

const MODELS: Record<string, string> = {
  lstm: tokenLm('h = lstm(e) with H'),
  gru: tokenLm('h = gru(e) with H'),
  gru_ra: tokenLm('h = gru_ra(e) with H'),
  'rnn (relu)': tokenLm('h = rnn(e) with H, act = relu'),
  'a cell of the user\'s': CUSTOM,
  'bidirectional tagger': bidirectionalTagger('gru'),
  'many-to-one mse': manyToOneGru(),
  'attention (additive)': attentionTagger('attend(h[t-1], mem, additive)'),
  'attention decoder': attentionSeq2seq(),
  'convolutional captioner': visualCaptioner(),
};
const TOL = 1e-4;

const toTf = (t: Tensor64): tf.Tensor =>
  t.dtype === 'i32' ? tf.tensor(Int32Array.from(t.data), [...t.shape], 'int32') : tf.tensor(Float32Array.from(t.data), [...t.shape], 'float32');
const rounded = (t: Tensor64): Tensor64 => ({ ...t, data: t.data.map((v) => Math.fround(v)) });

/** Runs g on the active backend and reads every output back asynchronously (nothing kept). */
async function runAsync(g: Graph, feeds: readonly Tensor64[]): Promise<Float64Array[]> {
  const ins = feeds.map(toTf);
  const outs = tf.tidy(() => executeGraph(g, ins));
  const data = await Promise.all(outs.map(async (t) => Float64Array.from(await t.data())));
  tf.dispose([...outs, ...ins]);
  return data;
}

/** Worst of max |a - b| / max |b| over the outputs (b: the reference). */
function worst(g: Graph, a: readonly Float64Array[], b: readonly Float64Array[]): { name: string; value: number } {
  let out = { name: '', value: 0 };
  g.outputs.forEach((o, i) => {
    const x = a[i]!;
    const y = b[i]!;
    expect(x.length, o.name).toBe(y.length);
    let diff = 0;
    let scale = 0;
    y.forEach((v, k) => {
      diff = Math.max(diff, Math.abs(x[k]! - v));
      scale = Math.max(scale, Math.abs(v));
    });
    const rel = diff / Math.max(scale, 1e-6);
    if (rel > out.value) out = { name: `${o.role}:${o.name}`, value: rel };
  });
  return out;
}

describe.skipIf(skip !== undefined)('webgpu executes graphs like the float64 reference', () => {
  let before = 'cpu';
  afterAll(async () => {
    tf.env().set('WEBGPU_CPU_FORWARD', true);
    await tf.setBackend(before);
  });

  it('starts (a self-test matMul read back)', async () => {
    before = tf.getBackend() ?? 'cpu';
    const info = await useWebgpu();
    // Every kernel on the GPU: small inputs still on the host would otherwise run on tfjs's cpu kernels.
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    expect(tf.getBackend()).toBe('webgpu');
    expect(typeof info).toBe('object');
  });

  for (const [name, text] of Object.entries(MODELS)) {
    for (const optimize of [true, false]) {
      it(`${name}, ${optimize ? 'optimised' : 'unoptimised'}: forward outputs and symbolic gradients`, async () => {
        expect(tf.getBackend()).toBe('webgpu');
        const model = compileModel(text);
        const { forward, training } = trainingGraphs(model, false, { optimize });
        const feeds = randomFeeds(model, forward, { lengths: [5, 3, 4], seed: 5, randomState: true }).map(rounded);
        for (const g of [forward, training]) {
          const got = await runAsync(g, feeds);
          const ref = evaluateGraph(g, feeds).map((t) => t.data);
          const w = worst(g, got, ref);
          expect(w.value, w.name).toBeLessThan(TOL);
        }
      });
    }
  }

  it('a truncated-BPTT training graph (with its gradient gate)', async () => {
    const model = compileModel(tokenLm('h = lstm(e) with H'));
    const { forward, training } = trainingGraphs(model, true);
    const gate = [0, 0, 1, 1, 1];
    const feeds = randomFeeds(model, forward, { lengths: [5, 3, 4], seed: 9, gate }).map(rounded);
    const got = await runAsync(training, feeds);
    const w = worst(training, got, evaluateGraph(training, feeds).map((t) => t.data));
    expect(w.value, w.name).toBeLessThan(TOL);
  });
});
