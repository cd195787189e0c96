// passes/fuse-elementwise.ts and the `fused` op it makes: an LSTM step's
// elementwise ops become one group; fused and unfused graphs compute the
// same loss and gradients (float64 reference: exactly the same ops; tfjs on
// cpu and wasm: float32 rounding apart); a group never runs before a value
// read by one of its members' other readers exists; dead outputs of a group
// are pruned with the instructions and inputs only they needed. The runtime
// kernel is checked for every broadcast it reads, on both of its paths (one
// host loop, op by op).
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { fusedBody, type Graph, type Node } from '../../compiler/ir/types.js';
import { fusedBodyOf } from '../ir/fused-body.js';
import { printGraph } from '../../compiler/ir/printer.js';
import { PASSES } from '../../compiler/passes/pipeline.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { fuseElementwise } from '../../compiler/passes/fuse-elementwise.js';
import { selectBackend } from '../../runtime/backend.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import { tensor, type Tensor64 } from '../../runtime/reference/tensor.js';
import { Rng } from '../../runtime/rng.js';
import { executeGraph } from '../../runtime/tfjs/execute.js';
import { compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { relativeError } from '../helpers/gradcheck.js';
import { bidirectionalTagger, manyToOneGru, tokenLm } from '../helpers/programs.js';
import { ELEMENTWISE_OPS } from '../../compiler/ir/elementwise.js';

afterAll(async () => {
  await selectBackend('cpu');
});

const ELEMENTWISE = new Set(ELEMENTWISE_OPS.map((e) => e.name));
const fusedNodes = (g: Graph): Node[] => g.nodes.flatMap((n) => (n.op === 'scan' ? fusedNodes(n.body!) : n.op === 'fused' ? [n] : []));
const loopBody = (g: Graph): Graph => g.nodes.find((n) => n.op === 'scan')!.body!;

const PROGRAMS: Record<string, { text: string; truncated: boolean }> = {
  lstm: { text: tokenLm('h = lstm(e) with H'), truncated: false },
  'gru, truncated': { text: tokenLm('h = gru(e) with H'), truncated: true },
  'bidirectional lstm + gru_ra': { text: bidirectionalTagger('gru_ra'), truncated: false },
  'many-to-one gru, mse': { text: manyToOneGru(), truncated: false },
};

describe('fuse-elementwise', () => {
  it("an LSTM step's 17 elementwise ops (23 with the masked state updates) are one group computing c and h", () => {
    const model = compileModel(tokenLm('h = lstm(e) with H'));
    for (const [g, ops] of [[trainingGraphs(model, false, { assumeFullMask: true }).predict, 17], [trainingGraphs(model, false).predict, 23]] as const) {
      const body = loopBody(g);
      expect(body.nodes.filter((n) => ELEMENTWISE.has(n.op))).toEqual([]);
      const groups = body.nodes.filter((n) => n.op === 'fused');
      expect(groups).toHaveLength(1);
      expect(fusedBody(groups[0]!).instrs).toHaveLength(ops);
      const carries = body.outputs.filter((o) => o.role === 'state').map((o) => o.value);
      expect(groups[0]!.outputs).toEqual(carries);
    }
  });

  for (const [name, p] of Object.entries(PROGRAMS)) {
    it(`${name}: fused and unfused graphs give the same loss and gradients (float64 reference)`, () => {
      const model = compileModel(p.text);
      const fused = trainingGraphs(model, p.truncated);
      const plain = trainingGraphs(model, p.truncated, { fuse: false });
      expect(fusedNodes(fused.training).length).toBeGreaterThan(0);
      expect(fusedNodes(plain.training)).toEqual([]);
      const opts = { lengths: [4, 2, 3], seed: 4, randomState: true, ...(p.truncated ? { gate: [0, 1, 1, 1] } : {}) };
      const run = (g: Graph) => {
        const outs = evaluateGraph(g, randomFeeds(model, g, opts));
        return new Map(g.outputs.map((o, i) => [o.name, outs[i]!.data] as const));
      };
      expect(relativeError(run(fused.training), run(plain.training))).toBeLessThan(1e-12);
      expect(relativeError(run(fused.predict), run(plain.predict))).toBeLessThan(1e-12);
    });
  }

  for (const backend of ['cpu', 'wasm']) {
    it(`on ${backend}: fused training graphs agree with unfused ones to float32 rounding`, async () => {
      await selectBackend(backend);
      for (const p of Object.values(PROGRAMS)) {
        const model = compileModel(p.text);
        const fused = trainingGraphs(model, p.truncated).training;
        const plain = trainingGraphs(model, p.truncated, { fuse: false }).training;
        const feeds = randomFeeds(model, plain, { lengths: [4, 2, 3], seed: 9, ...(p.truncated ? { gate: [0, 1, 1, 1] } : {}) });
        const run = (g: Graph) =>
          tf.tidy(() => {
            const outs = executeGraph(g, feeds.map(toTf));
            return new Map(g.outputs.map((o, i) => [o.name, Float64Array.from(outs[i]!.dataSync())] as const));
          });
        expect(relativeError(run(fused), run(plain))).toBeLessThan(2e-6);
      }
    });
  }

  it('a group does not take in a node when a value of the group is read before it by a node outside', () => {
    // a = tanh(x); m = a @ W; y = a + m: y cannot join a's group (that group would run after m, which reads a).
    const b = new GraphBuilder();
    const x = b.input({ shape: ['B', 3], dtype: 'f32' }, 'data', 'x');
    const w = b.input({ shape: [3, 3], dtype: 'f32' }, 'param', 'W');
    const a = b.op('tanh', [x]);
    const s = b.op('sigmoid', [a]);
    const m = b.op('mm', [a, w]);
    const y = b.op('add', [s, m]);
    b.output(b.op('mul', [y, y]), 'output', 'y');
    const g = b.build();
    const f = fuseElementwise(g);
    verifyGraph(f, 'fused');
    // tanh and sigmoid fuse (a is an output of the group, read by mm); add and mul form a second group.
    expect(f.nodes.map((n) => n.op)).toEqual(['fused', 'mm', 'fused']);
    const feeds = [tensor([2, 3], [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]), tensor([3, 3], [1, 2, 3, -1, 0.5, 0, 0.25, -2, 1])];
    expect(evaluateGraph(f, feeds)[0]!.data).toEqual(evaluateGraph(g, feeds)[0]!.data);
  });

  it('dead outputs of a group are pruned: a prediction fused with its loss reads no target once the loss is gone', () => {
    const model = compileModel(manyToOneGru());
    const graphs = trainingGraphs(model, false);
    const targetValue = (g: Graph) => g.inputs.find((i) => i.name === 'y')?.value;
    const inference = graphs.inference;
    const readsY = fusedNodes(inference).filter((n) => n.inputs.includes(targetValue(inference)!));
    expect(readsY.length).toBeGreaterThan(0); // the group that computes the prediction also computes the loss
    const y = targetValue(graphs.predict);
    expect(graphs.predict.nodes.filter((n) => y !== undefined && n.inputs.includes(y))).toEqual([]);
    for (const n of fusedNodes(graphs.predict)) expect(n.outputs.length).toBe(fusedBody(n).outputs.length);
  });
});

const toTf = (t: Tensor64): tf.Tensor =>
  t.dtype === 'i32' ? tf.tensor(Int32Array.from(t.data), [...t.shape], 'int32') : tf.tensor(Float32Array.from(t.data), [...t.shape], 'float32');

/** A graph of one fused node over inputs of the given shapes. */
function fusedGraph(program: string, outputs: readonly number[], shapes: readonly (readonly number[])[], windows?: readonly number[]): Graph {
  const b = new GraphBuilder();
  const ins = shapes.map((s, i) => b.input({ shape: s, dtype: 'f32' }, 'data', `in${i}`));
  b.emit('fused', ins, { body: fusedBodyOf(program, outputs), ...(windows ? { windows } : {}) }).forEach((v, k) => b.output(v, 'result', `out${k}`));
  return b.build();
}

describe('the fused body', () => {
  it('prints as its instructions and the temps it returns, and common-subexpressions tells two bodies apart', () => {
    const b = new GraphBuilder();
    const [x, y] = [0, 1].map((k) => b.input({ shape: [2, 3], dtype: 'f32' }, 'data', `x${k}`));
    const [p] = b.emit('fused', [x!, y!], { body: fusedBodyOf('add:i0,i1;tanh:t0;leaky_relu:t1,0.2', [2]) });
    const [q] = b.emit('fused', [x!, y!], { body: fusedBodyOf('add:i0,i1;sigmoid:t0', [1]) });
    b.output(p!, 'result', 'p');
    b.output(q!, 'result', 'q');
    const g = b.build();
    expect(printGraph(g)).toContain('= fused(%0:x0, %1:x1) { t0 = add(i0, i1); t1 = tanh(t0); t2 = leaky_relu(t1, 0.2) } -> [t2]');
    const after = PASSES.commonSubexpressions.run(g);
    expect(after.nodes.filter((n) => n.op === 'fused')).toHaveLength(2);
    const [twice] = [b.emit('fused', [x!, y!], { body: fusedBodyOf('add:i0,i1;sigmoid:t0', [1]) })];
    b.output(twice[0]!, 'result', 'q2');
    expect(PASSES.commonSubexpressions.run(b.build()).nodes.filter((n) => n.op === 'fused')).toHaveLength(2);
  });
});

const LSTM_STEP =
  'add:i0,i1;add:t0,i2;tanh:t1;add:i3,i4;add:t3,i5;sigmoid:t4;add:i6,i7;add:t6,i8;sigmoid:t7;add:i9,i10;add:t9,i11;sigmoid:t10;' +
  'mul:t8,i12;mul:t5,t2;add:t12,t13;tanh:t14;mul:t11,t15';

describe.each(['cpu', 'wasm'])('the fused kernel on %s', (backend) => {
  // `wide`: at batch 64 wasm runs it op by op (cheap ops, sigmoid included, on thousands of elements), the kernel's other path.
  const cases: { label: string; program: string; outputs: number[]; shapes: (b: number) => number[][]; windows?: number[]; wide?: boolean }[] = [
    {
      label: 'arithmetic and a sigmoid over a window of a wide product, a bias, a [B, 1] mask',
      program: 'add:i0,i1;mul:t0,i2;sub:t1,i3;sigmoid:t2',
      outputs: [1, 3],
      shapes: (B) => [[B, 1024], [512], [B, 1], [B, 512]],
      windows: [512, 512, -1, -1, -1, -1, -1, -1],
      wide: true,
    },
    {
      label: "two gates' columns of one product read through windows, a bias",
      program: 'add:i0,i1;sigmoid:t0;mul:t1,i2;add:t2,i3',
      outputs: [3],
      shapes: (B) => [[B, 192], [64], [B, 192], [B, 64]],
      windows: [0, 64, -1, -1, 128, 64, -1, -1],
      wide: true,
    },
    {
      label: 'an LSTM step: [B, H] inputs, [H] biases (a trailing block), two outputs',
      program: LSTM_STEP,
      outputs: [14, 16],
      shapes: (B) => [[B, 64], [B, 64], [64], [B, 64], [B, 64], [64], [B, 64], [B, 64], [64], [B, 64], [B, 64], [64], [B, 64]],
    },
    {
      label: 'a [B, 1] mask (leading axes), a scalar, every unary op',
      program: 'sub:i0,i1;mul:i2,t0;add:i1,t1;neg:t2;relu:t2;leaky_relu:t3,0.2;step:t2;exp:t4;log:t7;square:t5;div:t9,i3;add:t10,t6;add:t11,t8',
      outputs: [2, 12],
      shapes: (B) => [[B, 64], [B, 64], [B, 1], []],
    },
  ];
  for (const c of cases) {
    it(`${c.label}: equals the float64 reference, in one kernel at batch 1 and at batch 64`, async () => {
      await selectBackend(backend);
      for (const B of [1, 64]) {
        const g = fusedGraph(c.program, c.outputs, c.shapes(B), c.windows);
        const rng = new Rng(B);
        const feeds = c.shapes(B).map((s) => tensor(s, Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => Math.fround(rng.normal()))));
        const want = evaluateGraph(g, feeds);
        let got: Float32Array[] = [];
        const profile = await tf.profile(() => {
          got = tf.tidy(() => executeGraph(g, feeds.map(toTf)).map((t) => t.dataSync() as Float32Array));
        });
        const kernels = profile.kernels.map((k) => k.name);
        // cpu always runs the loop; wasm runs it unless the group is cheap arithmetic over many elements.
        const oneKernel = backend === 'cpu' || B === 1 || !c.wide;
        expect(kernels.includes('RnncHost'), kernels.join(' ')).toBe(oneKernel);
        if (oneKernel) expect(kernels.filter((k) => k !== 'RnncHost')).toEqual([]);
        want.forEach((w, k) => {
          let worst = 0;
          w.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - got[k]![i]!) / Math.max(1, Math.abs(v)))));
          expect(worst, `output ${k} at batch ${B}`).toBeLessThan(1e-6);
        });
      }
    });
  }
});

describe('tanh in a fused loop', () => {
  it('is within 2e-7 (relative) of Math.tanh from -10 to 10, tiny values and saturation included', async () => {
    await selectBackend('cpu');
    const xs = [...Array.from({ length: 20001 }, (_, i) => -10 + i * 0.001), 1e-9, -3e-6, 3.999999, 4, 4.000001, 50, -50].map(Math.fround);
    // 'add' of 0 keeps a group of two ops, as the pass makes them.
    const g = fusedGraph('add:i0,0;tanh:t0', [1], [[xs.length]]);
    const got = tf.tidy(() => executeGraph(g, [tf.tensor1d(xs)])[0]!.dataSync());
    let worst = 0;
    xs.forEach((x, i) => (worst = Math.max(worst, Math.abs(got[i]! - Math.tanh(x)) / Math.max(Math.abs(Math.tanh(x)), 1e-30))));
    expect(worst).toBeLessThan(2e-7);
  });
});

describe('exp in a fused loop', () => {
  const xs = [...Array.from({ length: 14161 }, (_, i) => -708 + i * 0.1), -707.99, 707.99, 708, -708, 708.5, -708.3, 1e-12, -3e-9, 0].map(Math.fround);

  it('is within 1e-8 (relative, before float32 rounding) of Math.exp from -708 to 708, and Math.exp beyond', async () => {
    await selectBackend('cpu');
    // log(exp(x)) - x is exp's relative error, in float64 inside the loop.
    const g = fusedGraph('exp:i0;log:t0;sub:t1,i0;mul:t2,1e8', [3], [[xs.length]]);
    const got = tf.tidy(() => executeGraph(g, [tf.tensor1d(xs)])[0]!.dataSync());
    let worst = 0;
    got.forEach((v) => (worst = Math.max(worst, Math.abs(v))));
    // In units of 1e-8.
    expect(worst).toBeLessThan(1);
  });

  it('keeps NaN, overflows to Infinity and underflows to 0 as Math.exp does; sigmoid saturates', async () => {
    await selectBackend('cpu');
    const edge = [NaN, Infinity, -Infinity, 1000, -1000, 89, -104];
    const g = fusedGraph('exp:i0;sigmoid:i0', [0, 1], [[edge.length]]);
    const [e, s] = tf.tidy(() => executeGraph(g, [tf.tensor1d(edge)]).map((t) => t.dataSync()));
    expect([...e!]).toEqual(edge.map((x) => Math.fround(Math.exp(x))));
    expect([...s!]).toEqual(edge.map((x) => Math.fround(1 / (1 + Math.exp(-x)))));
  });
});
