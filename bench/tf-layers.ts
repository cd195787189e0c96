// tf.layers: what a TensorFlow.js user writes today. A sequential model of
// simpleRNN / lstm / gru (returnSequences) and timeDistributed(dense) giving
// logits, compiled with Adam and the softmax cross-entropy on logits
// (tf.losses.softmaxCrossEntropy, the loss every column uses), trained with
// trainOnBatch on the batch-major batch. Variants (issue 10):
// - input 'embedding': token ids through tf.layers.embedding. tf.layers
//   cannot look rows of a recurrent layer's kernel up, as rnnc does; the
//   embedding that computes rnnc's function from rnnc's weights is an
//   identity table X wide, frozen (trainable: false; a trained table would
//   also need UnsortedSegmentSum, which wasm lacks), followed by the
//   kernel's product. It saves the one-hot tensor, not the product.
// - input 'onehot': the one-hot floats of the ids (the extra column: what
//   the benchmark of issue 4 compared against).
// - input 'dense': the real-valued features of the dense-input rows.
// - recurrentActivation 'sigmoid' (rnnc's cell) or tf.layers' default
//   'hardSigmoid' (another cell: its loss differs).
// - productKernel: on cpu, rnnc's host product as the matMul kernels
//   (bench/cpu-product-kernel.ts).
// Weights are rnnc's initial ones, copied in tf.layers' gate order
// (bench/hand-fused.ts handParamsFromRnnc), so the first loss can be checked.
// Streaming inference: a stateful copy (batchInputShape [1, 1, ...]) whose
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
import { withProductMatMul } from './cpu-product-kernel.js';
import { featsBatchMajor, idsBatchMajor, oneHotBatchMajor, type BenchData } from './data.js';
import { handParamsFromRnnc } from './hand-fused.js';
import type { BenchImpl, ImplName } from './measure.js';
import type { InitialParams } from './rnnc-interpreted.js';

/** Throws unless the tfjs-core that tfjs-layers loads is ours: same engine, same active backend. */
export function checkSameEngine(): string {
  const fromLayers = createRequire(createRequire(import.meta.url).resolve('@tensorflow/tfjs-layers'));
  const core = fromLayers('@tensorflow/tfjs-core') as typeof tf;
  if (core.engine() !== tf.engine() || core.getBackend() !== tf.getBackend()) {
    throw new Error(`tfjs-layers uses another @tensorflow/tfjs-core (backend ${core.getBackend()}, ours ${tf.getBackend()}): reinstall so that one copy of 4.22.0 is present`);
  }
  return core.getBackend();
}

type RecurrentArgs = { units: number; returnSequences: boolean; stateful?: boolean; recurrentActivation?: string; recurrentInitializer?: string; inputShape?: number[]; batchInputShape?: number[] };

function recurrentLayer(cell: CellKind, args: RecurrentArgs): tfl.layers.Layer {
  switch (cell) {
    case 'rnn': {
      const { recurrentActivation: _, ...rest } = args;
      return tfl.layers.simpleRNN(rest);
    }
    case 'lstm':
      return tfl.layers.lstm(args as Parameters<typeof tfl.layers.lstm>[0]);
    case 'gru':
      return tfl.layers.gru(args as Parameters<typeof tfl.layers.gru>[0]);
  }
}

export type LayersInput = 'embedding' | 'onehot' | 'dense';

export interface LayersOptions {
  readonly name: ImplName;
  readonly input: LayersInput;
  readonly recurrentActivation: 'sigmoid' | 'hardSigmoid';
  readonly init?: InitialParams;
  readonly productKernel?: boolean;
  readonly lr?: number;
}

/** The layers of one model: [input layer?], recurrent, dense (logits); `streaming`: stateful, batch 1, one step. */
function buildModel(cell: CellKind, data: BenchData, o: LayersOptions, streaming: boolean): tfl.Sequential {
  const s = data.shape;
  const steps = streaming ? 1 : s.T;
  const batch = streaming ? { batchInputShape: [1, steps] } : { inputShape: [steps] };
  const layers: tfl.layers.Layer[] = [];
  if (o.input === 'embedding') layers.push(tfl.layers.embedding({ inputDim: s.X, outputDim: s.X, trainable: false, ...batch }));
  const rnnShape = o.input === 'embedding' ? {} : streaming ? { batchInputShape: [1, 1, s.X] } : { inputShape: [s.T, s.X] };
  // Weights copied from rnnc replace the initial ones: skip tf.layers' orthogonal initializer (seconds at L).
  const initializer = o.init ? { recurrentInitializer: 'zeros' } : {};
  layers.push(recurrentLayer(cell, { units: s.H, returnSequences: !streaming, recurrentActivation: o.recurrentActivation, ...initializer, ...(streaming ? { stateful: true } : {}), ...rnnShape }));
  const dense = tfl.layers.dense({ units: s.O });
  layers.push(streaming ? dense : tfl.layers.timeDistributed({ layer: dense }));
  return tfl.sequential({ layers });
}

/** rnnc's initial weights in tf.layers' layout: [embedding?], kernel, recurrent kernel, bias, dense kernel, dense bias. */
function copyWeights(model: tfl.Sequential, cell: CellKind, data: BenchData, o: LayersOptions): void {
  if (!o.init) return;
  const h = handParamsFromRnnc(cell, o.init);
  const s = data.shape;
  const t = (name: string): tf.Tensor => tf.tensor(h.get(name)!.data, h.get(name)!.shape);
  const recurrent = cell === 'gru' ? tf.tidy(() => tf.concat([t('Wh'), t('Whn')], 1)) : t('Wh');
  const perLayer = [...(o.input === 'embedding' ? [[tf.eye(s.X)]] : []), [t('Wx'), recurrent, t('b')], [t('Wy'), t('by')]];
  perLayer.forEach((values, i) => model.layers[i]!.setWeights(values));
  tf.dispose(perLayer.flat());
}

export function tfLayers(cell: CellKind, data: BenchData, o: LayersOptions): BenchImpl {
  const s = data.shape;
  checkSameEngine();
  installChainedOps();
  const model = buildModel(cell, data, o, false);
  copyWeights(model, cell, data, o);
  const loss = (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor => tf.losses.softmaxCrossEntropy(yTrue, yPred);
  model.compile({ optimizer: tf.train.adam(o.lr ?? 1e-3), loss });
  const x =
    o.input === 'embedding'
      ? tf.tensor2d(idsBatchMajor(data.xs, s), [s.B, s.T], 'int32')
      : o.input === 'onehot'
        ? tf.tensor3d(oneHotBatchMajor(data.xs, s, s.X), [s.B, s.T, s.X])
        : tf.tensor3d(featsBatchMajor(data), [s.B, s.T, s.X]);
  const y = tf.tensor3d(oneHotBatchMajor(data.ts, s, s.O), [s.B, s.T, s.O]);

  const streaming = buildModel(cell, data, o, true);
  copyWeights(streaming, cell, data, o);
  const streamInputs = Array.from(data.stream, (id, k) =>
    tf.tidy(() =>
      o.input === 'embedding'
        ? tf.tensor2d([id], [1, 1], 'int32')
        : o.input === 'onehot'
          ? tf.reshape(tf.cast(tf.oneHot(tf.tensor1d([id], 'int32'), s.X), 'float32'), [1, 1, s.X])
          : tf.tensor3d(data.streamFeats.slice(k * s.X, (k + 1) * s.X), [1, 1, s.X]),
    ),
  );
  let pos = 0;
  const kernel = <T>(fn: () => Promise<T>): Promise<T> => (o.productKernel ? withProductMatMul(fn) : fn());

  return {
    name: o.name,
    async trainStep() {
      return kernel(async () => {
        const l = await model.trainOnBatch(x, y);
        return Array.isArray(l) ? l[0]! : l;
      });
    },
    async inferStep() {
      await kernel(async () => {
        const out = tf.tidy(() => tf.softmax(streaming.predict(streamInputs[pos++ % streamInputs.length]!) as tf.Tensor));
        await out.data();
        out.dispose();
      });
    },
    dispose() {
      tf.dispose([x, y, ...streamInputs]);
      model.optimizer.dispose();
      model.dispose();
      // A stateful layer's state tensors are not weights: LayersModel.dispose leaves them.
      tf.dispose((streaming.layers[o.input === 'embedding' ? 1 : 0] as tfl.RNN).states);
      streaming.dispose();
    },
  };
}
