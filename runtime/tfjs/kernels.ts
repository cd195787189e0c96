// TensorFlow.js lowering of each registry op. Shapes are already checked by
// the compiler; these only compute. The table's type makes a missing op a
// compile error.
import * as tf from '@tensorflow/tfjs-core';
import type { OpName } from '../../compiler/ir/ops.js';
import type { Attrs, Dim } from '../../compiler/ir/types.js';

export type TfKernel = (inputs: readonly tf.Tensor[], attrs: Attrs) => tf.Tensor;

function flatRows(x: tf.Tensor): tf.Tensor2D {
  return tf.reshape(x, [-1, x.shape[x.rank - 1]!]) as tf.Tensor2D;
}

function sumTo(x: tf.Tensor, target: readonly Dim[]): tf.Tensor {
  const lead = x.rank - target.length;
  const ones: number[] = [];
  target.forEach((d, i) => {
    if (d === 1 && x.shape[lead + i] !== 1) ones.push(lead + i);
  });
  let y = ones.length > 0 ? tf.sum(x, ones, true) : x;
  if (lead > 0) y = tf.sum(y, Array.from({ length: lead }, (_, i) => i));
  return y;
}

/** Whether the active backend implements a kernel (wasm lacks a few; those ops get another lowering). */
function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

export const tfKernels: Record<Exclude<OpName, 'scan'>, TfKernel> = {
  constant: (_i, attrs) => tf.scalar(attrs['value'] as number),
  zeros_like: ([x]) => tf.zerosLike(x!),
  neg: ([x]) => tf.neg(x!),
  tanh: ([x]) => tf.tanh(x!),
  sigmoid: ([x]) => tf.sigmoid(x!),
  relu: ([x]) => tf.relu(x!),
  leaky_relu: ([x], attrs) => tf.leakyRelu(x!, attrs['alpha'] as number),
  exp: ([x]) => tf.exp(x!),
  log: ([x]) => tf.log(x!),
  square: ([x]) => tf.square(x!),
  step: ([x]) => tf.step(x!, 0),
  stop_gradient: ([x]) => x!,
  grad_gate: ([x]) => x!,
  add: ([a, b]) => tf.add(a!, b!),
  sub: ([a, b]) => tf.sub(a!, b!),
  mul: ([a, b]) => tf.mul(a!, b!),
  div: ([a, b]) => tf.div(a!, b!),
  sum_to: ([x], attrs) => sumTo(x!, attrs['shape'] as readonly Dim[]),
  broadcast_like: ([x, like]) =>
    hasKernel('BroadcastTo') ? tf.broadcastTo(x!, like!.shape) : tf.add(tf.zeros(like!.shape), x!),
  sum_all: ([x]) => tf.sum(x!),
  linear: ([x, w]) => {
    const y = tf.matMul(flatRows(x!), w as tf.Tensor2D, false, true);
    return x!.rank === 2 ? y : tf.reshape(y, [...x!.shape.slice(0, -1), w!.shape[0]!]);
  },
  mm: ([x, w]) => {
    const y = tf.matMul(flatRows(x!), w as tf.Tensor2D);
    return x!.rank === 2 ? y : tf.reshape(y, [...x!.shape.slice(0, -1), w!.shape[1]!]);
  },
  outer: ([a, b]) => tf.matMul(flatRows(a!), flatRows(b!), true, false),
  concat: (inputs) => tf.concat(inputs as tf.Tensor[], -1),
  slice_last: ([x], attrs) => {
    const begin = x!.shape.map((_, i) => (i === x!.rank - 1 ? (attrs['begin'] as number) : 0));
    const size = x!.shape.map((d, i) => (i === x!.rank - 1 ? (attrs['size'] as number) : d));
    return tf.slice(x!, begin, size);
  },
  pad_last: ([x], attrs) =>
    tf.pad(
      x!,
      x!.shape.map((_, i) => (i === x!.rank - 1 ? [attrs['before'] as number, attrs['after'] as number] : [0, 0])) as [number, number][],
    ),
  expand_last: ([x]) => tf.expandDims(x!, -1),
  squeeze_last: ([x]) => tf.squeeze(x!, [x!.rank - 1]),
  gather: ([table, ids]) => tf.gather(table!, ids!),
  scatter_add: ([ids, vals], attrs) => {
    const flatIds = tf.reshape(ids!, [-1]) as tf.Tensor1D;
    const rows = attrs['rows'] as number;
    if (hasKernel('UnsortedSegmentSum')) return tf.unsortedSegmentSum(flatRows(vals!), flatIds, rows);
    // wasm: a one-hot [N, rows] transposed times the values [N, E].
    const onehot = tf.transpose(tf.cast(tf.oneHot(flatIds, rows), 'float32'));
    return tf.matMul(onehot, flatRows(vals!));
  },
  one_hot: ([ids], attrs) => tf.cast(tf.oneHot(ids! as tf.Tensor1D, attrs['depth'] as number), 'float32'),
  xent: ([logits, labels]) => {
    const k = logits!.shape[logits!.rank - 1]!;
    const picked = tf.sum(tf.mul(logits!, tf.oneHot(labels! as tf.Tensor1D, k)), -1);
    return tf.sub(tf.logSumExp(logits!, -1), picked);
  },
  time_index: ([x], attrs) => tf.squeeze(tf.slice(x!, [attrs['index'] as number], [1]), [0]),
  time_place: ([x, like], attrs) => {
    const i = attrs['index'] as number;
    const T = like!.shape[0]!;
    return tf.pad(tf.expandDims(x!, 0), [[i, T - 1 - i], ...x!.shape.map((): [number, number] => [0, 0])]);
  },
  time_stack: (inputs) => tf.stack(inputs as tf.Tensor[]),
  xent_grad: ([logits, labels, ct]) => {
    const k = logits!.shape[logits!.rank - 1]!;
    return tf.mul(tf.sub(tf.softmax(logits!), tf.oneHot(labels! as tf.Tensor1D, k)), tf.expandDims(ct!, -1));
  },
};
