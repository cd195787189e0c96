import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { RuntimeUserError } from '../../runtime/io.js';
import { createOptimizer, type Optimizer, type OptimizerState } from '../../runtime/train/optimizers.js';
import { makeSchedule } from '../../runtime/train/schedules.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// The tiny problem: L = sum((p - c)^2) / 2 over two parameters, so the
// gradient is p - c. The float64 references below repeat each update rule
// by hand, written independently of the implementation's tensor code.
const P0: Record<string, number[]> = { w: [0.5, -1, 2, 0.25], b: [0.1, -0.3] };
const SHAPES: Record<string, number[]> = { w: [2, 2], b: [2] };
const C: Record<string, number[]> = { w: [1, 1, -1, 0], b: [0, 0.5] };

type Ref = (p: number[], g: number[], s: Record<string, number[]>, t: number) => number[];

function makeParams(): Map<string, tf.Variable> {
  return new Map(Object.keys(P0).map((n) => [n, tf.tidy(() => tf.variable(tf.tensor(P0[n]!, SHAPES[n]!), true))]));
}

function gradsOf(params: ReadonlyMap<string, tf.Variable>): Map<string, tf.Tensor> {
  return new Map([...params].map(([n, p]) => [n, tf.tidy(() => tf.sub(p, tf.tensor(C[n]!, SHAPES[n]!)))]));
}

function step(opt: Optimizer, params: Map<string, tf.Variable>): void {
  const grads = gradsOf(params);
  opt.apply(params, grads);
  for (const g of grads.values()) g.dispose();
}

function disposeAll(params: Map<string, tf.Variable>): void {
  for (const p of params.values()) p.dispose();
}

/** Runs the optimizer and the float64 reference side by side for `steps` steps. */
function compare(opt: Optimizer, ref: Ref, steps: number, init: Record<string, number> = {}): void {
  const params = makeParams();
  const p64: Record<string, number[]> = Object.fromEntries(Object.entries(P0).map(([n, v]) => [n, [...v]]));
  const s64: Record<string, Record<string, number[]>> = {};
  for (const n of Object.keys(P0)) {
    s64[n] = Object.fromEntries(
      ['velocity', 'ms', 'm', 'v', 'accumulator'].map((k) => [k, P0[n]!.map(() => init[k] ?? 0)]),
    );
  }
  for (let t = 1; t <= steps; t++) {
    step(opt, params);
    for (const n of Object.keys(P0)) {
      const g = p64[n]!.map((x, i) => x - C[n]![i]!);
      p64[n] = ref(p64[n]!, g, s64[n]!, t);
      const got = params.get(n)!.dataSync();
      p64[n]!.forEach((want, i) => expect(Math.abs(got[i]! - want)).toBeLessThan(1e-6 * (1 + Math.abs(want))));
    }
  }
  expect(opt.stepCount()).toBe(steps);
  disposeAll(params);
  opt.dispose();
}

describe('optimizers against float64 hand computations', () => {
  it('sgd: first step by hand, then three steps', () => {
    const opt = createOptimizer({ name: 'sgd', args: { lr: 0.1 } });
    const params = makeParams();
    step(opt, params);
    // w - 0.1 (w - c): 0.5 - 0.1 * -0.5 = 0.55, -1 - 0.1 * -2 = -0.8, 2 - 0.1 * 3 = 1.7, 0.25 - 0.025
    const w = [...params.get('w')!.dataSync()];
    [0.55, -0.8, 1.7, 0.225].forEach((x, i) => expect(w[i]).toBeCloseTo(x, 6));
    disposeAll(params);
    opt.dispose();
    compare(createOptimizer({ name: 'sgd', args: { lr: 0.1 } }), (p, g) => p.map((x, i) => x - 0.1 * g[i]!), 3);
  });

  it('momentum, plain and nesterov (Keras form)', () => {
    for (const nesterov of [0, 1]) {
      const [lr, mu] = [0.1, 0.9];
      compare(
        createOptimizer({ name: 'momentum', args: { lr, momentum: mu, nesterov } }),
        (p, g, s) => {
          const v = s['velocity']!.map((vi, i) => mu * vi - lr * g[i]!);
          s['velocity'] = v;
          return p.map((x, i) => (nesterov ? x + mu * v[i]! - lr * g[i]! : x + v[i]!));
        },
        3,
      );
    }
  });

  it('nesterov second step by hand', () => {
    // One scalar parameter p0 = 1, c = 0 (g = p): v1 = -0.1, p1 = 1 - 0.09 - 0.1 = 0.81;
    // g = 0.81, v2 = -0.09 - 0.081 = -0.171, p2 = 0.81 - 0.1539 - 0.081 = 0.5751.
    const opt = createOptimizer({ name: 'momentum', args: { lr: 0.1, momentum: 0.9, nesterov: 1 } });
    const p = new Map([['p', tf.tidy(() => tf.variable(tf.tensor([1])))]]);
    for (let i = 0; i < 2; i++) {
      const g = new Map([['p', tf.clone(p.get('p')!)]]);
      opt.apply(p, g);
      g.get('p')!.dispose();
    }
    expect(p.get('p')!.dataSync()[0]).toBeCloseTo(0.5751, 6);
    p.get('p')!.dispose();
    opt.dispose();
  });

  it('rmsprop', () => {
    const [lr, rho, eps] = [0.01, 0.9, 1e-7];
    compare(
      createOptimizer({ name: 'rmsprop', args: { lr } }),
      (p, g, s) => {
        const ms = s['ms']!.map((m, i) => rho * m + (1 - rho) * g[i]! ** 2);
        s['ms'] = ms;
        return p.map((x, i) => x - (lr * g[i]!) / (Math.sqrt(ms[i]!) + eps));
      },
      3,
    );
  });

  it('adam with bias correction (first step moves each weight by ~lr)', () => {
    const [lr, b1, b2, eps] = [0.01, 0.9, 0.999, 1e-8];
    const opt = createOptimizer({ name: 'adam', args: { lr } });
    const params = makeParams();
    step(opt, params);
    // Bias-corrected first step: m^ = g, v^ = g^2, so p -= lr * sign(g).
    const w = [...params.get('w')!.dataSync()];
    [0.51, -0.99, 1.99, 0.24].forEach((x, i) => expect(w[i]).toBeCloseTo(x, 6));
    disposeAll(params);
    opt.dispose();
    compare(
      createOptimizer({ name: 'adam', args: { lr, beta1: b1, beta2: b2, eps } }),
      (p, g, s, t) => {
        const m = s['m']!.map((mi, i) => b1 * mi + (1 - b1) * g[i]!);
        const v = s['v']!.map((vi, i) => b2 * vi + (1 - b2) * g[i]! ** 2);
        s['m'] = m;
        s['v'] = v;
        return p.map((x, i) => {
          const mHat = m[i]! / (1 - b1 ** t);
          const vHat = v[i]! / (1 - b2 ** t);
          return x - (lr * mHat) / (Math.sqrt(vHat) + eps);
        });
      },
      3,
    );
  });

  it('adagrad (accumulator starts at initial)', () => {
    const [lr, eps] = [0.1, 1e-7];
    compare(
      createOptimizer({ name: 'adagrad', args: { lr, initial: 0.1 } }),
      (p, g, s) => {
        const a = s['accumulator']!.map((ai, i) => ai + g[i]! ** 2);
        s['accumulator'] = a;
        return p.map((x, i) => x - (lr * g[i]!) / (Math.sqrt(a[i]!) + eps));
      },
      3,
      { accumulator: 0.1 },
    );
  });

  it('takes the learning rate from the schedule at the step count', () => {
    const schedule = makeSchedule({ name: 'step', args: { every: 1, gamma: 0.5 } }, 0.1);
    compare(
      createOptimizer({ name: 'sgd', args: { lr: 0.1 } }, schedule),
      (p, g, _s, t) => p.map((x, i) => x - 0.1 * 0.5 ** (t - 1) * g[i]!),
      3,
    );
  });
});

describe('optimizer memory and state', () => {
  it('tf.memory().numTensors stays flat over 200 steps', () => {
    for (const name of ['sgd', 'momentum', 'rmsprop', 'adam', 'adagrad']) {
      const opt = createOptimizer({ name, args: {} });
      const params = makeParams();
      step(opt, params); // creates the slots
      const before = tf.memory().numTensors;
      for (let i = 0; i < 200; i++) step(opt, params);
      expect(tf.memory().numTensors, name).toBe(before);
      opt.dispose();
      disposeAll(params);
    }
  });

  it('leaves no tensors behind once the optimizer and parameters are disposed', () => {
    const before = tf.memory().numTensors;
    const opt = createOptimizer({ name: 'adam', args: {} });
    const params = makeParams();
    step(opt, params);
    opt.dispose();
    disposeAll(params);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('setState(getState()) continues with an identical next update', async () => {
    for (const name of ['momentum', 'rmsprop', 'adam', 'adagrad']) {
      const a = createOptimizer({ name, args: { lr: 0.05 } });
      const pa = makeParams();
      for (let i = 0; i < 3; i++) step(a, pa);
      // Through JSON, as a checkpoint would carry it.
      const state = JSON.parse(JSON.stringify(await a.getState())) as OptimizerState;
      expect(state.step).toBe(3);
      const b = createOptimizer({ name, args: { lr: 0.05 } });
      b.setState(state);
      expect(b.stepCount()).toBe(3);
      const pb = new Map([...pa].map(([n, p]) => [n, tf.tidy(() => tf.variable(tf.clone(p)))]));
      step(a, pa);
      step(b, pb);
      for (const n of pa.keys()) {
        expect([...pb.get(n)!.dataSync()], name).toEqual([...pa.get(n)!.dataSync()]);
      }
      expect(await b.getState()).toEqual(await a.getState());
      a.dispose();
      b.dispose();
      disposeAll(pa);
      disposeAll(pb);
    }
  });

  it('setState rejects foreign or damaged states', () => {
    const opt = createOptimizer({ name: 'adam', args: {} });
    const good = (): OptimizerState => ({
      name: 'adam',
      step: 1,
      slots: { b: { m: { shape: [2], data: [0, 0] }, v: { shape: [2], data: [0, 0] } } },
    });
    expect(() => opt.setState({ ...good(), name: 'sgd' })).toThrow(/saved by optimizer 'sgd' but this run uses 'adam'/);
    expect(() => opt.setState({ ...good(), step: -1 })).toThrow(/"step" must be a non-negative integer/);
    expect(() => opt.setState({ ...good(), slots: { b: { m: { shape: [2], data: [0, 0] } } } })).toThrow(
      /parameter "b" has slots \[m\] but adam keeps \[m, v\]/,
    );
    expect(() =>
      opt.setState({ ...good(), slots: { b: { m: { shape: [2], data: [0] }, v: { shape: [2], data: [0, 0] } } } }),
    ).toThrow(/slot "m" of "b": "data" has 1 number but shape \[2\] needs 2/);
    // A state whose shapes do not match the model fails at the first apply, before any change.
    opt.setState({ ...good(), slots: { b: { m: { shape: [3], data: [0, 0, 0] }, v: { shape: [3], data: [0, 0, 0] } } } });
    const params = makeParams();
    const grads = gradsOf(params);
    expect(() => opt.apply(params, grads)).toThrow(RuntimeUserError);
    expect(() => opt.apply(params, grads)).toThrow(/has shape \[3\] but the parameter has shape \[2\]/);
    expect(opt.stepCount()).toBe(1);
    for (const g of grads.values()) g.dispose();
    disposeAll(params);
    opt.dispose();
  });

  it('rejects unknown optimizers and arguments, naming the valid ones', () => {
    expect(() => createOptimizer({ name: 'lion', args: {} })).toThrow(
      "unknown optimizer 'lion' (known: sgd, momentum, rmsprop, adam, adagrad)",
    );
    expect(() => createOptimizer({ name: 'adam', args: { beta: 0.9 } })).toThrow(
      "optimizer adam: unknown argument 'beta' (valid arguments: lr, beta1, beta2, eps)",
    );
    expect(() => createOptimizer({ name: 'momentum', args: { nesterov: 2 } })).toThrow(/'nesterov' must be 0 or 1/);
    expect(() => createOptimizer({ name: 'sgd', args: { lr: 0 } })).toThrow(/'lr' must be > 0/);
    expect(() => createOptimizer({ name: 'rmsprop', args: { rho: 1 } })).toThrow(/'rho' must be in \[0, 1\)/);
  });
});
