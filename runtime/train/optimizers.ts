// First-order optimizers over tf.Variables. Update rules and defaults follow
// Keras (tf.keras 2.x) so numbers people know carry over; deviations are noted.
//
//   sgd       lr=0.01                     p -= lr g
//   momentum  lr=0.01 momentum=0.9 nesterov=0
//             v = mu v - lr g;  p += v                (nesterov=0)
//                               p += mu v - lr g      (nesterov=1)
//             (Keras's form: lr lives inside v, so a schedule's change of lr
//             applies to new gradients only, not to the accumulated velocity.)
//   rmsprop   lr=0.001 rho=0.9 eps=1e-7
//             s = rho s + (1 - rho) g^2;  p -= lr g / (sqrt(s) + eps)
//   adam      lr=0.001 beta1=0.9 beta2=0.999 eps=1e-8   (t = step + 1)
//             m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//             p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//             (the explicit bias correction of Kingma & Ba's Algorithm 1, not
//             Keras's folded "epsilon hat" variant; eps 1e-8 as in the paper.)
//   adagrad   lr=0.001 initial=0.1 eps=1e-7
//             a = a + g^2 (a starts at `initial`);  p -= lr g / (sqrt(a) + eps)
//
// The learning rate of an update is schedule(stepCount()) when a schedule is
// given (stepCount() is 0 for the first update), else the `lr` argument.
//
// Memory: every apply runs in one tf.tidy and writes results with
// Variable.assign, so the only tensors that outlive a step are the parameters
// and the slot variables; tf.memory().numTensors stays flat over training.
// Names, arguments, defaults and their checks live in optimizer-rules.ts (no
// tfjs there, so `rnnc check` validates a train block without loading tfjs).
import * as tf from '@tensorflow/tfjs-core';
import { RuntimeUserError } from '../io.js';
import { checkTensorJson, isPlainObject } from '../params-json.js';
import { optimizerUpdate } from '../tfjs/portable-ops.js';
import { bindOptimizerArgs, optimizerRule, type Hyper, type OptimizerRule, type OptimizerSpec } from './optimizer-rules.js';

export { OPTIMIZER_NAMES, type OptimizerSpec } from './optimizer-rules.js';

export interface TensorJson {
  shape: number[];
  data: number[];
}

export interface OptimizerState {
  name: string;
  step: number;
  /** slots[paramName][slotName] */
  slots: Record<string, Record<string, TensorJson>>;
}

export interface Optimizer {
  readonly name: string;
  /** Applies one update in place to the variables; grads are not disposed by the optimizer. */
  apply(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>): void;
  stepCount(): number;
  /** The learning rate the last update used (undefined before the first). */
  lastLearningRate(): number | undefined;
  /** Reads the slots (`await t.data()`): for checkpoints and data-parallel snapshots. */
  getState(): Promise<OptimizerState>;
  /** Validates names/shapes, RuntimeUserError otherwise. */
  setState(state: OptimizerState): void;
  dispose(): void;
}

type Slots = Readonly<Record<string, tf.Variable>>;

/** One update of one parameter; runs inside tf.tidy. */
type Update = (p: tf.Variable, g: tf.Tensor, s: Slots, h: Hyper, lr: number, t: number) => void;

interface Rule extends OptimizerRule {
  readonly update: Update;
}

/** Each optimizer's update: optimizerUpdate (runtime/tfjs/portable-ops.ts, the code emitted modules carry), its results assigned. */
const update =
  (name: string): Update =>
  (p, g, s, h, lr, t) => {
    // On webgpu Adam's update is one generated kernel per parameter (portable-ops.ts adamStep).
    const r = optimizerUpdate(name, p, g, s, h, lr, t);
    for (const [slot, v] of Object.entries(r.slots)) s[slot]!.assign(v);
    p.assign(r.p);
  };
const UPDATES: Readonly<Record<string, Update>> = Object.fromEntries(['sgd', 'momentum', 'rmsprop', 'adam', 'adagrad'].map((n) => [n, update(n)]));

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

class RuleOptimizer implements Optimizer {
  private step = 0;
  /** Slot variables per parameter, created on first sight of the parameter (or by setState). */
  private slots = new Map<string, Record<string, tf.Variable>>();

  constructor(
    readonly name: string,
    private readonly rule: Rule,
    private readonly hyper: Hyper,
    private readonly schedule: ((step: number) => number) | undefined,
  ) {}

  stepCount(): number {
    return this.step;
  }

  private lastLr: number | undefined;

  lastLearningRate(): number | undefined {
    return this.lastLr;
  }

  apply(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>): void {
    // Check everything before touching anything, so a failed apply leaves
    // parameters, slots and the step count as they were.
    for (const [name, g] of grads) {
      const p = params.get(name);
      if (p === undefined) throw new Error(`internal: gradient for unknown parameter '${name}'`);
      if (!sameShape(p.shape, g.shape)) {
        throw new Error(`internal: gradient of '${name}' has shape ${fmt(g.shape)}, parameter ${fmt(p.shape)}`);
      }
      const existing = this.slots.get(name);
      if (existing !== undefined) {
        for (const [slot, v] of Object.entries(existing)) {
          if (!sameShape(v.shape, p.shape)) {
            throw new RuntimeUserError(
              `optimizer state for parameter '${name}' (slot '${slot}') has shape ${fmt(v.shape)} but the parameter has shape ${fmt(p.shape)}: the checkpoint belongs to a different model`,
            );
          }
        }
      }
    }
    const lr = this.schedule ? this.schedule(this.step) : this.hyper['lr']!;
    if (!(Number.isFinite(lr) && lr >= 0)) {
      throw new RuntimeUserError(`learning rate at step ${this.step} is ${lr}; it must be a finite number >= 0`);
    }
    this.lastLr = lr;
    const t = this.step + 1;
    for (const [name, g] of grads) {
      const p = params.get(name)!;
      const slots = this.slotsFor(name, p.shape);
      tf.tidy(() => this.rule.update(p, g, slots, this.hyper, lr, t));
    }
    this.step = t;
  }

  private slotsFor(name: string, shape: readonly number[]): Record<string, tf.Variable> {
    let s = this.slots.get(name);
    if (s === undefined) {
      s = {};
      for (const slot of this.rule.slotNames) {
        const init = this.rule.slotInit(slot, this.hyper);
        // Unnamed variables: tfjs names must be unique per engine, and two
        // optimizers (or a restored one) may exist at once. The tidy disposes
        // the initial tensor; the variable keeps its own reference to the data.
        s[slot] = tf.tidy(() => tf.variable(tf.fill([...shape], init), false));
      }
      this.slots.set(name, s);
    }
    return s;
  }

  async getState(): Promise<OptimizerState> {
    const slots: Record<string, Record<string, TensorJson>> = {};
    for (const [param, s] of this.slots) {
      const entry: Record<string, TensorJson> = Object.create(null);
      for (const slot of this.rule.slotNames) {
        const v = s[slot]!;
        entry[slot] = { shape: [...v.shape], data: Array.from(await v.data()) };
      }
      slots[param] = entry;
    }
    return { name: this.name, step: this.step, slots };
  }

  setState(state: OptimizerState): void {
    const source = 'optimizer state';
    const raw: unknown = state;
    if (!isPlainObject(raw)) throw new RuntimeUserError(`${source}: expected an object`);
    if (raw['name'] !== this.name) {
      throw new RuntimeUserError(
        `${source}: it was saved by optimizer '${String(raw['name'])}' but this run uses '${this.name}'`,
      );
    }
    const step = raw['step'];
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) {
      throw new RuntimeUserError(`${source}: "step" must be a non-negative integer, found ${String(step)}`);
    }
    const rawSlots = raw['slots'];
    if (!isPlainObject(rawSlots)) throw new RuntimeUserError(`${source}: "slots" must be an object`);
    // Build and validate everything first, then swap, so a bad state leaves
    // the optimizer untouched.
    const parsed = new Map<string, Record<string, { shape: number[]; data: Float64Array }>>();
    const expected = [...this.rule.slotNames].sort();
    for (const [param, entry] of Object.entries(rawSlots)) {
      if (!isPlainObject(entry)) throw new RuntimeUserError(`${source}: slots of "${param}" must be an object`);
      const names = Object.keys(entry).sort();
      if (names.length !== expected.length || names.some((n, i) => n !== expected[i])) {
        throw new RuntimeUserError(
          `${source}: parameter "${param}" has slots [${names.join(', ')}] but ${this.name} keeps [${expected.join(', ')}]`,
        );
      }
      const values: Record<string, { shape: number[]; data: Float64Array }> = {};
      let shape: number[] | undefined;
      for (const slot of this.rule.slotNames) {
        const value = checkTensorJson(entry[slot], `slot "${slot}" of "${param}"`, source);
        if (shape !== undefined && !sameShape(shape, value.shape)) {
          throw new RuntimeUserError(`${source}: the slots of "${param}" have different shapes`);
        }
        shape = value.shape;
        values[slot] = value;
      }
      parsed.set(param, values);
    }
    this.disposeSlots();
    for (const [param, values] of parsed) {
      const s: Record<string, tf.Variable> = {};
      for (const slot of this.rule.slotNames) {
        const { shape, data } = values[slot]!;
        s[slot] = tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(data), shape, 'float32'), false));
      }
      this.slots.set(param, s);
    }
    this.step = step;
  }

  private disposeSlots(): void {
    for (const s of this.slots.values()) for (const v of Object.values(s)) v.dispose();
    this.slots.clear();
  }

  dispose(): void {
    this.disposeSlots();
  }
}

/**
 * Creates an optimizer. With a schedule the learning rate comes from it (the
 * caller built it from the same `lr`); without one, from `args.lr`.
 */
export function createOptimizer(spec: OptimizerSpec, schedule?: (step: number) => number): Optimizer {
  const hyper = bindOptimizerArgs(spec);
  const update = UPDATES[spec.name];
  if (update === undefined) throw new Error(`internal: optimizer '${spec.name}' has no update rule`);
  return new RuleOptimizer(spec.name, { ...optimizerRule(spec.name), update }, hyper, schedule);
}
