// dropout(x, p) (docs/language.md section 10): lowered for training, a data
// input of uniform draws per call keeps the values whose draw is above p and
// scales them by 1 / (1 - p); lowered for evaluation, the identity. The
// training lowering's gradients match finite differences (for fixed draws).
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
});
