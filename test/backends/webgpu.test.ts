// The webgpu backend (tfjs-backend-webgpu through Dawn, the optional package
// `webgpu`) executes rnnc's graphs like the float64 reference (ARCHITECTURE.md
// rule 5): forward outputs and symbolic gradients, optimised (fused groups
// run op by op there) and not, for every standard cell, a cell of the
// user's, a bidirectional tagger, attention, a decoder and a convolutional
// captioner. Results are read with `await data()`: the webgpu backend has no
// synchronous reads in Node.js. Without a GPU this runs on Mesa's lavapipe
// (software Vulkan; README "Set-up"); where no adapter exists at all the
// tests are skipped and say why.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { decodingFor, trainingGraphs } from '../../compiler/compile.js';
import type { Graph } from '../../compiler/ir/types.js';
import { countGpuDispatches } from '../../bench/measure.js';
import { selectBackend, useWebgpu, webgpuAdapter } from '../../runtime/backend.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import type { Tensor64 } from '../../runtime/reference/tensor.js';
import { ELEMENTWISE_OPS } from '../../compiler/ir/elementwise.js';
import type { FusedBody } from '../../compiler/ir/types.js';
import { executeGraph } from '../../runtime/tfjs/execute.js';
import { fused } from '../../runtime/tfjs/portable-ops.js';
import { fusedDispatches, fusedOnWebgpu, setWebgpuFusion } from '../../runtime/tfjs/webgpu-fused.js';
import { fusedBodyOf } from '../ir/fused-body.js';
import { analyzeText, compileModel } from '../helpers/compile.js';
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
    // Optimised as the session runs on webgpu (gate products joined: src/new-session.ts), as on other backends, and not at all.
    for (const variant of ['optimised, gates joined', 'optimised', 'unoptimised'] as const) {
      it(`${name}, ${variant}: forward outputs and symbolic gradients`, async () => {
        expect(tf.getBackend()).toBe('webgpu');
        const model = compileModel(text);
        const { forward, training } = trainingGraphs(model, false, { optimize: variant !== 'unoptimised', joinGates: variant === 'optimised, gates joined' });
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

  it("every element-wise op's WGSL (compiler/ir/elementwise.ts), in a fused kernel, matches its float64 reference", async () => {
    // Large magnitudes check overflow (tanh, sigmoid, softplus, exp to infinity); log and sqrt read positive values.
    const signed = [-30, -2.5, -0.75, -0.1, 0, 0.1, 0.6, 1.5, 3, 30];
    const positive = [0.05, 0.3, 0.9, 1, 2.5, 7, 40, 0.01, 3.3, 12];
    for (const e of ELEMENTWISE_OPS) {
      const a = e.name === 'log' || e.name === 'sqrt' ? positive : signed;
      // A binary op reads its second operand broadcast along the rows ([2, 5] against [5]), never zero (div).
      const b = [1.5, -0.5, 2, 0.25, -3];
      const body = fusedBodyOf(e.arity === 1 ? `${e.name}:i0${e.attr ? `,${e.attr.default}` : ''}` : `${e.name}:i0,i1`, [0]);
      const ins = e.arity === 1 ? [tf.tensor(a, [2, 5])] : [tf.tensor(a, [2, 5]), tf.tensor(b, [5])];
      const outs = fusedOnWebgpu(body, ins);
      expect(outs, `${e.name} ran as a kernel`).not.toBeNull();
      const got = await outs![0]!.data();
      tf.dispose([...ins, ...outs!]);
      a.forEach((x, i) => {
        const want = Math.fround(e.f64(Math.fround(x), e.arity === 1 ? (e.attr?.default ?? 0) : Math.fround(b[i % 5]!)));
        const diff = Math.abs(got[i]! - want);
        expect(Number.isFinite(want) ? diff <= 1e-5 * Math.max(1, Math.abs(want)) : got[i] === want, `${e.name}(${x}): ${got[i]} vs ${want}`).toBe(true);
      });
    }
  });

  it('a fused kernel reads every broadcast and window as the op-by-op path does, and writes every output', async () => {
    const f = (...shape: number[]): tf.Tensor => tf.tensor(Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(1.3 * i + shape.length) * 1.5), shape);
    const cases: { body: FusedBody; inputs: tf.Tensor[]; windows?: number[] }[] = [
      // Scalars, a trailing block [3], leading axes [2, 1] and the whole [2, 3]; three outputs.
      { body: fusedBodyOf('add:i0,i2;tanh:t0;mul:t1,i1;sigmoid:i3;add:t3,t2;leaky_relu:t4,0.2', [2, 4, 5]), inputs: [f(2, 3), f(), f(3), f(2, 1)] },
      // Columns of a wider input (a gate of a joined product) and a window of the other.
      { body: fusedBodyOf('add:i0,i1;tanh:t0;mul:t1,i2', [2, 0]), inputs: [f(2, 6), f(3), f(2, 5)], windows: [3, 3, -1, -1, 1, 3] },
      // Float tensors cast from int32 and bool: tfjs keeps their integer buffers (reads must convert them).
      {
        body: fusedBodyOf('mul:i0,i1;add:i2,t0;sub:t1,i3', [2]),
        inputs: [tf.cast(tf.tensor([[1], [0]], [2, 1], 'int32'), 'float32'), f(3), f(2, 3), tf.cast(tf.greater(f(2, 3), 0), 'float32')],
      },
      // Rank 4 with a middle axis of 1 (tfjs's own webgpu binary kernels fail to compile broadcasts of rank 6).
      { body: fusedBodyOf('mul:i0,i1;exp:t0', [1]), inputs: [f(2, 1, 2, 3), f(3)] },
    ];
    for (const c of cases) {
      const mine = fusedOnWebgpu(c.body, c.inputs, c.windows);
      expect(mine).not.toBeNull();
      // Read before the op-by-op path runs: a failing tfjs kernel invalidates the whole submission it is in.
      const got = await Promise.all(mine!.map((t) => t.data()));
      const ops = fused(c.body, c.inputs, c.windows);
      expect(mine!.map((t) => t.shape)).toEqual(ops.map((t) => t.shape));
      for (let k = 0; k < ops.length; k++) {
        const [x, y] = [got[k]!, await ops[k]!.data()];
        y.forEach((v, i) => expect(Math.abs(x[i]! - v), `case ${cases.indexOf(c)}, output ${k}, element ${i}: ${x[i]} vs ${v}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))));
      }
      tf.dispose([...c.inputs, ...mine!, ...ops]);
    }
  });

  it('fused groups cut the GPU dispatches of a training step and give the same numbers', async () => {
    try {
      const figures: string[] = [];
      for (const [name, text] of [['lstm', tokenLm('h = lstm(e) with H')], ['gru', tokenLm('h = gru(e) with H')], ["a cell of the user's", CUSTOM]] as const) {
        const model = compileModel(text);
        const plain = trainingGraphs(model, false);
        const { forward } = plain;
        const feeds = randomFeeds(model, forward, { lengths: [5, 3, 4], seed: 5, randomState: true }).map(rounded);
        const counted: number[] = [];
        const results: Float64Array[][] = [];
        // Op by op, fused, and fused with the gate products joined (what the session runs on webgpu).
        for (const [on, training] of [[false, plain.training], [true, plain.training], [true, trainingGraphs(model, false, { joinGates: true }).training]] as const) {
          setWebgpuFusion(on);
          await runAsync(training, feeds); // compiles the shaders
          // Every dispatch, tfjs's programs and rnnc's own shaders (fusedDispatches counts those alone).
          const own = fusedDispatches();
          const n = (await countGpuDispatches(async () => results.push(await runAsync(training, feeds))))!;
          expect(n.dispatches - n.programs).toBe(fusedDispatches() - own);
          counted.push(n.dispatches);
        }
        for (const k of [1, 2]) {
          const w = worst(plain.training, results[k]!, results[0]!);
          expect(w.value, w.name).toBeLessThan(1e-5);
        }
        expect(counted[1]!, name).toBeLessThan(counted[0]!);
        expect(counted[2]!, name).toBeLessThanOrEqual(counted[1]!);
        figures.push(`${name} ${counted[0]} -> ${counted[1]} -> ${counted[2]}`);
      }
      console.log(`webgpu dispatches per training step (T 5, op by op -> fused -> gates joined): ${figures.join(', ')}`);
    } finally {
      setWebgpuFusion(true);
    }
  });

  it('a decoder reading back its own greedy choices (masks made on the GPU from its tokens), gates joined or not', async () => {
    const text = attentionSeq2seq();
    const taught = compileModel(text);
    const own = decodingFor(analyzeText(text), taught)!.model;
    for (const joinGates of [false, true]) {
      const { forward } = trainingGraphs(own, false, { joinGates });
      const feeds = randomFeeds(own, forward, { lengths: [5, 3, 4], seed: 7, randomState: true }).map(rounded);
      const got = await runAsync(forward, feeds);
      const w = worst(forward, got, evaluateGraph(forward, feeds).map((t) => t.data));
      expect(w.value, w.name).toBeLessThan(TOL);
    }
  });

  it('the automatic choice takes webgpu where the adapter is a hardware one (this software one stands in for it)', async () => {
    const asHardware = { deviceNodes: async () => ['/dev/nvidia0'], adapter: async () => ({ info: (probe as Exclude<typeof probe, string>).info, software: false }) };
    const chosen = await selectBackend(undefined, undefined, asHardware);
    expect(chosen.name).toBe('webgpu');
    expect(chosen.reason).toMatch(/adapter \S/);
    expect(tf.getBackend()).toBe('webgpu');
    // A command that cannot run on webgpu passes it over.
    expect((await selectBackend(undefined, { name: 'webgpu', why: 'test' }, asHardware)).name).not.toBe('webgpu');
    await useWebgpu();
    tf.env().set('WEBGPU_CPU_FORWARD', false);
  });

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
