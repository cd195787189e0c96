// Convolutions, pooling and visual attention (docs/language.md section 10:
// conv2d, max_pool, avg_pool, flatten, the mean of a feature map's
// locations): the symbolic gradients of whole programs against central
// finite differences on the float64 reference, unoptimised and optimised
// graphs against each other, and tfjs (cpu, float32) against the reference.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import { executeGraph } from '../../runtime/tfjs/execute.js';
import { compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { convClassifier, visualCaptioner } from '../helpers/programs.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CASES = [
  { name: 'a convolutional classifier (conv 3 x 3 and 5 x 5, max and average pooling, mean over locations)', text: convClassifier(), lengths: [1, 1, 1] },
  { name: 'visual attention: a decoder attending over the locations of a convolutional feature map', text: visualCaptioner(), lengths: [1, 1, 1], targetLengths: [3, 1, 2] },
  {
    name: 'an image autoencoder: mse over every pixel of a reconstructed image',
    text: `
model ae {
  input  img: [5, 6, 2]
  target same: [5, 6, 2]
  loss = mse(sigmoid(conv2d(relu(conv2d(img, 3)), 2, size = 5)), same)
}`,
    lengths: [1, 1],
  },
  { name: 'visual attention over an image of odd sides (pooling drops the last row and column)', text: visualCaptioner('', { image: '[7, 9, 2]' }), lengths: [1, 1], targetLengths: [2, 3] },
];

describe('image models: gradients, optimised graphs and tfjs', () => {
  for (const c of CASES) {
    it(`${c.name}: symbolic gradients match finite differences`, () => {
      const model = compileModel(c.text);
      const { forward } = trainingGraphs(model, false, { optimize: false });
      const feeds = randomFeeds(model, forward, { lengths: c.lengths, ...(c.targetLengths ? { targetLengths: c.targetLengths } : {}), seed: 4 });
      const res = gradCheck(forward, feeds);
      expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
      // Every convolution's filters get a gradient.
      expect([...res.analytic.keys()].filter((k) => k.includes('conv2d.W')).length).toBeGreaterThan(0);
      for (const [k, g] of res.analytic) if (k.includes('conv2d.W')) expect(g.some((v) => v !== 0), k).toBe(true);
    });

    it(`${c.name}: the optimised training graph gives the unoptimised one's numbers (1e-12), and tfjs the reference's (float32)`, () => {
      const model = compileModel(c.text);
      const plain = trainingGraphs(model, false, { optimize: false }).training;
      const optimised = trainingGraphs(model, false).training;
      const feeds = randomFeeds(model, plain, { lengths: c.lengths, ...(c.targetLengths ? { targetLengths: c.targetLengths } : {}), seed: 6 });
      const byName = new Map(plain.inputs.map((inp, i) => [inp.name, feeds[i]!]));
      const optFeeds = optimised.inputs.map((inp) => byName.get(inp.name)!);
      const a = evaluateGraph(plain, feeds);
      const b = evaluateGraph(optimised, optFeeds);
      const outA = new Map(plain.outputs.map((o, i) => [o.name, a[i]!]));
      optimised.outputs.forEach((o, i) => {
        const want = outA.get(o.name);
        if (!want) return;
        b[i]!.data.forEach((v, k) => expect(Math.abs(v - want.data[k]!), `${o.name}[${k}]`).toBeLessThan(1e-12 * Math.max(1, Math.abs(want.data[k]!))));
      });
      const rounded = optFeeds.map((t) => ({ ...t, data: t.data.map((v) => Math.fround(v)) }));
      const ref = evaluateGraph(optimised, rounded);
      const got = tf.tidy(() =>
        executeGraph(
          optimised,
          rounded.map((t) => (t.dtype === 'i32' ? tf.tensor(Int32Array.from(t.data), [...t.shape], 'int32') : tf.tensor(Float32Array.from(t.data), [...t.shape]))),
        ).map((t) => t.dataSync()),
      );
      optimised.outputs.forEach((o, i) => {
        const scale = Math.max(1e-3, ...Array.from(ref[i]!.data, Math.abs));
        ref[i]!.data.forEach((v, k) => expect(Math.abs(got[i]![k]! - v) / scale, `${o.name}[${k}]`).toBeLessThan(1e-4));
      });
    });
  }
});
