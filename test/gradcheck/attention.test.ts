// Attention in cells (`attend`, sema/cell.ts): each kind's symbolic
// gradients against central finite differences on the float64 reference,
// with memories made from padded sequences and from per-example inputs;
// padded memory rows get exactly zero weight.
import { describe, expect, it } from 'vitest';
import { buildModel, trainingGraphs } from '../../compiler/compile.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import { analyzeText, compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { attentionTagger } from '../helpers/programs.js';

const CASES: Record<string, string> = {
  'additive (Bahdanau)': attentionTagger('attend(h[t-1], mem, additive)'),
  'additive with its own size': attentionTagger('attend(h[t-1], mem, additive, size = 5)'),
  'dot (Luong)': attentionTagger('attend(h[t-1], mem, dot)'),
  'dot, scaled': attentionTagger('attend(h[t-1], mem, dot, scaled = 1)'),
  'general (Luong), memory of another width': attentionTagger('attend(h[t-1], mem, general)', 'e', 'E'),
  'query from the current input': attentionTagger('attend(tanh(W @ x[t]), mem, additive)'),
  'per-example memory [L, D] (a feature map) and a per-example vector': `
cell att(x: [X], mem: [L, D], s: [S]) -> h: [H] {
  param W: [H, X]
  param U: [H, H]
  param C: [H, D]
  param Z: [H, S]
  c[t] = attend(h[t-1], mem, general)
  h[t] = tanh(W @ x[t] + U @ h[t-1] + C @ c[t] + Z @ s)
}
model m {
  dim H = 3
  input x: seq<[2]>
  input img: [5, 4]
  input code: [2]
  target y: seq<[1]>
  d = att(x, img, code) with H
  loss = mse(dense(d, 1), y)
}`,
};

describe('attention gradients match finite differences (float64 reference)', () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(name, () => {
      const model = compileModel(text);
      const { forward } = trainingGraphs(model, false);
      const feeds = randomFeeds(model, forward, { lengths: [4, 2, 3], seed: 5, randomState: true });
      const res = gradCheck(forward, feeds);
      expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
      expect(Number.isFinite(res.loss)).toBe(true);
    });
  }

  it('names the weights of attend after the instance and the equation', () => {
    const model = compileModel(CASES['additive (Bahdanau)']!);
    expect(model.params.map((p) => p.name).filter((n) => n.startsWith('d.c.'))).toEqual(['d.c.W_m', 'd.c.W_q', 'd.c.v']);
    expect(model.params.find((p) => p.name === 'd.c.W_m')!.shape).toEqual([3, 3]);
  });
});

describe('padded memory rows', () => {
  it('get exactly zero weight: what the padding holds changes no output bit', () => {
    // The memory is the embedding of the tokens, padding included; only the padded tokens differ.
    const model = compileModel(attentionTagger('attend(h[t-1], mem, dot)', 'e', 'E').replace('embed(x, 4)', 'embed(x, 3)'));
    const { forward } = trainingGraphs(model, false);
    const lengths = [4, 2, 3];
    const a = randomFeeds(model, forward, { lengths, seed: 8 });
    const b = randomFeeds(model, forward, { lengths, seed: 8 });
    const x = forward.inputs.findIndex((i) => i.name === 'x');
    const B = lengths.length;
    const data = Float64Array.from(b[x]!.data);
    let changed = 0;
    for (let t = 0; t < 4; t++)
      for (let k = 0; k < B; k++) {
        if (t >= lengths[k]!) {
          data[t * B + k] = (data[t * B + k]! + 1 + t) % 5;
          changed++;
        }
      }
    expect(changed).toBeGreaterThan(0);
    b[x] = { ...b[x]!, data };
    const outA = evaluateGraph(forward, a);
    const outB = evaluateGraph(forward, b);
    const loss = forward.outputs.findIndex((o) => o.role === 'loss');
    expect(outB[loss]!.data[0]).toBe(outA[loss]!.data[0]);
    // and the padding does matter once it is not masked: the same change with full-length rows moves the loss
    const full = randomFeeds(model, forward, { lengths: [4, 4, 4], seed: 8 });
    const fullChanged = randomFeeds(model, forward, { lengths: [4, 4, 4], seed: 8 });
    fullChanged[x] = { ...fullChanged[x]!, data };
    expect(evaluateGraph(forward, fullChanged)[loss]!.data[0]).not.toBe(evaluateGraph(forward, full)[loss]!.data[0]);
  });
});

describe('attention weights (an output on request)', () => {
  it('sum to 1 over the memory rows, are exactly 0 on padded rows, and leave the prediction unchanged', () => {
    const text = attentionTagger('attend(h[t-1], mem, additive)');
    const a = analyzeText(text);
    const plain = buildModel(a, 'm', {}).model!;
    const withAlpha = buildModel(a, 'm', {}, undefined, { attention: true }).model!;
    const out = withAlpha.graph.outputs.find((o) => o.name === 'd.c.alpha');
    expect(out?.role).toBe('result');
    expect(plain.graph.outputs.some((o) => o.name === 'd.c.alpha')).toBe(false);
    const g = trainingGraphs(withAlpha, false).forward;
    const lengths = [4, 2, 3];
    const feeds = randomFeeds(withAlpha, g, { lengths, seed: 12 });
    const outs = evaluateGraph(g, feeds);
    const alpha = outs[g.outputs.findIndex((o) => o.name === 'd.c.alpha')]!;
    const [T, B, L] = alpha.shape as [number, number, number];
    expect([T, B, L]).toEqual([4, 3, 4]);
    for (let t = 0; t < T; t++)
      for (let b = 0; b < B; b++) {
        let sum = 0;
        for (let l = 0; l < L; l++) {
          const w = alpha.data[(t * B + b) * L + l]!;
          if (l >= lengths[b]!) expect(w).toBe(0);
          else expect(w).toBeGreaterThan(0);
          sum += w;
        }
        expect(sum).toBeCloseTo(1, 12);
      }
    const g0 = trainingGraphs(plain, false).forward;
    const pred = (graph: typeof g, f: typeof feeds) => evaluateGraph(graph, f)[graph.outputs.findIndex((o) => o.role === 'output')]!.data;
    const byName = new Map(g.inputs.map((inp, i) => [inp.name, feeds[i]!]));
    expect([...pred(g0, g0.inputs.map((inp) => byName.get(inp.name)!))]).toEqual([...pred(g, feeds)]);
  });
});
