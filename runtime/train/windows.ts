// Truncated BPTT windows (k1, k2), as defined for rnnc:
// the sequence is processed in windows of k1 steps, the state carried from
// one window to the next. At the end of each window (step tau) parameters
// are updated with the gradient of the mean loss over that window's
// positions (tau - k1, tau], where every path back through the recurrence
// stops at step tau - k2: the state there is a constant.
//
// Steps are 0-based here: a window covers steps [start, end) with
// end = tau; loss positions are [lossFrom, end); it is run from the state
// after `start` steps, start = max(0, min(lossFrom, tau - k2)), which is
// tau - max(k1, k2) for a full window (a last, shorter window also reaches
// back k2 steps); steps
// before `cutBefore` = tau - k2 are constants (gate 0, see
// compiler/autodiff/truncate.ts).
export interface Window {
  readonly start: number;
  readonly end: number;
  readonly lossFrom: number;
  readonly cutBefore: number;
}

export function planWindows(steps: number, k1: number, k2: number): Window[] {
  const out: Window[] = [];
  for (let lossFrom = 0; lossFrom < steps; lossFrom += k1) {
    const end = Math.min(steps, lossFrom + k1);
    out.push({ start: Math.max(0, Math.min(lossFrom, end - k2)), end, lossFrom, cutBefore: Math.max(0, end - k2) });
  }
  return out;
}

/** The gate [end - start] of a window: 0 on constant steps, 1 where gradients flow. */
export function windowGate(w: Window): Float32Array {
  const g = new Float32Array(w.end - w.start);
  for (let t = w.start; t < w.end; t++) g[t - w.start] = t >= w.cutBefore ? 1 : 0;
  return g;
}
