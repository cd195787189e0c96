// One TypeScript emitter per registry op (except scan, which emit-graph.ts
// turns into a loop). Each returns an expression over tfjs-core that computes
// exactly what runtime/tfjs/kernels.ts computes, with the same tf calls in
// the same order, so emitted code and the interpreter agree to the bit on the
// same backend. Ops with more than one tf call go through a small helper of
// the emitted module's prelude (prelude.ts), named after the op.
//
// The table's type makes a new op without an emitter a compile error; a test
// iterates OP_NAMES as well. Element-wise ops are emitted from their entries
// (compiler/ir/elementwise.ts).
import { InternalError } from '../diagnostics/diagnostic.js';
import { ELEMENTWISE_CODE, ELEMENTWISE_OPS, type ElementwiseOp } from '../ir/elementwise.js';
import type { KernelOp } from '../ir/ops.js';
import type { Attrs, Dim } from '../ir/types.js';
import { stringLiteral } from './escape.js';

/** Resolves a dimension that an attribute carries (a number once the model's dims are bound). */
export type DimResolver = (d: Dim) => number;

export type OpEmitter = (args: readonly string[], attrs: Attrs, dim: DimResolver) => string;

/** A number as TypeScript source text (exact: JavaScript's shortest round-trip form). */
export function numberLiteral(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (Object.is(x, -0)) return '-0';
  return String(x);
}

const num = (attrs: Attrs, key: string): string => {
  const v = attrs[key];
  if (typeof v !== 'number') throw new InternalError(`codegen: attribute ${key} is not a number`);
  return numberLiteral(v);
};

const a0 = (args: readonly string[]): string => args[0]!;
const call = (fn: string) => (args: readonly string[]): string => `${fn}(${args.join(', ')})`;

const ownEmitters: Record<KernelOp, OpEmitter> = {
  constant: (_a, attrs) => `tf.scalar(${num(attrs, 'value')})`,
  zeros_like: call('tf.zerosLike'),
  // Identities in the forward direction: their meaning is in the derivative.
  stop_gradient: a0,
  grad_gate: a0,
  sum_to: (a, attrs) => {
    // Only the rank and the literal 1s of the target shape matter (see the prelude's sumTo).
    const shape = (attrs['shape'] as readonly Dim[]).map((d) => (typeof d === 'number' ? String(d) : stringLiteral(d)));
    return `sumTo(${a0(a)}, [${shape.join(', ')}])`;
  },
  broadcast_like: call('broadcastLike'),
  sum_all: call('tf.sum'),
  linear: call('linear'),
  mm: call('mm'),
  outer: call('outer'),
  lead_last: call('leadLast'),
  outer_lt: call('outerLt'),
  transpose: call('transpose2d'),
  concat: (a) => `tf.concat([${a.join(', ')}], -1)`,
  slice_last: (a, attrs) => `sliceLast(${a0(a)}, ${num(attrs, 'begin')}, ${num(attrs, 'size')})`,
  pad_last: (a, attrs) => `padLast(${a0(a)}, ${num(attrs, 'before')}, ${num(attrs, 'after')})`,
  expand_last: (a) => `tf.expandDims(${a0(a)}, -1)`,
  squeeze_last: call('squeezeLast'),
  insert_axis: (a, attrs) => `tf.expandDims(${a0(a)}, ${num(attrs, 'axis')})`,
  drop_axis: (a, attrs) => `tf.squeeze(${a0(a)}, [${num(attrs, 'axis')}])`,
  swap_lead: call('swapLead'),
  patches: (a, attrs) => `patches(${a0(a)}, ${num(attrs, 'size')})`,
  unpatches: (a, attrs) => `unpatches(${a0(a)}, ${num(attrs, 'size')})`,
  max_pool: (a, attrs) => `pool2d(${a0(a)}, ${num(attrs, 'size')}, 'max')`,
  max_pool_grad: (a, attrs) => `maxPoolGrad(${a.join(', ')}, ${num(attrs, 'size')})`,
  avg_pool: (a, attrs) => `pool2d(${a0(a)}, ${num(attrs, 'size')}, 'avg')`,
  unpool_avg: (a, attrs) => `unpoolAvg(${a0(a)}, ${num(attrs, 'size')}, ${num(attrs, 'height')}, ${num(attrs, 'width')})`,
  merge_axes: (a, attrs) => `mergeAxes(${a0(a)}, ${num(attrs, 'axis')})`,
  split_axis: (a, attrs, dim) => `splitAxis(${a0(a)}, ${num(attrs, 'axis')}, ${dim(attrs['size'] as Dim)})`,
  gather: call('gatherRows'),
  scatter_add: (a, attrs, dim) => `scatterAdd(${a.join(', ')}, ${dim(attrs['rows'] as Dim)})`,
  softmax: call('tf.softmax'),
  one_hot: (a, attrs, dim) => `oneHot(${a0(a)}, ${dim(attrs['depth'] as Dim)})`,
  shift_time: (a, attrs) => `shiftTime(${a0(a)}, ${num(attrs, 'fill')})`,
  argmax: (a) => `tf.argMax(${a0(a)}, -1)`,
  sample_ids: call('sampleIds'),
  xent: call('xent'),
  xent_grad: call('xentGrad'),
  time_index: (a, attrs) => `timeIndex(${a0(a)}, ${num(attrs, 'index')})`,
  time_place: (a, attrs) => `timePlace(${a.join(', ')}, ${num(attrs, 'index')})`,
  time_stack: (a) => `tf.stack([${a.join(', ')}])`,
};

/** An element-wise entry as code: tf.<fn>(inputs..., attribute, extra...), the call runtime/tfjs/kernels.ts makes. */
function elementwiseEmitter(e: ElementwiseOp): OpEmitter {
  const attr = e.attr?.name;
  const extra = (e.tf.extra ?? []).map(numberLiteral);
  return (a, attrs) => `tf.${e.tf.fn}(${[...a, ...(attr === undefined ? [] : [num(attrs, attr)]), ...extra].join(', ')})`;
}

/** Every op's emitter, by op name (scan and fused are emit-graph.ts's own). */
export const OP_EMITTERS: Readonly<Record<KernelOp, OpEmitter>> & Readonly<Record<string, OpEmitter | undefined>> = Object.assign(
  Object.create(null) as Record<string, OpEmitter>,
  Object.fromEntries(ELEMENTWISE_OPS.map((e) => [e.name, elementwiseEmitter(e)])),
  ownEmitters,
);

/**
 * The element-wise table that the prelude's fused-group code reads (runtime/tfjs/portable-ops.ts imports it;
 * an emitted module carries it as data).
 */
export function elementwiseCodeDeclaration(): string {
  const entries = ELEMENTWISE_OPS.map((e) => {
    const c = ELEMENTWISE_CODE[e.name]!;
    return `${e.name}: { inputs: ${c.inputs}, tf: ${stringLiteral(c.tf)}, extra: [${c.extra.map(numberLiteral).join(', ')}], loop: ${stringLiteral(c.loop)}, cost: [${c.cost.map(numberLiteral).join(', ')}], wgsl: ${stringLiteral(c.wgsl)} },`;
  });
  return `/** What an instruction of a fused group reads: input k, the result of instruction k, or a number. */
type FusedArg = { readonly in: number } | { readonly tmp: number } | { readonly num: number };
/** One element-wise op of a fused group; \`attr\` is a unary op's attribute (leaky_relu's alpha). */
interface FusedInstr { readonly op: string; readonly args: readonly FusedArg[]; readonly attr?: number; }
/** A fused group: its instructions (instruction k's result is temp k) and the temps it returns. */
interface FusedBody { readonly instrs: readonly FusedInstr[]; readonly outputs: readonly number[]; }
/** The element-wise ops as fused groups run them: tf.<tf> op by op, \`loop\` per element on the host, or \`wgsl\` per element in a WebGPU kernel. */
const ELEMENTWISE_CODE: Readonly<Record<string, { readonly inputs: number; readonly tf: string; readonly extra: readonly number[]; readonly loop: string; readonly cost: readonly [number, number]; readonly wgsl: string } | undefined>> = {
${entries.join('\n')}
};`;
}
