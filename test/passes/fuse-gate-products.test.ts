// passes/fuse-gate-products.ts on the predict graph (sampling, streaming),
// and join-summed-products.ts on a training graph with joined gates:
// a cell's gate products become one product and its input lookups one
// lookup; the elementwise group reads the gates' columns through windows,
// so the loop runs no slice; the graph computes what the evaluation graph
// computes (float64 reference; with the output layer's product sunk into
// the loop, sink-output-projections.ts); and a session streaming on cpu and wasm,
// with the side-by-side transposes kept as one derived input, gives the
// reference's predictions.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, trainingGraphs } from '../../compiler/compile.js';
import type { Graph } from '../../compiler/ir/types.js';
import { makeBatches } from '../../runtime/data/batching.js';
import type { Example } from '../../runtime/data/types.js';
import { selectBackend } from '../../runtime/backend.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import { tensor } from '../../runtime/reference/tensor.js';
import { TrainingSession } from '../../runtime/train/session.js';
import { sessionGraphs } from '../../src/project.js';
import { loadStdlib } from '../../src/stdlib.js';
import { compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { relativeError } from '../helpers/gradcheck.js';
import { bidirectionalTagger, tokenLm } from '../helpers/programs.js';

afterAll(async () => {
  await selectBackend('cpu');
});

const body = (g: Graph, k = 0): Graph => g.nodes.filter((n) => n.op === 'scan')[k]!.body!;
const ops = (g: Graph, op: string): number => g.nodes.filter((n) => n.op === op).length;

describe('fuse-gate-products', () => {
  it('an LSTM step over one-hot tokens: one lookup, one product, no slice, one elementwise group', () => {
    const text = `
model m {
  dim V = 5, H = 3
  input x: seq<token[V]>
  target y: seq<token[V]>
  h = lstm(one_hot(x)) with H
  o[t] = dense(h[t], V)
  loss = cross_entropy(o, y)
}`;
    const g = trainingGraphs(compileModel(text), false, { assumeFullMask: true }).predict;
    const b = body(g);
    // The gates' product, the elementwise group, and the output layer's product (sink-output-projections.ts).
    expect(b.nodes.map((n) => n.op)).toEqual(['mm', 'fused', 'mm']);
    expect(ops(b, 'slice_last')).toBe(0);
    const fused = b.nodes[1]!;
    expect((fused.attrs['windows'] as number[]).filter((w, i) => i % 2 === 0 && w >= 0)).toHaveLength(8); // 4 gates x (input, product)
    const scan = g.nodes.find((n) => n.op === 'scan')!;
    expect(scan.attrs['nXs']).toBe(1); // the four gates' input projections: one per-step input (no mask: unpadded)
  });

  it("join-summed-products: an LSTM backward step sums its gates' products as one product of the derivatives side by side, with the forward's joined matrix", () => {
    const joined = trainingGraphs(compileModel(tokenLm('h = lstm(e) with H')), false, { joinGates: true }).training;
    const backward = body(joined, 1);
    expect(ops(backward, 'mm')).toBe(0);
    const product = backward.nodes.filter((n) => n.op === 'linear');
    expect(product).toHaveLength(1);
    const operand = backward.nodes.find((n) => n.outputs[0] === product[0]!.inputs[0])!;
    expect(operand.op).toBe('concat');
    expect(operand.inputs).toHaveLength(4);
    // One matrix for both loops: the same outer value passed to the forward and the backward scan.
    const [fw, bw] = joined.nodes.filter((n) => n.op === 'scan');
    expect(fw!.inputs.at(-1)).toBe(bw!.inputs.at(-1));
    // Without joined gates (cpu, wasm) the four products stay.
    expect(ops(body(trainingGraphs(compileModel(tokenLm('h = lstm(e) with H')), false).training, 1), 'mm')).toBe(4);
  });

  it('a GRU step: the update and reset gates share one product; the candidate, which reads r * h, has its own', () => {
    const b = body(trainingGraphs(compileModel(tokenLm('h = gru(e) with H')), false).predict);
    const products = b.nodes.filter((n) => n.op === 'mm').map((n) => b.values[n.inputs[1]!]!.type.shape);
    expect(products).toEqual([[3, 6], [3, 3], [3, 5]]); // and the output layer's, sunk into the loop
  });

  for (const [name, text] of Object.entries({
    lstm: tokenLm('h = lstm(e) with H'),
    gru: tokenLm('h = gru(e) with H'),
    'bidirectional lstm + gru_ra': bidirectionalTagger('gru_ra'),
  })) {
    it(`${name}: predict computes the evaluation graph's outputs and states (float64 reference)`, () => {
      const model = compileModel(text);
      const graphs = trainingGraphs(model, false);
      const feeds = (g: Graph) => randomFeeds(model, g, { lengths: [4, 2, 3], seed: 5, randomState: true });
      const run = (g: Graph) => {
        const outs = evaluateGraph(g, feeds(g));
        return new Map(g.outputs.flatMap((o, i) => (o.role === 'loss' ? [] : [[o.name, outs[i]!.data] as const])));
      };
      const want = run(graphs.inference);
      const got = run(graphs.predict);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      expect(relativeError(got, want)).toBeLessThan(1e-12);
    });
  }

  for (const backend of ['cpu', 'wasm']) {
    it(`on ${backend}: a session streams an LSTM with the gate matrices kept as one derived input, as the reference predicts`, async () => {
      await selectBackend(backend);
      const text = tokenLm('h = lstm(e) with H', { after: 'train m { optimizer adam(lr = 0.01); seed 2 }' });
      const a = analyze({ file: 'test.rnn', text }, loadStdlib());
      const model = compileModel(text);
      const graphs = sessionGraphs(model, a.trains.get('m')!);
      expect(graphs.predict.inputs.map((i) => i.name)).toContain('transpose:h.W_gh+h.W_ih+h.W_fh+h.W_oh');
      const session = new TrainingSession(model, a.trains.get('m')!, graphs);
      session.initParams(7);
      const params = await session.paramsJson();
      const specs = { inputs: [{ name: 'x', type: { kind: 'tokens' as const, vocab: 5 } }], targets: [{ name: 'y', type: { kind: 'tokens' as const, vocab: 5 } }] };
      // The tokens 1, 3, 2 streamed one at a time, state carried.
      let states: Map<string, tf.Tensor> | undefined;
      const got: number[] = [];
      for (const id of [1, 3, 2]) {
        const ex: Example = { inputs: [{ kind: 'tokens', ids: Int32Array.of(id) }], targets: [{ kind: 'tokens', ids: Int32Array.of(0) }] };
        const step = makeBatches([ex], specs, 1, null)[0]!;
        const r = session.forward(step, states);
        got.push(...r.prediction.dataSync());
        r.prediction.dispose();
        states?.forEach((s) => s.dispose());
        states = r.states;
      }
      states?.forEach((s) => s.dispose());
      // The reference: the evaluation graph (no gate fusion, no lifted transposes) over the whole sequence.
      const inference = trainingGraphs(model, false).inference;
      const feeds = inference.inputs.map((inp) => {
        if (inp.role === 'param') return tensor(params[inp.name]!.shape, params[inp.name]!.data);
        if (inp.name === 'x') return tensor([3, 1], [1, 3, 2], 'i32');
        if (inp.name === 'y') return tensor([3, 1], [3, 2, 4], 'i32');
        if (inp.role === 'state') return tensor(inference.values[inp.value]!.type.shape.map((d) => (d === 'B' ? 1 : (d as number))), [0, 0, 0]);
        return tensor([3, 1], inp.name === 'last' ? [0, 0, 1] : [1, 1, 1]);
      });
      const outs = evaluateGraph(inference, feeds);
      const want = outs[inference.outputs.findIndex((o) => o.role === 'output')]!.data;
      let worst = 0;
      want.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - got[i]!))));
      expect(worst).toBeLessThan(1e-5);
      session.dispose();
    });
  }
});
