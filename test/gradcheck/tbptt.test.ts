// Truncated BPTT against its definition: for each window ending at tau, the
// gradient of the mean loss over the window's positions with the state at
// tau - k2 held constant. The oracle splits the window at tau - k2: steps
// after it are differentiated (finite differences) from that constant
// state; positions before it contribute only through parameters outside the
// recurrence (the output layer), also by finite differences.
import { describe, expect, it } from 'vitest';
import { differentiate } from '../../compiler/autodiff/vjp.js';
import { trainingGraphs } from '../../compiler/compile.js';
import type { Graph } from '../../compiler/ir/types.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import type { Tensor64 } from '../../runtime/reference/tensor.js';
import { planWindows, windowGate, type Window } from '../../runtime/train/windows.js';
import { compileModel } from '../helpers/compile.js';
import { tokenLm } from '../helpers/programs.js';
import { randomFeeds } from '../helpers/feeds.js';
import { fdGradient, relativeError } from '../helpers/gradcheck.js';

const TEXT = tokenLm('h = lstm(e) with H', { V: 4, E: 3 });

/** Feeds of graph g for steps [from, to) of the full feeds of graph full, with the given states, weights and gate. */
function slice(full: Graph, fullFeeds: readonly Tensor64[], g: Graph, from: number, to: number, opts: {
  states: ReadonlyMap<string, Tensor64>;
  lossFrom: number;
  gate?: Float32Array;
}): Tensor64[] {
  const byName = new Map(full.inputs.map((inp, i) => [inp.name, fullFeeds[i]!]));
  return g.inputs.map((inp) => {
    if (inp.role === 'control') return { shape: [to - from], data: Float64Array.from(opts.gate!), dtype: 'f32' };
    if (inp.role === 'state') return opts.states.get(inp.name)!;
    const t = byName.get(inp.name)!;
    if (inp.role === 'param') return t;
    const inner = t.data.length / t.shape[0]!;
    const data = t.data.slice(from * inner, to * inner);
    if (inp.name === 'weight' || inp.name === 'last') {
      for (let s = from; s < Math.min(opts.lossFrom, to); s++) data.fill(0, (s - from) * inner, (s - from + 1) * inner);
    }
    return { shape: [to - from, ...t.shape.slice(1)], data, dtype: t.dtype };
  });
}

function sumOf(t: Tensor64): number {
  return t.data.reduce((a, b) => a + b, 0);
}

describe('truncated BPTT windows match their definition', () => {
  const cases: [number, number][] = [
    [3, 3],
    [2, 4],
    [4, 2],
    [3, 1],
  ];
  for (const [k1, k2] of cases) {
    it(`k1 = ${k1}, k2 = ${k2}${k2 < k1 ? ' (k2 < k1)' : k2 > k1 ? ' (k2 > k1)' : ''}`, () => {
      const model = compileModel(TEXT);
      const full = model.graph;
      const { forward: truncated } = trainingGraphs(model, true);
      const T = 7;
      const feeds = randomFeeds(model, full, { lengths: [T, T], seed: 21 });
      const zeroStates = new Map(
        full.inputs.map((inp, i) => [inp.name, feeds[i]!] as const).filter(([, t], i) => full.inputs[i]!.role === 'state' && t),
      );
      const statesAt = (step: number): Map<string, Tensor64> => {
        if (step === 0) return zeroStates;
        const outs = evaluateGraph(full, slice(full, feeds, full, 0, step, { states: zeroStates, lossFrom: 0 }));
        return new Map(full.outputs.map((o, i) => [o.name, outs[i]!] as const).filter(([, _], i) => full.outputs[i]!.role === 'state'));
      };
      const windows = planWindows(T, k1, k2);
      expect(windows.length).toBe(Math.ceil(T / k1));
      for (const w of windows) checkWindow(w);

      function checkWindow(w: Window): void {
        const trainGraph = differentiate(truncated);
        const wFeeds = slice(full, feeds, truncated, w.start, w.end, { states: statesAt(w.start), lossFrom: w.lossFrom, gate: windowGate(w) });
        const outs = evaluateGraph(trainGraph, wFeeds);
        const analytic = new Map<string, Float64Array>();
        trainGraph.outputs.forEach((o, i) => {
          if (o.role === 'grad') analytic.set(o.name.slice(2), outs[i]!.data);
        });
        const weightIndex = truncated.inputs.findIndex((i) => i.name === 'weight');
        const total = sumOf(wFeeds[weightIndex]!);

        const expected = new Map<string, Float64Array>([...analytic.keys()].map((k) => [k, new Float64Array(analytic.get(k)!.length)]));
        const addScaled = (g: Map<string, Float64Array>, scale: number) => {
          for (const [k, v] of g) v.forEach((x, i) => (expected.get(k)![i]! += x * scale));
        };
        // After the cut: every parameter, from the constant state at the cut.
        const bFrom = Math.max(w.cutBefore, w.start);
        const bFeeds = slice(full, feeds, full, bFrom, w.end, { states: statesAt(bFrom), lossFrom: w.lossFrom });
        const nB = sumOf(bFeeds[full.inputs.findIndex((i) => i.name === 'weight')]!);
        if (nB > 0) addScaled(fdGradient(full, bFeeds, () => true), nB / total);
        // Before the cut: only parameters outside the recurrence.
        if (w.cutBefore > w.start) {
          const aFeeds = slice(full, feeds, full, w.start, w.cutBefore, { states: statesAt(w.start), lossFrom: w.lossFrom });
          const nA = sumOf(aFeeds[full.inputs.findIndex((i) => i.name === 'weight')]!);
          if (nA > 0) addScaled(fdGradient(full, aFeeds, (name) => name.startsWith('o.')), nA / total);
        }
        expect(relativeError(analytic, expected), `window ${JSON.stringify(w)}`).toBeLessThan(1e-6);
      }
    });
  }
});
