// Cells calling cells (compiler/sema/inline.ts; docs/language.md section 4):
// an attention decoder whose recurrence is the standard `lstm` called from
// inside it computes exactly what the same equations written out compute
// (the same loss, outputs and gradients, bit for bit on the float64
// reference, parameters matched by name), its gradients match finite
// differences, options and sizes pass through `with`, and the mistakes are
// errors with codes and spans.
import { describe, expect, it } from 'vitest';
import { checkProgram, trainingGraphs } from '../../compiler/compile.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import { loadStdlib } from '../../src/stdlib.js';
import { compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { decoderCallingLstm, seqRegressor } from '../helpers/programs.js';

const check = (text: string) => checkProgram({ file: 'test.rnn', text }, loadStdlib()).filter((d) => d.severity === 'error');

describe('a cell calling a cell', () => {
  it('names what it creates under the equation: parameters y.s.W_g..., states y.s (its output) and y.s.c', () => {
    const model = compileModel(decoderCallingLstm());
    const names = model.params.map((p) => p.name).filter((n) => n.startsWith('y.s.'));
    expect(names).toEqual(['y.s.W_g', 'y.s.W_i', 'y.s.W_f', 'y.s.W_o', 'y.s.W_gh', 'y.s.W_ih', 'y.s.W_fh', 'y.s.W_oh', 'y.s.b_g', 'y.s.b_i', 'y.s.b_o', 'y.s.b_f']);
    expect(model.params.find((p) => p.name === 'y.s.W_g')!.shape).toEqual([3, 10]); // X = M + D = 4 + 6
    expect(model.params.find((p) => p.name === 'y.s.b_f')!.init.kind).toBe('ones');
    expect(model.graph.inputs.filter((i) => i.role === 'state').map((i) => i.name)).toEqual(expect.arrayContaining(['y.s', 'y.s.c']));
  });

  it('computes what the same equations written out compute: loss, scores and every gradient, bit for bit', () => {
    const called = compileModel(decoderCallingLstm());
    const byHand = compileModel(decoderCallingLstm(true));
    const a = trainingGraphs(called, false, { optimize: false }).training;
    const b = trainingGraphs(byHand, false, { optimize: false }).training;
    const feeds = randomFeeds(called, a, { lengths: [4, 2, 3], targetLengths: [3, 5, 1], seed: 12, randomState: false });
    // The hand-written cell's parameter `y.W_g` is the call's `y.s.W_g`; its state `y.c` is `y.s.c`.
    const theirs = (name: string): string => name.replace(/^y\.(W_[gifo]h?|b_[gifo])$/, 'y.s.$1').replace(/^y\.c$/, 'y.s.c');
    const byName = new Map(a.inputs.map((inp, i) => [inp.name, feeds[i]!]));
    const feedsB = b.inputs.map((inp) => byName.get(theirs(inp.name))!);
    expect(feedsB.every((f) => f !== undefined)).toBe(true);
    const outA = evaluateGraph(a, feeds);
    const outB = evaluateGraph(b, feedsB);
    const resultA = new Map(a.outputs.map((o, i) => [o.name, outA[i]!]));
    let compared = 0;
    b.outputs.forEach((o, i) => {
      const name = o.role === 'grad' ? `d_${theirs(o.name.slice(2))}` : theirs(o.name);
      const want = resultA.get(name);
      expect(want, name).toBeDefined();
      expect(Array.from(outB[i]!.data)).toEqual(Array.from(want!.data));
      compared++;
    });
    expect(compared).toBeGreaterThan(20);
  });

  it('differentiates: gradients match finite differences (float64)', () => {
    const model = compileModel(decoderCallingLstm());
    const { forward } = trainingGraphs(model, false);
    const res = gradCheck(forward, randomFeeds(model, forward, { lengths: [4, 2, 3], targetLengths: [2, 4, 3], seed: 5, randomState: true }));
    expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
    expect([...res.analytic.keys()]).toContain('y.s.W_gh');
  });

  it('passes options and sizes through `with`; an input of the outer cell gives its sizes', () => {
    const text = `
cell twice(x: [X]) -> h: [H] {
  u[t] = rnn(x[t]) with act = relu
  h[t] = gru(u[t]) with X = H
}${seqRegressor('twice(x)', { H: 3 })}`;
    expect(check(text)).toEqual([]);
    const model = compileModel(text);
    expect(model.params.find((p) => p.name === 'h.u.U')!.shape).toEqual([3, 2]);
    expect(model.params.find((p) => p.name === 'h.h.W_z')!.shape).toEqual([3, 3]);
    // rnn's `act` is relu here: the lowered graph applies relu, not tanh.
    const ops = new Set(model.graph.nodes.flatMap((n) => (n.op === 'scan' ? (n.body?.nodes ?? []).map((m) => m.op) : [n.op])));
    expect(ops.has('relu')).toBe(true);
    const { forward } = trainingGraphs(model, false);
    const res = gradCheck(forward, randomFeeds(model, forward, { lengths: [3, 2], seed: 2, randomState: true }));
    expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
  });
});

describe('cells calling cells: mistakes', () => {
  const cases: [string, string, string, string][] = [
    ['a cell calling itself', 'cell loop(x: [X]) -> h: [H] {\n  h[t] = loop(x[t])\n}', 'RNN2005', 'would call itself'],
    ['a cell applied inside an expression', 'cell c(x: [X]) -> h: [H] {\n  h[t] = tanh(gru(x[t]) with H)\n}', 'RNN1', ''],
    ['a cell applied inside an expression (no with)', 'cell c(x: [X]) -> h: [H] {\n  h[t] = tanh(gru(x[t]))\n}', 'RNN2005', 'is applied inside an expression'],
    ['an input size nobody gives (an expression: its size is not known before shapes are)', 'cell c(x: [X]) -> h: [H] {\n  param W: [H, X]\n  u[t] = W @ x[t]\n  h[t] = gru(tanh(u[t]))\n}', 'RNN3002', 'the size X of input `x` of cell `gru` is not known here'],
    ['`with` on an equation that applies no cell', 'cell c(x: [X]) -> h: [H] {\n  param W: [H, X]\n  h[t] = tanh(W @ x[t]) with H = 3\n}', 'RNN2007', 'applies no cell'],
    ['a `with` name the called cell does not have', 'cell c(x: [X]) -> h: [H] {\n  h[t] = gru(x[t]) with Q = 3\n}', 'RNN2007', 'cell `gru` has no dimension or option `Q`'],
    ['a `with` name given twice', 'cell c(x: [X]) -> h: [H] {\n  h[t] = rnn(x[t]) with act = relu, act = tanh\n}', 'RNN2007', '`act` is given twice'],
    ['an input passed whole where the called cell reads it per step', 'cell c(x: [X]) -> h: [H] {\n  h[t] = gru(x)\n}', 'RNN3005', 'reads its input `x` per step, but `x` is given whole'],
    ['an unknown cell', 'cell c(x: [X]) -> h: [H] {\n  h[t] = grux(x[t]) with X\n}', 'RNN2004', 'unknown cell `grux`'],
    ['the call named like a parameter of the cell', 'cell c(x: [X]) -> h: [H] {\n  param s: [H]\n  s[t] = gru(x[t])\n  h[t] = s[t]\n}', 'RNN2002', '`s` is already an input, parameter or option of this cell'],
  ];
  for (const [what, cell, code, message] of cases) {
    it(what, () => {
      const ds = check(`${cell}\nmodel m {\n  dim H = 3\n  input x: seq<[2]>\n  target y: seq<[1]>\n  h = c(x) with H\n  loss = mse(dense(h, 1), y)\n}`.replace('h = c(x)', cell.startsWith('cell loop') ? 'h = loop(x)' : 'h = c(x)'));
      expect(ds.some((d) => d.code.startsWith(code)), JSON.stringify(ds.map((d) => `${d.code} ${d.message}`))).toBe(true);
      if (message) expect(ds.find((d) => d.code.startsWith(code))!.message).toContain(message);
      // The call's error, and no others that follow from the equation it could not expand (RNN4004, RNN2003).
      if (code !== 'RNN1') expect(ds.map((d) => d.code)).toEqual([code]);
    });
  }

  it('a mistake inside a standard cell is reported at the call, in the user\'s file', () => {
    const text = `cell c(x: [X]) -> h: [H] {
  h[t] = gru(x[t]) with X = 7
}
model m {
  dim H = 3
  input x: seq<[2]>
  target y: seq<[1]>
  h = c(x) with H
  loss = mse(dense(h, 1), y)
}`;
    const ds = check(text);
    expect(ds.length).toBeGreaterThan(0);
    for (const d of ds) expect(d.span.file).toBe('test.rnn');
    expect(ds[0]!.span.line).toBe(2);
  });

  it('an option of the called cell not given keeps its default, not the calling cell\'s option of that name', () => {
    const program = (bind: string): string => `cell c(x: [X]) -> h: [H] {
  option alpha = 0.3
  h[t] = rnn(x[t]) with act = leaky_relu${bind}
}
model m {
  dim H = 3
  input x: seq<[2]>
  target y: seq<[1]>
  h = c(x) with H
  loss = mse(dense(h, 1), y)
}`;
    const slope = (text: string): number[] =>
      compileModel(text).graph.nodes.flatMap((n) => (n.body?.nodes ?? []).filter((m) => m.op === 'leaky_relu').map((m) => m.attrs['alpha'] as number));
    expect(slope(program(''))).toEqual([0.01]);
    expect(slope(program(', alpha = 0.2'))).toEqual([0.2]);
  });
});
