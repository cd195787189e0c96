// The optimisation pipeline changes no number beyond float rounding: the
// training graph with passes on and off gives the same loss and gradients on
// the float64 reference (1e-12), and the passes did what they claim: no
// weight-gradient accumulator and no transposed product left in a loop.
// Before/after goldens pin what each pass does to a small model.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import { printGraph } from '../../compiler/ir/printer.js';
import type { Graph } from '../../compiler/ir/types.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import { compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { relativeError } from '../helpers/gradcheck.js';

const PROGRAMS: Record<string, { text: string; truncated: boolean; gate?: number[] }> = {
  'lstm language model': {
    text: `model m { dim V = 5, H = 3
  input x: seq<token[V]>; target y: seq<token[V]>
  h = lstm(embed(x, 4)) with H
  loss = cross_entropy(dense(h, V), y) }`,
    truncated: false,
  },
  'gru, truncated with a cut': {
    text: `model m { dim V = 4, H = 3
  input x: seq<token[V]>; target y: seq<token[V]>
  h = gru(one_hot(x)) with H
  loss = cross_entropy(dense(h, V), y) }`,
    truncated: true,
    gate: [0, 0, 1, 1, 1],
  },
  'bidirectional rnn + minimal gated unit reading a weight twice': {
    text: `cell mgu(x: [X]) -> h: [H] {
  param W_f: [H, X]; param U_f: [H, H]; param b_f: [H]
  f[t] = sigmoid(W_f @ x[t] + U_f @ h[t-1] + b_f)
  h[t] = (1 - f[t]) * h[t-1] + f[t] * tanh(W_f @ x[t] + U_f @ h[t-1])
}
model m { dim H = 3
  input x: seq<[2]>; target y: [1]
  a = bidir rnn(x) with H
  b = mgu(a) with H
  loss = mse(dense(mean(b), 1), y) }`,
    truncated: false,
  },
};

function bodies(g: Graph): Graph[] {
  return g.nodes.filter((n) => n.op === 'scan').map((n) => n.body!);
}

describe('optimisation pipeline', () => {
  for (const [name, p] of Object.entries(PROGRAMS)) {
    it(`${name}: same loss and gradients with passes on and off`, () => {
      const model = compileModel(p.text);
      const off = trainingGraphs(model, p.truncated, { optimize: false });
      const on = trainingGraphs(model, p.truncated);
      expect(on.training).not.toBe(off.training);
      const feeds = randomFeeds(model, off.training, { lengths: [5, 3, 4], seed: 4, randomState: true, ...(p.gate ? { gate: p.gate } : {}) });
      const run = (g: Graph) => {
        const outs = evaluateGraph(g, feeds);
        return new Map(g.outputs.map((o, i) => [o.name, outs[i]!.data] as const).filter(([n]) => n.startsWith('d_') || n === 'loss'));
      };
      const a = run(off.training);
      const b = run(on.training);
      expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
      expect(relativeError(a, b)).toBeLessThan(1e-12);
      // The loops no longer accumulate weight gradients nor multiply by transposed weights.
      for (const body of bodies(on.training)) {
        expect(body.nodes.some((n) => n.op === 'outer')).toBe(false);
        const consts = new Set(body.inputs.filter((i) => body.values[i.value]!.type.shape.length === 2 && !i.name.endsWith('_t')).map((i) => i.value));
        expect(body.nodes.some((n) => n.op === 'linear' && consts.has(n.inputs[1]!))).toBe(false);
      }
      expect(bodies(off.training).some((body) => body.nodes.some((n) => n.op === 'outer'))).toBe(true);
    });
  }

  it('saving residuals and recomputing them (--remat) give the same gradients; saving runs fewer ops per reverse step', () => {
    const model = compileModel(PROGRAMS['lstm language model']!.text);
    const saved = trainingGraphs(model, false);
    const remat = trainingGraphs(model, false, { remat: true });
    const feeds = randomFeeds(model, saved.training, { lengths: [5, 3, 4], seed: 8, randomState: true });
    const grads = (g: Graph) => {
      const outs = evaluateGraph(g, feeds);
      return new Map(g.outputs.map((o, i) => [o.name, outs[i]!.data] as const).filter(([n]) => n.startsWith('d_')));
    };
    expect(relativeError(grads(saved.training), grads(remat.training))).toBeLessThan(1e-12);
    const reverseOps = (g: Graph) => g.nodes.filter((n) => n.op === 'scan' && n.attrs['reverse'] === true).map((n) => n.body!.nodes.length)[0]!;
    expect(reverseOps(saved.training)).toBeLessThan(reverseOps(remat.training));
  });

  it('before/after goldens of each pass on an rnn', async () => {
    const model = compileModel(`model m { dim V = 3, H = 2
  input x: seq<token[V]>; target y: seq<token[V]>
  h = rnn(one_hot(x)) with H
  loss = cross_entropy(dense(h, V), y) }`);
    const stages: string[] = [];
    const off = trainingGraphs(model, false, { optimize: false });
    stages.push(printGraph(off.training, 'training graph before the pipeline'));
    trainingGraphs(model, false, {
      after: (pass, g) => {
        if (g.outputs.some((o) => o.role === 'grad')) stages.push(printGraph(g, `training graph after ${pass}`));
      },
    });
    await expect(`${stages.join('\n\n')}\n`).toMatchFileSnapshot(join(__dirname, '..', 'cases', 'passes', 'rnn.pipeline.ir.txt'));
  });
});
