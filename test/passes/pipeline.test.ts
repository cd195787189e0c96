// The optimisation pipeline changes no number beyond float rounding: the
// training graph with passes on and off gives the same loss and gradients on
// the float64 reference (1e-12), and the passes did what they claim: no
// weight-gradient accumulator and no transposed product left in a loop.
// Before/after goldens pin what each pass does to a small model.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import { dedupeScanOutputs } from '../../compiler/passes/dedupe-scan-outputs.js';
import { transposeOuterOperands } from '../../compiler/passes/transpose-outer-operands.js';
import { TRAINING_PIPELINE, runPipeline } from '../../compiler/passes/pipeline.js';
import { differentiate } from '../../compiler/autodiff/vjp.js';
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

  it('before/after goldens of the streaming passes on an lstm (predict graph, batches without padding)', async () => {
    const model = compileModel(`model m { dim V = 3, H = 2
  input x: seq<token[V]>; target y: seq<token[V]>
  h = lstm(one_hot(x)) with H
  loss = cross_entropy(dense(h, V), y) }`);
    const shown = new Set(['sink-output-projections', 'fuse-gate-products', 'fuse-elementwise']);
    const stages: string[] = [];
    trainingGraphs(model, false, {
      assumeFullMask: true,
      after: (pass, g) => {
        // The predict graph is the one without a loss.
        if (shown.has(pass) && !g.outputs.some((o) => o.role === 'loss' || o.role === 'grad')) stages.push(printGraph(g, `predict graph after ${pass}`));
      },
    });
    expect(stages).toHaveLength(3);
    await expect(`${stages.join('\n\n')}\n`).toMatchFileSnapshot(join(__dirname, '..', 'cases', 'passes', 'lstm.predict-pipeline.ir.txt'));
  });
});

describe('dedupe-scan-outputs, transpose-outer-operands and one-hot-products on an LSTM', () => {
  // Vector input: the four gates share x[t] and h[t-1].
  const model = compileModel(`model m { dim V = 6, H = 5
  input x: seq<[3]>; target y: seq<token[V]>
  h = lstm(x) with H
  loss = cross_entropy(dense(h, V), y) }`);
  const count = (g: Graph, op: string): number => g.nodes.filter((n) => n.op === op).length;
  const repeatedOutputs = (g: Graph): number =>
    g.nodes
      .filter((n) => n.op === 'scan')
      .reduce((acc, n) => {
        const results = n.body!.outputs.slice(n.attrs['nCarry'] as number).map((o) => o.value);
        return acc + results.length - new Set(results).size;
      }, 0);
  // The training pipeline with one pass left out.
  const without = (name: string): Graph =>
    runPipeline(
      differentiate(trainingGraphs(model, false, { optimize: false }).forward, 'loss'),
      TRAINING_PIPELINE.filter((p) => p.name !== name),
    );

  // Per-step outputs that hand back the step's slice of a per-step input (h[t-1], read from the forward loop).
  const restackedInputs = (g: Graph): number =>
    g.nodes
      .filter((n) => n.op === 'scan')
      .reduce((acc, n) => {
        const [nCarry, nXs] = [n.attrs['nCarry'] as number, n.attrs['nXs'] as number];
        const xs = new Set(n.body!.inputs.slice(nCarry, nCarry + nXs).map((a) => a.value));
        return acc + n.body!.outputs.slice(nCarry).filter((o) => xs.has(o.value)).length;
      }, 0);

  it('the reverse loop stacks each step value once and restacks no input (autodiff stacks the gate cotangents and h[t-1] several times)', () => {
    const full = trainingGraphs(model, false).training;
    expect(repeatedOutputs(without('dedupe-scan-outputs'))).toBeGreaterThan(8);
    expect(restackedInputs(without('dedupe-scan-outputs'))).toBeGreaterThan(0);
    expect(repeatedOutputs(full)).toBe(0);
    expect(restackedInputs(full)).toBe(0);
    expect(dedupeScanOutputs(full)).toBe(full);
  });

  it('the eight gate weight gradients transpose x and h[t-1] once each (and the output layer its cotangent): 3 transposes of [T, B, *] instead of 9', () => {
    const full = trainingGraphs(model, false).training;
    expect(count(without('transpose-outer-operands'), 'outer')).toBe(9);
    expect(count(full, 'outer')).toBe(0);
    expect(count(full, 'outer_lt')).toBe(9);
    expect(count(full, 'lead_last')).toBe(3);
    expect(transposeOuterOperands(full)).toBe(full);
  });

  it('one-hot input (the benchmark model): the input products become lookups, their gradients row sums', () => {
    const oneHot = compileModel(`model m { dim V = 6, H = 5
  input x: seq<token[V]>; target y: seq<token[V]>
  h = lstm(one_hot(x)) with H
  loss = cross_entropy(dense(h, V), y) }`);
    const g = trainingGraphs(oneHot, false).training;
    expect(count(g, 'one_hot')).toBe(0);
    expect(count(g, 'gather')).toBe(4);
    expect(count(g, 'scatter_add')).toBe(4);
    // Left: the recurrent weights (sharing h[t-1]) and the output layer.
    expect(count(g, 'outer_lt')).toBe(5);
    expect(count(g, 'lead_last')).toBe(2);
    const off = trainingGraphs(oneHot, false, { optimize: false }).training;
    expect(count(off, 'one_hot')).toBe(1);
    const run = (x: Graph) => {
      const outs = evaluateGraph(x, randomFeeds(oneHot, x, { lengths: [4, 2, 3], seed: 10, randomState: true }));
      return new Map(x.outputs.map((o, i) => [o.name, outs[i]!.data] as const).filter(([n]) => n.startsWith('d_') || n === 'loss'));
    };
    expect(relativeError(run(off), run(g))).toBeLessThan(1e-12);
  });

  it('the two passes change no number (float64 reference)', () => {
    const base = without('transpose-outer-operands');
    const full = trainingGraphs(model, false).training;
    const feeds = randomFeeds(model, full, { lengths: [4, 2, 3], seed: 9, randomState: true });
    const run = (g: Graph) => {
      const outs = evaluateGraph(g, feeds);
      return new Map(g.outputs.map((o, i) => [o.name, outs[i]!.data] as const).filter(([n]) => n.startsWith('d_')));
    };
    expect(relativeError(run(base), run(full))).toBeLessThan(1e-12);
  });
});
