// A training session: a compiled model's graphs, its parameters as tfjs
// variables, and the optimizer. Executes the forward graph, and the
// derived training graph (the symbolic backward, never tfjs's autodiff),
// then clipping and the optimizer update. Full BPTT is one update per batch;
// truncated BPTT one per window (windows.ts). Every tensor made for a batch
// is released before the next one, so memory stays flat.
import * as tf from '@tensorflow/tfjs-core';
import type { Graph } from '../../compiler/ir/types.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import type { TrainConfig } from '../../compiler/sema/train.js';
import type { Checkpoint } from '../checkpoint.js';
import { CHECKPOINT_VERSION } from '../checkpoint.js';
import type { Batch, HostTensor } from '../data/types.js';
import { initValues } from '../init.js';
import { RuntimeUserError } from '../io.js';
import { Rng } from '../rng.js';
import { dropoutDraws, feedProbability, feedRandomness } from './feed-schedule.js';
import { executeGraph } from '../tfjs/execute.js';
import { joinedTranspose } from '../tfjs/portable-ops.js';
import { resolveShape } from '../shape-binding.js';
import { clipByGlobalNorm, clipByValue } from './clip.js';
import { createOptimizer, type Optimizer, type OptimizerState, type TensorJson } from './optimizers.js';
import { makeSchedule } from './schedules.js';
import { lossCount, planFeeds, type FeedOptions } from './feeds.js';
import { runWindows } from './window-runner.js';
import type { GradientExchange } from './shared-gradients.js';

export interface SessionGraphs extends GraphSet {
  /** The same graphs specialised to batches without padding (compiler passes/assume-full-mask.ts), used when a batch's mask is all ones. */
  readonly unpadded?: GraphSet;
}

export interface GraphSet {
  /** The forward graph the training graph was derived from (with a `gate` input when truncated). */
  readonly forward: Graph;
  readonly training: Graph;
  /** The untruncated forward graph: evaluation. */
  readonly inference: Graph;
  /** The untruncated forward graph without its loss: sampling, streaming. */
  readonly predict: Graph;
}

/**
 * Inputs of role `derived` are named `transpose:<param>` (compiler/ir/types.ts):
 * the transpose of a parameter, made here once per optimizer step; or
 * `transpose:P1+P2+...`, the transposes of several side by side.
 */
const TRANSPOSE_PREFIX = 'transpose:';
const JOINED_SEPARATOR = '+';

export interface BatchResult {
  /** Mean loss over the positions that counted. */
  readonly loss: number;
  /** How many positions (or sequences) counted. */
  readonly count: number;
  /** Optimizer updates made (windows under truncated BPTT). */
  readonly updates: number;
  /** True when the loss was NaN or infinite: no update was applied. */
  readonly nonFinite: boolean;
  /** The learning rate of the batch's last update, and the global norm of its gradients before clipping. */
  readonly lr?: number;
  readonly gradNorm?: number;
}

export interface EvalResult {
  readonly loss: number;
  readonly count: number;
  /** Argmax accuracy over counted positions, for token targets. */
  readonly accuracy?: number;
  /** For sequences of token targets: the share of sequences whose every real position is right (exact match). */
  readonly exact?: number;
  /** How many sequences `exact` counts. */
  readonly sequences?: number;
}

export interface SessionSnapshot {
  readonly params: Record<string, TensorJson>;
  readonly optimizer: OptimizerState;
}

type States = Map<string, tf.Tensor>;

interface Update {
  readonly loss: number;
  /** Positions counted in this update (over all replicas when data-parallel). */
  readonly count: number;
  readonly nonFinite: boolean;
  readonly grads: Map<string, tf.Tensor>;
  readonly states: States;
}

export class TrainingSession {
  readonly params = new Map<string, tf.Variable>();
  private readonly optimizer: Optimizer;
  private readonly bind: Record<string, number>;
  /** Transposed parameters, with the optimizer step they were made at. */
  private readonly derived = new Map<string, { step: number; value: tf.Tensor }>();
  private unreadPlaceholder: tf.Tensor | undefined;

  constructor(
    readonly model: LoweredModel,
    readonly config: TrainConfig,
    readonly graphs: SessionGraphs,
    /** Set in each replica of data-parallel training: gradients are averaged across replicas before every update. */
    private readonly exchange?: GradientExchange,
  ) {

    this.bind = {};
    for (const [k, v] of model.dims) if (typeof v === 'number') this.bind[k] = v;
    const numeric = (args: Readonly<Record<string, number | string>>, what: string): Record<string, number> => {
      const out: Record<string, number> = Object.create(null);
      for (const [k, v] of Object.entries(args)) {
        if (typeof v !== 'number') throw new RuntimeUserError(`${what}: argument ${k} must be a number`);
        out[k] = v;
      }
      return out;
    };
    const optArgs = numeric(config.optimizer.args, `optimizer ${config.optimizer.name}`);
    const lr = optArgs['lr'];
    const schedule = config.schedule
      ? makeSchedule({ name: config.schedule.name, args: numeric(config.schedule.args, `schedule ${config.schedule.name}`) }, lr ?? defaultLr(config.optimizer.name))
      : undefined;
    this.optimizer = createOptimizer({ name: config.optimizer.name, args: optArgs }, schedule);
  }

  get step(): number {
    return this.optimizer.stepCount();
  }

  /** The learning rate and gradient norm of the last update, for the log. */
  private lastUpdate(): { lr?: number; gradNorm?: number } {
    const lr = this.optimizer.lastLearningRate();
    return { ...(lr !== undefined ? { lr } : {}), ...(this.lastGradNorm !== undefined ? { gradNorm: this.lastGradNorm } : {}) };
  }

  /** Fresh parameters from their initialisers, seeded. */
  initParams(seed: number): void {
    const rng = new Rng(seed);
    for (const p of this.model.params) {
      const shape = resolveShape(p.shape, this.bind);
      const values = initValues(p.init.kind, p.init.args, p.init.positional, shape, rng.fork());
      this.setParam(p.name, shape, values);
    }
  }

  setParam(name: string, shape: readonly number[], values: ArrayLike<number>): void {
    this.dropDerived();
    const t = tf.tensor(Float32Array.from(values), [...shape], 'float32');
    const old = this.params.get(name);
    if (old) {
      old.assign(t);
      t.dispose();
    } else {
      this.params.set(name, tf.variable(t, true));
      t.dispose();
    }
  }

  /** Loads parameter values by name, checking names and shapes. */
  loadParams(values: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>, source: string): void {
    for (const p of this.model.params) {
      const v = values.get(p.name);
      const shape = resolveShape(p.shape, this.bind);
      if (!v) throw new RuntimeUserError(`${source}: parameter ${p.name} is missing`);
      if (v.shape.length !== shape.length || v.shape.some((d, i) => d !== shape[i])) {
        throw new RuntimeUserError(`${source}: parameter ${p.name} has shape [${v.shape.join(', ')}], the model needs [${shape.join(', ')}]`);
      }
      this.setParam(p.name, shape, v.data);
    }
    const known = new Set(this.model.params.map((p) => p.name));
    for (const k of values.keys()) {
      if (!known.has(k)) throw new RuntimeUserError(`${source}: the model has no parameter ${k}`);
    }
  }

  /** The parameters' values (read with `await t.data()`, as every read of the session: readScalar's comment). */
  async paramsJson(): Promise<Record<string, TensorJson>> {
    const out: Record<string, TensorJson> = Object.create(null);
    const names = [...this.params.keys()];
    const values = await Promise.all(names.map((n) => this.params.get(n)!.data()));
    names.forEach((name, i) => (out[name] = { shape: [...this.params.get(name)!.shape], data: Array.from(values[i]!) }));
    return out;
  }

  async checkpoint(position: { epoch: number; batchInEpoch: number }, rng: Rng, extra: Record<string, unknown>): Promise<Checkpoint> {
    const [params, optimizer] = await Promise.all([this.paramsJson(), this.optimizer.getState()]);
    return {
      version: CHECKPOINT_VERSION,
      model: this.model.name,
      step: this.step,
      epoch: position.epoch,
      batchInEpoch: position.batchInEpoch,
      params,
      optimizer,
      rng: rng.state(),
      extra,
    };
  }

  restore(ckpt: Checkpoint, source: string): void {
    if (ckpt.model !== this.model.name) {
      throw new RuntimeUserError(`${source} is a checkpoint of model ${ckpt.model}, not ${this.model.name}`);
    }
    this.restoreSnapshot(ckpt, source);
  }

  /** Parameters and optimizer state (with its step): everything replicas of data-parallel training share. */
  async snapshot(): Promise<SessionSnapshot> {
    const [params, optimizer] = await Promise.all([this.paramsJson(), this.optimizer.getState()]);
    return { params, optimizer };
  }

  restoreSnapshot(s: SessionSnapshot, source: string): void {
    this.loadParams(new Map(Object.entries(s.params)), source);
    this.optimizer.setState(s.optimizer);
  }

  // ------------------------------------------------------------------ feeding

  /** The unpadded variant when the batch (or window) has no padding, else the general graphs. */
  private graphsFor(batch: Batch): GraphSet {
    const unpadded = this.graphs.unpadded;
    if (!unpadded) return this.graphs;
    const m = batch.mask.data;
    for (let i = 0; i < m.length; i++) if (m[i] !== 1) return this.graphs;
    return unpadded;
  }

  /** The probability that a decoder reads the true token at the current update (1 without a `feed` setting). */
  teacherProbability(): number {
    return feedProbability(this.config.feed, this.step);
  }

  private feeds(g: Graph, batch: Batch, states: States | undefined, opts: FeedOptions = {}): tf.Tensor[] {
    const unread = unreadInputs(g);
    if (g.inputs.some((i) => i.name.startsWith('dropout:'))) {
      const [seed, step] = [this.config.seed, this.step];
      opts = { ...opts, dropout: (name, size) => dropoutDraws(seed, step, name, size) };
    }
    if (g.inputs.some((i) => i.name === 'feed_coin' || i.name === 'feed_draws')) {
      const steps = this.model.targetAxis !== undefined && batch.target ? batch.target.steps : batch.steps;
      opts = { ...opts, ...feedRandomness(this.config.seed, this.step, steps * batch.batchSize, this.teacherProbability()) };
    }
    return planFeeds(g, this.model, batch, opts).map((f, i) => {
      // An input the graph never reads (the targets and marks of a prediction graph) costs no tensor.
      if (unread.has(i)) return this.placeholder();
      switch (f.kind) {
        case 'param': {
          const p = this.params.get(f.name);
          if (!p) throw new Error(`internal: parameter ${f.name} has no value`);
          return p;
        }
        case 'derived':
          return this.derivedValue(f.name);
        case 'state':
          return states?.get(f.name) ?? tf.zeros([...f.shape]);
        case 'host':
          return toTensor(f.tensor);
      }
    });
  }

  /** What an unread graph input is fed: one scalar for the session's lifetime. */
  private placeholder(): tf.Tensor {
    this.unreadPlaceholder ??= tf.keep(tf.scalar(0));
    return this.unreadPlaceholder;
  }

  /** `transpose:<param>` (or `transpose:P1+P2+...`), made once per optimizer step (kept outside any tidy scope). */
  private derivedValue(name: string): tf.Tensor {
    const cached = this.derived.get(name);
    if (cached && cached.step === this.step) return cached.value;
    cached?.value.dispose();
    const params = name.slice(TRANSPOSE_PREFIX.length).split(JOINED_SEPARATOR).map((p) => this.params.get(p));
    if (!name.startsWith(TRANSPOSE_PREFIX) || params.some((p) => p === undefined)) throw new Error(`internal: no derived input ${name}`);
    const value = tf.keep(joinedTranspose(params as tf.Tensor[]));
    this.derived.set(name, { step: this.step, value });
    return value;
  }

  private dropDerived(): void {
    this.derived.forEach((d) => d.value.dispose());
    this.derived.clear();
  }

  // ------------------------------------------------------------------ training

  /** One batch: an update per batch (full BPTT) or per window (truncated). */
  trainBatch(batch: Batch): Promise<BatchResult> {
    return this.pass(batch, true);
  }

  /** Loss and gradients with the parameters held fixed: one entry, or one per truncated-BPTT window. */
  async gradients(batch: Batch): Promise<{ loss: number; grads: Map<string, tf.Tensor> }[]> {
    const out: { loss: number; grads: Map<string, tf.Tensor> }[] = [];
    await this.pass(batch, false, (loss, grads) => out.push({ loss, grads }));
    return out;
  }

  private async pass(batch: Batch, apply: boolean, keep?: (loss: number, grads: Map<string, tf.Tensor>) => void): Promise<BatchResult> {
    const bptt = this.config.bptt;
    const exchange = this.exchange;
    const applied = (r: { count: number; nonFinite: boolean }): boolean => apply && !r.nonFinite && r.count > 0;
    // One update: local loss and gradients, combined with the other replicas' when training data-parallel.
    const once = async (part: Batch, states: States | undefined, opts: FeedOptions, needStates: boolean): Promise<Update> => {
      const local = lossCount(this.model, part, opts.lossFrom ?? 0);
      let r: Update;
      if (!exchange) {
        r = { ...(await this.differentiate(part, states, opts)), count: local };
      } else {
        // A replica whose slice counts nothing in this update still takes part (with count 0) and moves its states on.
        const d = local > 0 ? await this.differentiate(part, states, opts) : undefined;
        const next = d?.states ?? (needStates ? this.advance(part, states) : new Map());
        const red = exchange.reduce(d ? { grads: d.grads, loss: d.loss, count: local } : { loss: 0, count: 0 });
        d?.grads.forEach((t) => t.dispose());
        r = { loss: red.loss, count: red.count, nonFinite: red.nonFinite, grads: red.grads ?? new Map(), states: next };
      }
      if (applied(r)) await this.applyGradients(r.grads);
      if (keep) keep(r.loss, r.grads);
      else r.grads.forEach((t) => t.dispose());
      return r;
    };
    if (bptt.kind === 'full') {
      const r = await once(batch, undefined, {}, false);
      r.states.forEach((t) => t.dispose());
      return { loss: r.loss, count: r.count, updates: applied(r) ? 1 : 0, nonFinite: r.nonFinite, ...this.lastUpdate() };
    }
    const { results } = await runWindows<States, { loss: number; count: number; nonFinite: boolean }>(batch, bptt.k1, bptt.k2, {
      advance: (part, states) => this.advance(part, states),
      window: async (part, states, gate, lossFrom) => {
        const r = await once(part, states, { gate, lossFrom }, true);
        return { result: { loss: r.loss, count: r.count, nonFinite: r.nonFinite }, states: r.states, stop: r.nonFinite };
      },
      // Data-parallel replicas cannot skip a window on their own slice's count: every replica must take part in every update.
      count: (part, lossFrom) => (exchange ? 1 : lossCount(this.model, part, lossFrom)),
      release: (states) => states.forEach((t) => t.dispose()),
    });
    const bad = results.find((r) => r.nonFinite);
    const total = results.reduce((a, r) => a + r.count, 0);
    const updates = results.filter(applied).length;
    if (bad) return { loss: bad.loss, count: total, updates, nonFinite: true };
    const loss = total > 0 ? results.reduce((acc, r) => acc + r.loss * r.count, 0) / total : 0;
    return { loss, count: total, updates, nonFinite: false, ...this.lastUpdate() };
  }

  /** Runs the forward graph over a batch part only to move the states on. */
  private advance(part: Batch, states: States | undefined): States {
    // A data-parallel replica whose slice of this batch is empty: nothing to run.
    if (part.batchSize === 0) return new Map();
    const g = this.graphsFor(part).forward;
    const outs = tf.tidy(() => executeGraph(g, this.feeds(g, part, states)));
    const next: States = new Map();
    g.outputs.forEach((o, i) => {
      if (o.role === 'state') next.set(o.name, outs[i]!);
      else outs[i]!.dispose();
    });
    return next;
  }

  /** The training graph on a batch (or window): loss, gradients and final states. */
  private async differentiate(part: Batch, states: States | undefined, opts: FeedOptions): Promise<{ loss: number; nonFinite: boolean; grads: Map<string, tf.Tensor>; states: States }> {
    const g = this.graphsFor(part).training;
    const outs = tf.tidy(() => executeGraph(g, this.feeds(g, part, states, opts)));
    const grads = new Map<string, tf.Tensor>();
    const next: States = new Map();
    let lossT: tf.Tensor | undefined;
    g.outputs.forEach((o, i) => {
      const t = outs[i]!;
      if (o.role === 'grad') grads.set(o.name.slice(2), t);
      else if (o.role === 'state') next.set(o.name, t);
      else if (o.role === 'loss') lossT = t;
      else t.dispose();
    });
    const loss = await readScalar(lossT!);
    lossT!.dispose();
    return { loss, nonFinite: !Number.isFinite(loss), grads, states: next };
  }

  private async applyGradients(grads: Map<string, tf.Tensor>): Promise<void> {
    let applied: Map<string, tf.Tensor> = grads;
    let norm: tf.Tensor | undefined;
    if (this.config.clip?.mode === 'norm') {
      const c = clipByGlobalNorm(grads, this.config.clip.value);
      applied = c.grads;
      norm = c.norm;
    } else if (this.config.clip?.mode === 'value') {
      applied = clipByValue(grads, this.config.clip.value);
    }
    // The global norm before clipping, for the log (clip norm computed it already).
    this.lastGradNorm = norm ? await readScalar(norm) : await globalNorm(grads);
    this.optimizer.apply(this.params, applied);
    if (applied !== grads) applied.forEach((t) => t.dispose());
    norm?.dispose();
  }

  /** The global norm of the last update's gradients, before clipping. */
  private lastGradNorm: number | undefined;

  // ------------------------------------------------------------------ evaluation

  /**
   * Loss (and accuracy for token targets, exact match for sequences of them)
   * over batches, with the untruncated forward graph, or with `graph`: the
   * same model lowered another way with the same parameters (a decoder
   * reading its own greedy choices).
   */
  async evaluate(batches: readonly Batch[], graph?: Graph): Promise<EvalResult> {
    // Accuracy compares the prediction with the target the loss scores it against (none for an autoencoder's input).
    const targetIndex = this.model.targets.findIndex((t) => t.name === this.model.lossTarget);
    const target = this.model.targets[targetIndex];
    const tokenTarget = target !== undefined && (target.type.kind === 'tokens' || target.type.kind === 'token');
    const tokenSeq = target?.type.kind === 'tokens' && this.model.lossPer === 'step';
    let lossSum = 0;
    let count = 0;
    let correct = 0;
    let sequences = 0;
    let exact = 0;
    for (const batch of batches) {
      const n = lossCount(this.model, batch);
      if (n === 0) continue;
      const g = graph ?? this.graphsFor(batch).inference;
      const lossIdx = g.outputs.findIndex((o) => o.role === 'loss');
      const predIdx = g.outputs.findIndex((o) => o.role === 'output');
      // Loss, right positions and exactly right sequences as one tensor, read at once.
      const figures = tf.tidy(() => {
        const outs = executeGraph(g, this.feeds(g, batch, undefined));
        const l = tf.reshape(outs[lossIdx]!, [1]);
        if (!tokenTarget) return l;
        const pred = tf.argMax(outs[predIdx]!, -1);
        const tgt = toTensor(batch.targets[targetIndex]!);
        const w = this.model.lossPer === 'example' ? tf.sum(toTensor(batch.last), 0) : toTensor(this.model.targetAxis !== undefined && batch.target ? batch.target.mask : batch.mask);
        const right = tf.mul(tf.cast(tf.equal(pred, tgt), 'float32'), w);
        const h = tf.reshape(tf.sum(right), [1]);
        // A sequence is exactly right when its right positions are all its real ones.
        const x = tokenSeq ? tf.reshape(tf.sum(tf.cast(tf.equal(tf.sum(right, 0), tf.sum(w, 0)), 'float32')), [1]) : tf.zeros([1]);
        return tf.concat([l, h, x]);
      });
      const read = await figures.data();
      figures.dispose();
      const [loss, hits, whole] = [read[0]!, read[1] ?? 0, read[2] ?? 0];
      lossSum += loss * n;
      count += n;
      correct += hits;
      exact += whole;
      sequences += batch.batchSize;
    }
    return {
      loss: count > 0 ? lossSum / count : NaN,
      count,
      ...(tokenTarget ? { accuracy: count > 0 ? correct / count : NaN } : {}),
      ...(tokenSeq ? { exact: sequences > 0 ? exact / sequences : NaN, sequences } : {}),
    };
  }

  /**
   * Runs `graph`, a graph of this model lowered another way (a decoder reading
   * its own choices), on one batch from zero states; returns its prediction
   * (the caller disposes it).
   */
  predictWith(graph: Graph, batch: Batch): tf.Tensor {
    const outs = this.outputsWith(graph, batch);
    const name = graph.outputs.find((o) => o.role === 'output')?.name;
    const prediction = name === undefined ? undefined : outs.get(name);
    outs.forEach((t, k) => k !== name && t.dispose());
    if (!prediction) throw new Error('internal: the graph has no prediction output');
    return prediction;
  }

  /** Runs `graph` on one batch from zero states; its outputs other than states and loss, by name (the caller disposes them). */
  outputsWith(graph: Graph, batch: Batch): Map<string, tf.Tensor> {
    const outs = tf.tidy(() => executeGraph(graph, this.feeds(graph, batch, undefined)));
    const named = new Map<string, tf.Tensor>();
    graph.outputs.forEach((o, i) => {
      if (o.role === 'output' || o.role === 'result') named.set(o.name, outs[i]!);
      else outs[i]!.dispose();
    });
    return named;
  }

  /** Runs the forward graph on one batch with given states; returns the prediction and final states (caller disposes). */
  forward(batch: Batch, states?: States): { prediction: tf.Tensor; states: States } {
    const g = this.graphsFor(batch).predict;
    const outs = tf.tidy(() => executeGraph(g, this.feeds(g, batch, states)));
    const next: States = new Map();
    let prediction: tf.Tensor | undefined;
    g.outputs.forEach((o, i) => {
      if (o.role === 'state') next.set(o.name, outs[i]!);
      else if (o.role === 'output') prediction = outs[i]!;
      else outs[i]!.dispose();
    });
    return { prediction: prediction!, states: next };
  }

  dispose(): void {
    this.unreadPlaceholder?.dispose();
    this.dropDerived();
    this.params.forEach((v) => v.dispose());
    this.optimizer.dispose();
  }
}

const unreadCache = new WeakMap<Graph, ReadonlySet<number>>();

/** Indices of the inputs of a graph that no node and no output reads. */
function unreadInputs(g: Graph): ReadonlySet<number> {
  let set = unreadCache.get(g);
  if (!set) {
    const read = new Set(g.outputs.map((o) => o.value));
    for (const n of g.nodes) n.inputs.forEach((v) => read.add(v));
    set = new Set(g.inputs.flatMap((inp, i) => (read.has(inp.value) ? [] : [i])));
    unreadCache.set(g, set);
  }
  return set;
}

function toTensor(t: HostTensor): tf.Tensor {
  return tf.tensor(t.data, t.shape, t.dtype);
}

function defaultLr(optimizer: string): number {
  return optimizer === 'sgd' || optimizer === 'momentum' ? 0.01 : 0.001;
}

/** sqrt of the sum of squares of every gradient element, in float64 on the host. */
async function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): Promise<number> {
  let sum = 0;
  for (const d of await Promise.all([...grads.values()].map((g) => g.data()))) {
    for (let i = 0; i < d.length; i++) sum += d[i]! * d[i]!;
  }
  return Math.sqrt(sum);
}

/**
 * The first value of a tensor. Every read of the session is `await t.data()`,
 * never dataSync: the webgpu backend reads synchronously only through an
 * OffscreenCanvas, which Node.js lacks (runtime/backend.ts); on cpu and wasm
 * the two cost the same.
 */
export async function readScalar(t: tf.Tensor): Promise<number> {
  return (await t.data())[0]!;
}
