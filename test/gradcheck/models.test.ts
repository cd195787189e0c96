// Symbolic gradients of whole models (every standard cell, a custom cell,
// bidirectional and stacked layers, masks, many-to-one, regression, and
// truncated-BPTT gates) against central finite differences on the float64
// reference evaluator.
import { bidirectionalTagger, tokenLm } from '../helpers/programs.js';
import { describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import { compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { gradCheck } from '../helpers/gradcheck.js';


const CASES: Record<string, string> = {
  'rnn (tanh)': tokenLm('h = rnn(e) with H'),
  'rnn (relu)': tokenLm('h = rnn(e) with H, act = relu'),
  'rnn (leaky_relu)': tokenLm('h = rnn(e) with H, act = leaky_relu'),
  irnn: tokenLm('h = irnn(e) with H'),
  lstm: tokenLm('h = lstm(e) with H'),
  gru: tokenLm('h = gru(e) with H'),
  'gru (reset after)': tokenLm('h = gru_ra(e) with H'),
  'one_hot input': tokenLm('h = gru(one_hot(x)) with H'),
  'custom cell (minimal gated unit)': `
cell mgu(x: [X]) -> h: [H] {
  param W_f: [H, X]
  param U_f: [H, H]
  param b_f: [H] = ones
  param W_h: [H, X]
  param U_h: [H, H]
  param b_h: [H]
  f[t] = sigmoid(W_f @ x[t] + U_f @ h[t-1] + b_f)
  n[t] = tanh(W_h @ x[t] + U_h @ (f[t] * h[t-1]) + b_h)
  h[t] = (1 - f[t]) * h[t-1] + f[t] * n[t]
}
${tokenLm('h = mgu(e) with H')}`,
  'custom cell (peephole LSTM, backwards with [t+1])': `
cell peep(x: [X]) -> h: [H] {
  param W_i, W_f, W_o, W_c: [H, X]
  param U_i, U_f, U_o, U_c: [H, H]
  param p_i, p_f, p_o: [H]
  param b_i, b_o, b_c: [H]
  param b_f: [H] = ones
  i[t] = sigmoid(W_i @ x[t] + U_i @ h[t+1] + p_i * c[t+1] + b_i)
  f[t] = sigmoid(W_f @ x[t] + U_f @ h[t+1] + p_f * c[t+1] + b_f)
  c[t] = f[t] * c[t+1] + i[t] * tanh(W_c @ x[t] + U_c @ h[t+1] + b_c)
  o[t] = sigmoid(W_o @ x[t] + U_o @ h[t+1] + p_o * c[t] + b_o)
  h[t] = o[t] * tanh(c[t])
}
${tokenLm('h = peep(e) with H')}`,
  'bidirectional pair': bidirectionalTagger('lstm'),
  'bidir shorthand': `
model m {
  dim V = 5, K = 4, H = 2
  input x: seq<token[V]>
  target y: seq<token[K]>
  h = bidir gru(one_hot(x)) with H
  o = dense(h, K)
  loss = cross_entropy(o, y)
}`,
  'stacked layers': `
model m {
  dim V = 5, H = 3
  input x: seq<token[V]>
  target y: seq<token[V]>
  h1 = rnn(embed(x, 3)) with H
  h2 = lstm(h1) with H
  h3 = gru(h2 + h1) with H
  o = dense(h3, V)
  loss = cross_entropy(o, y)
}`,
  'many-to-one classification (last state)': `
model m {
  dim K = 3, H = 4
  input x: seq<[2]>
  target y: token[K]
  h = lstm(x) with H
  loss = cross_entropy(dense(last(h), K), y)
}`,
  'many-to-one regression (mean pooling)': `
model m {
  dim H = 3
  input x: seq<[2]>
  target y: [1]
  h = gru(x) with H
  p = dense(mean(h), 1)
  loss = mse(p, y)
}`,
  'softmax in a cell (a gated mixture of candidates) and over the outputs of a model': `
cell mix(x: [X]) -> h: [H] {
  param W_a: [H, X]
  param U_a: [H, H]
  param W_h: [H, X]
  a[t] = softmax(W_a @ x[t] + U_a @ h[t-1])
  h[t] = a[t] * tanh(W_h @ x[t]) + (1 - a[t]) * h[t-1]
}
model m {
  dim H = 3, K = 4
  input x: seq<[2]>
  target y: seq<[4]>
  h = mix(x) with H
  p[t] = softmax(dense(h[t], K))
  loss = mse(p, y)
}`,
  'sequence regression': `
model m {
  dim H = 3
  input x: seq<[1]>
  target y: seq<[1]>
  h = rnn(x) with H
  p[t] = dense(tanh(h[t]), 1)
  loss = mse(p, y)
}`,
};

describe('model gradients match finite differences (float64 reference)', () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(name, () => {
      const model = compileModel(text);
      const { forward } = trainingGraphs(model, false);
      const feeds = randomFeeds(model, forward, { lengths: [4, 2, 3], seed: 11, randomState: true });
      const res = gradCheck(forward, feeds);
      expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
      expect(Number.isFinite(res.loss)).toBe(true);
    });
  }
});

describe('bidir', () => {
  it('lowers its argument once: one embedding table read by both directions', () => {
    const model = compileModel(`
model m {
  dim V = 5, K = 3, H = 2
  input x: seq<token[V]>
  target y: seq<token[K]>
  h = bidir gru(embed(x, 4)) with H
  loss = cross_entropy(dense(h, K), y)
}`);
    const tables = model.params.filter((p) => p.name.endsWith('.table')).map((p) => p.name);
    expect(tables).toEqual(['h.embed.table']);
    expect(model.graph.nodes.filter((n) => n.op === 'gather')).toHaveLength(1);
    expect(model.graph.nodes.filter((n) => n.op === 'scan')).toHaveLength(2);
  });
});
