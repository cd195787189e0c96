// Early stopping's bookkeeping, shared by `rnnc run` (src/commands/run.ts)
// and the API's Model.fit (src/api/model.ts): the best validation value so
// far and how many validations have passed without an improvement.
import type { EvalResult } from '../runtime/train/session.js';

/** The best validation value so far (loss: lowest; accuracy: highest), its step, and the validations since it improved. */
export interface Watch {
  best: number | null;
  bestStep: number;
  wait: number;
  /** The value the patience counts from (the last improvement larger than min_delta). */
  mark?: number | null;
}

/** What early stopping watches: the validation loss (lower is better) or accuracy (higher is better). */
export type WatchedMetric = 'val_loss' | 'val_accuracy';

/** The value early stopping watches in an evaluation (NaN for an accuracy the evaluation has not). */
export function watchedValue(ev: EvalResult, on: WatchedMetric): number {
  return on === 'val_accuracy' ? (ev.accuracy ?? Number.NaN) : ev.loss;
}

/**
 * Records one validation: patience counts validations without an
 * improvement larger than `minDelta`, while the best value is any better
 * one. True when `value` is a new best (the caller keeps those parameters).
 */
export function observeValidation(watch: Watch, value: number, on: WatchedMetric, minDelta: number, step: number): boolean {
  const than = (ref: number | null, by: number): boolean => ref === null || (on === 'val_accuracy' ? value > ref + by : value < ref - by);
  if (!Number.isFinite(value)) {
    watch.wait++;
    return false;
  }
  if (than(watch.mark ?? watch.best, minDelta)) {
    watch.mark = value;
    watch.wait = 0;
  } else watch.wait++;
  if (!than(watch.best, 0)) return false;
  watch.best = value;
  watch.bestStep = step;
  return true;
}
