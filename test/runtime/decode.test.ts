// Decoding new inputs with an encoder-decoder (src/commands/translate.ts):
// greedy decoding reads the decoder's own most likely tokens; beam search
// finds the better sequence greedy misses on a model whose probabilities
// are set by hand; beam 1 is greedy; batched beams are one-by-one beams.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import type { TrainConfig } from '../../compiler/sema/train.js';
import { TrainingSession } from '../../runtime/train/session.js';
import { beamSearch, greedy } from '../../src/commands/translate.js';
import { compileModel } from '../helpers/compile.js';
import { attentionSeq2seq } from '../helpers/programs.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function sessionOf(text: string): { session: TrainingSession; greedyGraph: ReturnType<typeof trainingGraphs>['predict'] } {
  const model = compileModel(text);
  const config: TrainConfig = { model: model.name, optimizer: { name: 'sgd', args: {}, positional: [], span: model.span }, bptt: { kind: 'full' }, batch: 1, epochs: 1, seed: 0, checkpoint: 0, span: model.span };
  const session = new TrainingSession(model, config, trainingGraphs(model, false, { liftParamTransposes: true }));
  const own = compileModel(text, undefined, {}, { kind: 'own', draw: 'argmax' });
  return { session, greedyGraph: trainingGraphs(own, false, { liftParamTransposes: true }).predict };
}

// A decoder without state: the scores of step t are column y[t-1] of E. From the start token (0): 0.6 for token 1,
// 0.4 for token 2; after 1: 0.5 and 0.5; after 2: 0.05 and 0.95. Greedy takes 1 (0.6) and ends at 0.3; the best
// sequence is 2 2 (0.38).
const HAND_SET = `
cell d(x: [X]) -> y: token[K] {
  option start = 0
  param E: [K, K]
  y[t] = E @ one_hot(y[t-1])
}
model m {
  dim V = 3
  input src: seq<token[V]>
  target tgt: seq<token[V]>
  y = d(one_hot(src))
  loss = cross_entropy(y, tgt)
}`;

describe('beam search', () => {
  it('finds the best sequence greedy decoding misses (probabilities set by hand)', async () => {
    const { session, greedyGraph } = sessionOf(HAND_SET);
    const never = -30;
    const col = (p1: number, p2: number) => [never, Math.log(p1), Math.log(p2)];
    const [c0, c1, c2] = [col(0.6, 0.4), col(0.5, 0.5), col(0.05, 0.95)];
    // E[k][j]: the score of token k after token j.
    const E = [0, 1, 2].flatMap((k) => [c0[k]!, c1[k]!, c2[k]!]);
    session.loadParams(new Map([['y.E', { shape: [3, 3], data: E }]]), 'test');
    const src = [Int32Array.from([1, 1])];
    const lim = { lengths: [2], own: false };
    const g = (await greedy(session, greedyGraph, src, lim))[0]!;
    expect(g.tokens[0]).toBe(1);
    expect(g.logProb).toBeCloseTo(Math.log(0.3), 4);
    const b = (await beamSearch(session, src, 2, lim))[0]!;
    expect(b.tokens).toEqual([2, 2]);
    expect(b.logProb).toBeCloseTo(Math.log(0.38), 4);
    expect((await beamSearch(session, src, 1, lim))[0]!.tokens).toEqual(g.tokens);
    // With token 1 as the end token, greedy stops at once (its probability counts, the token is not output).
    const ended = (await greedy(session, greedyGraph, src, { ...lim, end: 1 }))[0]!;
    expect(ended.tokens).toEqual([]);
    expect(ended.logProb).toBeCloseTo(Math.log(0.6), 4);
    expect((await beamSearch(session, src, 2, { ...lim, end: 1 }))[0]!.tokens).toEqual([]);
    session.dispose();
  });

  it('with width 1 is greedy decoding, and batched beams equal one-by-one beams (an attention model, inputs of different lengths)', async () => {
    const { session, greedyGraph } = sessionOf(attentionSeq2seq());
    session.initParams(3);
    const sources = [Int32Array.from([1, 2, 3, 4, 5]), Int32Array.from([5, 1]), Int32Array.from([2, 2, 3])];
    const lim = { lengths: sources.map((x) => x.length + 1), own: true };
    const g = await greedy(session, greedyGraph, sources, lim);
    const b1 = await beamSearch(session, sources, 1, lim);
    b1.forEach((b, i) => {
      expect(b.tokens).toEqual(g[i]!.tokens);
      expect(b.logProb).toBeCloseTo(g[i]!.logProb, 4);
    });
    const batched = await beamSearch(session, sources, 3, lim);
    const single: { tokens: number[]; logProb: number }[] = [];
    for (const [i, s] of sources.entries()) single.push((await beamSearch(session, [s], 3, { ...lim, lengths: [lim.lengths[i]!] }))[0]!);
    batched.forEach((b, i) => {
      expect(b.tokens).toEqual(single[i]!.tokens);
      expect(b.logProb).toBeCloseTo(single[i]!.logProb, 4);
      expect(b.logProb).toBeGreaterThanOrEqual(g[i]!.logProb - 1e-6);
      expect(b.tokens).toHaveLength(sources[i]!.length + 1);
    });
    session.dispose();
  });
});
