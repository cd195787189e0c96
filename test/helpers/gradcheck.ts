// Central finite differences on the float64 reference evaluator.
import { differentiate } from '../../compiler/autodiff/vjp.js';
import type { Graph } from '../../compiler/ir/types.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import type { Tensor64 } from '../../runtime/reference/tensor.js';

export interface GradCheckResult {
  readonly maxRelError: number;
  readonly worst: string;
  readonly loss: number;
  readonly analytic: Map<string, Float64Array>;
}

/** Relative error of symbolic gradients against central differences, over every param input. */
export function gradCheck(g: Graph, inputs: readonly Tensor64[], eps = 1e-5): GradCheckResult {
  const dg = differentiate(g);
  verifyGraph(dg, 'differentiated');
  const outs = evaluateGraph(dg, inputs);
  const lossIndex = g.outputs.findIndex((o) => o.role === 'loss');
  const loss = outs[lossIndex]!.data[0]!;
  const analytic = new Map<string, Float64Array>();
  dg.outputs.forEach((o, i) => {
    if (o.role === 'grad') analytic.set(o.name.slice(2), outs[i]!.data);
  });
  const numeric = fdGradient(g, inputs, () => true, eps);
  let maxRelError = 0;
  let worst = '';
  for (const [name, num] of numeric) {
    const a = analytic.get(name)!;
    let diffNorm = 0;
    let scale = 0;
    num.forEach((x, j) => {
      diffNorm = Math.max(diffNorm, Math.abs(x - a[j]!));
      scale = Math.max(scale, Math.abs(x), Math.abs(a[j]!));
    });
    const rel = diffNorm / Math.max(scale, 1e-8);
    if (rel > maxRelError) {
      maxRelError = rel;
      worst = name;
    }
  }
  return { maxRelError, worst, loss, analytic };
}

/** Central-difference gradient of the loss w.r.t. the chosen param inputs (others: absent). */
export function fdGradient(g: Graph, inputs: readonly Tensor64[], which: (name: string) => boolean, eps = 1e-5): Map<string, Float64Array> {
  const lossIndex = g.outputs.findIndex((o) => o.role === 'loss');
  const lossAt = (ins: readonly Tensor64[]): number => evaluateGraph(g, ins)[lossIndex]!.data[0]!;
  const out = new Map<string, Float64Array>();
  g.inputs.forEach((inp, k) => {
    if (inp.role !== 'param' || !which(inp.name)) return;
    const base = inputs[k]!;
    const grad = new Float64Array(base.data.length);
    for (let j = 0; j < base.data.length; j++) {
      const plus = Float64Array.from(base.data);
      const minus = Float64Array.from(base.data);
      plus[j]! += eps;
      minus[j]! -= eps;
      const withValue = (d: Float64Array) => inputs.map((t, i) => (i === k ? { ...t, data: d } : t));
      grad[j] = (lossAt(withValue(plus)) - lossAt(withValue(minus))) / (2 * eps);
    }
    out.set(inp.name, grad);
  });
  return out;
}

/** max |a - b| / max(|a|, |b|) over all entries of all tensors. */
export function relativeError(a: ReadonlyMap<string, Float64Array>, b: ReadonlyMap<string, Float64Array>): number {
  let diff = 0;
  let scale = 0;
  for (const [k, av] of a) {
    const bv = b.get(k)!;
    av.forEach((x, i) => {
      diff = Math.max(diff, Math.abs(x - bv[i]!));
      scale = Math.max(scale, Math.abs(x), Math.abs(bv[i]!));
    });
  }
  return diff / Math.max(scale, 1e-8);
}
