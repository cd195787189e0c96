// A training session: a compiled model's graphs, its parameters as tfjs
// variables, and the optimizer. Executes the forward graph, and the
// derived training graph (the symbolic backward, never tfjs's autodiff),
// then clipping and the optimizer update. Full BPTT is one update per batch;
// truncated BPTT one per window (windows.ts). Every tensor made for a batch
// is released before the next one, so memory stays flat.
import * as tf from '@tensorflow/tfjs-core';
import { concreteShape } from '../../compiler/ir/shape.js';
import type { Graph } from '../../compiler/ir/types.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import type { TrainConfig } from '../../compiler/sema/train.js';
import type { Checkpoint } from '../checkpoint.js';
import { CHECKPOINT_VERSION } from '../checkpoint.js';
import { sliceBatchTime } from '../data/batching.js';
import type { Batch, HostTensor } from '../data/types.js';
import { initValues } from '../init.js';
import { RuntimeUserError } from '../io.js';
import { Rng } from '../rng.js';
import { executeGraph } from '../tfjs/execute.js';
import { clipByGlobalNorm, clipByValue } from './clip.js';
import { createOptimizer, type Optimizer, type TensorJson } from './optimizers.js';
import { makeSchedule } from './schedules.js';
import { planWindows, windowGate } from './windows.js';

export interface SessionGraphs {
  /** The forward graph the training graph was derived from (with a `gate` input when truncated). */
  readonly forward: Graph;
  readonly training: Graph;
}

export interface BatchResult {
  /** Mean loss over the positions that counted. */
  readonly loss: number;
  /** How many positions (or sequences) counted. */
  readonly count: number;
  /** Optimizer updates made (windows under truncated BPTT). */
  readonly updates: number;
  /** True when the loss was NaN or infinite: no update was applied. */
  readonly nonFinite: boolean;
}

export interface EvalResult {
  readonly loss: number;
  readonly count: number;
  /** Argmax accuracy over counted positions, for token targets. */
  readonly accuracy?: number;
}

type States = Map<string, tf.Tensor>;

export class TrainingSession {
  readonly params = new Map<string, tf.Variable>();
  private readonly optimizer: Optimizer;
  private readonly bind: Record<string, number>;

  constructor(
    readonly model: LoweredModel,
    readonly config: TrainConfig,
    readonly graphs: SessionGraphs,
  ) {
    this.bind = {};
    for (const [k, v] of model.dims) if (typeof v === 'number') this.bind[k] = v;
    const numeric = (args: Readonly<Record<string, number | string>>, what: string): Record<string, number> => {
      const out: Record<string, number> = {};
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

  /** Fresh parameters from their initialisers, seeded. */
  initParams(seed: number): void {
    const rng = new Rng(seed);
    for (const p of this.model.params) {
      const shape = concreteShape(p.shape, this.bind);
      const values = initValues(p.init.kind, p.init.args, p.init.positional, shape, rng.fork());
      this.setParam(p.name, shape, values);
    }
  }

  setParam(name: string, shape: readonly number[], values: ArrayLike<number>): void {
    const t = tf.tensor(Float32Array.from(values), [...shape], 'float32');
    const old = this.params.get(name);
    if (old) {
      old.assign(t);
      t.dispose();
    } else {
      this.params.set(name, tf.variable(t, true, `p_${this.params.size}`));
      t.dispose();
    }
  }

  /** Loads parameter values by name, checking names and shapes. */
  loadParams(values: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>, source: string): void {
    for (const p of this.model.params) {
      const v = values.get(p.name);
      const shape = concreteShape(p.shape, this.bind);
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

  paramsJson(): Record<string, TensorJson> {
    const out: Record<string, TensorJson> = {};
    for (const [name, v] of this.params) out[name] = { shape: [...v.shape], data: Array.from(v.dataSync()) };
    return out;
  }

  checkpoint(position: { epoch: number; batchInEpoch: number }, rng: Rng, extra: Record<string, unknown>): Checkpoint {
    return {
      version: CHECKPOINT_VERSION,
      model: this.model.name,
      step: this.step,
      epoch: position.epoch,
      batchInEpoch: position.batchInEpoch,
      params: this.paramsJson(),
      optimizer: this.optimizer.getState(),
      rng: rng.state(),
      extra,
    };
  }

  restore(ckpt: Checkpoint, source: string): void {
    if (ckpt.model !== this.model.name) {
      throw new RuntimeUserError(`${source} is a checkpoint of model ${ckpt.model}, not ${this.model.name}`);
    }
    this.loadParams(new Map(Object.entries(ckpt.params)), source);
    this.optimizer.setState(ckpt.optimizer);
  }

  // ------------------------------------------------------------------ feeding

  private feeds(g: Graph, batch: Batch, opts: { states?: States; gate?: Float32Array; lossFrom?: number }): tf.Tensor[] {
    const T = batch.steps;
    const B = batch.batchSize;
    const inputIndex = new Map(this.model.inputs.map((s, i) => [s.name, i]));
    const targetIndex = new Map(this.model.targets.map((s, i) => [s.name, i]));
    const lossFrom = opts.lossFrom ?? 0;
    const restrict = (t: HostTensor): tf.Tensor => {
      const data = Float32Array.from(t.data);
      if (lossFrom > 0) data.fill(0, 0, Math.min(lossFrom, T) * B);
      return tf.tensor(data, t.shape, 'float32');
    };
    return g.inputs.map((inp) => {
      switch (inp.role) {
        case 'param': {
          const p = this.params.get(inp.name);
          if (!p) throw new Error(`parameter ${inp.name} has no value`);
          return p;
        }
        case 'state': {
          const s = opts.states?.get(inp.name);
          if (s) return s;
          return tf.zeros(concreteShape(g.values[inp.value]!.type.shape, { ...this.bind, B, T }));
        }
        case 'control':
          return tf.tensor1d(opts.gate ?? new Float32Array(T).fill(1));
        default: {
          if (inp.name === 'mask') return toTensor(batch.mask);
          if (inp.name === 'weight') return restrict(batch.mask);
          if (inp.name === 'last') return restrict(batch.last);
          const i = inputIndex.get(inp.name);
          if (i !== undefined) return toTensor(batch.inputs[i]!);
          const k = targetIndex.get(inp.name);
          if (k !== undefined) return toTensor(batch.targets[k]!);
          throw new Error(`no feed for graph input ${inp.name}`);
        }
      }
    });
  }

  /** How many positions the loss counts in a batch (from position lossFrom on). */
  private lossCount(batch: Batch, lossFrom: number): number {
    const src = this.model.lossPer === 'example' ? batch.last : batch.mask;
    let n = 0;
    for (let i = Math.min(lossFrom, batch.steps) * batch.batchSize; i < src.data.length; i++) n += src.data[i]!;
    return n;
  }

  // ------------------------------------------------------------------ training

  trainBatch(batch: Batch): BatchResult {
    if (this.config.bptt.kind === 'full') {
      const count = this.lossCount(batch, 0);
      const r = this.update(batch, {});
      r.states.forEach((t) => t.dispose());
      return { loss: r.loss, count, updates: r.nonFinite ? 0 : 1, nonFinite: r.nonFinite };
    }
    const { k1, k2 } = this.config.bptt;
    let states: States = new Map();
    let statePos = 0;
    let lossSum = 0;
    let count = 0;
    let updates = 0;
    const replaceStates = (next: States): void => {
      states.forEach((t) => t.dispose());
      states = next;
    };
    try {
      const windows = planWindows(batch.steps, k1, k2);
      for (const [wi, w] of windows.entries()) {
        if (statePos < w.start) {
          replaceStates(this.advance(sliceBatchTime(batch, statePos, w.start), states));
          statePos = w.start;
        }
        const part = sliceBatchTime(batch, w.start, w.end);
        const lossFrom = w.lossFrom - w.start;
        const n = this.lossCount(part, lossFrom);
        if (n === 0) continue;
        const r = this.update(part, { states, gate: windowGate(w), lossFrom });
        if (r.nonFinite) {
          r.states.forEach((t) => t.dispose());
          return { loss: r.loss, count: count + n, updates, nonFinite: true };
        }
        lossSum += r.loss * n;
        count += n;
        updates++;
        if (windows[wi + 1]?.start === w.end) {
          // The next window starts where this one ends (k2 <= k1): keep its states.
          replaceStates(r.states);
          statePos = w.end;
        } else r.states.forEach((t) => t.dispose());
      }
    } finally {
      states.forEach((t) => t.dispose());
    }
    return { loss: count > 0 ? lossSum / count : 0, count, updates, nonFinite: false };
  }

  /** Runs the forward graph over a batch part only to move the states on. */
  private advance(part: Batch, states: States): States {
    const g = this.graphs.forward;
    const outs = tf.tidy(() => executeGraph(g, this.feeds(g, part, { states })));
    const next: States = new Map();
    g.outputs.forEach((o, i) => {
      if (o.role === 'state') next.set(o.name, outs[i]!);
      else outs[i]!.dispose();
    });
    return next;
  }

  /** One optimizer update on a batch (or window): returns its loss and final states. */
  private update(part: Batch, opts: { states?: States; gate?: Float32Array; lossFrom?: number }): { loss: number; nonFinite: boolean; states: States } {
    const g = this.graphs.training;
    const outs = tf.tidy(() => executeGraph(g, this.feeds(g, part, opts)));
    const grads = new Map<string, tf.Tensor>();
    const states: States = new Map();
    let lossT: tf.Tensor | undefined;
    g.outputs.forEach((o, i) => {
      const t = outs[i]!;
      if (o.role === 'grad') grads.set(o.name.slice(2), t);
      else if (o.role === 'state') states.set(o.name, t);
      else if (o.role === 'loss') lossT = t;
      else t.dispose();
    });
    const loss = lossT!.dataSync()[0]!;
    lossT!.dispose();
    const nonFinite = !Number.isFinite(loss);
    if (!nonFinite) {
      let applied: Map<string, tf.Tensor> = grads;
      let extra: tf.Tensor | undefined;
      if (this.config.clip?.mode === 'norm') {
        const c = clipByGlobalNorm(grads, this.config.clip.value);
        applied = c.grads;
        extra = c.norm;
      } else if (this.config.clip?.mode === 'value') {
        applied = clipByValue(grads, this.config.clip.value);
      }
      this.optimizer.apply(this.params, applied);
      if (applied !== grads) applied.forEach((t) => t.dispose());
      extra?.dispose();
    }
    grads.forEach((t) => t.dispose());
    return { loss, nonFinite, states };
  }

  // ------------------------------------------------------------------ evaluation

  /** Loss (and accuracy for token targets) over batches, with the untruncated forward graph. */
  evaluate(batches: readonly Batch[]): EvalResult {
    const g = this.model.graph;
    const lossIdx = g.outputs.findIndex((o) => o.role === 'loss');
    const predIdx = g.outputs.findIndex((o) => o.role === 'output');
    const target = this.model.targets[0];
    const tokenTarget = target && (target.type.kind === 'tokens' || target.type.kind === 'token');
    let lossSum = 0;
    let count = 0;
    let correct = 0;
    for (const batch of batches) {
      const n = this.lossCount(batch, 0);
      if (n === 0) continue;
      const [loss, hits] = tf.tidy(() => {
        const outs = executeGraph(g, this.feeds(g, batch, {}));
        const l = outs[lossIdx]!.dataSync()[0]!;
        if (!tokenTarget) return [l, 0];
        const pred = tf.argMax(outs[predIdx]!, -1);
        const tgt = toTensor(batch.targets[0]!);
        const w = this.model.lossPer === 'example' ? tf.sum(toTensor(batch.last), 0) : toTensor(batch.mask);
        const h = tf.sum(tf.mul(tf.cast(tf.equal(pred, tgt), 'float32'), w)).dataSync()[0]!;
        return [l, h];
      });
      lossSum += loss * n;
      count += n;
      correct += hits;
    }
    return { loss: count > 0 ? lossSum / count : NaN, count, ...(tokenTarget ? { accuracy: count > 0 ? correct / count : NaN } : {}) };
  }

  /** Runs the forward graph on one batch with given states; returns the prediction and final states (caller disposes). */
  forward(batch: Batch, states?: States): { prediction: tf.Tensor; states: States } {
    const g = this.model.graph;
    const outs = tf.tidy(() => executeGraph(g, this.feeds(g, batch, states ? { states } : {})));
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
    this.params.forEach((v) => v.dispose());
    this.optimizer.dispose();
  }
}

function toTensor(t: HostTensor): tf.Tensor {
  return tf.tensor(t.data, t.shape, t.dtype);
}

function defaultLr(optimizer: string): number {
  return optimizer === 'sgd' || optimizer === 'momentum' ? 0.01 : 0.001;
}
