// TensorFlow.js lowering of each registry op. Shapes are already checked by
// the compiler; these only compute. Ops of more than one tf call live in
// portable-ops.ts, shared word for word with emitted modules. The table's
// type makes a missing op a compile error.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelOp } from '../../compiler/ir/ops.js';
import type { Attrs, Dim } from '../../compiler/ir/types.js';
import * as ops from './portable-ops.js';

export type TfKernel = (inputs: readonly tf.Tensor[], attrs: Attrs) => tf.Tensor;

export const tfKernels: Record<KernelOp, TfKernel> = {
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
  sum_to: ([x], attrs) => ops.sumTo(x!, attrs['shape'] as readonly Dim[]),
  broadcast_like: ([x, like]) => ops.broadcastLike(x!, like!),
  sum_all: ([x]) => tf.sum(x!),
  linear: ([x, w]) => ops.linear(x!, w!),
  mm: ([x, w]) => ops.mm(x!, w!),
  outer: ([a, b]) => ops.outer(a!, b!),
  lead_last: ([x]) => ops.leadLast(x!),
  outer_lt: ([at, b]) => ops.outerLt(at!, b!),
  transpose: ([x]) => ops.transpose2d(x!),
  concat: (inputs) => tf.concat(inputs as tf.Tensor[], -1),
  slice_last: ([x], attrs) => ops.sliceLast(x!, attrs['begin'] as number, attrs['size'] as number),
  pad_last: ([x], attrs) => ops.padLast(x!, attrs['before'] as number, attrs['after'] as number),
  expand_last: ([x]) => tf.expandDims(x!, -1),
  squeeze_last: ([x]) => ops.squeezeLast(x!),
  gather: ([table, ids]) => ops.gatherRows(table!, ids!),
  scatter_add: ([ids, vals], attrs) => ops.scatterAdd(ids!, vals!, attrs['rows'] as number),
  one_hot: ([ids], attrs) => ops.oneHot(ids!, attrs['depth'] as number),
  xent: ([logits, labels]) => ops.xent(logits!, labels!),
  xent_grad: ([logits, labels, ct]) => ops.xentGrad(logits!, labels!, ct!),
  time_index: ([x], attrs) => ops.timeIndex(x!, attrs['index'] as number),
  time_place: ([x, like], attrs) => ops.timePlace(x!, like!, attrs['index'] as number),
  time_stack: (inputs) => tf.stack(inputs as tf.Tensor[]),
};
