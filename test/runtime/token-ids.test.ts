// An out-of-range token id is the same clear error on every path
// (runtime/train/feeds.ts): a training step on cpu and on wasm (host lookups
// on both, which would read zeros), a forward step, and the float64
// reference gradients, naming the field and the position as people index a
// batch. Emitted modules check their inputs with the same words
// (test/codegen/emitted.test.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, trainingGraphs } from '../../compiler/compile.js';
import { selectBackend } from '../../runtime/backend.js';
import { makeBatches } from '../../runtime/data/batching.js';
import type { Batch, Example } from '../../runtime/data/types.js';
import { RuntimeUserError } from '../../runtime/io.js';
import { referenceGradients } from '../../runtime/reference/gradients.js';
import { tensor } from '../../runtime/reference/tensor.js';
import { TrainingSession } from '../../runtime/train/session.js';
import { sessionGraphs } from '../../src/project.js';
import { loadStdlib } from '../../src/stdlib.js';
import { compileModel } from '../helpers/compile.js';
import { tokenLm } from '../helpers/programs.js';

afterAll(async () => {
  await selectBackend('cpu');
});

const V = 5;
const text = tokenLm('h = gru(e) with H', { V, after: 'train m { optimizer sgd(lr = 0.1); seed 1 }' });
const specs = { inputs: [{ name: 'x', type: { kind: 'tokens' as const, vocab: V } }], targets: [{ name: 'y', type: { kind: 'tokens' as const, vocab: V } }] };

/**
 * Two sequences of 4 steps with one id put at example 1, step 2 of the input or the target: a batch as a
 * caller of the runtime may make it (makeBatches, which data sources use, refuses such ids itself).
 */
function batch(bad: { where: 'x' | 'y'; id: number }): Batch {
  const examples: Example[] = [0, 1].map((b) => ({
    inputs: [{ kind: 'tokens', ids: Int32Array.from([0, 1, 2, 3], (v) => (v + b) % V) }],
    targets: [{ kind: 'tokens', ids: Int32Array.from([1, 2, 3, 4], (v) => (v + b) % V) }],
  }));
  const good = makeBatches(examples, specs, 2, null)[0]!;
  const field = bad.where === 'x' ? good.inputs[0]! : good.targets[0]!;
  const data = Int32Array.from(field.data);
  data[2 * good.batchSize + 1] = bad.id; // time-major [T, B]: step 2, example 1
  const replaced = { ...field, data };
  return bad.where === 'x' ? { ...good, inputs: [replaced] } : { ...good, targets: [replaced] };
}

describe('out-of-range token ids', () => {
  const model = compileModel(text);
  const config = analyze({ file: 'test.rnn', text }, loadStdlib()).trains.get('m')!;

  for (const backend of ['cpu', 'wasm']) {
    it(`on ${backend}: training and forward steps stop with the field and position`, async () => {
      await selectBackend(backend);
      const session = new TrainingSession(model, config, sessionGraphs(model, config));
      session.initParams(3);
      await expect(session.trainBatch(batch({ where: 'x', id: V }))).rejects.toThrow(new RuntimeUserError(`inputs.x: token id ${V} (example 1, step 2) is outside [0, ${V})`));
      await expect(session.trainBatch(batch({ where: 'y', id: -1 }))).rejects.toThrow(new RuntimeUserError(`targets.y: token id -1 (example 1, step 2) is outside [0, ${V})`));
      expect(() => session.forward(batch({ where: 'x', id: 99 }))).toThrow(`inputs.x: token id 99 (example 1, step 2) is outside [0, ${V})`);
      // A good batch still trains: the check rejects only what is wrong.
      expect(Number.isFinite((await session.trainBatch(batch({ where: 'x', id: 1 }))).loss)).toBe(true);
      session.dispose();
    });
  }

  it('the float64 reference stops with the same error', async () => {
    const graphs = trainingGraphs(model, false, { optimize: false });
    const params = new Map(
      graphs.training.inputs.filter((i) => i.role === 'param').map((i) => {
        const shape = graphs.training.values[i.value]!.type.shape.map((d) => (typeof d === 'number' ? d : (model.dims.get(d) as number)));
        return [i.name, tensor(shape, new Array(shape.reduce((a, b) => a * b, 1)).fill(0.1))] as const;
      }),
    );
    await expect(referenceGradients(model, graphs, params, batch({ where: 'x', id: V }), { kind: 'full' })).rejects.toThrow(
      new RuntimeUserError(`inputs.x: token id ${V} (example 1, step 2) is outside [0, ${V})`),
    );
  });
});
