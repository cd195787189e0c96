// The float64 reference evaluator of the IR: the oracle (ARCHITECTURE.md rule 5).
// Executes a graph node by node; a scan runs its body once per time step.
import type { FusedArg, FusedBody, Graph, ValueId } from '../../compiler/ir/types.js';
import { broadcastShape, referenceKernels } from './kernels.js';
import { size, sliceLead, stackLead, tensor, type Tensor64 } from './tensor.js';
import { elementwiseOp } from '../../compiler/ir/elementwise.js';

export function evaluateGraph(g: Graph, inputs: readonly Tensor64[]): Tensor64[] {
  if (inputs.length !== g.inputs.length) {
    throw new Error(`reference: graph has ${g.inputs.length} inputs, got ${inputs.length}`);
  }
  const env = new Map<ValueId, Tensor64>();
  g.inputs.forEach((inp, i) => env.set(inp.value, inputs[i]!));
  const get = (v: ValueId): Tensor64 => {
    const t = env.get(v);
    if (!t) throw new Error(`reference: %${v} not computed`);
    return t;
  };
  for (const node of g.nodes) {
    const args = node.inputs.map(get);
    if (node.op === 'scan') {
      evalScan(node.body!, node.attrs['nCarry'] as number, node.attrs['nXs'] as number, node.attrs['reverse'] as boolean, args).forEach(
        (t, i) => env.set(node.outputs[i]!, t),
      );
    } else if (node.op === 'fused') {
      const windows = node.attrs['windows'] as readonly number[] | undefined;
      const read = args.map((t, k) =>
        windows !== undefined && windows[2 * k]! >= 0 ? referenceKernels.slice_last([t], { begin: windows[2 * k]!, size: windows[2 * k + 1]! }) : t,
      );
      evalFused(node.attrs['body'] as FusedBody, read).forEach((t, i) =>
        env.set(node.outputs[i]!, t),
      );
    } else {
      const kernel = referenceKernels[node.op];
      if (!kernel) throw new Error(`reference: no kernel for ${node.op}`);
      env.set(node.outputs[0]!, kernel(args, node.attrs));
    }
  }
  return g.outputs.map((o) => get(o.value));
}

/** A fused group, op by op with the reference kernels: the same numbers as the unfused graph. */
function evalFused({ instrs, outputs }: FusedBody, inputs: readonly Tensor64[]): Tensor64[] {
  const results: Tensor64[] = [];
  for (const { op, args, attr } of instrs) {
    const value = (a: FusedArg): Tensor64 => ('in' in a ? inputs[a.in]! : 'tmp' in a ? results[a.tmp]! : tensor([], [a.num]));
    const kernel = referenceKernels[op];
    if (!kernel) throw new Error(`reference: no kernel for ${op}`);
    // A unary op's attribute (leaky_relu's alpha) travels with its instruction.
    const name = elementwiseOp(op)?.attr?.name;
    results.push(kernel(args.map(value), name !== undefined ? { [name]: attr! } : {}));
  }
  // An output has the shape of all inputs broadcast (the op's shape rule).
  const shape = inputs.reduce<readonly number[]>((s, t) => broadcastShape(s, t.shape), []);
  return outputs.map((k) => (size(results[k]!.shape) === size(shape) ? results[k]! : referenceKernels.broadcast_like([results[k]!, tensor(shape, new Float64Array(size(shape)))], {})));
}

function evalScan(body: Graph, nCarry: number, nXs: number, reverse: boolean, args: readonly Tensor64[]): Tensor64[] {
  let carries = args.slice(0, nCarry);
  const xs = args.slice(nCarry, nCarry + nXs);
  const consts = args.slice(nCarry + nXs);
  const steps = xs[0]?.shape[0] ?? 0;
  const nYs = body.outputs.length - nCarry;
  const ys: Tensor64[][] = Array.from({ length: nYs }, () => new Array<Tensor64>(steps));
  for (let k = 0; k < steps; k++) {
    const t = reverse ? steps - 1 - k : k;
    const outs = evaluateGraph(body, [...carries, ...xs.map((x) => sliceLead(x, t)), ...consts]);
    carries = outs.slice(0, nCarry);
    outs.slice(nCarry).forEach((y, i) => {
      ys[i]![t] = y;
    });
  }
  const yTypes = body.outputs.slice(nCarry).map((o) => body.values[o.value]!.type);
  return [
    ...carries,
    ...ys.map((list, i) =>
      stackLead(list, yTypes[i]!.shape.map((d) => (typeof d === 'number' ? d : 0)), yTypes[i]!.dtype),
    ),
  ];
}
