// The verifier (compiler/ir/verify.ts with the registry's rules in
// compiler/ir/ops.ts) rejects each kind of broken graph, naming the node.
// Each case is a hand-built graph that differs from a valid one in one
// place; the valid one is checked to pass, so a rule that rejects
// everything fails here too.
import { describe, expect, it } from 'vitest';
import { InternalError } from '../../compiler/diagnostics/diagnostic.js';
import type { Attrs, DType, FusedBody, FusedInstr, Graph, Node, Shape, ValueInfo } from '../../compiler/ir/types.js';
import { verifyGraph } from '../../compiler/ir/verify.js';

const f = (...shape: Shape): ValueInfo => ({ type: { shape, dtype: 'f32' } });
const i = (...shape: Shape): ValueInfo => ({ type: { shape, dtype: 'i32' } });

interface Spec {
  /** Types of the graph's inputs, values 0..n-1. */
  readonly inputs: readonly ValueInfo[];
  /** Each node's op, inputs, attributes and output types (outputs numbered after the inputs, in order). */
  readonly nodes: readonly { op: string; inputs: readonly number[]; attrs?: Attrs; out: readonly ValueInfo[]; body?: Graph }[];
}

function graph(spec: Spec): Graph {
  const values: ValueInfo[] = [...spec.inputs];
  const nodes: Node[] = spec.nodes.map((n) => {
    const outputs = n.out.map((t) => values.push(t) - 1);
    return { op: n.op, inputs: n.inputs, outputs, attrs: n.attrs ?? {}, ...(n.body ? { body: n.body } : {}) };
  });
  return {
    values,
    nodes,
    inputs: spec.inputs.map((_, k) => ({ value: k, role: 'data' as const, name: `x${k}` })),
    outputs: [{ value: values.length - 1, role: 'result' as const, name: 'y' }],
  };
}

const fb = (instrs: readonly FusedInstr[], outputs: readonly number[]): FusedBody => ({ instrs, outputs });
const node = (op: string, inputs: readonly number[], out: ValueInfo, attrs: Attrs = {}) => ({ op, inputs, attrs, out: [out] });

/** A scan body: carry h [2, 3] and a step x [2, 3] give h' = h + x and y = h'. */
function body(carry: ValueInfo = f(2, 3), step: ValueInfo = f(2, 3), out: ValueInfo = f(2, 3)): Graph {
  return {
    values: [carry, step, out],
    nodes: [{ op: 'add', inputs: [0, 1], outputs: [2], attrs: {} }],
    inputs: [
      { value: 0, role: 'arg', name: 'h' },
      { value: 1, role: 'arg', name: 'x' },
    ],
    outputs: [
      { value: 2, role: 'state', name: 'h' },
      { value: 2, role: 'result', name: 'y' },
    ],
  };
}
const scanAttrs = { nCarry: 1, nXs: 1, reverse: false };

/** [rule, the valid graph, the broken one, what the message must say]. */
const CASES: readonly [string, Spec, Spec, RegExp][] = [
  [
    'scan: a carry that changes shape through the body',
    { inputs: [f(2, 3), f(5, 2, 3)], nodes: [{ op: 'scan', inputs: [0, 1], attrs: scanAttrs, out: [f(2, 3), f(5, 2, 3)], body: body() }] },
    { inputs: [f(2, 3), f(5, 2, 3)], nodes: [{ op: 'scan', inputs: [0, 1], attrs: scanAttrs, out: [f(2, 3), f(5, 2, 3)], body: body(f(2, 3), f(2, 3), f(2, 1)) }] },
    /node 0 \(scan\).*carry 0 enters as f32 \[2, 3\]/,
  ],
  [
    'scan: the body reads a step of xs with another shape',
    { inputs: [f(2, 3), f(5, 2, 3)], nodes: [{ op: 'scan', inputs: [0, 1], attrs: scanAttrs, out: [f(2, 3), f(5, 2, 3)], body: body() }] },
    { inputs: [f(2, 3), f(5, 1, 3)], nodes: [{ op: 'scan', inputs: [0, 1], attrs: scanAttrs, out: [f(2, 3), f(5, 2, 3)], body: body() }] },
    /node 0 \(scan\).*reads a step of xs 0/,
  ],
  [
    'scan: more carries and xs than inputs',
    { inputs: [f(2, 3), f(5, 2, 3)], nodes: [{ op: 'scan', inputs: [0, 1], attrs: scanAttrs, out: [f(2, 3), f(5, 2, 3)], body: body() }] },
    { inputs: [f(2, 3), f(5, 2, 3)], nodes: [{ op: 'scan', inputs: [0, 1], attrs: { ...scanAttrs, nXs: 2 }, out: [f(2, 3), f(5, 2, 3)], body: body() }] },
    /node 0 \(scan\).*1 carries and 2 xs, but 2 inputs/,
  ],
  [
    'slice_last: a window outside the axis',
    { inputs: [f(2, 6)], nodes: [node('slice_last', [0], f(2, 2), { begin: 4, size: 2 })] },
    { inputs: [f(2, 6)], nodes: [node('slice_last', [0], f(2, 3), { begin: 4, size: 3 })] },
    /node 0 \(slice_last\).*\[4, 7\) is outside \[2, 6\]/,
  ],
  [
    'slice_last: a negative begin',
    { inputs: [f(2, 6)], nodes: [node('slice_last', [0], f(2, 2), { begin: 0, size: 2 })] },
    { inputs: [f(2, 6)], nodes: [node('slice_last', [0], f(2, 2), { begin: -1, size: 2 })] },
    /node 0 \(slice_last\).*begin must be at least 0/,
  ],
  [
    'pad_last: a fractional padding',
    { inputs: [f(2, 3)], nodes: [node('pad_last', [0], f(2, 6), { before: 1, after: 2 })] },
    { inputs: [f(2, 3)], nodes: [node('pad_last', [0], f(2, 6.5), { before: 1.5, after: 2 })] },
    /node 0 \(pad_last\).*before must be a whole number/,
  ],
  [
    'sum_to: a target that does not broadcast to the input',
    { inputs: [f(4, 2, 3)], nodes: [node('sum_to', [0], f(1, 3), { shape: [1, 3] })] },
    { inputs: [f(4, 2, 3)], nodes: [node('sum_to', [0], f(5), { shape: [5] })] },
    /node 0 \(sum_to\).*not a shape that broadcasts to it/,
  ],
  [
    'broadcast_like: a value that does not broadcast to the shape',
    { inputs: [f(3), f(2, 3)], nodes: [node('broadcast_like', [0, 1], f(2, 3))] },
    { inputs: [f(4), f(2, 3)], nodes: [node('broadcast_like', [0, 1], f(2, 3))] },
    /node 0 \(broadcast_like\)/,
  ],
  [
    'scatter_add: values that are not one axis more than the ids',
    { inputs: [i(5), f(5, 3)], nodes: [node('scatter_add', [0, 1], f(7, 3), { rows: 7 })] },
    { inputs: [i(5), f(4, 3)], nodes: [node('scatter_add', [0, 1], f(7, 3), { rows: 7 })] },
    /node 0 \(scatter_add\).*values \[4, 3\] for ids \[5\]/,
  ],
  [
    'scatter_add: float ids',
    { inputs: [i(5), f(5, 3)], nodes: [node('scatter_add', [0, 1], f(7, 3), { rows: 7 })] },
    { inputs: [f(5), f(5, 3)], nodes: [node('scatter_add', [0, 1], f(7, 3), { rows: 7 })] },
    /node 0 \(scatter_add\).*needs integer ids, got f32/,
  ],
  [
    'xent_grad: integer logits',
    { inputs: [f(4, 5), i(4), f(4)], nodes: [node('xent_grad', [0, 1, 2], f(4, 5))] },
    { inputs: [i(4, 5), i(4), f(4)], nodes: [node('xent_grad', [0, 1, 2], f(4, 5))] },
    /node 0 \(xent_grad\).*needs a float input, got i32/,
  ],
  [
    'xent_grad: a cotangent of another shape than the labels',
    { inputs: [f(4, 5), i(4), f(4)], nodes: [node('xent_grad', [0, 1, 2], f(4, 5))] },
    { inputs: [f(4, 5), i(4), f(3)], nodes: [node('xent_grad', [0, 1, 2], f(4, 5))] },
    /node 0 \(xent_grad\).*ct \[3\]/,
  ],
  [
    'xent: labels of the wrong rank',
    { inputs: [f(4, 5), i(4)], nodes: [node('xent', [0, 1], f(4))] },
    { inputs: [f(4, 5), i(4, 1)], nodes: [node('xent', [0, 1], f(4, 1))] },
    /node 0 \(xent\)/,
  ],
  [
    'an element-wise op on integers',
    { inputs: [f(4)], nodes: [node('tanh', [0], f(4))] },
    { inputs: [i(4)], nodes: [node('tanh', [0], f(4))] },
    /node 0 \(tanh\).*needs a float input, got i32/,
  ],
  [
    'leaky_relu without its slope',
    { inputs: [f(4)], nodes: [node('leaky_relu', [0], f(4), { alpha: 0.1 })] },
    { inputs: [f(4)], nodes: [node('leaky_relu', [0], f(4))] },
    /node 0 \(leaky_relu\).*attribute alpha/,
  ],
  [
    'linear: a matrix whose columns do not match',
    { inputs: [f(2, 3), f(4, 3)], nodes: [node('linear', [0, 1], f(2, 4))] },
    { inputs: [f(2, 3), f(4, 2)], nodes: [node('linear', [0, 1], f(2, 4))] },
    /node 0 \(linear\)/,
  ],
  [
    'time_index: an index past the end',
    { inputs: [f(3, 2)], nodes: [node('time_index', [0], f(2), { index: 2 })] },
    { inputs: [f(3, 2)], nodes: [node('time_index', [0], f(2), { index: 3 })] },
    /node 0 \(time_index\).*3 outside \[0, 3\)/,
  ],
  [
    'time_place: an index past the end',
    { inputs: [f(2), f(3, 2)], nodes: [node('time_place', [0, 1], f(3, 2), { index: 1 })] },
    { inputs: [f(2), f(3, 2)], nodes: [node('time_place', [0, 1], f(3, 2), { index: 5 })] },
    /node 0 \(time_place\).*5 outside \[0, 3\)/,
  ],
  [
    'one_hot: a depth of zero',
    { inputs: [i(4)], nodes: [node('one_hot', [0], f(4, 3), { depth: 3 })] },
    { inputs: [i(4)], nodes: [node('one_hot', [0], f(4, 0), { depth: 0 })] },
    /node 0 \(one_hot\).*depth must be at least 1/,
  ],
  [
    'fused: a body reading an input it does not have',
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'tanh', args: [{ in: 0 }] }], [0]) })] },
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'tanh', args: [{ in: 1 }] }], [0]) })] },
    /node 0 \(fused\).*instruction t0 \(tanh\) argument 0 reads \{"in":1\}/,
  ],
  [
    'fused: an instruction reading its own result (or a later one)',
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'tanh', args: [{ in: 0 }] }, { op: 'neg', args: [{ tmp: 0 }] }], [1]) })] },
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'tanh', args: [{ in: 0 }] }, { op: 'neg', args: [{ tmp: 1 }] }], [1]) })] },
    /node 0 \(fused\).*instruction t1 \(neg\) argument 0 reads \{"tmp":1\}/,
  ],
  [
    'fused: a number that is not finite',
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'mul', args: [{ in: 0 }, { num: 2 }] }], [0]) })] },
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'mul', args: [{ in: 0 }, { num: Infinity }] }], [0]) })] },
    /node 0 \(fused\).*argument 1 reads .*not one of the 1 inputs, an earlier result or a finite number/,
  ],
  [
    'fused: an op with the wrong number of arguments',
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'add', args: [{ in: 0 }, { in: 0 }] }], [0]) })] },
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'add', args: [{ in: 0 }] }], [0]) })] },
    /node 0 \(fused\).*instruction t0 \(add\) takes 2 arguments, not 1/,
  ],
  [
    'fused: an op whose attribute is missing',
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'leaky_relu', args: [{ in: 0 }], attr: 0.1 }], [0]) })] },
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'leaky_relu', args: [{ in: 0 }] }], [0]) })] },
    /node 0 \(fused\).*instruction t0 \(leaky_relu\) needs its attribute alpha/,
  ],
  [
    'fused: an output that names no instruction',
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'tanh', args: [{ in: 0 }] }, { op: 'neg', args: [{ tmp: 0 }] }], [1]) })] },
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'tanh', args: [{ in: 0 }] }, { op: 'neg', args: [{ tmp: 0 }] }], [2]) })] },
    /node 0 \(fused\).*outputs \[2\] must name results/,
  ],
  [
    'fused: an op that is not element-wise',
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'exp', args: [{ in: 0 }] }], [0]) })] },
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'sum_all', args: [{ in: 0 }] }], [0]) })] },
    /node 0 \(fused\).*instruction t0 \(sum_all\) is not an element-wise op/,
  ],
  [
    'fused: no body',
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), { body: fb([{ op: 'exp', args: [{ in: 0 }] }], [0]) })] },
    { inputs: [f(4)], nodes: [node('fused', [0], f(4), {})] },
    /node 0 \(fused\).*fused needs a body attribute/,
  ],
  [
    'a node output of the wrong type',
    { inputs: [f(4)], nodes: [node('exp', [0], f(4))] },
    { inputs: [f(4)], nodes: [node('exp', [0], f(5))] },
    /node 0 \(exp\) output %1 is \[5\], rule gives \[4\]/,
  ],
  [
    'a value used before it is defined',
    { inputs: [f(4)], nodes: [node('exp', [0], f(4)), node('neg', [1], f(4))] },
    { inputs: [f(4)], nodes: [node('exp', [2], f(4)), node('neg', [0], f(4))] },
    /node 0 \(exp\) uses %2 before definition/,
  ],
  [
    'an op the registry does not know',
    { inputs: [f(4)], nodes: [node('exp', [0], f(4))] },
    { inputs: [f(4)], nodes: [node('softmaxx', [0], f(4))] },
    /node 0: unknown op softmaxx/,
  ],
  [
    'an op name of Object.prototype',
    { inputs: [f(4)], nodes: [node('exp', [0], f(4))] },
    { inputs: [f(4)], nodes: [node('constructor', [0], f(4))] },
    /node 0: unknown op constructor/,
  ],
];

describe('the verifier', () => {
  for (const [rule, good, bad, message] of CASES) {
    it(`rejects ${rule}`, () => {
      expect(() => verifyGraph(graph(good), 'test')).not.toThrow();
      expect(() => verifyGraph(graph(bad), 'test')).toThrow(InternalError);
      expect(() => verifyGraph(graph(bad), 'test')).toThrow(message);
    });
  }

  it('names the scan body a broken node sits in', () => {
    const inner = body();
    const broken: Graph = { ...inner, values: [inner.values[0]!, inner.values[1]!, { type: { shape: [2, 3], dtype: 'i32' as DType } }] };
    const g = graph({ inputs: [f(2, 3), f(5, 2, 3)], nodes: [{ op: 'scan', inputs: [0, 1], attrs: scanAttrs, out: [f(2, 3), f(5, 2, 3)], body: broken }] });
    expect(() => verifyGraph(g, 'test')).toThrow(/scan/);
  });
});
