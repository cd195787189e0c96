// The element-wise ops, one entry each: everything rnnc knows about such an
// op lives in its entry, and every stage reads it from here:
//
//   shape rule     ops.ts (unary: the input's shape; binary: broadcast)
//   VJP rule       `vjp`, written as IR
//   .rnn function  `language` (cells and models call it as `name(x[, attr])`;
//                  sema/values.ts)
//   reference      `f64`, the float64 oracle (runtime/reference/kernels.ts)
//   tfjs kernel    `tf`, a tfjs-core function called with the inputs, then
//                  the attribute, then `extra` (runtime/tfjs/kernels.ts and,
//                  as code, codegen/emit-ops.ts)
//   fused loops    `loop`, one element as JavaScript over float64 operands
//                  $0 and $1 (the attribute is $1 of a unary op), with the
//                  host approximations tanh_ and exp_ of
//                  runtime/tfjs/portable-ops.ts; `cost` feeds its choice
//                  between a host loop and one kernel per op on wasm
//   WebGPU         `wgsl`, one element as a WGSL expression: fused groups
//                  become one kernel per output there
//                  (runtime/tfjs/webgpu-fused.ts)
//   fusion         every entry may join a fused group
//                  (passes/fuse-elementwise.ts)
//
// Adding an element-wise op is adding an entry here (and its test): the
// registry test (test/ir/registry.test.ts) checks every entry's gradient,
// its kernels against `f64`, its fused loop and its emitted code.
import type { GraphBuilder } from './builder.js';
import { sameShape } from './shape.js';
import type { Node, Shape, ValueId } from './types.js';

/** Cotangents per output in, cotangents per input out; undefined means zero / not differentiable. */
export type VjpRule = (b: GraphBuilder, node: Node, cts: readonly (ValueId | undefined)[]) => (ValueId | undefined)[];

export interface ElementwiseOp {
  /** The IR op's name (and the .rnn function's, where `language` is set). */
  readonly name: string;
  readonly arity: 1 | 2;
  readonly doc: string;
  /** A numeric attribute of a unary op (leaky_relu's alpha) and its default in .rnn programs. */
  readonly attr?: { readonly name: string; readonly default: number };
  /** Whether .rnn programs call it by name (the arithmetic ops are operators instead). */
  readonly language: boolean;
  /** The float64 reference: y = f64(x, attr) for unary ops, f64(a, b) for binary ones. */
  readonly f64: (x: number, y: number) => number;
  /** The tfjs-core function (`tf.<fn>`) and constant arguments after the inputs and the attribute. */
  readonly tf: { readonly fn: string; readonly extra?: readonly number[] };
  /** One element in a fused host loop, over float64 operands `$0`, `$1`. */
  readonly loop: string;
  /**
   * One element in a fused WebGPU kernel (runtime/tfjs/webgpu-fused.ts), a
   * WGSL expression over f32 operands `$0`, `$1`; `tanh_` is that file's
   * tanh (WGSL's overflows to NaN on some drivers), `isnan` tfjs's.
   */
  readonly wgsl: string;
  /** ns per element (host loop, wasm kernel), measured; arithmetic takes the default [0.5, 0.3]. */
  readonly cost?: readonly [number, number];
  /** 'none': piecewise constant, no derivative. */
  readonly vjp: VjpRule | 'none';
}

/** What runtime/tfjs/portable-ops.ts reads of an entry (the interpreter imports it; emitted modules carry it as data). */
export interface ElementwiseCode {
  /** How many tensor operands the op takes (a unary op's attribute travels apart: FusedInstr.attr). */
  readonly inputs: number;
  readonly tf: string;
  readonly extra: readonly number[];
  readonly loop: string;
  readonly cost: readonly [number, number];
  readonly wgsl: string;
}

// ------------------------------------------------------------------ helpers of the VJP rules

/** A cotangent summed back to an operand's shape (undoes a broadcast). */
export const sumTo = (b: GraphBuilder, v: ValueId, shape: Shape): ValueId =>
  sameShape(b.type(v).shape, shape) ? v : b.op('sum_to', [v], { shape: [...shape] });

const x0 = (node: Node): ValueId => node.inputs[0]!;
const x1 = (node: Node): ValueId => node.inputs[1]!;
const y = (node: Node): ValueId => node.outputs[0]!;

/** A unary rule from the derivative's factor: ct * dy/dx. */
const chain =
  (factor: (b: GraphBuilder, n: Node) => ValueId): VjpRule =>
  (b, n, [ct]) =>
    ct === undefined ? [undefined] : [b.op('mul', [ct, factor(b, n)])];

/** A binary rule from each operand's cotangent, each summed back to its operand's shape. */
const broadcasting =
  (da: (b: GraphBuilder, n: Node, ct: ValueId) => ValueId, db: (b: GraphBuilder, n: Node, ct: ValueId) => ValueId): VjpRule =>
  (b, n, [ct]) =>
    ct === undefined ? [undefined, undefined] : [sumTo(b, da(b, n, ct), b.type(x0(n)).shape), sumTo(b, db(b, n, ct), b.type(x1(n)).shape)];

// ------------------------------------------------------------------ the entries

export const ELEMENTWISE_OPS: readonly ElementwiseOp[] = [
  {
    name: 'neg',
    arity: 1,
    doc: '-x',
    language: false,
    f64: (x) => -x,
    tf: { fn: 'neg' },
    loop: '-$0',
    wgsl: '-$0',
    vjp: (b, _n, [ct]) => [ct === undefined ? undefined : b.op('neg', [ct])],
  },
  {
    name: 'tanh',
    arity: 1,
    doc: 'tanh(x)',
    language: true,
    f64: Math.tanh,
    tf: { fn: 'tanh' },
    loop: 'tanh_($0)',
    wgsl: 'tanh_($0)',
    cost: [3.5, 10],
    vjp: chain((b, n) => b.op('sub', [b.constant(1), b.op('mul', [y(n), y(n)])])),
  },
  {
    name: 'sigmoid',
    arity: 1,
    doc: '1 / (1 + exp(-x))',
    language: true,
    f64: (x) => 1 / (1 + Math.exp(-x)),
    tf: { fn: 'sigmoid' },
    loop: '1 / (1 + exp_(-$0))',
    wgsl: '1.0 / (1.0 + exp(-$0))',
    cost: [7, 0.85],
    vjp: chain((b, n) => b.op('mul', [y(n), b.op('sub', [b.constant(1), y(n)])])),
  },
  {
    name: 'relu',
    arity: 1,
    doc: 'max(x, 0)',
    language: true,
    // NaN stays NaN on every path: tfjs's relu, the loop and the reference.
    f64: (x) => (x > 0 || Number.isNaN(x) ? x : 0),
    tf: { fn: 'relu' },
    loop: '($0 > 0 || $0 !== $0 ? $0 : 0)',
    wgsl: 'select(0.0, $0, $0 > 0.0 || isnan($0))',
    vjp: chain((b, n) => b.op('step', [x0(n)])),
  },
  {
    name: 'leaky_relu',
    arity: 1,
    doc: 'x if x > 0 else alpha * x',
    attr: { name: 'alpha', default: 0.01 },
    language: true,
    f64: (x, alpha) => (x > 0 ? x : alpha * x),
    tf: { fn: 'leakyRelu' },
    loop: '($0 > 0 ? $0 : $1 * $0)',
    wgsl: 'select($1 * $0, $0, $0 > 0.0)',
    // slope = alpha + (1 - alpha) * step(x)
    vjp: chain((b, n) => {
      const alpha = n.attrs['alpha'] as number;
      return b.op('add', [b.constant(alpha), b.op('mul', [b.constant(1 - alpha), b.op('step', [x0(n)])])]);
    }),
  },
  {
    name: 'softplus',
    arity: 1,
    doc: 'log(1 + e^x), a smooth relu',
    language: true,
    f64: (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))),
    tf: { fn: 'softplus' },
    loop: '($0 > 0 ? $0 + Math.log1p(exp_(-$0)) : Math.log1p(exp_($0)))',
    wgsl: 'select(log(1.0 + exp($0)), $0 + log(1.0 + exp(-$0)), $0 > 0.0)',
    vjp: chain((b, n) => b.op('sigmoid', [x0(n)])),
  },
  {
    name: 'exp',
    arity: 1,
    doc: 'e^x',
    language: true,
    f64: Math.exp,
    tf: { fn: 'exp' },
    loop: 'exp_($0)',
    wgsl: 'exp($0)',
    cost: [5, 5.8],
    vjp: chain((_b, n) => y(n)),
  },
  {
    name: 'log',
    arity: 1,
    doc: 'natural log',
    language: true,
    f64: Math.log,
    tf: { fn: 'log' },
    loop: 'Math.log($0)',
    wgsl: 'log($0)',
    cost: [9, 7.9],
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('div', [ct, x0(n)])],
  },
  {
    name: 'square',
    arity: 1,
    doc: 'x * x',
    language: true,
    f64: (x) => x * x,
    tf: { fn: 'square' },
    loop: '$0 * $0',
    wgsl: '$0 * $0',
    vjp: chain((b, n) => b.op('mul', [b.constant(2), x0(n)])),
  },
  {
    name: 'sqrt',
    arity: 1,
    doc: 'the square root (NaN below 0)',
    language: true,
    f64: Math.sqrt,
    tf: { fn: 'sqrt' },
    loop: 'Math.sqrt($0)',
    wgsl: 'sqrt($0)',
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('div', [ct, b.op('mul', [b.constant(2), y(n)])])],
  },
  {
    name: 'step',
    arity: 1,
    doc: '1 where x > 0, else 0 (the derivative of relu); NaN stays NaN',
    language: false,
    f64: (x) => (x > 0 ? 1 : Number.isNaN(x) ? x : 0),
    tf: { fn: 'step', extra: [0] },
    loop: '($0 > 0 ? 1 : $0 !== $0 ? $0 : 0)',
    wgsl: 'select(select(0.0, $0, isnan($0)), 1.0, $0 > 0.0)',
    vjp: 'none',
  },
  {
    name: 'add',
    arity: 2,
    doc: 'a + b (broadcasting)',
    language: false,
    f64: (a, c) => a + c,
    tf: { fn: 'add' },
    loop: '$0 + $1',
    wgsl: '$0 + $1',
    vjp: broadcasting((_b, _n, ct) => ct, (_b, _n, ct) => ct),
  },
  {
    name: 'sub',
    arity: 2,
    doc: 'a - b (broadcasting)',
    language: false,
    f64: (a, c) => a - c,
    tf: { fn: 'sub' },
    loop: '$0 - $1',
    wgsl: '$0 - $1',
    vjp: broadcasting((_b, _n, ct) => ct, (b, _n, ct) => b.op('neg', [ct])),
  },
  {
    name: 'mul',
    arity: 2,
    doc: 'a * b element-wise (broadcasting)',
    language: false,
    f64: (a, c) => a * c,
    tf: { fn: 'mul' },
    loop: '$0 * $1',
    wgsl: '$0 * $1',
    vjp: broadcasting((b, n, ct) => b.op('mul', [ct, x1(n)]), (b, n, ct) => b.op('mul', [ct, x0(n)])),
  },
  {
    name: 'div',
    arity: 2,
    doc: 'a / b element-wise (broadcasting)',
    language: false,
    f64: (a, c) => a / c,
    tf: { fn: 'div' },
    loop: '$0 / $1',
    wgsl: '$0 / $1',
    // d/db (a / b) = -a / b^2 = -(ct / b) * (a / b)
    vjp: broadcasting(
      (b, n, ct) => b.op('div', [ct, x1(n)]),
      (b, n, ct) => b.op('neg', [b.op('mul', [b.op('div', [ct, x1(n)]), b.op('div', [x0(n), x1(n)])])]),
    ),
  },
];

const byName = new Map(ELEMENTWISE_OPS.map((e) => [e.name, e] as const));

/** The entry of an element-wise op, or undefined for any other name. */
export function elementwiseOp(name: string): ElementwiseOp | undefined {
  return byName.get(name);
}

/** The functions .rnn programs may call by name, by name. */
export const LANGUAGE_FUNCTIONS: ReadonlyMap<string, ElementwiseOp> = new Map(ELEMENTWISE_OPS.filter((e) => e.language).map((e) => [e.name, e] as const));

/** The runtime's view of every entry, keyed by op name (a null-prototype record: only entries are keys). */
export const ELEMENTWISE_CODE: Readonly<Record<string, ElementwiseCode>> = Object.assign(
  Object.create(null) as Record<string, ElementwiseCode>,
  Object.fromEntries(ELEMENTWISE_OPS.map((e) => [e.name, { inputs: e.arity, tf: e.tf.fn, extra: e.tf.extra ?? [], loop: e.loop, cost: e.cost ?? [0.5, 0.3], wgsl: e.wgsl }])),
);
