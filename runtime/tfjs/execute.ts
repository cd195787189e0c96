// Executes IR graphs on TensorFlow.js. The caller owns memory: run inside
// tf.tidy and keep what it returns. A scan splits its xs into steps once,
// runs its body per step, and stacks its ys once. The per-step results of a
// scan are kept as well, so that a later scan reading them (the reverse
// loop reading saved residuals) takes them as they are instead of splitting
// a stacked copy; the stacked tensor is made only when something else reads it.
import * as tf from '@tensorflow/tfjs-core';
import type { FusedBody, Graph, ValueId } from '../../compiler/ir/types.js';
import { tfKernels } from './kernels.js';
import { fused, stackTime, unstackTime } from './portable-ops.js';

/** Values of a graph that some reader needs whole (not only as the xs of a scan). */
const wholeReaders = new WeakMap<Graph, ReadonlySet<ValueId>>();

function valuesReadWhole(g: Graph): ReadonlySet<ValueId> {
  let set = wholeReaders.get(g);
  if (!set) {
    const s = new Set<ValueId>(g.outputs.map((o) => o.value));
    for (const n of g.nodes) {
      if (n.op !== 'scan') n.inputs.forEach((v) => s.add(v));
      else {
        const nCarry = n.attrs['nCarry'] as number;
        const nXs = n.attrs['nXs'] as number;
        n.inputs.forEach((v, k) => {
          if (k < nCarry || k >= nCarry + nXs) s.add(v);
        });
      }
    }
    wholeReaders.set(g, s);
    set = s;
  }
  return set;
}

export function executeGraph(g: Graph, inputs: readonly tf.Tensor[]): tf.Tensor[] {
  if (inputs.length !== g.inputs.length) {
    throw new Error(`tfjs: graph has ${g.inputs.length} inputs, got ${inputs.length}`);
  }
  const env = new Map<ValueId, tf.Tensor>();
  const steps = new Map<ValueId, tf.Tensor[]>();
  const whole = valuesReadWhole(g);
  g.inputs.forEach((inp, i) => env.set(inp.value, inputs[i]!));
  const get = (v: ValueId): tf.Tensor => {
    const t = env.get(v);
    if (!t) throw new Error(`tfjs: %${v} not computed`);
    return t;
  };
  for (const node of g.nodes) {
    if (node.op === 'scan') {
      const nCarry = node.attrs['nCarry'] as number;
      const nXs = node.attrs['nXs'] as number;
      const xs = node.inputs.slice(nCarry, nCarry + nXs).map((v) => steps.get(v) ?? unstackTime(get(v)));
      const r = runScan(node.body!, nCarry, node.attrs['reverse'] as boolean, node.inputs.slice(0, nCarry).map(get), xs, node.inputs.slice(nCarry + nXs).map(get));
      r.carries.forEach((t, i) => env.set(node.outputs[i]!, t));
      r.ys.forEach((list, i) => {
        const v = node.outputs[nCarry + i]!;
        steps.set(v, list);
        if (whole.has(v)) env.set(v, stackTime(list));
      });
    } else if (node.op === 'fused') {
      const windows = node.attrs['windows'] as readonly number[] | undefined;
      const body = node.attrs['body'] as FusedBody;
      const ins = node.inputs.map(get);
      // On webgpu generated kernels (runtime/tfjs/webgpu-fused.ts); elsewhere a host loop or op by op.
      fused(body, ins, windows).forEach((t, i) =>
        env.set(node.outputs[i]!, t),
      );
    } else {
      const kernel = tfKernels[node.op];
      if (!kernel) throw new Error(`tfjs: no kernel for ${node.op}`);
      env.set(node.outputs[0]!, kernel(node.inputs.map(get), node.attrs));
    }
  }
  return g.outputs.map((o) => get(o.value));
}

function runScan(
  body: Graph,
  nCarry: number,
  reverse: boolean,
  init: readonly tf.Tensor[],
  xs: readonly tf.Tensor[][],
  consts: readonly tf.Tensor[],
): { carries: tf.Tensor[]; ys: tf.Tensor[][] } {
  let carries = [...init];
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
  return { carries, ys };
}
