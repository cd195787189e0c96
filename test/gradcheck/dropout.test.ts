// dropout(x, p) (docs/language.md section 10): lowered for training, a data
// input of uniform draws per call keeps the values whose draw is above p and
// scales them by 1 / (1 - p); lowered for evaluation, the identity. The
// training lowering's gradients match finite differences (for fixed draws).
// In a cell, one mask per sequence and call serves every step (variational
// dropout): a [B, ...] input the scan reads whole.
import { describe, expect, it } from 'vitest';
import { buildModel, trainingGraphs } from '../../compiler/compile.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import { analyzeText } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { gradCheck } from '../helpers/gradcheck.js';

const TEXT = `
model m {
  dim V = 5, H = 4
  input  x: seq<token[V]>
  target y: seq<token[V]>
  e = dropout(embed(x, 3), 0.25)
  h = gru(e) with H
  loss = cross_entropy(dense(dropout(h, 0.5), V), y)
}`;

const lower = (dropout: boolean) => buildModel(analyzeText(TEXT), 'm', {}, undefined, { dropout }).model!;

describe('dropout', () => {
  it('is a data input of draws per call when training, and nothing when evaluating', () => {
    const train = lower(true);
    const evaluation = lower(false);
    expect(train.graph.inputs.filter((i) => i.name.startsWith('dropout:')).map((i) => i.name)).toEqual(['dropout:e', 'dropout:loss.dropout']);
    expect(evaluation.graph.inputs.some((i) => i.name.startsWith('dropout:'))).toBe(false);
    expect(train.dropouts).toEqual([{ name: 'e', p: 0.25 }, { name: 'loss.dropout', p: 0.5 }]);
    expect(train.params.map((p) => p.name)).toEqual(evaluation.params.map((p) => p.name));
  });

  it('keeps a value when its draw is above p, scaled by 1 / (1 - p), and drops it otherwise (its gradient is then zero)', () => {
    const train = trainingGraphs(lower(true), false, { optimize: false }).forward;
    const evaluation = trainingGraphs(lower(false), false, { optimize: false }).forward;
    const feeds = randomFeeds(lower(true), train, { lengths: [3, 2], seed: 4 });
    const byName = new Map(train.inputs.map((inp, i) => [inp.name, i]));
    // Draws of 0.9 everywhere: nothing dropped, every value scaled by 1 / (1 - p).
    const all = train.inputs.map((inp, i) => (inp.name.startsWith('dropout:') ? { ...feeds[i]!, data: feeds[i]!.data.map(() => 0.9) } : feeds[i]!));
    const kept = evaluateGraph(train, all)[train.outputs.findIndex((o) => o.role === 'loss')]!.data[0]!;
    const plain = evaluateGraph(evaluation, evaluation.inputs.map((inp) => all[byName.get(inp.name)!]!))[evaluation.outputs.findIndex((o) => o.role === 'loss')]!.data[0]!;
    expect(kept).not.toBe(plain); // the 1 / (1 - p) scaling
    // Draws of 0 everywhere: every value dropped; the embedding's gradient is then exactly zero.
    const none = train.inputs.map((inp, i) => (inp.name === 'dropout:e' ? { ...feeds[i]!, data: feeds[i]!.data.map(() => 0) } : all[i]!));
    const g = trainingGraphs(lower(true), false, { optimize: false }).training;
    const out = evaluateGraph(g, g.inputs.map((inp) => none[byName.get(inp.name)!]!));
    const dTable = out[g.outputs.findIndex((o) => o.name === 'd_e.embed.table')]!;
    expect(dTable.data.every((v) => v === 0)).toBe(true);
  });

  it('differentiates like everything else (fixed draws): finite differences', () => {
    const model = lower(true);
    const { forward } = trainingGraphs(model, false);
    const feeds = randomFeeds(model, forward, { lengths: [4, 2, 3], seed: 9 });
    const draws = forward.inputs.map((inp, i) => (inp.name.startsWith('dropout:') ? { ...feeds[i]!, data: feeds[i]!.data.map((_, k) => ((k * 7919) % 100) / 100) } : feeds[i]!));
    const res = gradCheck(forward, draws);
    expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
  });

  describe('in a cell', () => {
    const CELL = `
cell drnn(x: [X]) -> h: [H] {
  option p = 0.3
  param W: [H, X] = glorot
  param U: [H, H] = orthogonal
  param b: [H] = zeros
  h[t] = tanh(W @ dropout(x[t], 0.2) + U @ dropout(h[t-1], p) + b)
}
model c {
  dim V = 5, H = 4
  input  x: seq<token[V]>
  target y: seq<token[V]>
  h = drnn(embed(x, 3)) with H, p = 0.4
  loss = cross_entropy(dense(h, V), y)
}`;
    const lowerCell = (dropout: boolean) => buildModel(analyzeText(CELL), 'c', {}, undefined, { dropout }).model!;

    it('one [B, ...] mask per call, read whole by the scan; the option sets p; nothing when evaluating', () => {
      const train = lowerCell(true);
      const drops = train.graph.inputs.filter((i) => i.name.startsWith('dropout:'));
      expect(drops.map((i) => i.name)).toEqual(['dropout:h.h#0', 'dropout:h.h#1']);
      expect(drops.map((i) => train.graph.values[i.value]!.type.shape)).toEqual([['B', 3], ['B', 4]]);
      expect(train.dropouts).toEqual([{ name: 'h.h#0', p: 0.2 }, { name: 'h.h#1', p: 0.4 }]);
      const evaluation = lowerCell(false);
      expect(evaluation.graph.inputs.some((i) => i.name.startsWith('dropout:'))).toBe(false);
      expect(evaluation.dropouts).toEqual(train.dropouts);
      expect(train.params.map((p) => p.name)).toEqual(evaluation.params.map((p) => p.name));
    });

    it('draws above p keep everything (scaled), draws of 0 drop the recurrence: then h[t] does not depend on h[t-1]', () => {
      const model = lowerCell(true);
      const g = trainingGraphs(model, false, { optimize: false }).training;
      const feeds = randomFeeds(model, g, { lengths: [3, 2], seed: 4 });
      const withDraws = (f: (name: string) => number | undefined) =>
        g.inputs.map((inp, i) => {
          const v = f(inp.name);
          return v === undefined ? feeds[i]! : { ...feeds[i]!, data: feeds[i]!.data.map(() => v) };
        });
      const grad = (name: string, fs: ReturnType<typeof withDraws>) => evaluateGraph(g, fs)[g.outputs.findIndex((o) => o.name === name)]!.data;
      // The recurrence dropped for every example: U gets no gradient.
      const noRecurrence = withDraws((n) => (n === 'dropout:h.h#1' ? 0 : n.startsWith('dropout:') ? 0.9 : undefined));
      expect(grad('d_h.U', noRecurrence).every((v) => v === 0)).toBe(true);
      const kept = withDraws((n) => (n.startsWith('dropout:') ? 0.9 : undefined));
      expect(grad('d_h.U', kept).some((v) => v !== 0)).toBe(true);
    });

    it('differentiates like everything else (fixed draws), optimised and not: finite differences', () => {
      for (const optimize of [true, false]) {
        const model = lowerCell(true);
        const { forward } = trainingGraphs(model, false, { optimize });
        const feeds = randomFeeds(model, forward, { lengths: [4, 2, 3], seed: 9 });
        const draws = forward.inputs.map((inp, i) => (inp.name.startsWith('dropout:') ? { ...feeds[i]!, data: feeds[i]!.data.map((_, k) => ((k * 7919) % 100) / 100) } : feeds[i]!));
        const res = gradCheck(forward, draws);
        expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
      }
    });

    it('errors: p out of range, a value that is the same at every step', () => {
      const bad = (eq: string) => analyzeText(CELL.replace('h[t] = tanh(W @ dropout(x[t], 0.2) + U @ dropout(h[t-1], p) + b)', eq));
      const codes = (eq: string) => {
        const a = bad(eq);
        const built = buildModel(a, 'c', {}, undefined, { dropout: true });
        return [...a.diagnostics, ...built.diagnostics].map((d) => d.code);
      };
      expect(codes('h[t] = tanh(W @ x[t] + U @ dropout(h[t-1], 1.5) + b)')).toContain('RNN3006');
      expect(codes('h[t] = tanh(dropout(W, 0.2) @ x[t] + U @ h[t-1] + b)')).toContain('RNN2005');
    });
  });
});
