import { describe, expect, it } from 'vitest';
import { bindDims, makeBatches, sliceBatchTime, type BatchSpecs } from '../../runtime/data/batching.js';
import type { Batch, Example, FieldSpec, FieldValue } from '../../runtime/data/types.js';
import { RuntimeUserError } from '../../runtime/io.js';
import { Rng } from '../../runtime/rng.js';

// Inputs: a token sequence (a vocabulary large enough for the encoded ids) and a vector sequence of [2] per step;
// targets: a class label (token[5]) and a per-example vector [3].
const specs: BatchSpecs = {
  inputs: [
    { name: 'ids', type: { kind: 'tokens', vocab: 1 << 20 } },
    { name: 'feats', type: { kind: 'vectors', dims: [2] } },
  ],
  targets: [
    { name: 'label', type: { kind: 'token', vocab: 5 } },
    { name: 'aux', type: { kind: 'vector', dims: [3] } },
  ],
};

/** Example i has length lens[i]; its values encode (example, step, channel) so placement can be checked. */
function makeExamples(lens: number[]): Example[] {
  return lens.map((len, i) => ({
    inputs: [
      { kind: 'tokens', ids: Int32Array.from({ length: len }, (_, t) => i * 10 + t + 1) },
      { kind: 'vectors', steps: len, data: Float32Array.from({ length: len * 2 }, (_, k) => i * 100 + Math.floor(k / 2) + (k % 2) / 2) },
    ],
    targets: [
      { kind: 'token', id: i % 5 },
      { kind: 'vector', data: Float32Array.of(i, i + 0.25, i + 0.5) },
    ],
  }));
}

/** Which example sits in column b: read back from its first token id. */
function exampleAt(batch: Batch, b: number): number {
  return Math.floor((batch.inputs[0]!.data[b]! - 1) / 10);
}

function checkBatch(batch: Batch, lens: number[]): void {
  const B = batch.batchSize;
  const T = batch.steps;
  const [ids, feats] = batch.inputs;
  const [label, aux] = batch.targets;
  expect(ids!.shape).toEqual([T, B]);
  expect(ids!.dtype).toBe('int32');
  expect(feats!.shape).toEqual([T, B, 2]);
  expect(label!.shape).toEqual([B]);
  expect(aux!.shape).toEqual([B, 3]);
  expect(batch.mask.shape).toEqual([T, B]);
  expect(T).toBe(Math.max(...Array.from(batch.lengths)));
  for (let b = 0; b < B; b++) {
    const i = exampleAt(batch, b);
    const len = lens[i]!;
    expect(batch.lengths[b]).toBe(len);
    for (let t = 0; t < T; t++) {
      const real = t < len;
      expect(ids!.data[t * B + b]).toBe(real ? i * 10 + t + 1 : 0);
      for (let k = 0; k < 2; k++) expect(feats!.data[(t * B + b) * 2 + k]).toBe(real ? i * 100 + t + k / 2 : 0);
      expect(batch.mask.data[t * B + b]).toBe(real ? 1 : 0);
      expect(batch.last.data[t * B + b]).toBe(t === len - 1 ? 1 : 0);
    }
    expect(label!.data[b]).toBe(i % 5);
    expect(Array.from(aux!.data.subarray(b * 3, b * 3 + 3))).toEqual([i, i + 0.25, i + 0.5]);
  }
}

describe('makeBatches', () => {
  const lens = [3, 1, 4, 2, 5, 2, 3];
  const examples = makeExamples(lens);

  it('pads time-major in the given order without an Rng, keeping the partial batch', () => {
    const batches = makeBatches(examples, specs, 3, null);
    expect(batches.map((b) => b.batchSize)).toEqual([3, 3, 1]);
    expect(batches.map((b) => Array.from({ length: b.batchSize }, (_, k) => exampleAt(b, k)))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    for (const b of batches) checkBatch(b, lens);
    expect(batches[0]!.steps).toBe(4);
  });

  it('shuffles reproducibly from the seed and uses every example once', () => {
    const order = (seed: number, bucket: boolean) =>
      makeBatches(examples, specs, 2, new Rng(seed), { bucket }).flatMap((b) => Array.from({ length: b.batchSize }, (_, k) => exampleAt(b, k)));
    expect(order(5, false)).toEqual(order(5, false));
    expect(order(5, true)).toEqual(order(5, true));
    expect(order(5, false).slice().sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(order(5, true).slice().sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(order(5, false)).not.toEqual(order(6, false));
    for (const b of makeBatches(examples, specs, 2, new Rng(9))) checkBatch(b, lens);
  });

  it('buckets by length so padding shrinks', () => {
    const manyLens = Array.from({ length: 200 }, (_, i) => 1 + ((i * 37) % 50));
    const many = makeExamples(manyLens);
    const padding = (bucket: boolean) =>
      makeBatches(many, specs, 8, new Rng(1), { bucket }).reduce((n, b) => n + b.steps * b.batchSize - b.lengths.reduce((a, c) => a + c, 0), 0);
    expect(padding(true)).toBeLessThan(padding(false) / 4);
    // Variable-length data with an Rng buckets by default.
    expect(padding(true)).toBe(makeBatches(many, specs, 8, new Rng(1)).reduce((n, b) => n + b.steps * b.batchSize - b.lengths.reduce((a, c) => a + c, 0), 0));
  });

  it('gives T = 1 and all-ones masks when no field is a sequence', () => {
    const flat: FieldSpec[] = [{ name: 'v', type: { kind: 'vector', dims: [2, 2] } }];
    const ex: Example[] = [0, 1, 2].map((i) => ({
      inputs: [{ kind: 'vector', data: Float32Array.of(i, i, i, i) }],
      targets: [{ kind: 'token', id: i }],
    }));
    const [b] = makeBatches(ex, { inputs: flat, targets: [{ name: 'c', type: { kind: 'token', vocab: 3 } }] }, 4, null);
    expect(b!.steps).toBe(1);
    expect(b!.inputs[0]!.shape).toEqual([3, 2, 2]);
    expect(Array.from(b!.mask.data)).toEqual([1, 1, 1]);
    expect(Array.from(b!.last.data)).toEqual([1, 1, 1]);
    expect(Array.from(b!.lengths)).toEqual([1, 1, 1]);
  });

  it('rejects examples that disagree with their specs', () => {
    const bad: Example[] = [{ ...examples[0]!, targets: [{ kind: 'token', id: 7 }, examples[0]!.targets[1]!] }];
    expect(() => makeBatches(bad, specs, 2, null)).toThrow(/class 7 outside \[0, 5\)/);
    const uneven: Example[] = [
      { inputs: [examples[0]!.inputs[0]!, examples[1]!.inputs[1]!], targets: examples[0]!.targets as FieldValue[] },
    ];
    expect(() => makeBatches(uneven, specs, 2, null)).toThrow(RuntimeUserError);
    expect(() => makeBatches(examples, specs, 0, null)).toThrow(/batch size/);
  });
});

describe('sliceBatchTime', () => {
  const lens = [5, 2, 4];
  const [batch] = makeBatches(makeExamples(lens), specs, 3, null);

  it('cuts sequences, mask and last; keeps per-example fields whole', () => {
    const w = sliceBatchTime(batch!, 2, 4);
    expect(w.steps).toBe(2);
    expect(w.inputs[0]!.shape).toEqual([2, 3]);
    expect(w.inputs[1]!.shape).toEqual([2, 3, 2]);
    expect(w.targets[0]).toBe(batch!.targets[0]);
    expect(w.targets[1]).toBe(batch!.targets[1]);
    for (let t = 0; t < 2; t++) {
      for (let b = 0; b < 3; b++) {
        expect(w.inputs[0]!.data[t * 3 + b]).toBe(batch!.inputs[0]!.data[(t + 2) * 3 + b]);
        expect(w.mask.data[t * 3 + b]).toBe(batch!.mask.data[(t + 2) * 3 + b]);
        for (let k = 0; k < 2; k++) expect(w.inputs[1]!.data[(t * 3 + b) * 2 + k]).toBe(batch!.inputs[1]!.data[((t + 2) * 3 + b) * 2 + k]);
      }
    }
    // Example 1 (2 steps) ended before the window; example 2 (4 steps) ends at its last step.
    expect(Array.from(w.lengths)).toEqual([2, 0, 2]);
    expect(Array.from(w.last.data)).toEqual([0, 0, 0, 0, 0, 1]);
    const tail = sliceBatchTime(batch!, 4, 5);
    expect(Array.from(tail.last.data)).toEqual([1, 0, 0]);
    // Windows of a window still know what is time-major.
    expect(sliceBatchTime(w, 1, 2).inputs[0]!.shape).toEqual([1, 3]);
    expect(() => sliceBatchTime(batch!, 3, 3)).toThrow(/time window/);
  });

  it('handles batches it did not make by their layout', () => {
    const copy: Batch = JSON.parse(
      JSON.stringify(batch, (_k, v: unknown) => (v instanceof Int32Array || v instanceof Float32Array ? { t: v instanceof Int32Array ? 'i' : 'f', d: Array.from(v) } : v)),
      (_k, v: unknown) => {
        const o = v as { t?: string; d?: number[] } | null;
        return o !== null && typeof o === 'object' && Array.isArray(o.d) ? (o.t === 'i' ? Int32Array.from(o.d) : Float32Array.from(o.d)) : v;
      },
    );
    const w = sliceBatchTime(copy, 0, 2);
    expect(w.inputs[0]!.shape).toEqual([2, 3]);
    expect(w.inputs[1]!.shape).toEqual([2, 3, 2]);
    expect(w.targets[1]!.shape).toEqual([3, 3]);
  });
});

describe('bindDims', () => {
  const data = {
    name: 'brown_pos',
    inputs: [{ name: 'words', type: { kind: 'tokens' as const, vocab: 10000 } }],
    targets: [{ name: 'tags', type: { kind: 'tokens' as const, vocab: 472 } }],
  };

  it('binds named dimensions from the data', () => {
    expect(
      bindDims({ inputs: [{ name: 'x', kind: 'tokens', dims: ['V'] }], targets: [{ name: 'y', kind: 'tokens', dims: ['K'] }] }, data, { H: 64 }),
    ).toEqual({ H: 64, V: 10000, K: 472 });
  });

  it('explains mismatches', () => {
    expect(() => bindDims({ inputs: [{ name: 'x', kind: 'vectors', dims: ['D'] }], targets: [{ name: 'y', kind: 'tokens', dims: ['K'] }] }, data)).toThrow(
      /input "x" \(data field "words" of brown_pos\): the model declares a vector sequence/,
    );
    expect(() => bindDims({ inputs: [{ name: 'x', kind: 'tokens', dims: ['V'] }], targets: [{ name: 'y', kind: 'tokens', dims: ['V'] }] }, data)).toThrow(
      /V would be 472 here but is already 10000/,
    );
    expect(() => bindDims({ inputs: [{ name: 'x', kind: 'tokens', dims: [50] }], targets: [{ name: 'y', kind: 'tokens', dims: ['K'] }] }, data)).toThrow(
      /the model declares \[50\] but the data has \[10000\]; declare input "x" as the data gives it/,
    );
    const image = { name: 'mnist_strips', inputs: [{ name: 'image', type: { kind: 'vector' as const, dims: [28, 56, 2] } }], targets: [] };
    expect(() => bindDims({ inputs: [{ name: 'img', kind: 'vector', dims: [28, 56, 1] }], targets: [] }, image)).toThrow(
      'input "img" (data field "image" of mnist_strips): the model declares [28, 56, 1] but the data has [28, 56, 2] (axis 3: 1 against 2)',
    );
    expect(() => bindDims({ inputs: [], targets: [] }, data)).toThrow(/declares 0 input/);
  });
});
