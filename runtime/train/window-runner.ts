// Walks the truncated-BPTT windows of one batch (windows.ts), carrying the
// recurrent state from window to window, for any executor: the tfjs session
// (which updates parameters after each window) and the float64 reference
// (which holds them fixed, for `rnnc grad --reference`). Asynchronous because
// the session reads each window's loss with `await t.data()`: the webgpu
// backend cannot read synchronously in Node.js (runtime/backend.ts).
import { sliceBatchTime } from '../data/batching.js';
import type { Batch } from '../data/types.js';
import { planWindows, windowGate } from './windows.js';

export interface WindowExecutor<S, R> {
  /** Runs the forward graph over `part` from `states`, returning the final states. */
  advance(part: Batch, states: S | undefined): S | Promise<S>;
  /** Differentiates (and maybe updates) on one window; returns its result and final states. */
  window(part: Batch, states: S | undefined, gate: Float32Array, lossFrom: number): Window<S, R> | Promise<Window<S, R>>;
  /** Positions that count in the loss of `part` from lossFrom on; windows with none are skipped. */
  count(part: Batch, lossFrom: number): number;
  release(states: S): void;
}

/** What one window gives: its result, its final states, and whether to stop after it (a non-finite loss). */
export interface Window<S, R> {
  result: R;
  states: S;
  stop?: boolean;
}

export async function runWindows<S, R>(batch: Batch, k1: number, k2: number, exec: WindowExecutor<S, R>): Promise<{ results: R[]; counts: number[] }> {
  const results: R[] = [];
  const counts: number[] = [];
  let states: S | undefined;
  let statePos = 0;
  const replace = (next: S): void => {
    if (states !== undefined) exec.release(states);
    states = next;
  };
  try {
    const windows = planWindows(batch.steps, k1, k2);
    for (const [wi, w] of windows.entries()) {
      if (statePos < w.start) {
        replace(await exec.advance(sliceBatchTime(batch, statePos, w.start), states));
        statePos = w.start;
      }
      const part = sliceBatchTime(batch, w.start, w.end);
      const lossFrom = w.lossFrom - w.start;
      const n = exec.count(part, lossFrom);
      if (n === 0) continue;
      const r = await exec.window(part, states, windowGate(w), lossFrom);
      results.push(r.result);
      counts.push(n);
      if (!r.stop && windows[wi + 1]?.start === w.end) {
        // The next window starts where this one ends (k2 <= k1): keep its states.
        replace(r.states);
        statePos = w.end;
      } else exec.release(r.states);
      if (r.stop) break;
    }
  } finally {
    if (states !== undefined) exec.release(states);
  }
  return { results, counts };
}
