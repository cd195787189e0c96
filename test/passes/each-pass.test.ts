// Every pass on its own (ARCHITECTURE.md rule 2), on the graphs it meets in
// the pipelines of small models (an LSTM language model over one-hot inputs,
// a GRU tagger over an embedding with padding, a bidirectional regressor, a
// cell that computes the same product twice):
//   - what it must change: a count that its file says it lowers or raises,
//     on at least one of the programs;
//   - what it must leave alone: run again on its own output it changes
//     nothing and returns the same object;
//   - each output is verified and computes what its input computed on the
//     float64 reference (every graph output, relative 1e-12).
// lift-param-transposes, unroll-scans and assume-full-mask, which run
// outside the pipelines, are checked the same way.
import { describe, expect, it } from 'vitest';
import { differentiate } from '../../compiler/autodiff/vjp.js';
import type { Graph } from '../../compiler/ir/types.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { assumeFullMask } from '../../compiler/passes/assume-full-mask.js';
import { eliminateDeadCode } from '../../compiler/passes/dead-code.js';
import { liftParamTransposes } from '../../compiler/passes/lift-param-transposes.js';
import { FORWARD_PIPELINE, PASSES, PRE_AUTODIFF_PIPELINE, PREDICT_PIPELINE, TRAINING_PIPELINE, withJoinedGates, type Pass } from '../../compiler/passes/pipeline.js';
import { unrollScans } from '../../compiler/passes/unroll-scans.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import { tensor, type Tensor64 } from '../../runtime/reference/tensor.js';
import { compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { attentionTagger } from '../helpers/programs.js';

const PROGRAMS: Record<string, string> = {
  'lstm over one-hot tokens': `model m { dim V = 5, H = 3
  input x: seq<token[V]>; target y: seq<token[V]>
  h = lstm(one_hot(x)) with H
  o[t] = dense(h[t], V)
  loss = cross_entropy(o, y) }`,
  'gru tagger over an embedding': `model m { dim V = 6, K = 3, H = 4
  input x: seq<token[V]>; target y: seq<token[K]>
  h = gru(embed(x, 3)) with H
  loss = cross_entropy(dense(h, K), y) }`,
  'bidirectional rnn regressor': `model m { dim H = 3
  input x: seq<[2]>; target y: [1]
  a = bidir rnn(x) with H
  loss = mse(dense(last(a), 1), y) }`,
  // A cell that reads W_f @ x[t] and U_f @ h[t-1] twice: common subexpressions.
  'minimal gated unit': `cell mgu(x: [X]) -> h: [H] {
  param W_f: [H, X]; param U_f: [H, H]; param b_f: [H]
  f[t] = sigmoid(W_f @ x[t] + U_f @ h[t-1] + b_f)
  h[t] = (1 - f[t]) * h[t-1] + f[t] * tanh(W_f @ x[t] + U_f @ h[t-1])
}
model m { dim H = 3
  input x: seq<[2]>; target y: [1]
  b = mgu(x) with H
  loss = mse(dense(mean(b), 1), y) }`,
  // Additive attention projects the memory at every step: loop-invariant work.
  'attention tagger': attentionTagger('attend(h[t-1], mem, additive)'),
};
const LENGTHS = [4, 2, 3];

// ------------------------------------------------------------------ what each pass must change

/** Every node of a graph, scan bodies included, with whether it sits in a body. */
function allNodes(g: Graph, inBody = false): { op: string; inBody: boolean; node: Graph['nodes'][number] }[] {
  return g.nodes.flatMap((n) => [{ op: n.op, inBody, node: n }, ...(n.body ? allNodes(n.body, true) : [])]);
}
const count = (g: Graph, pred: (n: ReturnType<typeof allNodes>[number]) => boolean): number => allNodes(g).filter(pred).length;
const ops = (op: string, where?: 'body' | 'top') => (g: Graph): number =>
  count(g, (n) => n.op === op && (where === undefined || (where === 'body') === n.inBody));
const scanPorts = (which: 'inputs' | 'outputs') => (g: Graph): number => count(g, (n) => n.op === 'scan') && allNodes(g).filter((n) => n.op === 'scan').reduce((s, n) => s + n.node[which].length, 0);

/** [measure, 'lower' | 'higher']: what the pass does to the measure whenever it changes the graph. */
const CHANGES: Readonly<Record<string, readonly [(g: Graph) => number, 'lower' | 'higher']>> = {
  'hoist-input-projections': [ops('linear', 'body'), 'lower'],
  'one-hot-products': [ops('gather'), 'higher'],
  'prune-scan-inputs': [scanPorts('inputs'), 'lower'],
  'dead-code': [(g) => allNodes(g).length, 'lower'],
  'dedupe-scan-outputs': [scanPorts('outputs'), 'lower'],
  'hoist-weight-transposes': [ops('linear', 'body'), 'lower'],
  'hoist-loop-constants': [(g) => count(g, (n) => n.inBody), 'lower'],
  'hoist-loop-invariants': [(g) => count(g, (n) => n.inBody), 'lower'],
  'common-subexpressions': [(g) => allNodes(g).length, 'lower'],
  'fuse-elementwise': [ops('fused'), 'higher'],
  'sink-output-projections': [ops('linear', 'top'), 'lower'],
  'fuse-gate-products': [(g) => ops('mm', 'body')(g) + ops('linear', 'body')(g), 'lower'],
  'join-summed-products': [ops('mm', 'body'), 'lower'],
  'hoist-weight-gradients': [ops('outer', 'body'), 'lower'],
  'transpose-outer-operands': [ops('outer'), 'lower'],
};

// ------------------------------------------------------------------ the graphs each pass meets

interface Step {
  readonly program: string;
  readonly pass: Pass;
  readonly before: Graph;
  readonly after: Graph;
  readonly model: LoweredModel;
}

function steps(): Step[] {
  const out: Step[] = [];
  for (const [program, text] of Object.entries(PROGRAMS)) {
    const model = compileModel(text);
    const run = (g: Graph, passes: readonly Pass[]): Graph =>
      passes.reduce((cur, pass) => {
        const after = pass.run(cur);
        out.push({ program, pass, before: cur, after, model });
        return after;
      }, g);
    const base = run(model.graph, PRE_AUTODIFF_PIPELINE);
    run(base, FORWARD_PIPELINE);
    run(differentiate(base, 'loss'), TRAINING_PIPELINE);
    // With the gate products joined, as sessions on webgpu train (src/new-session.ts).
    run(differentiate(base, 'loss'), withJoinedGates(TRAINING_PIPELINE));
    run(eliminateDeadCode({ ...base, outputs: base.outputs.filter((o) => o.role !== 'loss') }), PREDICT_PIPELINE);
  }
  // Lowering and the other passes build through GraphBuilder, which already shares equal nodes, so none of the
  // programs above repeats a node: a graph built by hand does (two transposes of one weight).
  const model = compileModel(PROGRAMS['bidirectional rnn regressor']!);
  const repeated: Graph = {
    values: [[3, 2], [4, 2], [2, 3], [2, 3], [4, 3], [4, 3], [4, 3]].map((shape) => ({ type: { shape, dtype: 'f32' as const } })),
    inputs: [
      { value: 0, role: 'param', name: 'W' },
      { value: 1, role: 'param', name: 'x' },
    ],
    nodes: [
      { op: 'transpose', inputs: [0], outputs: [2], attrs: {} },
      { op: 'transpose', inputs: [0], outputs: [3], attrs: {} },
      { op: 'mm', inputs: [1, 2], outputs: [4], attrs: {} },
      { op: 'mm', inputs: [1, 3], outputs: [5], attrs: {} },
      { op: 'add', inputs: [4, 5], outputs: [6], attrs: {} },
    ],
    outputs: [{ value: 6, role: 'result', name: 'y' }],
  };
  out.push({ program: 'two transposes of one weight (by hand)', pass: PASSES.commonSubexpressions, before: repeated, after: PASSES.commonSubexpressions.run(repeated), model });
  return out;
}

/** Every output of g on the reference, fed by input name (derived inputs: the transposes they name). */
function outputsOf(g: Graph, feeds: ReadonlyMap<string, Tensor64>): Float64Array[] {
  return evaluateGraph(
    g,
    g.inputs.map((inp) => {
      const t = feeds.get(inp.name);
      if (t) return t;
      if (inp.role === 'derived') return joinedTranspose(inp.name, feeds);
      throw new Error(`no feed for ${inp.name}`);
    }),
  ).map((t) => t.data);
}

/** `transpose:A+B`: the transposes of A and B side by side (passes/lift-param-transposes.ts). */
function joinedTranspose(name: string, feeds: ReadonlyMap<string, Tensor64>): Tensor64 {
  const parts = name.slice('transpose:'.length).split('+').map((p) => feeds.get(p)!);
  const rows = parts[0]!.shape[1]!;
  const cols = parts.reduce((s, p) => s + p.shape[0]!, 0);
  const data = new Float64Array(rows * cols);
  let c0 = 0;
  for (const p of parts) {
    const [m, n] = [p.shape[0]!, p.shape[1]!];
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) data[j * cols + c0 + i] = p.data[i * n + j]!;
    c0 += m;
  }
  return tensor([rows, cols], data);
}

function expectSameNumbers(before: Graph, after: Graph, model: LoweredModel, what: string): void {
  const feeds = new Map(before.inputs.map((inp, k) => [inp.name, randomFeeds(model, before, { lengths: LENGTHS, seed: 5 })[k]!] as const));
  const want = outputsOf(before, feeds);
  const got = outputsOf(after, feeds);
  expect(got.length, what).toBe(want.length);
  want.forEach((w, i) => {
    const scale = Math.max(1e-12, ...[...w].map(Math.abs));
    const diff = Math.max(0, ...[...w].map((x, j) => Math.abs(x - got[i]![j]!)));
    expect(diff / scale, `${what}: output ${after.outputs[i]!.name}`).toBeLessThan(1e-12);
  });
}

// ------------------------------------------------------------------ the tests

const ALL = steps();

describe('each pass', () => {
  for (const pass of Object.values(PASSES)) {
    const mine = ALL.filter((s) => s.pass === pass);
    describe(pass.name, () => {
      it('changes what it claims on at least one program, and only in that direction', () => {
        const [measure, direction] = CHANGES[pass.name]!;
        const changed = mine.filter((s) => s.after !== s.before);
        expect(changed.length, `${pass.name} never fired`).toBeGreaterThan(0);
        expect(changed.some((s) => measure(s.after) !== measure(s.before)), `${pass.name} changed no count it claims`).toBe(true);
        for (const s of changed) {
          if (direction === 'lower') expect(measure(s.after), s.program).toBeLessThanOrEqual(measure(s.before));
          else expect(measure(s.after), s.program).toBeGreaterThanOrEqual(measure(s.before));
        }
      });

      it('leaves its own output alone (the same object back)', () => {
        for (const s of mine) expect(pass.run(s.after) === s.after, `${s.program}: ${pass.name} run twice changed the graph`).toBe(true);
      });

      it('outputs a verified graph with the same numbers (float64 reference)', () => {
        for (const s of mine.filter((x) => x.after !== x.before)) {
          verifyGraph(s.after, `${pass.name} on ${s.program}`);
          expectSameNumbers(s.before, s.after, s.model, `${pass.name} on ${s.program}`);
        }
      });
    });
  }

  it('every pass of PASSES has a claim in this file', () => {
    expect(Object.values(PASSES).map((p) => p.name).filter((n) => !(n in CHANGES))).toEqual([]);
  });
});

describe('the passes outside the pipelines', () => {
  const model = compileModel(PROGRAMS['lstm over one-hot tokens']!);
  const predict = ALL.filter((s) => s.program === 'lstm over one-hot tokens' && s.pass === PASSES.fuseGateProducts).at(-1)!.after;

  it('lift-param-transposes: weight transposes become derived inputs, same numbers', () => {
    const lifted = liftParamTransposes(predict);
    expect(lifted).not.toBe(predict);
    expect(lifted.inputs.some((i) => i.role === 'derived')).toBe(true);
    expect(ops('transpose')(lifted)).toBeLessThan(ops('transpose')(predict));
    verifyGraph(lifted, 'lift-param-transposes');
    expect(liftParamTransposes(lifted)).toBe(lifted);
    expectSameNumbers(predict, lifted, model, 'lift-param-transposes');
  });

  it('unroll-scans: no loop left, same numbers for sequences of that length', () => {
    const g = model.graph;
    const unrolled = unrollScans(g, Math.max(...LENGTHS));
    expect(ops('scan')(g)).toBeGreaterThan(0);
    expect(ops('scan')(unrolled)).toBe(0);
    verifyGraph(unrolled, 'unroll-scans');
    expect(unrollScans(unrolled, Math.max(...LENGTHS))).toBe(unrolled);
    expectSameNumbers(g, unrolled, model, 'unroll-scans');
  });

  it('assume-full-mask: the mask is no longer read, same numbers on batches without padding', () => {
    const g = model.graph;
    const full = assumeFullMask(g);
    expect(full).not.toBe(g);
    verifyGraph(full, 'assume-full-mask');
    expect(assumeFullMask(full)).toBe(full);
    const feedsFull = (h: Graph) => randomFeeds(model, h, { lengths: [4, 4, 4], seed: 2 });
    const want = evaluateGraph(g, feedsFull(g)).map((t) => t.data);
    const got = evaluateGraph(full, feedsFull(full)).map((t) => t.data);
    want.forEach((w, i) => w.forEach((x, j) => expect(Math.abs(x - got[i]![j]!)).toBeLessThan(1e-12 * Math.max(1, Math.abs(x)))));
  });
});
