// Character-level sampling with a char LM that `rnnc compile` turned into
// ./model.ts: shared by the Node program (sample.ts) and the web page
// (web/main.ts). It imports only the compiled module and tfjs-core, never
// rnnc: this is what an application that ships a trained model looks like.
//
// It follows `rnnc sample` step for step, so that with the same checkpoint,
// prime, temperature, length and seed both print the same text:
//   - the text to condition on is a line break (when the vocabulary has one:
//     the corpus separates sentences with them) followed by the prime;
//   - the prime goes through the model in one call, then each sampled
//     character is fed back alone, carrying the recurrent state across calls;
//   - the next character is drawn from softmax(logits / temperature) with
//     the same seeded generator (xoshiro128**, below) and the same walk
//     down the cumulative probabilities.
import * as tf from '@tensorflow/tfjs-core';
import { DIMS, disposeParams, disposeState, forwardAsync, loadParams, Rng, type Params, type ParamsJson, type State } from './model.js';

/** The vocabulary `rnnc run` stores in a checkpoint (`extra.vocabs.inputs[0]`): id -> token. */
export interface Vocabulary {
  readonly tokens: readonly string[];
  /** Whether id 0 is `<unk>`, the id of characters the training text lacked. */
  readonly unk: boolean;
}

/** The parts of a `rnnc run` checkpoint (runs/<model>/checkpoint.json) this program reads. */
export interface CheckpointJson {
  readonly model: string;
  readonly params: ParamsJson;
  readonly extra?: {
    readonly level?: string;
    readonly vocabs?: { readonly inputs?: readonly unknown[] };
  };
}

/** Trained parameters and their vocabulary. The parameters are tensors: call dispose() when done. */
export interface LanguageModel {
  readonly model: string;
  readonly params: Params;
  readonly vocab: Vocabulary;
  dispose(): void;
}

export interface SampleOptions {
  /** Text to continue (may be empty when the vocabulary has a line break). */
  readonly prime: string;
  /** Characters to generate. */
  readonly length: number;
  /** Softmax temperature: < 1 safer, > 1 more varied. */
  readonly temperature: number;
  readonly seed: number;
}

function fail(what: string): never {
  throw new Error(`checkpoint: ${what}`);
}

function readVocabulary(json: unknown): Vocabulary {
  if (typeof json !== 'object' || json === null) fail('extra.vocabs.inputs[0] is not a vocabulary (was it trained on text by `rnnc run`?)');
  const { tokens, unk } = json as { tokens?: unknown; unk?: unknown };
  if (!Array.isArray(tokens) || !tokens.every((t): t is string => typeof t === 'string')) fail('the vocabulary needs "tokens": an array of strings');
  if (typeof unk !== 'boolean') fail('the vocabulary needs "unk": a boolean');
  return { tokens, unk };
}

/** Parameters (through the compiled module's loadParams) and the vocabulary of a checkpoint written by `rnnc run`. */
export function loadLanguageModel(json: unknown): LanguageModel {
  if (typeof json !== 'object' || json === null) fail('expected a JSON object');
  const ckpt = json as CheckpointJson;
  if (ckpt.extra?.level !== undefined && ckpt.extra.level !== 'char') fail(`this program samples characters; the checkpoint's model reads ${ckpt.extra.level}s`);
  const vocab = readVocabulary(ckpt.extra?.vocabs?.inputs?.[0]);
  if (vocab.tokens.length !== DIMS.V) {
    fail(`its vocabulary has ${vocab.tokens.length} characters but model.ts was compiled for V = ${DIMS.V}: compile it again with --ckpt this checkpoint`);
  }
  const params = loadParams(ckpt.params);
  return { model: String(ckpt.model), params, vocab, dispose: () => disposeParams(params) };
}

/** Ids of the characters (Unicode code points) of `text`; unknown ones are `<unk>`, or an error without it. */
export function encode(vocab: Vocabulary, text: string): Int32Array {
  const index = new Map(vocab.tokens.map((t, i) => [t, i] as const));
  return Int32Array.from(Array.from(text), (ch) => {
    const id = index.get(ch);
    if (id !== undefined) return id;
    if (vocab.unk) return 0;
    throw new Error(`${JSON.stringify(ch)} is not in the vocabulary (${vocab.tokens.length} characters, no <unk>)`);
  });
}

/**
 * Continues `opts.prime` one character at a time (an async generator: the
 * caller shows each as it comes). The logits are read with `await data()`,
 * which every backend offers (webgpu reads synchronously only slowly in a
 * browser, and not at all in Node.js).
 */
export async function* sampleChars(lm: LanguageModel, opts: SampleOptions): AsyncGenerator<string, void, undefined> {
  if (!(opts.temperature > 0)) throw new Error(`temperature must be positive, got ${opts.temperature}`);
  const start = lm.vocab.tokens.includes('\n') ? '\n' : '';
  let input = encode(lm.vocab, start + opts.prime);
  if (input.length === 0) throw new Error('give a prime: this vocabulary has no line break to start from');
  const rng = new Rng(opts.seed);
  let state: State | undefined;
  try {
    for (let i = 0; i < opts.length; i++) {
      const chars = tf.tensor2d(input, [1, input.length], 'int32');
      const r = await forwardAsync(lm.params, { chars }, state);
      chars.dispose();
      if (state !== undefined) disposeState(state);
      state = r.state;
      // The logits of the last step, [1, T, V] -> [V], divided by the temperature (in float32, as rnnc does).
      const last = tf.tidy(() => tf.div(tf.slice(r.outputs.y, [0, input.length - 1, 0], [1, 1, -1]), tf.scalar(opts.temperature)));
      r.outputs.y.dispose();
      const scaled = await last.data();
      last.dispose();
      const next = sampleCategorical(scaled, rng);
      input = Int32Array.of(next);
      yield lm.vocab.tokens[next]!;
    }
  } finally {
    if (state !== undefined) disposeState(state);
  }
}

/** Draws an index with probability softmax(logits) (the walk of rnnc's runtime/train/generate.ts). */
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
