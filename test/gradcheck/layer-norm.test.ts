// layer_norm (docs/language.md sections 5 and 10): in a model, normalised over
// the last axis then scaled and shifted by a learned gain and bias; in a
// cell, the normalisation alone. Each row comes out with mean 0 and variance
// 1 (before the gain), the gradients match finite differences, and sqrt,
// the element-wise op it is made of, is checked with every other op
// (test/ir/registry.test.ts).
import { describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import { compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { seqRegressor } from '../helpers/programs.js';

const MODEL = `
model m {
  dim V = 5, H = 4
  input  x: seq<token[V]>
  target y: seq<token[V]>
  r = gru(embed(x, 3)) with H
  h = layer_norm(r)
  loss = cross_entropy(dense(h, V), y)
}`;

const CELL = `
cell ln_rnn(x: [X]) -> h: [H] {
  param W: [H, X]
  param U: [H, H]
  param g: [H] = ones
  param b: [H]
  h[t] = tanh(g * layer_norm(W @ x[t] + U @ h[t-1], eps = 1e-3) + b)
}${seqRegressor('ln_rnn(x)', { H: 3 })}`;

describe('layer_norm', () => {
  it('in a model: a gain and a bias per feature, named after the statement (`h = layer_norm(r)`: h.g, h.b)', () => {
    const model = compileModel(MODEL);
    expect(model.params.filter((p) => p.name.startsWith('h.')).map((p) => [p.name, p.shape, p.init.kind])).toEqual([
      ['h.g', [4], 'ones'],
      ['h.b', [4], 'zeros'],
    ]);
  });

  it('normalises each row to mean 0 and variance 1 (gain 1, bias 0)', () => {
    const model = compileModel(MODEL);
    const withH = { ...model, graph: { ...model.graph, outputs: [...model.graph.outputs, { value: model.graph.values.findIndex((v) => v.name === 'h'), role: 'result' as const, name: 'h' }] } };
    const g = trainingGraphs(withH, false, { optimize: false }).forward;
    const feeds = randomFeeds(withH, g, { lengths: [3, 2], seed: 2 });
    // Gain 1, bias 0.
    g.inputs.forEach((inp, i) => {
      if (inp.name === 'h.g') feeds[i] = { ...feeds[i]!, data: feeds[i]!.data.map(() => 1) };
      if (inp.name === 'h.b') feeds[i] = { ...feeds[i]!, data: feeds[i]!.data.map(() => 0) };
    });
    const outs = evaluateGraph(g, feeds);
    const h = outs[g.outputs.findIndex((o) => o.name === 'h')]!;
    for (let r = 0; r < h.data.length / 4; r++) {
      const row = Array.from(h.data.slice(r * 4, r * 4 + 4));
      const mean = row.reduce((a, b) => a + b, 0) / 4;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
      expect(Math.abs(mean)).toBeLessThan(1e-12);
      // v / (v + eps): just under 1 (eps = 1e-5 in the denominator).
      expect(variance).toBeGreaterThan(0.999);
      expect(variance).toBeLessThan(1);
    }
  });

  for (const [name, text] of [['a model', MODEL], ['a cell', CELL]] as const) {
    it(`in ${name}: gradients match finite differences (float64)`, () => {
      const model = compileModel(text);
      const { forward } = trainingGraphs(model, false);
      const res = gradCheck(forward, randomFeeds(model, forward, { lengths: [4, 2, 3], seed: 7, randomState: true }));
      expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
    });
  }
});
