// Whole-model training on wasm (the default backend where tfjs-node is
// absent) against the float64 reference (ARCHITECTURE.md rule 5): a GRU
// language model and a bidirectional LSTM tagger trained for five SGD steps
// on padded batches by TrainingSession (optimised graphs, fused loops, host
// kernels), and the same steps computed in float64 by the reference
// evaluator on the unoptimised graphs: every step's loss and the final
// parameters agree within float32 tolerance.
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, trainingGraphs } from '../../compiler/compile.js';
import { selectBackend } from '../../runtime/backend.js';
import { makeBatches } from '../../runtime/data/batching.js';
import type { Example } from '../../runtime/data/types.js';
import { referenceGradients } from '../../runtime/reference/gradients.js';
import { tensor, type Tensor64 } from '../../runtime/reference/tensor.js';
import { Rng } from '../../runtime/rng.js';
import { TrainingSession } from '../../runtime/train/session.js';
import { sessionGraphs } from '../../src/project.js';
import { loadStdlib } from '../../src/stdlib.js';
import { compileModel } from '../helpers/compile.js';
import { bidirectionalTagger, tokenLm } from '../helpers/programs.js';

afterAll(async () => {
  await selectBackend('cpu');
});

const LR = 0.5;
const MODELS: Record<string, { text: string; V: number; K: number }> = {
  'gru language model': { text: tokenLm('h = gru(e) with H', { V: 6, H: 5, after: `train m { optimizer sgd(lr = ${LR}); seed 4 }` }), V: 6, K: 6 },
  'bidirectional lstm tagger': { text: bidirectionalTagger('lstm', { V: 6, K: 3, H: 4 }, `train m { optimizer sgd(lr = ${LR}); seed 4 }`), V: 6, K: 3 },
};

describe('training on wasm against the float64 reference', () => {
  for (const [name, m] of Object.entries(MODELS)) {
    it(`${name}: five steps, same losses and parameters`, async () => {
      await selectBackend('wasm');
      const model = compileModel(m.text);
      const config = analyze({ file: 'test.rnn', text: m.text }, loadStdlib()).trains.get('m')!;
      const rng = new Rng(9);
      const specs = { inputs: [{ name: 'x', type: { kind: 'tokens' as const, vocab: m.V } }], targets: [{ name: 'y', type: { kind: 'tokens' as const, vocab: m.K } }] };
      const batches = Array.from({ length: 5 }, () => {
        const examples: Example[] = [7, 4, 6].map((T) => ({
          inputs: [{ kind: 'tokens', ids: Int32Array.from({ length: T }, () => rng.int(m.V)) }],
          targets: [{ kind: 'tokens', ids: Int32Array.from({ length: T }, () => rng.int(m.K)) }],
        }));
        return makeBatches(examples, specs, 3, null)[0]!;
      });

      const session = new TrainingSession(model, config, sessionGraphs(model, config));
      session.initParams(4);
      const start = await session.paramsJson();
      const losses: number[] = [];
      for (const b of batches) losses.push((await session.trainBatch(b)).loss);
      const trained = await session.paramsJson();
      session.dispose();

      const graphs = trainingGraphs(model, false, { optimize: false });
      let params = new Map<string, Tensor64>(Object.entries(start).map(([k, v]) => [k, tensor(v.shape, Float64Array.from(v.data))]));
      const want: number[] = [];
      for (const b of batches) {
        const [{ loss, grads }] = (await referenceGradients(model, graphs, params, b, { kind: 'full' })) as [{ loss: number; grads: Map<string, Tensor64> }];
        params = new Map([...params].map(([k, p]) => [k, tensor(p.shape, p.data.map((x, i) => x - LR * grads.get(k)!.data[i]!))]));
        want.push(loss);
      }

      losses.forEach((l, i) => expect(Math.abs(l - want[i]!) / Math.abs(want[i]!), `loss of step ${i + 1}`).toBeLessThan(1e-5));
      for (const [k, p] of params) {
        const got = trained[k]!.data;
        const scale = Math.max(...[...p.data].map(Math.abs));
        const diff = Math.max(...[...p.data].map((x, i) => Math.abs(x - got[i]!)));
        expect(diff / scale, k).toBeLessThan(1e-5);
      }
      // Training moved the parameters: the comparison is not of two copies of the start.
      expect(Math.max(...Object.keys(start).map((k) => Math.max(...start[k]!.data.map((x, i) => Math.abs(x - trained[k]!.data[i]!)))))).toBeGreaterThan(1e-3);
    });
  }
});
