// tf.layers: what a TensorFlow.js user writes today. A sequential model of
// simpleRNN / lstm / gru (returnSequences) and timeDistributed(dense softmax),
// compiled with Adam and categorical cross-entropy, trained with
// trainOnBatch on the one-hot batch (batch-major, as tf.layers wants it).
// Streaming inference: a stateful copy (batchInputShape [1, 1, X]) whose
// predict runs one step and keeps the state inside the layer.
//
// tfjs-layers is a CommonJS bundle that requires @tensorflow/tfjs-core; it
// must be the very instance our backends registered with, or it would run on
// another engine. `checkSameEngine` verifies that instead of assuming it.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRequire } from 'node:module';
import { installChainedOps } from './chained-ops.js';
import type { CellKind } from './config.js';
import { oneHotBatchMajor, type BenchData } from './data.js';
import type { BenchImpl } from './measure.js';

/** Throws unless the tfjs-core that tfjs-layers loads is ours: same engine, same active backend. */
export function checkSameEngine(): string {
  const fromLayers = createRequire(createRequire(import.meta.url).resolve('@tensorflow/tfjs-layers'));
  const core = fromLayers('@tensorflow/tfjs-core') as typeof tf;
  if (core.engine() !== tf.engine() || core.getBackend() !== tf.getBackend()) {
    throw new Error(`tfjs-layers uses another @tensorflow/tfjs-core (backend ${core.getBackend()}, ours ${tf.getBackend()}): reinstall so that one copy of 4.22.0 is present`);
  }
  return core.getBackend();
}

function recurrentLayer(cell: CellKind, args: { units: number; returnSequences: boolean; stateful?: boolean; inputShape?: number[]; batchInputShape?: number[] }): tfl.layers.Layer {
  switch (cell) {
    case 'rnn':
      return tfl.layers.simpleRNN(args);
    case 'lstm':
      return tfl.layers.lstm(args);
    case 'gru':
      return tfl.layers.gru(args);
  }
}

export function tfLayers(cell: CellKind, data: BenchData, opts: { lr?: number } = {}): BenchImpl {
  const s = data.shape;
  checkSameEngine();
  installChainedOps();
  const model = tfl.sequential({
    layers: [
      recurrentLayer(cell, { units: s.H, returnSequences: true, inputShape: [s.T, s.X] }),
      tfl.layers.timeDistributed({ layer: tfl.layers.dense({ units: s.O, activation: 'softmax' }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(opts.lr ?? 1e-3), loss: 'categoricalCrossentropy' });
  const x = tf.tensor3d(oneHotBatchMajor(data.xs, s, s.X), [s.B, s.T, s.X]);
  const y = tf.tensor3d(oneHotBatchMajor(data.ts, s, s.O), [s.B, s.T, s.O]);

  const streaming = tfl.sequential({
    layers: [
      recurrentLayer(cell, { units: s.H, returnSequences: false, stateful: true, batchInputShape: [1, 1, s.X] }),
      tfl.layers.dense({ units: s.O, activation: 'softmax' }),
    ],
  });
  const streamInputs = Array.from(data.stream, (id) => tf.tidy(() => tf.reshape(tf.cast(tf.oneHot(tf.tensor1d([id], 'int32'), s.X), 'float32'), [1, 1, s.X])));
  let pos = 0;

  return {
    name: 'tf.layers',
    async trainStep() {
      const loss = await model.trainOnBatch(x, y);
      return Array.isArray(loss) ? loss[0]! : loss;
    },
    async inferStep() {
      const out = streaming.predict(streamInputs[pos++ % streamInputs.length]!) as tf.Tensor;
      out.dataSync();
      out.dispose();
    },
    dispose() {
      tf.dispose([x, y, ...streamInputs]);
      model.optimizer.dispose();
      model.dispose();
      // A stateful layer's state tensors are not weights: LayersModel.dispose leaves them.
      tf.dispose((streaming.layers[0] as tfl.RNN).states);
      streaming.dispose();
    },
  };
}
