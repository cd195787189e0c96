// The API releases what it makes: repeated predictions and evaluations keep
// the number of tfjs tensors steady, and dispose() leaves no tensor and no
// variable behind. (The model is used through the public entry point only;
// tfjs is imported to count its tensors.)
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';

describe('memory', () => {
  it('predict and evaluate hold no tensors between calls; dispose releases every tensor and variable', async () => {
    const m = compile(
      `model majority { dim V, K, H = 6
        input x: seq<token[V]>; target y: token[K]
        h = gru(one_hot(x)) with H
        loss = cross_entropy(dense(last(h), K), y) }`,
      { backend: 'cpu' },
    ).model();
    const data = ['aab', 'abb', 'aaa', 'bbb', 'aba', 'bab'].map((x) => ({ x, y: x.split('a').length - 1 > 1 ? 1 : 0 }));
    const tensors = tf.memory().numTensors;
    const variables = Object.keys(tf.engine().registeredVariables).length;
    await m.fit(data, { epochs: 2, batch: 2, validation: data });
    expect(tf.memory().numTensors).toBeGreaterThan(tensors);
    await m.predict(['ab', 'ba']);
    await m.evaluate(data);
    const steady = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await m.predict(['ab', 'ba', 'aab']);
      await m.evaluate(data);
      await m.evaluate();
    }
    expect(tf.memory().numTensors).toBe(steady);
    m.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(Object.keys(tf.engine().registeredVariables).length).toBe(variables);
  });
});
