// Scoring and sampling with a trained token model (a language model): one
// token-sequence input, a prediction of logits over the same vocabulary at
// every step. Sampling streams: the recurrent state is carried from one
// call of the forward graph to the next, one token at a time.
import * as tf from '@tensorflow/tfjs-core';
import type { Batch, HostTensor } from '../data/types.js';
import { RuntimeUserError } from '../io.js';
import type { Rng } from '../rng.js';
import type { TrainingSession } from './session.js';

function tokenBatch(ids: Int32Array, targets: Int32Array): Batch {
  const T = ids.length;
  const ones = new Float32Array(T).fill(1);
  const last = new Float32Array(T);
  last[T - 1] = 1;
  const t = (data: Int32Array): HostTensor => ({ dtype: 'int32', shape: [T, 1], data });
  return {
    inputs: [t(ids)],
    targets: [t(targets)],
    mask: { dtype: 'float32', shape: [T, 1], data: ones },
    last: { dtype: 'float32', shape: [T, 1], data: last },
    lengths: Int32Array.of(T),
    batchSize: 1,
    steps: T,
  };
}

export function checkLanguageModel(session: TrainingSession): void {
  const m = session.model;
  const inp = m.inputs[0];
  const tgt = m.targets[0];
  if (m.inputs.length !== 1 || inp?.type.kind !== 'tokens' || tgt?.type.kind !== 'tokens' || m.loss !== 'cross_entropy') {
    throw new RuntimeUserError(
      `model ${m.name} is not a language model: sampling and scoring need one input seq<token[V]> and a cross_entropy loss over the next token`,
    );
  }
  if (m.readsAhead) {
    throw new RuntimeUserError(`model ${m.name} reads the future (${m.readsAhead}), so it cannot generate text one token at a time`);
  }
}

export interface Score {
  /** Natural-log probability of tokens[1..] given tokens[0]. */
  readonly logProb: number;
  readonly perToken: readonly number[];
}

/** log P(ids[1..] | ids[0]) under the model. */
export async function scoreTokens(session: TrainingSession, ids: Int32Array): Promise<Score> {
  checkLanguageModel(session);
  if (ids.length < 2) throw new RuntimeUserError('scoring needs at least one token after the first');
  const batch = tokenBatch(ids.subarray(0, -1), ids.subarray(1));
  const { prediction, states } = session.forward(batch);
  const logpT = tf.tidy(() => tf.logSoftmax(tf.reshape(prediction, [ids.length - 1, -1])));
  prediction.dispose();
  const logp = (await logpT.array()) as number[][];
  logpT.dispose();
  states.forEach((t) => t.dispose());
  const perToken = logp.map((row, t) => row[ids[t + 1]!]!);
  return { logProb: perToken.reduce((a, b) => a + b, 0), perToken };
}

/** Continues `prime` by `length` tokens, sampling from softmax(logits / temperature). */
export async function sampleTokens(session: TrainingSession, prime: Int32Array, length: number, temperature: number, rng: Rng): Promise<Int32Array> {
  checkLanguageModel(session);
  if (prime.length < 1) throw new RuntimeUserError('sampling needs a prime of at least one token');
  if (!(temperature > 0)) throw new RuntimeUserError(`temperature must be positive, got ${temperature}`);
  const out = new Int32Array(length);
  let input = prime;
  let states: Map<string, tf.Tensor> | undefined;
  for (let i = 0; i < length; i++) {
    const r = session.forward(tokenBatch(input, new Int32Array(input.length)), states);
    states?.forEach((t) => t.dispose());
    states = r.states;
    const scaled = tf.tidy(() => {
      const lastRow = tf.slice(tf.reshape(r.prediction, [input.length, -1]), [input.length - 1, 0], [1, -1]);
      return tf.div(lastRow, tf.scalar(temperature));
    });
    r.prediction.dispose();
    const logits = await scaled.data();
    scaled.dispose();
    const next = sampleCategorical(logits, rng);
    out[i] = next;
    input = Int32Array.of(next);
  }
  states?.forEach((t) => t.dispose());
  return out;
}

function sampleCategorical(logits: ArrayLike<number>, rng: Rng): number {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]!);
  let total = 0;
  const p = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) total += p[i] = Math.exp(logits[i]! - m);
  let u = rng.next() * total;
  for (let i = 0; i < p.length; i++) {
    u -= p[i]!;
    if (u <= 0) return i;
  }
  return p.length - 1;
}
