// The async twins of an emitted module's reading functions (forwardAsync,
// lossAsync, gradientsAsync, trainStepAsync, saveParamsAsync, decodeAsync,
// decoderStepAsync, beamSearchAsync: compiler/codegen/module-parts.ts
// readingFns). On cpu they give exactly what the synchronous functions give,
// with the same checks and no tensor left behind; on webgpu (where Node.js
// has no synchronous reads) the same module, unchanged, trains and decodes
// like cpu within float32 tolerances, its fused groups as its own shaders. Without a WebGPU adapter the webgpu
// part is skipped and says why (on CI: Mesa's lavapipe, README "Set-up").
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countGpuDispatches } from '../../bench/measure.js';
import { useWebgpu, webgpuAdapter } from '../../runtime/backend.js';
import { attentionSeq2seq, tokenLm } from '../helpers/programs.js';
import { compileText, writeGenerated } from './helpers.js';

type Tensors = Readonly<Record<string, tf.Tensor>>;
type Json = Record<string, { shape: number[]; data: number[] }>;
type Inputs = Record<string, unknown>;
type Decoded = { tokens: number[]; logProb: number; attention?: Record<string, number[][]> };
type Windows = { loss: number; grads: Tensors } | { windows: { loss: number; grads: Tensors }[] };
type Step = { params: Tensors; optimizer: Record<string, unknown>; loss: number };

/** What the test calls of an emitted module, sync and async. */
interface Module {
  initParams(seed: number): Tensors;
  disposeParams(p: Tensors): void;
  disposeState(s: Tensors): void;
  initOptimizer(p: Tensors): Record<string, unknown>;
  disposeOptimizer(o: Record<string, unknown>): void;
  forward(p: Tensors, inputs: Inputs): { outputs: Tensors; state: Tensors };
  forwardAsync(p: Tensors, inputs: Inputs): Promise<{ outputs: Tensors; state: Tensors }>;
  loss(p: Tensors, inputs: Inputs, targets: Inputs): number;
  lossAsync(p: Tensors, inputs: Inputs, targets: Inputs): Promise<number>;
  gradients(p: Tensors, inputs: Inputs, targets: Inputs): Windows;
  gradientsAsync(p: Tensors, inputs: Inputs, targets: Inputs): Promise<Windows>;
  trainStep(p: Tensors, o: Record<string, unknown>, inputs: Inputs, targets: Inputs): Step;
  trainStepAsync(p: Tensors, o: Record<string, unknown>, inputs: Inputs, targets: Inputs): Promise<Step>;
  saveParams(p: Tensors): Json;
  saveParamsAsync(p: Tensors): Promise<Json>;
  decode?(p: Tensors, inputs: Inputs, options?: { maxLen?: number; attention?: boolean }): Decoded[];
  decodeAsync?(p: Tensors, inputs: Inputs, options?: { maxLen?: number; attention?: boolean }): Promise<Decoded[]>;
  beamSearch?(p: Tensors, inputs: Inputs, options?: { width?: number; maxLen?: number }): Decoded[];
  beamSearchAsync?(p: Tensors, inputs: Inputs, options?: { width?: number; maxLen?: number }): Promise<Decoded[]>;
  decoderStep?(p: Tensors, inputs: Inputs, rows: readonly { source: number; tokens: readonly number[] }[]): Float32Array[];
  decoderStepAsync?(p: Tensors, inputs: Inputs, rows: readonly { source: number; tokens: readonly number[] }[]): Promise<Float32Array[]>;
}

const DIR = fileURLToPath(new URL('../.generated-async/', import.meta.url));
const PROGRAMS = {
  // Truncated BPTT: a loss read per window, the batch and states held across the reads.
  lm: tokenLm('h = lstm(e) with H', { V: 6, H: 4, E: 3, after: 'train m { optimizer adam(lr = 0.05); clip norm 1.0; bptt truncated(k1 = 2, k2 = 3) }' }),
  // Full BPTT, a decoder that writes targets of its own length with attention: decode, beam search, decoderStep.
  seq2seq: attentionSeq2seq('additive', {}, 'train m { optimizer adam(lr = 0.05) }'),
};
const mods: Partial<Record<keyof typeof PROGRAMS, Module>> = {};

beforeAll(async () => {
  rmSync(DIR, { recursive: true, force: true });
  for (const [name, text] of Object.entries(PROGRAMS)) {
    const path = writeGenerated(name, (await compileText(text)).code, DIR);
    mods[name as keyof typeof PROGRAMS] = (await import(pathToFileURL(path).href)) as Module;
  }
  await tf.setBackend('cpu');
});

/** A batch of the LM: 3 sequences of up to 7 tokens of 6, padded. */
function lmBatch(): { inputs: Inputs; targets: Inputs } {
  const ids = (k: number): number[] => Array.from({ length: 21 }, (_, i) => (i * 5 + k) % 6);
  return { inputs: { x: tf.tensor2d(ids(1), [3, 7], 'int32'), lengths: [7, 5, 6] }, targets: { y: tf.tensor2d(ids(2), [3, 7], 'int32') } };
}

/** A batch of the seq2seq model: 3 sources of up to 5 tokens, targets of up to 6. */
function seqBatch(): { inputs: Inputs; targets: Inputs } {
  const ids = (n: number, k: number): number[] => Array.from({ length: n }, (_, i) => (i * 7 + k) % 6);
  return {
    inputs: { src: tf.tensor2d(ids(15, 1), [3, 5], 'int32'), lengths: [5, 3, 4] },
    targets: { tgt: tf.tensor2d(ids(18, 4), [3, 6], 'int32'), lengths: [6, 4, 5] },
  };
}

const gradsOf = (g: Windows): Tensors[] => ('windows' in g ? g.windows.map((w) => w.grads) : [g.grads]);
const lossesOf = (g: Windows): number[] => ('windows' in g ? g.windows.map((w) => w.loss) : [g.loss]);
const jsonOf = async (ts: readonly Tensors[]): Promise<Record<string, number[]>[]> =>
  Promise.all(ts.map(async (t) => Object.fromEntries(await Promise.all(Object.entries(t).map(async ([k, v]) => [k, [...(await v.data())]] as const)))));

/** Five training steps from seed 3, synchronous or not; the final parameters as JSON and the losses. */
async function train(mod: Module, batch: { inputs: Inputs; targets: Inputs }, async: boolean, counts?: number[]): Promise<{ losses: number[]; params: Json }> {
  let p = mod.initParams(3);
  let o = mod.initOptimizer(p);
  const losses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = async ? await mod.trainStepAsync(p, o, batch.inputs, batch.targets) : mod.trainStep(p, o, batch.inputs, batch.targets);
    ({ params: p, optimizer: o } = r);
    losses.push(r.loss);
    counts?.push(tf.memory().numTensors);
  }
  const params = async ? await mod.saveParamsAsync(p) : mod.saveParams(p);
  mod.disposeParams(p);
  mod.disposeOptimizer(o);
  return { losses, params };
}

describe('async twins of an emitted module, on cpu', () => {
  it('the LM (truncated BPTT): forward, loss, gradients per window, training and saved parameters as the synchronous functions give, bit for bit', async () => {
    const mod = mods.lm!;
    const batch = lmBatch();
    const p = mod.initParams(1);
    const f = mod.forward(p, batch.inputs);
    const fa = await mod.forwardAsync(p, batch.inputs);
    expect(await jsonOf([fa.outputs, fa.state])).toEqual(await jsonOf([f.outputs, f.state]));
    for (const r of [f, fa]) tf.dispose([...Object.values(r.outputs), ...Object.values(r.state)]);
    expect(await mod.lossAsync(p, batch.inputs, batch.targets)).toBe(mod.loss(p, batch.inputs, batch.targets));
    const g = mod.gradients(p, batch.inputs, batch.targets);
    const ga = await mod.gradientsAsync(p, batch.inputs, batch.targets);
    expect(lossesOf(ga)).toEqual(lossesOf(g));
    expect(lossesOf(g).length).toBeGreaterThan(1);
    expect(await jsonOf(gradsOf(ga))).toEqual(await jsonOf(gradsOf(g)));
    [...gradsOf(g), ...gradsOf(ga)].forEach((t) => mod.disposeParams(t));
    const counts: number[] = [];
    const sync = await train(mod, batch, false);
    const before = tf.memory().numTensors;
    const async = await train(mod, batch, true, counts);
    expect(async).toEqual(sync);
    // No tensor left behind by the async steps: the count is the same after each (params and optimizer replaced).
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    mod.disposeParams(p);
  });

  it('the seq2seq model: decode, beam search, decoderStep and training as the synchronous functions give', async () => {
    const mod = mods.seq2seq!;
    const batch = seqBatch();
    const p = mod.initParams(2);
    const options = { maxLen: 6, attention: true };
    expect(await mod.decodeAsync!(p, batch.inputs, options)).toEqual(mod.decode!(p, batch.inputs, options));
    expect(await mod.beamSearchAsync!(p, batch.inputs, { width: 3, maxLen: 6 })).toEqual(mod.beamSearch!(p, batch.inputs, { width: 3, maxLen: 6 }));
    const rows = [{ source: 0, tokens: [1, 2] }, { source: 2, tokens: [] }];
    expect(await mod.decoderStepAsync!(p, batch.inputs, rows)).toEqual(mod.decoderStep!(p, batch.inputs, rows));
    expect(await train(mod, batch, true)).toEqual(await train(mod, batch, false));
    mod.disposeParams(p);
  });

  it('check the inputs with the same errors, token ids included (read back)', async () => {
    const mod = mods.lm!;
    const p = mod.initParams(1);
    const late = tf.tensor2d([[1, 1, 1], [1, 1, 9]], [2, 3], 'int32');
    const message = 'inputs.x: token id 9 (example 1, step 2) is outside [0, 6)';
    expect(() => mod.forward(p, { x: late })).toThrow(message);
    await expect(mod.forwardAsync(p, { x: late })).rejects.toThrow(message);
    await expect(mod.lossAsync(p, { x: tf.zeros([2, 3], 'int32') }, { y: late })).rejects.toThrow('targets.y: token id 9 (example 1, step 2) is outside [0, 6)');
    await expect(mod.trainStepAsync(p, mod.initOptimizer(p), { x: tf.zeros([2, 3], 'int32') }, { y: tf.zeros([3, 3], 'int32') })).rejects.toThrow(
      'targets.y has batch size 3 but inputs.x has 2',
    );
    mod.disposeParams(p);
  });
});

const probe = await webgpuAdapter();
const skip = typeof probe === 'string' ? probe : undefined;
if (skip !== undefined) console.log(`webgpu part skipped: ${skip}`);

/** Largest difference relative to the scale of the values (1e-3 at least). */
function relDiff(a: readonly number[], b: readonly number[]): number {
  const scale = Math.max(1e-3, ...b.map(Math.abs));
  return Math.max(0, ...a.map((x, i) => Math.abs(x - b[i]!) / scale));
}

describe.skipIf(skip !== undefined)('the same module, unchanged, on webgpu (async reads)', () => {
  const TOL = 1e-4;
  afterAll(async () => {
    tf.env().set('WEBGPU_CPU_FORWARD', true);
    await tf.setBackend('cpu');
  });

  it('trains the LM (truncated BPTT) as on cpu: losses, gradients and parameters after 5 steps', async () => {
    const mod = mods.lm!;
    await tf.setBackend('cpu');
    const onCpu = { g: mod.gradients(mod.initParams(1), lmBatch().inputs, lmBatch().targets), run: await train(mod, lmBatch(), false) };
    const cpuGrads = await jsonOf(gradsOf(onCpu.g));
    await useWebgpu();
    // Every kernel on the GPU (small tensors would otherwise run on tfjs's cpu kernels).
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    expect(tf.getBackend()).toBe('webgpu');
    const batch = lmBatch();
    const p = mod.initParams(1);
    const g = await mod.gradientsAsync(p, batch.inputs, batch.targets);
    expect(relDiff(lossesOf(g), lossesOf(onCpu.g))).toBeLessThan(TOL);
    const grads = await jsonOf(gradsOf(g));
    grads.forEach((w, i) => Object.entries(w).forEach(([k, v]) => expect(relDiff(v, cpuGrads[i]![k]!), k).toBeLessThan(TOL)));
    // The module's fused groups and Adam's update run as its own generated shaders (the text of runtime/tfjs/webgpu-fused.ts it
    // carries): dispatches that are not tfjs programs. A step of the LSTM forward and one backward are a shader each at least.
    const { dispatches, programs } = (await countGpuDispatches(async () => {
      const o = mod.initOptimizer(p);
      const r = await mod.trainStepAsync(mod.initParams(1), o, batch.inputs, batch.targets);
      mod.disposeParams(r.params);
      mod.disposeOptimizer(r.optimizer);
    }))!;
    console.log(`compiled LM module, one trainStepAsync on webgpu: ${dispatches} dispatches, ${programs} of them tfjs programs`);
    expect(dispatches - programs).toBeGreaterThanOrEqual(2 * 7);
    const run = await train(mod, batch, true);
    expect(relDiff(run.losses, onCpu.run.losses)).toBeLessThan(TOL);
    for (const [k, v] of Object.entries(run.params)) expect(relDiff(v.data, onCpu.run.params[k]!.data), k).toBeLessThan(TOL);
    // The synchronous functions say what to use instead (tfjs-webgpu reads synchronously only through an OffscreenCanvas).
    expect(() => mod.loss(p, batch.inputs, batch.targets)).toThrow(/^loss reads tensors back synchronously, which the webgpu backend cannot do here \(.*OffscreenCanvas.*\): use lossAsync$/);
    // A failed synchronous call leaves nothing behind (here its ids are read at once from the host, then its loss fails).
    const fresh = lmBatch();
    const o = mod.initOptimizer(p);
    const before = tf.memory().numTensors;
    expect(() => mod.trainStep(p, o, fresh.inputs, fresh.targets)).toThrow(/use trainStepAsync$/);
    expect(() => mod.gradients(p, fresh.inputs, fresh.targets)).toThrow(/use gradientsAsync$/);
    expect(tf.memory().numTensors).toBe(before);
    mod.disposeOptimizer(o);
    mod.disposeParams(p);
  });

  it('decodes the seq2seq model as on cpu: greedy, beam search and decoderStep', async () => {
    const mod = mods.seq2seq!;
    await tf.setBackend('cpu');
    const p0 = mod.initParams(2);
    const options = { maxLen: 6, attention: true };
    const rows = [{ source: 0, tokens: [1, 2] }, { source: 2, tokens: [] }];
    const cpu = { greedy: mod.decode!(p0, seqBatch().inputs, options), beam: mod.beamSearch!(p0, seqBatch().inputs, { width: 3, maxLen: 6 }), step: mod.decoderStep!(p0, seqBatch().inputs, rows), json: mod.saveParams(p0) };
    await useWebgpu();
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    const p = mod.initParams(2);
    const inputs = seqBatch().inputs;
    const greedy = await mod.decodeAsync!(p, inputs, options);
    const beam = await mod.beamSearchAsync!(p, inputs, { width: 3, maxLen: 6 });
    expect(greedy.map((d) => d.tokens)).toEqual(cpu.greedy.map((d) => d.tokens));
    expect(relDiff(greedy.map((d) => d.logProb), cpu.greedy.map((d) => d.logProb))).toBeLessThan(TOL);
    greedy.forEach((d, i) => {
      expect(Object.keys(d.attention!)).toEqual(Object.keys(cpu.greedy[i]!.attention!));
      for (const [name, w] of Object.entries(d.attention!)) expect(relDiff(w.flat(), cpu.greedy[i]!.attention![name]!.flat()), name).toBeLessThan(TOL);
    });
    expect(beam.map((d) => d.tokens)).toEqual(cpu.beam.map((d) => d.tokens));
    const step = await mod.decoderStepAsync!(p, inputs, rows);
    step.forEach((s, i) => expect(relDiff([...s], [...cpu.step[i]!])).toBeLessThan(TOL));
    expect(await mod.saveParamsAsync(p)).toEqual(cpu.json);
    mod.disposeParams(p);
  });
});
