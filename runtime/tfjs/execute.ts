// Executes IR graphs on TensorFlow.js. The caller owns memory: run inside
// tf.tidy and keep what it returns. A scan unstacks its xs once, runs its
// body per step, and stacks the ys once.
import * as tf from '@tensorflow/tfjs-core';
import type { OpName } from '../../compiler/ir/ops.js';
import type { Graph, ValueId } from '../../compiler/ir/types.js';
import { tfKernels } from './kernels.js';

export function executeGraph(g: Graph, inputs: readonly tf.Tensor[]): tf.Tensor[] {
  if (inputs.length !== g.inputs.length) {
    throw new Error(`tfjs: graph has ${g.inputs.length} inputs, got ${inputs.length}`);
  }
  const env = new Map<ValueId, tf.Tensor>();
  g.inputs.forEach((inp, i) => env.set(inp.value, inputs[i]!));
  const get = (v: ValueId): tf.Tensor => {
    const t = env.get(v);
    if (!t) throw new Error(`tfjs: %${v} not computed`);
    return t;
  };
  for (const node of g.nodes) {
    const args = node.inputs.map(get);
    if (node.op === 'scan') {
      const outs = runScan(node.body!, node.attrs['nCarry'] as number, node.attrs['nXs'] as number, node.attrs['reverse'] as boolean, args);
      outs.forEach((t, i) => env.set(node.outputs[i]!, t));
    } else {
      env.set(node.outputs[0]!, tfKernels[node.op as Exclude<OpName, 'scan'>](args, node.attrs));
    }
  }
  return g.outputs.map((o) => get(o.value));
}

function runScan(body: Graph, nCarry: number, nXs: number, reverse: boolean, args: readonly tf.Tensor[]): tf.Tensor[] {
  let carries = args.slice(0, nCarry);
  const xs = args.slice(nCarry, nCarry + nXs).map((x) => tf.unstack(x));
  const consts = args.slice(nCarry + nXs);
  const steps = xs[0]?.length ?? 0;
  const nYs = body.outputs.length - nCarry;
  const ys: tf.Tensor[][] = Array.from({ length: nYs }, () => new Array<tf.Tensor>(steps));
  for (let k = 0; k < steps; k++) {
    const t = reverse ? steps - 1 - k : k;
    // A step's intermediates are freed as soon as it ends; its outputs live on.
    const outs = tf.tidy(() => executeGraph(body, [...carries, ...xs.map((x) => x[t]!), ...consts]));
    carries = outs.slice(0, nCarry);
    outs.slice(nCarry).forEach((y, i) => {
      ys[i]![t] = y;
    });
  }
  return [...carries, ...ys.map((list) => tf.stack(list))];
}
