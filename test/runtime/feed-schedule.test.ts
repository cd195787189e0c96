// Scheduled sampling's decays (Bengio et al. 2015) against their formulas,
// and the coins and draws: seeded by run seed and update, with the asked
// probability of the true token.
import { describe, expect, it } from 'vitest';
import { feedProbability, feedRandomness, teacherProbability } from '../../runtime/train/feed-schedule.js';

const span = { file: 't.rnn', line: 1, column: 1, endLine: 1, endColumn: 2, start: 0, end: 1 };

describe('teacher-forcing probability', () => {
  it('follows the three decays of the paper', () => {
    for (const i of [0, 1, 10, 100, 1000]) {
      expect(teacherProbability({ kind: 'linear', k: 1, c: 0.002, eps: 0.1 }, i)).toBe(Math.max(0.1, 1 - 0.002 * i));
      expect(teacherProbability({ kind: 'exponential', k: 0.99 }, i)).toBe(0.99 ** i);
      expect(teacherProbability({ kind: 'inverse_sigmoid', k: 50 }, i)).toBe(50 / (50 + Math.exp(i / 50)));
    }
    expect(teacherProbability({ kind: 'linear', k: 1, c: 0.002, eps: 0.1 }, 10_000)).toBe(0.1);
  });

  it('is 1 without feed or with teacher forcing, 0 when the decoder reads its own tokens', () => {
    expect(feedProbability(undefined, 5)).toBe(1);
    expect(feedProbability({ mode: { kind: 'teacher' }, span }, 5)).toBe(1);
    expect(feedProbability({ mode: { kind: 'own', draw: 'sample' }, span }, 5)).toBe(0);
    expect(feedProbability({ mode: { kind: 'scheduled', draw: 'argmax' }, decay: { kind: 'exponential', k: 0.5 }, span }, 3)).toBe(0.125);
  });
});

describe('coins and draws', () => {
  it('are reproducible from seed and update, differ between updates, and toss heads with the probability asked', () => {
    const a = feedRandomness(7, 12, 20000, 0.3);
    expect(feedRandomness(7, 12, 20000, 0.3)).toEqual(a);
    expect(feedRandomness(7, 13, 20000, 0.3).coin).not.toEqual(a.coin);
    const heads = a.coin.reduce((s, c) => s + c, 0) / a.coin.length;
    expect(heads).toBeGreaterThan(0.28);
    expect(heads).toBeLessThan(0.32);
    expect(a.draws.every((d) => d >= 0 && d < 1)).toBe(true);
    expect(feedRandomness(1, 0, 100, 1).coin.every((c) => c === 1)).toBe(true);
    expect(feedRandomness(1, 0, 100, 0).coin.every((c) => c === 0)).toBe(true);
  });
});
