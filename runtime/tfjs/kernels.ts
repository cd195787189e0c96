// TensorFlow.js lowering of each registry op. Shapes are already checked by
// the compiler; these only compute. Ops of more than one tf call live in
// portable-ops.ts, shared word for word with emitted modules. The table's
// type makes a missing op a compile error.
import * as tf from '@tensorflow/tfjs-core';
import { ELEMENTWISE_OPS, type ElementwiseOp } from '../../compiler/ir/elementwise.js';
import type { KernelOp } from '../../compiler/ir/ops.js';
import type { Attrs, Dim } from '../../compiler/ir/types.js';
import * as ops from './portable-ops.js';

export type TfKernel = (inputs: readonly tf.Tensor[], attrs: Attrs) => tf.Tensor;

const ownKernels: Record<KernelOp, TfKernel> = {
  constant: (_i, attrs) => tf.scalar(attrs['value'] as number),
  zeros_like: ([x]) => tf.zerosLike(x!),
  stop_gradient: ([x]) => x!,
  grad_gate: ([x]) => x!,
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
  insert_axis: ([x], attrs) => tf.expandDims(x!, attrs['axis'] as number),
  drop_axis: ([x], attrs) => tf.squeeze(x!, [attrs['axis'] as number]),
  swap_lead: ([x]) => ops.swapLead(x!),
  patches: ([x], attrs) => ops.patches(x!, attrs['size'] as number),
  unpatches: ([g], attrs) => ops.unpatches(g!, attrs['size'] as number),
  max_pool: ([x], attrs) => ops.pool2d(x!, attrs['size'] as number, 'max'),
  max_pool_grad: ([x, g], attrs) => ops.maxPoolGrad(x!, g!, attrs['size'] as number),
  avg_pool: ([x], attrs) => ops.pool2d(x!, attrs['size'] as number, 'avg'),
  unpool_avg: ([g], attrs) => ops.unpoolAvg(g!, attrs['size'] as number, attrs['height'] as number, attrs['width'] as number),
  merge_axes: ([x], attrs) => ops.mergeAxes(x!, attrs['axis'] as number),
  split_axis: ([x], attrs) => ops.splitAxis(x!, attrs['axis'] as number, attrs['size'] as number),
  gather: ([table, ids]) => ops.gatherRows(table!, ids!),
  scatter_add: ([ids, vals], attrs) => ops.scatterAdd(ids!, vals!, attrs['rows'] as number),
  softmax: ([x]) => tf.softmax(x!),
  one_hot: ([ids], attrs) => ops.oneHot(ids!, attrs['depth'] as number),
  shift_time: ([x], attrs) => ops.shiftTime(x!, attrs['fill'] as number),
  argmax: ([x]) => tf.argMax(x!, -1),
  sample_ids: ([x, u]) => ops.sampleIds(x!, u!),
  xent: ([logits, labels]) => ops.xent(logits!, labels!),
  xent_grad: ([logits, labels, ct]) => ops.xentGrad(logits!, labels!, ct!),
  time_index: ([x], attrs) => ops.timeIndex(x!, attrs['index'] as number),
  time_place: ([x, like], attrs) => ops.timePlace(x!, like!, attrs['index'] as number),
  time_stack: (inputs) => tf.stack(inputs as tf.Tensor[]),
};

type TfFunction = (...args: readonly (tf.Tensor | number)[]) => tf.Tensor;

/** An element-wise entry's kernel: tf.<fn>(inputs..., attribute, extra...) (compiler/ir/elementwise.ts). */
function elementwiseKernel(e: ElementwiseOp): TfKernel {
  const fn = (tf as unknown as Record<string, TfFunction | undefined>)[e.tf.fn];
  if (typeof fn !== 'function') throw new Error(`element-wise op ${e.name}: tfjs-core has no function ${e.tf.fn}`);
  const extra = e.tf.extra ?? [];
  const attr = e.attr?.name;
  return (inputs, attrs) => fn(...inputs, ...(attr === undefined ? [] : [attrs[attr] as number]), ...extra);
}

/** Every op's tfjs kernel, by op name (scan and fused are the executor's own). */
export const tfKernels: Readonly<Record<KernelOp, TfKernel>> & Readonly<Record<string, TfKernel | undefined>> = Object.assign(
  Object.create(null) as Record<string, TfKernel>,
  Object.fromEntries(ELEMENTWISE_OPS.map((e) => [e.name, elementwiseKernel(e)])),
  ownKernels,
);
