// passes/assume-full-mask.ts: the variant of a model for batches without
// padding. On such batches it computes the same loss and gradients as the
// general graphs (float64 reference), its loops read no mask and run fewer
// ops; and the session uses it exactly when a batch (or window) has no
// padding: padded batches train bit-for-bit as before.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import { fusedBody, type Graph } from '../../compiler/ir/types.js';
import { makeBatches } from '../../runtime/data/batching.js';
import type { Batch, Example } from '../../runtime/data/types.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import { TrainingSession } from '../../runtime/train/session.js';
import { analyzeText, compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { relativeError } from '../helpers/gradcheck.js';
import { bidirectionalTagger, tokenLm } from '../helpers/programs.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const PROGRAMS: Record<string, { text: string; truncated: boolean }> = {
  lstm: { text: tokenLm('h = lstm(e) with H'), truncated: false },
  'gru, truncated': { text: tokenLm('h = gru(e) with H'), truncated: true },
  'bidirectional lstm + gru': { text: bidirectionalTagger('gru'), truncated: false },
};

const bodies = (g: Graph): Graph[] => g.nodes.filter((n) => n.op === 'scan').map((n) => n.body!);
const readsMask = (body: Graph): boolean => body.inputs.some((i) => i.name === 'mask_t');
/** Ops in the loops, counting each op of a fused group (passes/fuse-elementwise.ts). */
const bodyOps = (g: Graph): number =>
  bodies(g).reduce((n, b) => n + b.nodes.reduce((k, node) => k + (node.op === 'fused' ? fusedBody(node).instrs.length : 1), 0), 0);

describe('assume-full-mask', () => {
  for (const [name, p] of Object.entries(PROGRAMS)) {
    it(`${name}: same loss and gradients on a batch without padding, fewer loop ops, no mask in any loop`, () => {
      const model = compileModel(p.text);
      const general = trainingGraphs(model, p.truncated);
      const full = trainingGraphs(model, p.truncated, { assumeFullMask: true });
      expect(full.training.inputs.map((i) => i.name)).toEqual(general.training.inputs.map((i) => i.name));
      const opts = { lengths: [4, 4, 4], seed: 6, randomState: true, ...(p.truncated ? { gate: [0, 1, 1, 1] } : {}) };
      const run = (g: Graph) => {
        const outs = evaluateGraph(g, randomFeeds(model, g, opts));
        return new Map(g.outputs.map((o, i) => [o.name, outs[i]!.data] as const).filter(([n]) => n.startsWith('d_') || n === 'loss'));
      };
      expect(relativeError(run(general.training), run(full.training))).toBeLessThan(1e-12);
      for (const g of [full.training, full.forward, full.predict]) expect(bodies(g).some(readsMask)).toBe(false);
      expect(bodies(general.training).every(readsMask)).toBe(true);
      expect(bodyOps(full.training)).toBeLessThan(bodyOps(general.training));
      expect(bodyOps(full.predict)).toBeLessThan(bodyOps(general.predict));
    });
  }
});

describe('TrainingSession with the unpadded variant', () => {
  const text = tokenLm('h = lstm(e) with H', { after: 'train m { optimizer adam(lr = 0.05); seed 3 }' });

  function batchOf(lengths: readonly number[]): Batch {
    const examples: Example[] = lengths.map((n, i) => {
      const ids = Int32Array.from({ length: n + 1 }, (_, t) => (i + t) % 5);
      return { inputs: [{ kind: 'tokens', ids: ids.slice(0, n) }], targets: [{ kind: 'tokens', ids: ids.slice(1) }] };
    });
    const specs = { inputs: [{ name: 'x', type: { kind: 'tokens' as const, vocab: 5 } }], targets: [{ name: 'y', type: { kind: 'tokens' as const, vocab: 5 } }] };
    return makeBatches(examples, specs, lengths.length, null)[0]!;
  }

  function sessions() {
    const model = compileModel(text);
    const config = analyzeText(text).trains.get('m')!;
    const general = trainingGraphs(model, false, { liftParamTransposes: true });
    const plain = new TrainingSession(model, config, general);
    const both = new TrainingSession(model, config, { ...general, unpadded: trainingGraphs(model, false, { liftParamTransposes: true, assumeFullMask: true }) });
    plain.initParams(1);
    both.initParams(1);
    return { plain, both };
  }

  const kernels = async (f: () => unknown): Promise<number> => (await tf.profile(f as () => tf.TensorContainer)).kernels.length;

  it('a padded batch runs the general graphs: bit-for-bit the same training', async () => {
    const { plain, both } = sessions();
    const padded = batchOf([5, 3, 4]);
    expect(await kernels(() => both.trainBatch(padded))).toBe(await kernels(() => plain.trainBatch(padded)));
    for (let i = 0; i < 3; i++) expect(await both.trainBatch(padded)).toEqual(await plain.trainBatch(padded));
    expect(await both.snapshot()).toEqual(await plain.snapshot());
    plain.dispose();
    both.dispose();
  });

  it('a batch without padding runs the unpadded graphs: fewer kernels, the same training up to float32 rounding', async () => {
    const { plain, both } = sessions();
    const full = batchOf([4, 4, 4]);
    expect(await kernels(() => both.trainBatch(full))).toBeLessThan(await kernels(() => plain.trainBatch(full)));
    for (let i = 0; i < 3; i++) expect((await both.trainBatch(full)).loss).toBeCloseTo((await plain.trainBatch(full)).loss, 5);
    const a = (await both.snapshot()).params;
    const b = (await plain.snapshot()).params;
    for (const k of Object.keys(a)) a[k]!.data.forEach((x, j) => expect(Math.abs(x - b[k]!.data[j]!)).toBeLessThan(1e-5));
    // Streaming one step (batch 1, one position, no padding) takes the unpadded path too.
    const step = batchOf([1]);
    const count = async (s: TrainingSession) => kernels(() => s.forward(step).prediction.dispose());
    expect(await count(both)).toBeLessThan(await count(plain));
    plain.dispose();
    both.dispose();
  });
});
