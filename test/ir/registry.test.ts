// Every op of the registry, one by one (ARCHITECTURE.md rule 3: no op without a
// gradient check, a reference kernel and both lowerings). For each op a tiny
// random graph is built with GraphBuilder, and
//   (a) its VJP is checked by central finite differences on the float64
//       reference evaluator, with loss = sum_all(op(...) * R), R fixed random;
//   (b) ops that are linear (jointly, or in each argument for the bilinear
//       products) pass the inner-product test <A x, y> = <x, A^T y>, with
//       A^T y computed by the op's own VJP graph;
//   (c) the tfjs kernel equals the reference kernel (float32 inputs), and so
//       does the derivative graph of (a) run on tfjs.
// Ops without a derivative ('none', firstOrderOnly) must be in NO_VJP with the
// reason, so a new op cannot slip past (a) unnoticed.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { differentiate, vjpGraph } from '../../compiler/autodiff/vjp.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { allOps, getOp, OP_NAMES } from '../../compiler/ir/ops.js';
import type { Attrs, Graph, ValueId } from '../../compiler/ir/types.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import { referenceKernels } from '../../runtime/reference/kernels.js';
import { size, tensor, type Tensor64 } from '../../runtime/reference/tensor.js';
import { Rng } from '../../runtime/rng.js';
import { executeGraph } from '../../runtime/tfjs/execute.js';
import { tfKernels } from '../../runtime/tfjs/kernels.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { fusedBodyOf } from './fused-body.js';

/** How an input is filled: normal, positive (log, denominators), away from 0 (kinks), ids below `max`, or fixed values. */
interface InSpec {
  readonly shape: readonly number[];
  readonly fill?: 'normal' | 'positive' | 'away' | 'ids';
  /** Ids are drawn from [0, max). */
  readonly max?: number;
  readonly values?: readonly number[];
  /** A float input that is not differentiated (a gate, or `like` that only gives a shape). */
  readonly nondiff?: boolean;
}

interface OpCase {
  readonly label: string;
  readonly inputs: readonly InSpec[];
  readonly attrs?: Attrs;
  /** Groups of input indices the op is jointly linear in (bilinear ops: one group per argument). */
  readonly linear?: readonly (readonly number[])[];
}

/** Ops whose derivative is deliberately absent, and why (checked: exactly the ops with vjp 'none' or firstOrderOnly). */
const NO_VJP: Readonly<Record<string, string>> = {
  constant: 'no inputs: a literal has nothing to differentiate',
  zeros_like: 'its result does not depend on the values of its input',
  step: 'piecewise constant: the derivative is zero almost everywhere (used inside relu VJPs)',
  stop_gradient: 'by definition: the identity whose derivative is zero',
  one_hot: 'integer input: nothing to differentiate',
  shift_time: 'integer input and output (token ids): nothing to differentiate',
  argmax: 'an integer result (the chosen token): piecewise constant',
  sample_ids: 'an integer result (the drawn token): piecewise constant, and no gradient flows through a choice of token',
  max_pool_grad: 'firstOrderOnly: only emitted by the VJP of max_pool, whose gradient check covers it; no second derivatives',
  xent_grad: 'firstOrderOnly: only emitted by the VJP of xent, whose gradient check covers it; no second derivatives',
};

const STRUCTURAL = new Set(['scan']); // covered by test/gradcheck/*
/** Ops that the runtimes and the code generator handle themselves (no kernel-table entry): scan, and fused (it has a VJP, checked here). */
const NOT_IN_KERNEL_TABLES = new Set(['scan', 'fused']);

const f = (...shape: number[]): InSpec => ({ shape });
const away = (...shape: number[]): InSpec => ({ shape, fill: 'away' });
const pos = (...shape: number[]): InSpec => ({ shape, fill: 'positive' });
const ids = (max: number, ...shape: number[]): InSpec => ({ shape, fill: 'ids', max });

const unaryCases = (fill: InSpec['fill'] = 'normal', attrs: Attrs = {}): OpCase[] => [
  { label: '[3, 4]', inputs: [{ shape: [3, 4], fill }], attrs },
  { label: '[2, 3, 2]', inputs: [{ shape: [2, 3, 2], fill }], attrs },
  { label: 'scalar', inputs: [{ shape: [], fill }], attrs },
];

/** Broadcasting pairs for binary element-wise ops; `second` fills the right operand. */
const binaryCases = (second: InSpec['fill'], linear?: OpCase['linear']): OpCase[] =>
  (
    [
      ['same shape', [2, 3], [2, 3]],
      ['[2, 3] with [3]', [2, 3], [3]],
      ['[3] with [2, 3]', [3], [2, 3]],
      ['[2, 1, 3] with [4, 1]', [2, 1, 3], [4, 1]],
      ['scalar with [2, 3]', [], [2, 3]],
      ['[2, 3] with scalar', [2, 3], []],
    ] as const
  ).map(([label, a, b]) => ({
    label,
    inputs: [f(...a), { shape: b, fill: second }],
    ...(linear ? { linear } : {}),
  }));

const CASES: Readonly<Record<string, readonly OpCase[]>> = {
  constant: [{ label: 'scalar', inputs: [], attrs: { value: 2.5 } }],
  zeros_like: unaryCases(),
  neg: unaryCases().map((c) => ({ ...c, linear: [[0]] })),
  tanh: unaryCases(),
  sigmoid: unaryCases(),
  // A negative scalar would have a zero gradient: the scalar case is positive.
  relu: unaryCases('away').map((c) => (c.label === 'scalar' ? { ...c, inputs: [{ shape: [], fill: 'positive' as const }] } : c)),
  leaky_relu: unaryCases('away', { alpha: 0.1 }),
  softplus: unaryCases(),
  exp: unaryCases(),
  log: unaryCases('positive'),
  sqrt: unaryCases('positive'),
  square: unaryCases(),
  step: unaryCases('away'),
  stop_gradient: unaryCases(),
  add: binaryCases('normal', [[0, 1]]),
  sub: binaryCases('normal', [[0, 1]]),
  mul: binaryCases('normal', [[0], [1]]),
  div: binaryCases('positive'),
  grad_gate: [
    { label: 'open gate', inputs: [f(2, 3), { shape: [], values: [1], nondiff: true }], linear: [[0]] },
    { label: 'seq-shaped value', inputs: [f(3, 2, 2), { shape: [], values: [1], nondiff: true }], linear: [[0]] },
  ],
  sum_to: [
    { label: '[2, 3, 4] -> [3, 1]', inputs: [f(2, 3, 4)], attrs: { shape: [3, 1] }, linear: [[0]] },
    { label: '[2, 3, 4] -> [4]', inputs: [f(2, 3, 4)], attrs: { shape: [4] }, linear: [[0]] },
    { label: '[2, 3] -> [1, 3]', inputs: [f(2, 3)], attrs: { shape: [1, 3] }, linear: [[0]] },
    { label: '[2, 3] -> []', inputs: [f(2, 3)], attrs: { shape: [] }, linear: [[0]] },
  ],
  broadcast_like: [
    { label: '[3, 1] like [2, 3, 4]', inputs: [f(3, 1), { shape: [2, 3, 4], nondiff: true }], linear: [[0]] },
    { label: '[] like [2, 3]', inputs: [f(), { shape: [2, 3], nondiff: true }], linear: [[0]] },
    { label: '[4] like [3, 4]', inputs: [f(4), { shape: [3, 4], nondiff: true }], linear: [[0]] },
  ],
  sum_all: [
    { label: '[2, 3]', inputs: [f(2, 3)], linear: [[0]] },
    { label: '[2, 3, 2]', inputs: [f(2, 3, 2)], linear: [[0]] },
  ],
  linear: [
    { label: 'x [2, 4], W [3, 4]', inputs: [f(2, 4), f(3, 4)], linear: [[0], [1]] },
    { label: 'x [2, 3, 4], W [5, 4]', inputs: [f(2, 3, 4), f(5, 4)], linear: [[0], [1]] },
    { label: 'x [4], W [3, 4]', inputs: [f(4), f(3, 4)], linear: [[0], [1]] },
  ],
  mm: [
    { label: 'x [2, 4], W [4, 3]', inputs: [f(2, 4), f(4, 3)], linear: [[0], [1]] },
    { label: 'x [2, 3, 4], W [4, 5]', inputs: [f(2, 3, 4), f(4, 5)], linear: [[0], [1]] },
  ],
  outer: [
    { label: 'a [3, 2], b [3, 4]', inputs: [f(3, 2), f(3, 4)], linear: [[0], [1]] },
    { label: 'a [2, 3, 4], b [2, 3, 5]', inputs: [f(2, 3, 4), f(2, 3, 5)], linear: [[0], [1]] },
  ],
  lead_last: [
    { label: '[3, 2]', inputs: [f(3, 2)], linear: [[0]] },
    { label: '[2, 3, 4]', inputs: [f(2, 3, 4)], linear: [[0]] },
  ],
  outer_lt: [
    { label: 'at [2, 3], b [3, 4]', inputs: [f(2, 3), f(3, 4)], linear: [[0], [1]] },
    { label: 'at [4, 2, 3], b [2, 3, 5]', inputs: [f(4, 2, 3), f(2, 3, 5)], linear: [[0], [1]] },
  ],
  transpose: [
    { label: '[2, 3]', inputs: [f(2, 3)], linear: [[0]] },
    { label: '[4, 1]', inputs: [f(4, 1)], linear: [[0]] },
  ],
  concat: [
    { label: 'three of [2, *]', inputs: [f(2, 3), f(2, 1), f(2, 4)], linear: [[0, 1, 2]] },
    { label: 'two of [2, 3, *]', inputs: [f(2, 3, 2), f(2, 3, 3)], linear: [[0, 1]] },
    { label: 'one input', inputs: [f(2, 3)], linear: [[0]] },
  ],
  slice_last: [
    { label: '[2, 5] [1:4]', inputs: [f(2, 5)], attrs: { begin: 1, size: 3 }, linear: [[0]] },
    { label: '[2, 3, 6] [0:2]', inputs: [f(2, 3, 6)], attrs: { begin: 0, size: 2 }, linear: [[0]] },
    { label: '[4] [2:4]', inputs: [f(4)], attrs: { begin: 2, size: 2 }, linear: [[0]] },
  ],
  pad_last: [
    { label: '[2, 3] (1, 2)', inputs: [f(2, 3)], attrs: { before: 1, after: 2 }, linear: [[0]] },
    { label: '[2, 3, 2] (0, 3)', inputs: [f(2, 3, 2)], attrs: { before: 0, after: 3 }, linear: [[0]] },
    { label: '[3] (2, 0)', inputs: [f(3)], attrs: { before: 2, after: 0 }, linear: [[0]] },
  ],
  expand_last: [
    { label: '[2, 3]', inputs: [f(2, 3)], linear: [[0]] },
    { label: '[]', inputs: [f()], linear: [[0]] },
  ],
  squeeze_last: [
    { label: '[2, 3, 1]', inputs: [f(2, 3, 1)], linear: [[0]] },
    { label: '[1]', inputs: [f(1)], linear: [[0]] },
  ],
  insert_axis: [
    { label: '[2, 3] at 1', inputs: [f(2, 3)], attrs: { axis: 1 }, linear: [[0]] },
    { label: '[2, 3] at 0', inputs: [f(2, 3)], attrs: { axis: 0 }, linear: [[0]] },
    { label: '[2, 3] at 2', inputs: [f(2, 3)], attrs: { axis: 2 }, linear: [[0]] },
  ],
  drop_axis: [
    { label: '[2, 1, 3] at 1', inputs: [f(2, 1, 3)], attrs: { axis: 1 }, linear: [[0]] },
    { label: '[1, 4] at 0', inputs: [f(1, 4)], attrs: { axis: 0 }, linear: [[0]] },
  ],
  swap_lead: [
    { label: '[3, 2, 4]', inputs: [f(3, 2, 4)], linear: [[0]] },
    { label: '[2, 5]', inputs: [f(2, 5)], linear: [[0]] },
  ],
  patches: [
    { label: '[2, 4, 5, 3] size 3', inputs: [f(2, 4, 5, 3)], attrs: { size: 3 }, linear: [[0]] },
    { label: '[1, 3, 2, 2] size 5 (wider than the image)', inputs: [f(1, 3, 2, 2)], attrs: { size: 5 }, linear: [[0]] },
    { label: '[2, 2, 3, 1] size 1', inputs: [f(2, 2, 3, 1)], attrs: { size: 1 }, linear: [[0]] },
  ],
  unpatches: [
    { label: '[2, 3, 4, 18] size 3', inputs: [f(2, 3, 4, 18)], attrs: { size: 3 }, linear: [[0]] },
    { label: '[1, 2, 2, 25] size 5', inputs: [f(1, 2, 2, 25)], attrs: { size: 5 }, linear: [[0]] },
  ],
  max_pool: [
    { label: '[2, 4, 6, 2] size 2', inputs: [f(2, 4, 6, 2)], attrs: { size: 2 } },
    { label: '[1, 5, 7, 3] size 3 (drops the rest)', inputs: [f(1, 5, 7, 3)], attrs: { size: 3 } },
  ],
  max_pool_grad: [
    { label: 'x [2, 4, 5, 2], ct [2, 2, 2, 2] size 2', inputs: [{ ...f(2, 4, 5, 2), nondiff: true }, f(2, 2, 2, 2)], attrs: { size: 2 } },
  ],
  avg_pool: [
    { label: '[2, 4, 6, 2] size 2', inputs: [f(2, 4, 6, 2)], attrs: { size: 2 }, linear: [[0]] },
    { label: '[1, 5, 7, 3] size 3 (drops the rest)', inputs: [f(1, 5, 7, 3)], attrs: { size: 3 }, linear: [[0]] },
  ],
  unpool_avg: [
    { label: '[2, 2, 3, 3] size 2 into 5 x 6', inputs: [f(2, 2, 3, 3)], attrs: { size: 2, height: 5, width: 6 }, linear: [[0]] },
    { label: '[1, 3, 2, 2] size 3 into 9 x 8', inputs: [f(1, 3, 2, 2)], attrs: { size: 3, height: 9, width: 8 }, linear: [[0]] },
  ],
  merge_axes: [
    { label: '[2, 3, 4, 2] axis 1', inputs: [f(2, 3, 4, 2)], attrs: { axis: 1 }, linear: [[0]] },
    { label: '[3, 2, 5] axis 0', inputs: [f(3, 2, 5)], attrs: { axis: 0 }, linear: [[0]] },
  ],
  split_axis: [
    { label: '[2, 12, 2] axis 1 size 3', inputs: [f(2, 12, 2)], attrs: { axis: 1, size: 3 }, linear: [[0]] },
  ],
  gather: [
    { label: 'table [5, 3], ids [2, 4]', inputs: [f(5, 3), ids(5, 2, 4)], linear: [[0]] },
    { label: 'table [4, 2], ids [6] (repeats)', inputs: [f(4, 2), { shape: [6], values: [0, 3, 3, 1, 0, 3] }], linear: [[0]] },
  ],
  scatter_add: [
    { label: 'ids [2, 4], values [2, 4, 3] into 5 rows', inputs: [ids(5, 2, 4), f(2, 4, 3)], attrs: { rows: 5 }, linear: [[1]] },
    { label: 'ids [6] with repeats into 4 rows', inputs: [{ shape: [6], values: [2, 0, 2, 2, 1, 0] }, f(6, 2)], attrs: { rows: 4 }, linear: [[1]] },
  ],
  softmax: [
    { label: '[3, 4]', inputs: [f(3, 4)] },
    { label: '[2, 3, 2]', inputs: [f(2, 3, 2)] },
    { label: '[5]', inputs: [f(5)] },
  ],
  one_hot: [
    { label: 'ids [2, 3], depth 4', inputs: [ids(4, 2, 3)], attrs: { depth: 4 } },
    { label: 'ids [5], depth 6', inputs: [ids(6, 5)], attrs: { depth: 6 } },
  ],
  argmax: [
    { label: '[3, 5]', inputs: [f(3, 5)] },
    { label: '[2, 3, 4]', inputs: [f(2, 3, 4)] },
  ],
  sample_ids: [
    { label: 'logits [4, 5], draws [4]', inputs: [f(4, 5), { shape: [4], values: [0.05, 0.35, 0.7, 0.999], nondiff: true }] },
  ],
  shift_time: [
    { label: 'ids [4, 3], fill 2', inputs: [ids(5, 4, 3)], attrs: { fill: 2 } },
    { label: 'ids [1, 2], fill 0', inputs: [ids(5, 1, 2)], attrs: { fill: 0 } },
  ],
  time_index: [
    { label: '[4, 2, 3] at 1', inputs: [f(4, 2, 3)], attrs: { index: 1 }, linear: [[0]] },
    { label: '[3] at 2', inputs: [f(3)], attrs: { index: 2 }, linear: [[0]] },
  ],
  time_place: [
    { label: '[2, 3] into [4, 2, 3] at 3', inputs: [f(2, 3), { shape: [4, 2, 3], nondiff: true }], attrs: { index: 3 }, linear: [[0]] },
    { label: '[] into [3] at 0', inputs: [f(), { shape: [3], nondiff: true }], attrs: { index: 0 }, linear: [[0]] },
  ],
  time_stack: [
    { label: 'three of [2, 3]', inputs: [f(2, 3), f(2, 3), f(2, 3)], linear: [[0, 1, 2]] },
    { label: 'one of [2]', inputs: [f(2)], linear: [[0]] },
  ],
  xent: [
    { label: 'logits [2, 3, 4], labels [2, 3]', inputs: [f(2, 3, 4), ids(4, 2, 3)] },
    { label: 'logits [3, 5], labels [3]', inputs: [f(3, 5), ids(5, 3)] },
  ],
  xent_grad: [{ label: 'logits [2, 3, 4]', inputs: [f(2, 3, 4), ids(4, 2, 3), f(2, 3)] }],
  // A group of elementwise ops (passes/fuse-elementwise.ts): its derivative runs the ops' own rules backwards.
  fused: [
    {
      label: 'an LSTM-like update, bias [3] against [2, 3]',
      inputs: [f(2, 3), f(2, 3), f(3), f(2, 3)],
      attrs: { body: fusedBodyOf('add:i0,i1;add:t0,i2;sigmoid:t1;mul:t2,i3;tanh:t3;mul:t4,0.5', [5]) },
    },
    {
      label: 'every fusable op; inputs [2, 3], [2, 1], [3] and a scalar',
      inputs: [away(2, 3), pos(2, 3), f(3), f(2, 1), f()],
      attrs: {
        body: fusedBodyOf(
          'neg:i0;relu:i0;leaky_relu:i0,0.1;step:i0;add:i2,i3;exp:t4;log:i1;square:t4;sub:t5,t6;div:t8,i1;mul:t9,i4;tanh:t10;' +
            'add:t0,t1;add:t12,t2;mul:t13,t3;add:t14,t11;sigmoid:t7;add:t15,t16',
          [17],
        ),
      },
    },
    {
      label: 'columns of a wider input read through windows (a gate of a joined product)',
      inputs: [f(2, 6), f(3), f(2, 5)],
      attrs: { body: fusedBodyOf('add:i0,i1;tanh:t0;mul:t1,i2', [2]), windows: [3, 3, -1, -1, 1, 3] },
    },
    {
      label: 'a value of one input only, broadcast to the output shape',
      inputs: [f(3), f(2, 3)],
      attrs: { body: fusedBodyOf('tanh:i0;mul:t0,i1', [0]) },
    },
  ],
};

// ------------------------------------------------------------------ building and feeding

const isIds = (s: InSpec): boolean => s.fill === 'ids' || (s.values !== undefined && !s.nondiff);

function fillValues(s: InSpec, rng: Rng): number[] {
  if (s.values) return [...s.values];
  const n = size(s.shape);
  return Array.from({ length: n }, () => {
    switch (s.fill) {
      case 'ids':
        return rng.int(s.max!);
      case 'positive':
        return 0.5 + Math.abs(rng.normal());
      case 'away': {
        const v = rng.normal();
        return Math.sign(v || 1) * (0.2 + Math.abs(v));
      }
      default:
        return rng.normal();
    }
  });
}

interface Built {
  /** loss = sum_all(op(...) * R): inputs are the op's inputs (floats as params), then R. */
  readonly lossGraph: Graph;
  /** Just the op: its inputs, and its result as the one output. */
  readonly opGraph: Graph;
  readonly inputs: Tensor64[];
  readonly r: Tensor64;
}

function build(op: string, c: OpCase, seed: number): Built {
  const rng = new Rng(seed);
  const inputs = c.inputs.map((s) => tensor(s.shape, fillValues(s, rng), isIds(s) ? 'i32' : 'f32'));
  const make = (withLoss: boolean): Graph => {
    const b = new GraphBuilder();
    const vs: ValueId[] = c.inputs.map((s, i) =>
      b.input({ shape: s.shape, dtype: isIds(s) ? 'i32' : 'f32' }, isIds(s) || s.nondiff ? 'data' : 'param', `in${i}`),
    );
    const out = b.op(op, vs, c.attrs ?? {});
    if (withLoss) {
      // An integer result (token ids) enters the loss as one-hot rows.
      const y = b.type(out).dtype === 'i32' ? b.op('one_hot', [out], { depth: 8 }) : out;
      const r = b.input(b.type(y), 'data', 'R');
      b.output(b.op('sum_all', [b.op('mul', [y, r])]), 'loss', 'loss');
    } else {
      b.output(out, 'result', 'y');
    }
    return b.build();
  };
  const opGraph = make(false);
  const lossGraph = make(true);
  verifyGraph(opGraph, `${op} graph`);
  verifyGraph(lossGraph, `${op} loss graph`);
  const lossR = lossGraph.inputs.find((i) => i.name === 'R')!;
  const outShape = lossGraph.values[lossR.value]!.type.shape as number[];
  const r = tensor(outShape, fillValues({ shape: outShape }, rng));
  return { lossGraph, opGraph, inputs, r };
}

const dot = (a: Tensor64, b: Tensor64): number => {
  expect(a.shape).toEqual(b.shape);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i]! * b.data[i]!;
  return s;
};

const rounded = (t: Tensor64): Tensor64 => ({ ...t, data: t.data.map((v) => Math.fround(v)) });
const toTf = (t: Tensor64): tf.Tensor =>
  t.dtype === 'i32' ? tf.tensor(Int32Array.from(t.data), [...t.shape], 'int32') : tf.tensor(Float32Array.from(t.data), [...t.shape], 'float32');

/** Max |tfjs - reference| relative to the reference's largest magnitude. */
function tfMatchesReference(g: Graph, inputs: readonly Tensor64[]): number {
  const ins = inputs.map(rounded);
  const ref = evaluateGraph(g, ins);
  const tensors = tf.tidy(() => executeGraph(g, ins.map(toTf)));
  const got = tensors.map((t) => ({ shape: t.shape, dtype: t.dtype, data: Float64Array.from(t.dataSync()) }));
  tf.dispose(tensors);
  let worst = 0;
  got.forEach((t, i) => {
    const r = ref[i]!;
    expect(t.shape, `output ${i} shape`).toEqual(r.shape);
    expect(t.dtype).toBe(r.dtype === 'i32' ? 'int32' : 'float32');
    let diff = 0;
    let scale = 0;
    r.data.forEach((v, k) => {
      diff = Math.max(diff, Math.abs(v - t.data[k]!));
      scale = Math.max(scale, Math.abs(v));
    });
    worst = Math.max(worst, diff / Math.max(scale, 1e-6));
  });
  return worst;
}

const opsToCheck = allOps().filter((d) => !STRUCTURAL.has(d.name));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('the registry is complete', () => {
  it('every name in OP_NAMES has a registry entry, and every entry is named there', () => {
    for (const name of OP_NAMES) expect(getOp(name).name).toBe(name);
    expect(allOps().map((d) => d.name).sort()).toEqual([...OP_NAMES].sort());
    expect(new Set(allOps().map((d) => d.name)).size).toBe(allOps().length);
  });

  it('both kernel tables have exactly one kernel per op except scan and fused', () => {
    const want = OP_NAMES.filter((n) => !NOT_IN_KERNEL_TABLES.has(n)).sort();
    expect(Object.keys(referenceKernels).sort()).toEqual(want);
    expect(Object.keys(tfKernels).sort()).toEqual(want);
    for (const n of want) {
      expect(typeof referenceKernels[n as keyof typeof referenceKernels], n).toBe('function');
      expect(typeof tfKernels[n as keyof typeof tfKernels], n).toBe('function');
    }
  });

  it('every op except the structural ones has test cases here', () => {
    expect(opsToCheck.map((d) => d.name).filter((n) => !(n in CASES))).toEqual([]);
    expect(Object.keys(CASES).filter((n) => !opsToCheck.some((d) => d.name === n))).toEqual([]);
    expect(allOps().filter((d) => d.vjp === 'structural').map((d) => d.name)).toEqual([...STRUCTURAL]);
  });

  it('the ops without a derivative are exactly the allow-listed ones, each with a reason', () => {
    const skipped = allOps()
      .filter((d) => d.vjp === 'none' || d.firstOrderOnly === true)
      .map((d) => d.name)
      .sort();
    expect(skipped).toEqual(Object.keys(NO_VJP).sort());
    for (const reason of Object.values(NO_VJP)) expect(reason.length).toBeGreaterThan(10);
  });

  it('every op in the linear list has an inner-product case', () => {
    const linearOps = ['linear', 'mm', 'outer', 'lead_last', 'outer_lt', 'concat', 'slice_last', 'pad_last', 'sum_to', 'broadcast_like', 'gather', 'scatter_add', 'expand_last', 'squeeze_last', 'insert_axis', 'drop_axis', 'swap_lead', 'patches', 'unpatches', 'avg_pool', 'unpool_avg', 'merge_axes', 'split_axis'];
    for (const op of linearOps) expect(CASES[op]!.every((c) => (c.linear?.length ?? 0) > 0), op).toBe(true);
  });
});

/** A case's seed, from its op and label: adding a case changes no other case's numbers. */
function seedOf(op: string, label: string): number {
  let h = 2166136261;
  for (const ch of `${op}:${label}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h % 100000;
}

describe('per-op checks', () => {
  for (const def of opsToCheck) {
    const op = def.name;
    describe(op, () => {
      for (const c of CASES[op] ?? []) {
        const caseSeed = seedOf(op, c.label);
        const hasVjp = !(op in NO_VJP);

        if (hasVjp) {
          it(`${c.label}: VJP matches central finite differences (float64)`, () => {
            const { lossGraph, inputs, r } = build(op, c, caseSeed);
            const params = lossGraph.inputs.filter((i) => i.role === 'param').length;
            expect(params, 'the case differentiates something').toBeGreaterThan(0);
            const res = gradCheck(lossGraph, [...inputs, r]);
            expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
            const someNonZero = [...res.analytic.values()].some((g) => g.some((v) => v !== 0));
            expect(someNonZero, 'the gradient is not trivially zero').toBe(true);
          });
        } else {
          it(`${c.label}: no derivative (${NO_VJP[op]}): the symbolic gradient is zero`, () => {
            const { lossGraph, inputs, r } = build(op, c, caseSeed);
            const dg = differentiate(lossGraph);
            verifyGraph(dg, 'differentiated');
            const outs = evaluateGraph(dg, [...inputs, r]);
            dg.outputs.forEach((o, i) => {
              if (o.role === 'grad') expect(outs[i]!.data.every((v) => v === 0), o.name).toBe(true);
            });
          });
        }

        c.linear?.forEach((group, gi) => {
          it(`${c.label}: inner-product test in input(s) ${group.join(', ')}`, () => {
            const { opGraph, inputs } = build(op, c, caseSeed);
            const rng = new Rng(caseSeed * 31 + gi);
            const wrt = opGraph.inputs.map((_, i) => group.includes(i));
            const adj = vjpGraph(opGraph, wrt, [true]);
            verifyGraph(adj, 'vjp');
            const yType = opGraph.values[opGraph.outputs[0]!.value]!.type;
            const y = tensor(yType.shape as number[], fillValues({ shape: yType.shape as number[] }, rng));
            const outs = evaluateGraph(adj, [...inputs, y]);
            const ax = outs[0]!;
            const lhs = dot(ax, y);
            let rhs = 0;
            group.forEach((inputIndex, k) => (rhs += dot(inputs[inputIndex]!, outs[1 + k]!)));
            expect(Math.abs(lhs)).toBeGreaterThan(1e-6);
            expect(Math.abs(lhs - rhs) / Math.abs(lhs)).toBeLessThan(1e-12);
          });
        });

        it(`${c.label}: tfjs kernel equals the reference kernel (float32)`, () => {
          const { opGraph, inputs } = build(op, c, caseSeed);
          expect(tfMatchesReference(opGraph, inputs)).toBeLessThan(1e-5);
        });

        it(`${c.label}: its derivative graph runs the same on tfjs`, () => {
          const { lossGraph, inputs, r } = build(op, c, caseSeed);
          expect(tfMatchesReference(differentiate(lossGraph), [...inputs, r])).toBeLessThan(1e-5);
        });
      }
    });
  }
});

describe('grad_gate', () => {
  it('scales the cotangent by its gate (what finite differences cannot see)', () => {
    for (const gate of [0, 0.5]) {
      const c: OpCase = { label: 'gate', inputs: [f(2, 3), { shape: [], values: [gate], nondiff: true }] };
      const { lossGraph, inputs, r } = build('grad_gate', c, 7);
      const dg = differentiate(lossGraph);
      const outs = evaluateGraph(dg, [...inputs, r]);
      const dx = outs[dg.outputs.findIndex((o) => o.name === 'd_in0')]!;
      expect([...dx.data]).toEqual([...r.data].map((v) => v * gate));
      // The forward value is the identity whatever the gate.
      expect(evaluateGraph(lossGraph, [...inputs, r])[0]!.data[0]).toBeCloseTo(dot(inputs[0]!, r), 12);
    }
  });
});
