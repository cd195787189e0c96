// What the weights tests share: seeded inputs (vectors of 3 values, ids
// below 5), and the small models they export and import, trained a few
// steps on jsonl data made of those inputs.
import { join } from 'node:path';
import { expectOk, rnnc, tempDir, writeFile } from '../e2e/cli-harness.js';
import { seqRegressor } from '../helpers/programs.js';

/** Seeded values in [0, 1), sequences of vectors [T][3] in [-1, 1] (three decimals) and of ids in [0, 5), from one stream. */
export function samples(seed: number): { rand: () => number; vectors: (T: number) => number[][]; tokens: (T: number) => number[] } {
  let s = seed >>> 0;
  const rand = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return {
    rand,
    vectors: (T) => Array.from({ length: T }, () => Array.from({ length: 3 }, () => Math.round((rand() * 2 - 1) * 1000) / 1000)),
    tokens: (T) => Array.from({ length: T }, () => Math.floor(rand() * 5)),
  };
}

/**
 * A temporary folder with seq.jsonl (vector sequences -> per-step pairs),
 * tok.jsonl (id sequences, every id 0..4 present, -> one pair) and
 * models.rnn (`models`), and each of `trained` run 4 steps on cpu into
 * <folder>/<model>/.
 */
export async function trainModels(prefix: string, s: ReturnType<typeof samples>, models: string, trained: readonly string[]): Promise<{ dir: string; file: string }> {
  const dir = tempDir(prefix);
  const seq = Array.from({ length: 40 }, (_, i) => {
    const x = s.vectors(3 + (i % 4));
    return JSON.stringify({ x, y: x.map((v) => [v[0]! + v[1]!, v[2]!]) });
  });
  const tok = Array.from({ length: 40 }, (_, i) => {
    const x = s.tokens(3 + (i % 4));
    // Every id 0..4 appears, so V = 5.
    if (i < 5) x[0] = i;
    return JSON.stringify({ x, y: [x.length / 10, x.at(-1)! / 4] });
  });
  writeFile(dir, 'seq.jsonl', `${seq.join('\n')}\n`);
  writeFile(dir, 'tok.jsonl', `${tok.join('\n')}\n`);
  const file = writeFile(dir, 'models.rnn', models);
  for (const m of trained) {
    expectOk(await rnnc('run', file, '--model', m, '--backend', 'cpu', '--steps', '4', '--out', join(dir, m), '--quiet'));
  }
  return { dir, file };
}

/** The two models both weight formats start from: an LSTM over vectors per step, and a GRU (`gru` or `gru_ra`) over an embedding read at its last step. */
export function commonModels(gru: 'gru' | 'gru_ra'): string {
  return `${seqRegressor('lstm(x)', { name: 'lstm_seq', H: 4, X: 3, Y: 2 })}
model gru_last {
  dim V, E = 3, H = 5
  input x: seq<token[V]>
  target y: [2]
  e = embed(x, E)
  h = ${gru}(e) with H
  loss = mse(dense(last(h), 2), y)
}
${trainBlock('lstm_seq', 'seq', 1)}
${trainBlock('gru_last', 'tok', 2)}
`;
}

/** A train block on seq.jsonl or tok.jsonl (trainModels writes them): Adam, batch 8, one epoch. */
export function trainBlock(model: string, data: 'seq' | 'tok', seed: number): string {
  return `train ${model} { data jsonl("${data}.jsonl"); optimizer adam(lr = 0.05); batch 8; epochs 1; seed ${seed} }`;
}

/** The loss the float64 reference evaluator gives (`rnnc grad --reference`) for `model` with the parameters file `params` on one batch. */
export async function referenceLoss(dir: string, file: string, model: string, params: string, batch: { readonly x: object; readonly y: object }): Promise<number> {
  const path = writeFile(dir, `${model}-reference-batch.json`, JSON.stringify(batch));
  const r = await rnnc('grad', file, '--model', model, '--params', params, '--batch', path, '--reference');
  expectOk(r);
  return (JSON.parse(r.stdout) as { loss: number }).loss;
}
