// Scheduled sampling (Bengio et al. 2015): at update i a decoder reads the
// true previous token with probability eps_i, else its own choice; the coin
// is tossed per step and per sequence. The coins and the uniform draws of
// sampled tokens come from an Rng seeded by the run's seed and the update
// number, so a resumed run tosses exactly the coins of an uninterrupted one.
import type { FeedDecay, FeedSpec } from '../../compiler/sema/train.js';
import { Rng } from '../rng.js';

/** The probability of feeding the true token at update `step` (from 0). */
export function teacherProbability(decay: FeedDecay, step: number): number {
  switch (decay.kind) {
    case 'linear':
      return Math.max(decay.eps, decay.k - decay.c * step);
    case 'exponential':
      return Math.pow(decay.k, step);
    case 'inverse_sigmoid':
      return decay.k / (decay.k + Math.exp(step / decay.k));
  }
}

/** The probability of the true token under a feed setting: 1 for teacher forcing, 0 for reading its own tokens. */
export function feedProbability(feed: FeedSpec | undefined, step: number): number {
  if (!feed || feed.mode.kind === 'teacher') return 1;
  if (feed.mode.kind === 'own' || !feed.decay) return 0;
  return teacherProbability(feed.decay, step);
}

/** The coins ([T, B]: 1 feeds the true token) and the draws in [0, 1) of update `step`. */
export function feedRandomness(seed: number, step: number, size: number, p: number): { coin: Float32Array; draws: Float32Array } {
  const rng = new Rng(seed * 1000003 + step + 1);
  const coin = new Float32Array(size);
  const draws = new Float32Array(size);
  for (let i = 0; i < size; i++) coin[i] = rng.next() < p ? 1 : 0;
  for (let i = 0; i < size; i++) draws[i] = rng.next();
  return { coin, draws };
}

/**
 * The uniform draws of one `dropout` call at an optimizer step: seeded by the
 * run's seed, the step and the call's name, so a resumed run drops the same
 * values as an uninterrupted one.
 */
export function dropoutDraws(seed: number, step: number, name: string, size: number): Float32Array {
  let h = 2166136261;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const rng = new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca77) ^ h) >>> 0);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.next();
  return out;
}
