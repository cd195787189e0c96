import { describe, expect, it } from 'vitest';
import { makeSchedule } from '../../runtime/train/schedules.js';

describe('makeSchedule', () => {
  it('constant', () => {
    const f = makeSchedule({ name: 'constant', args: {} }, 0.1);
    expect([0, 1, 1000].map(f)).toEqual([0.1, 0.1, 0.1]);
  });

  it('step', () => {
    const f = makeSchedule({ name: 'step', args: { every: 10, gamma: 0.5 } }, 1);
    expect([0, 9, 10, 19, 20, 35].map(f)).toEqual([1, 1, 0.5, 0.5, 0.25, 0.125]);
  });

  it('exponential, per step and with decay_steps', () => {
    const f = makeSchedule({ name: 'exponential', args: { gamma: 0.9 } }, 2);
    expect(f(0)).toBe(2);
    expect(f(3)).toBeCloseTo(2 * 0.9 ** 3, 15);
    const g = makeSchedule({ name: 'exponential', args: { gamma: 0.5, decay_steps: 100 } }, 1);
    expect(g(100)).toBeCloseTo(0.5, 15);
    expect(g(50)).toBeCloseTo(Math.SQRT1_2, 15);
  });

  it('cosine reaches min_lr at `steps` and stays there', () => {
    const f = makeSchedule({ name: 'cosine', args: { steps: 100, min_lr: 0.01 } }, 0.1);
    expect(f(0)).toBeCloseTo(0.1, 15);
    expect(f(50)).toBeCloseTo(0.055, 15);
    expect(f(100)).toBeCloseTo(0.01, 15);
    expect(f(500)).toBeCloseTo(0.01, 15);
  });

  it('warmup ramps linearly, then the schedule starts from its step 0', () => {
    const f = makeSchedule({ name: 'step', args: { every: 2, gamma: 0.1, warmup: 4 } }, 1);
    expect([0, 1, 2, 3].map(f)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(f(4)).toBe(1);
    expect(f(5)).toBe(1);
    expect(f(6)).toBeCloseTo(0.1, 15);
  });

  it('reports mistakes clearly', () => {
    expect(() => makeSchedule({ name: 'linear', args: {} }, 1)).toThrow(
      "unknown learning-rate schedule 'linear' (known: constant, step, exponential, cosine)",
    );
    expect(() => makeSchedule({ name: 'step', args: { every: 3, rate: 2 } }, 1)).toThrow(
      "learning-rate schedule step: unknown argument 'rate' (valid arguments: every, gamma, warmup)",
    );
    expect(() => makeSchedule({ name: 'cosine', args: {} }, 1)).toThrow(/missing required argument 'steps'/);
    expect(() => makeSchedule({ name: 'step', args: { every: 0 } }, 1)).toThrow(/'every' must be a positive integer/);
    expect(() => makeSchedule({ name: 'constant', args: { warmup: 1.5 } }, 1)).toThrow(/'warmup' must be/);
    expect(() => makeSchedule({ name: 'constant', args: {} }, -1)).toThrow(/learning rate must be/);
  });
});
