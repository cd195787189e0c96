// Decoders (a cell with a token output `y: token[K]` that reads `y[t-1]`,
// sema/cell.ts) under teacher forcing: symbolic gradients against central
// finite differences on the float64 reference, and what the decoder reads
// at each step (the start token, then the target one step late).
import { describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import type { Tensor64 } from '../../runtime/reference/tensor.js';
import type { FeedMode } from '../../compiler/sema/cell.js';
import type { Graph } from '../../compiler/ir/types.js';
import { compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { alignedDecoder, attentionSeq2seq, LEARNED_START_CELL, plainSeq2seq, tokenLm } from '../helpers/programs.js';

const LENGTHS = [4, 2, 3];

describe('decoder gradients under teacher forcing match finite differences (float64 reference)', () => {
  for (const kind of ['additive', 'general', 'dot']) {
    it(`attention decoder (${kind}) over a bidirectional encoder`, () => {
      // dot needs a query as wide as the memory's rows (2 H, both directions).
      const model = compileModel(attentionSeq2seq(kind, kind === 'dot' ? { query: 'concat(s[t-1], s[t-1])' } : {}));
      const { forward } = trainingGraphs(model, false);
      const feeds = randomFeeds(model, forward, { lengths: LENGTHS, seed: 3, randomState: true });
      const res = gradCheck(forward, feeds);
      expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
      expect([...res.analytic.keys()]).toContain('y.E');
    });
  }
});

describe('teacher forcing', () => {
  const model = compileModel(attentionSeq2seq());
  const { forward } = trainingGraphs(model, false);
  const pred = forward.outputs.findIndex((o) => o.role === 'output');
  const tgt = forward.inputs.findIndex((i) => i.name === 'tgt');
  const base = randomFeeds(model, forward, { lengths: [4, 4, 4], seed: 9 });
  const withTarget = (t: number, b: number, id: number): Tensor64[] => {
    const data = Float64Array.from(base[tgt]!.data);
    data[t * 3 + b] = id;
    return base.map((x, i) => (i === tgt ? { ...x, data } : x));
  };
  /** The steps (of example b) whose scores differ between two runs. */
  const changedSteps = (a: Tensor64, c: Tensor64, b: number): number[] => {
    const [T, B, K] = a.shape as [number, number, number];
    const out: number[] = [];
    for (let t = 0; t < T; t++) {
      let d = 0;
      for (let k = 0; k < K; k++) d = Math.max(d, Math.abs(a.data[(t * B + b) * K + k]! - c.data[(t * B + b) * K + k]!));
      if (d > 0) out.push(t);
    }
    return out;
  };

  it('step t reads the target of step t-1 (and the start token at step 0): a change at step s moves the scores of steps after s only', () => {
    const before = evaluateGraph(forward, base)[pred]!;
    for (const s of [0, 1, 3]) {
      const old = base[tgt]!.data[s * 3 + 1]!;
      const after = evaluateGraph(forward, withTarget(s, 1, (old + 1) % 6))[pred]!;
      expect(changedSteps(before, after, 1), `target changed at step ${s}`).toEqual([1, 2, 3].filter((t) => t > s));
      expect(changedSteps(before, after, 0)).toEqual([]);
    }
  });

  it('`with start = 2` changes what the first step reads', () => {
    const other = compileModel(attentionSeq2seq().replace('with H, M', 'with H, M, start = 2'));
    const g = trainingGraphs(other, false).forward;
    const a = evaluateGraph(forward, base)[pred]!;
    const b = evaluateGraph(g, base)[pred]!;
    expect(changedSteps(a, b, 0)).toEqual([0, 1, 2, 3]);
  });
});

describe('decoders that read their own tokens', () => {
  const text = attentionSeq2seq();
  const teacher = compileModel(text);
  // The same parameters and data for every lowering, by name; the token carry starts at zeros, the coins are `coin`.
  const base = (() => {
    const { forward } = trainingGraphs(teacher, false);
    const feeds = randomFeeds(teacher, forward, { lengths: [4, 4, 4], seed: 9 });
    return new Map(forward.inputs.map((inp, i) => [inp.name, feeds[i]!]));
  })();
  const feedsFor = (g: Graph, coin?: number): Tensor64[] =>
    g.inputs.map((inp) => {
      const shape = g.values[inp.value]!.type.shape.map((d) => (d === 'B' ? 3 : d === 'T' ? 4 : d)) as number[];
      if (inp.name === 'feed_coin') return { shape, data: new Float64Array(12).fill(coin!), dtype: 'f32' as const };
      return base.get(inp.name) ?? { shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)), dtype: 'f32' as const };
    });
  const run = (mode: FeedMode, coin?: number) => {
    const m = compileModel(text, undefined, {}, mode);
    const { forward } = trainingGraphs(m, false);
    const outs = evaluateGraph(forward, feedsFor(forward, coin));
    return { forward, pred: outs[forward.outputs.findIndex((o) => o.role === 'output')]!, loss: outs[forward.outputs.findIndex((o) => o.role === 'loss')]!.data[0]! };
  };

  it('greedy: each step reads the argmax of the step before, so teaching the greedy tokens gives the same scores', () => {
    const greedy = run({ kind: 'own', draw: 'argmax' });
    const [T, B, K] = greedy.pred.shape as [number, number, number];
    const chosen = new Float64Array(T * B);
    for (let r = 0; r < T * B; r++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (greedy.pred.data[r * K + k]! > greedy.pred.data[r * K + best]!) best = k;
      chosen[r] = best;
    }
    const { forward } = trainingGraphs(teacher, false);
    const feeds = feedsFor(forward).map((t, i) => (forward.inputs[i]!.name === 'tgt' ? { ...t, data: chosen } : t));
    const taught = evaluateGraph(forward, feeds)[forward.outputs.findIndex((o) => o.role === 'output')]!;
    let d = 0;
    taught.data.forEach((v, i) => (d = Math.max(d, Math.abs(v - greedy.pred.data[i]!))));
    expect(d).toBeLessThan(1e-12);
    // and it is not the teacher-forced run on the true targets
    const { forward: tf } = trainingGraphs(teacher, false);
    const onTruth = evaluateGraph(tf, feedsFor(tf))[tf.outputs.findIndex((o) => o.role === 'output')]!;
    expect([...onTruth.data]).not.toEqual([...greedy.pred.data]);
  });

  it('scheduled sampling with coin 1 is teacher forcing, with coin 0 it reads its own tokens, exactly', () => {
    const taught = run({ kind: 'teacher' });
    const own = run({ kind: 'own', draw: 'argmax' });
    expect(run({ kind: 'scheduled', draw: 'argmax' }, 1).loss).toBe(taught.loss);
    expect(run({ kind: 'scheduled', draw: 'argmax' }, 0).loss).toBe(own.loss);
    expect(own.loss).not.toBe(taught.loss);
  });

  for (const mode of [
    { kind: 'own', draw: 'argmax' },
    { kind: 'own', draw: 'sample' },
    { kind: 'scheduled', draw: 'sample' },
  ] as const) {
    it(`gradients match finite differences with ${mode.kind} ${mode.draw} tokens: no gradient flows through a choice`, () => {
      const m = compileModel(text, undefined, {}, mode);
      const { forward } = trainingGraphs(m, false);
      // Parameters of scale 1: attention then matters enough that its gradients stand above finite differences' rounding.
      const feeds = randomFeeds(m, forward, { lengths: LENGTHS, seed: 4, paramScale: 1 }).map((t, i) => {
        const name = forward.inputs[i]!.name;
        if (name === 'feed_coin') return { ...t, data: t.data.map((_, k) => k % 2) };
        if (name === 'feed_draws') return { ...t, data: t.data.map((_, k) => ((k * 0.37) % 1 + 1) % 1) };
        return t;
      });
      const res = gradCheck(forward, feeds);
      expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
    });
  }
});

describe('initial values (s[0] = ...): the encoder hands its state to the decoder', () => {
  it('gradients reach the encoder through the initial state (finite differences)', () => {
    const model = compileModel(plainSeq2seq());
    const { forward } = trainingGraphs(model, false);
    const res = gradCheck(forward, randomFeeds(model, forward, { lengths: LENGTHS, seed: 6 }));
    expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
    expect(res.analytic.get('y.S')!.some((v) => v !== 0)).toBe(true);
  });

  it('a learned start state, backwards too (padding first): gradients match finite differences', () => {
    for (const text of [LEARNED_START_CELL + tokenLm('h = rnn0(e) with H'), LEARNED_START_CELL.replace(/\[t-1\]/g, '[t+1]') + tokenLm('h = rnn0(e) with H')]) {
      const model = compileModel(text);
      const { forward } = trainingGraphs(model, false);
      const res = gradCheck(forward, randomFeeds(model, forward, { lengths: LENGTHS, seed: 2 }));
      expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
      expect(res.analytic.get('h.h0')!.some((v) => v !== 0)).toBe(true);
    }
  });

  it('is the value s[t-1] reads at the first step: with S = 0 the decoder starts from tanh(0) = 0, as without s[0]', () => {
    const withInit = compileModel(plainSeq2seq());
    const without = compileModel(plainSeq2seq().replace('  s[0] = tanh(S @ z)\n', '').replace('param S: [H, Z]\n', ''));
    const g1 = trainingGraphs(withInit, false).forward;
    const g0 = trainingGraphs(without, false).forward;
    const feeds = randomFeeds(withInit, g1, { lengths: LENGTHS, seed: 1 });
    const byName = new Map(g1.inputs.map((inp, i) => [inp.name, feeds[i]!]));
    const zeroS = g1.inputs.map((inp, i) => (inp.name === 'y.S' ? { ...feeds[i]!, data: feeds[i]!.data.map(() => 0) } : feeds[i]!));
    const loss = (g: Graph, f: readonly Tensor64[]) => evaluateGraph(g, f)[g.outputs.findIndex((o) => o.role === 'loss')]!.data[0]!;
    const feeds0 = g0.inputs.map((inp) => byName.get(inp.name)!);
    expect(loss(g1, zeroS)).toBeCloseTo(loss(g0, feeds0), 14);
    expect(Math.abs(loss(g1, feeds) - loss(g0, feeds0))).toBeGreaterThan(1e-6);
  });
});

describe('targets of their own length', () => {
  it('a decoder that reads the source only whole writes its target over the target\'s steps: gradients match finite differences', () => {
    for (const text of [attentionSeq2seq(), plainSeq2seq()]) {
      const model = compileModel(text);
      expect(model.targetAxis).toBe('tgt');
      const { forward } = trainingGraphs(model, false);
      const tgt = forward.inputs.find((i) => i.name === 'tgt')!;
      expect(forward.values[tgt.value]!.type.shape).toEqual(['U', 'B']);
      const feeds = randomFeeds(model, forward, { lengths: [4, 2, 3], targetLengths: [2, 5, 3], seed: 7, paramScale: 1 });
      const res = gradCheck(forward, feeds);
      expect(res.maxRelError, `worst: ${res.worst}`).toBeLessThan(1e-6);
    }
  });

  it('a decoder that also reads the source per step stays on the source\'s steps', () => {
    expect(compileModel(alignedDecoder()).targetAxis).toBeUndefined();
  });
});
