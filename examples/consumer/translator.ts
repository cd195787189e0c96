// Translating text with an encoder-decoder that `rnnc compile` turned into
// ./dates-model.ts (examples/dates.rnn: human-written dates -> ISO 8601),
// for the web page of translate-web/. It imports only the compiled module
// and tfjs-core, never rnnc.
//
// It reads what `rnnc translate` reads: the parameters of the checkpoint
// (through the module's loadParams) and its vocabularies, `extra.vocabs`
// (inputs[0]: the characters of the source; targets[0]: the output tokens).
// A text becomes one id per character; the module decodes a batch of them,
// greedily (`decodeAsync`) or by beam search (`beamSearchAsync`), as rnnc
// translate does, and each output's ids become text again. The async
// functions read with `await data()`: every backend, webgpu included.
import * as tf from '@tensorflow/tfjs-core';
import { beamSearchAsync, decodeAsync, DIMS, disposeParams, loadParams, type Decoded, type Params, type ParamsJson } from './dates-model.js';

/** A vocabulary `rnnc run` stores in a checkpoint: id -> token. */
interface Vocabulary {
  readonly tokens: readonly string[];
  /** Whether id 0 is `<unk>`, the id of characters the training data lacked. */
  readonly unk: boolean;
}

/** One translated text: the output, its tokens, their log-probability, and the attention weights ([output step][input character]). */
export interface Translation {
  readonly input: string;
  readonly output: string;
  readonly tokens: readonly number[];
  readonly logProb: number;
  readonly attention?: readonly (readonly number[])[];
}

/** Trained parameters and their vocabularies. The parameters are tensors: call dispose() when done. */
export interface Translator {
  readonly model: string;
  readonly source: Vocabulary;
  readonly target: Vocabulary;
  /** Reads the decoder's scores with `await data()`, which every backend offers (webgpu included). */
  translate(texts: readonly string[], options?: { beam?: number; maxLen?: number }): Promise<Translation[]>;
  dispose(): void;
}

function fail(what: string): never {
  throw new Error(`checkpoint: ${what}`);
}

function vocabulary(json: unknown, where: string): Vocabulary {
  const v = json as { tokens?: unknown; unk?: unknown } | null;
  if (typeof v !== 'object' || v === null || !Array.isArray(v.tokens) || !v.tokens.every((t): t is string => typeof t === 'string') || typeof v.unk !== 'boolean') {
    fail(`${where} is not a vocabulary ({"tokens": [...], "unk": true|false}); was the checkpoint written by \`rnnc run\`?`);
  }
  return { tokens: v.tokens, unk: v.unk };
}

/** The translator of a checkpoint written by `rnnc run` for the compiled model. */
export function loadTranslator(json: unknown): Translator {
  if (typeof json !== 'object' || json === null) fail('expected a JSON object');
  const ckpt = json as { model?: unknown; params?: ParamsJson; extra?: { vocabs?: { inputs?: unknown[]; targets?: unknown[] } } };
  const source = vocabulary(ckpt.extra?.vocabs?.inputs?.[0], 'extra.vocabs.inputs[0]');
  const target = vocabulary(ckpt.extra?.vocabs?.targets?.[0], 'extra.vocabs.targets[0]');
  if (source.tokens.length !== DIMS.V || target.tokens.length !== DIMS.K) {
    fail(`its vocabularies have ${source.tokens.length} and ${target.tokens.length} tokens but dates-model.ts was compiled for V = ${DIMS.V}, K = ${DIMS.K}: compile it again with --ckpt this checkpoint`);
  }
  if (ckpt.params === undefined) fail('it has no "params"');
  const params: Params = loadParams(ckpt.params);
  const index = new Map(source.tokens.map((t, i) => [t, i] as const));
  const encode = (text: string): number[] => {
    const ids = Array.from(text, (ch) => {
      const id = index.get(ch);
      if (id !== undefined) return id;
      if (source.unk) return 0;
      throw new Error(`${JSON.stringify(text)}: ${JSON.stringify(ch)} is not a character the model knows`);
    });
    if (ids.length === 0) throw new Error('an empty text: nothing to translate');
    return ids;
  };
  return {
    model: String(ckpt.model),
    source,
    target,
    async translate(texts, options = {}) {
      const rows = texts.map(encode);
      const T = Math.max(...rows.map((r) => r.length));
      // Batch-major ids [B, T], padded with 0 past each text's length.
      const ids = new Int32Array(rows.length * T);
      rows.forEach((r, b) => ids.set(r, b * T));
      const src = tf.tensor2d(ids, [rows.length, T], 'int32');
      try {
        const inputs = { src, lengths: rows.map((r) => r.length) };
        const maxLen = options.maxLen ?? 100;
        const beam = options.beam ?? 1;
        const decoded: Decoded[] = beam > 1 ? await beamSearchAsync(params, inputs, { width: beam, maxLen }) : await decodeAsync(params, inputs, { maxLen, attention: true });
        return decoded.map((d, i) => ({
          input: texts[i]!,
          output: d.tokens.map((id) => target.tokens[id]!).join(''),
          tokens: d.tokens,
          logProb: d.logProb,
          ...(d.attention ? { attention: Object.values(d.attention)[0] ?? [] } : {}),
        }));
      } finally {
        src.dispose();
      }
    },
    dispose: () => disposeParams(params),
  };
}
