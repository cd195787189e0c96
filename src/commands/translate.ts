// `rnnc translate`: a trained encoder-decoder (a model with a decoder,
// docs/language.md section 4) turns new inputs into outputs, by greedy
// decoding (each step reads the decoder's own most likely token) or by beam
// search. Today a decoder runs over its source's steps, so an output has as
// many tokens as its input.
//
// Beam search keeps the K best partial outputs of every input. Each step
// scores all hypotheses of all inputs in one batch with the model as it was
// trained (teacher forcing: a hypothesis is fed back as the target tokens,
// and step t's scores depend only on its first t tokens), so it needs no
// second lowering and matches the greedy graph exactly for K = 1. It costs
// one forward pass per output step.
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { loadCheckpoint } from '../../runtime/checkpoint.js';
import { decodeIds, encodeText } from '../../runtime/data/text.js';
import type { Batch, FieldValue, HostTensor } from '../../runtime/data/types.js';
import { Vocab } from '../../runtime/data/vocab.js';
import type { TrainingSession } from '../../runtime/train/session.js';
import { Rng } from '../../runtime/rng.js';
import { startBackend } from '../backend-choice.js';
import { CliError, EXIT } from '../errors.js';
import { nodeIO, userError, writeFileAtomic } from '../node-io.js';
import { newSession } from '../new-session.js';
import { bindModel, decoderOption, greedyPredictGraph, loadData, loadProgram, pickModel, trainConfigFor, withFeed } from '../project.js';
import { trainingGraphs, type Analysis } from '../../compiler/compile.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import { heatmapFormat, renderHeatmap, renderImageAttention } from '../heatmap.js';
import { checkOutput, heatmapFile } from '../output-file.js';
import { info } from '../terminal.js';
import type { CheckpointExtra } from './run.js';
import { beamSearchWithAsync, logSoftmaxRows } from '../../runtime/decode.js';

/** The longest output of a decoder with an end token, unless --max-len says otherwise. */
export const DEFAULT_MAX_LEN = 100;

/**
 * What a decoder reads for one output: a sequence of token ids, or one
 * tensor per example (an image [Hgt, Wid, C], row-major).
 */
export type Source = Int32Array | Float32Array;

/** The held-out examples of a model's train block (the first `limit`): sources and target ids. */
function validationSet(program: ReturnType<typeof loadProgram>, name: string, trained?: CheckpointExtra['data'], limit?: number): { sources: Source[]; targets: Int32Array[] } {
  // The data the checkpoint was trained on (its --data-arg overrides included), else the train block's.
  const config = trainConfigFor(program, name);
  const data = loadData(program, trained && config.data ? { ...config, data: { ...config.data, name: trained.name, args: trained.args, positional: [] } } : config);
  const examples = (data.valid.length > 0 ? data.valid : data.train).slice(0, limit);
  const source = (v: FieldValue | undefined): Source => {
    if (v?.kind === 'tokens') return v.ids;
    if (v?.kind === 'vector') return v.data;
    throw new CliError(`the data of model ${name} has no token sequences or images to translate`);
  };
  const ids = (v: FieldValue | undefined): Int32Array => {
    if (v?.kind !== 'tokens') throw new CliError(`the data of model ${name} has no token sequences to translate into`);
    return v.ids;
  };
  return { sources: examples.map((e) => source(e.inputs[0])), targets: examples.map((e) => ids(e.targets[0])) };
}

/**
 * Exact match (an output equal to its target, the end token left out of
 * both) and token accuracy (the target's positions the output got right).
 */
export function scoreDecoded(decoded: readonly Decoded[], targets: readonly Int32Array[], end?: number): { exact: number; tokens: number; sequences: number } {
  let exact = 0;
  let right = 0;
  let total = 0;
  decoded.forEach((d, i) => {
    const want = [...targets[i]!].filter((id, k, all) => !(id === end && k === all.length - 1));
    if (want.length === d.tokens.length && want.every((id, k) => id === d.tokens[k])) exact++;
    want.forEach((id, k) => (right += d.tokens[k] === id ? 1 : 0));
    total += want.length;
  });
  return { exact: exact / Math.max(1, decoded.length), tokens: right / Math.max(1, total), sequences: decoded.length };
}

export interface TranslateOptions {
  /** Decode the held-out examples of the train block's data and report exact match and token accuracy. */
  readonly validation?: boolean;
  /** With --validation: only the first N held-out examples. */
  readonly limit?: number;
  readonly ckpt: string;
  readonly model?: string;
  readonly backend?: string;
  readonly input?: string;
  readonly json?: boolean;
  readonly beam: number;
  /** The longest output of a decoder with an end token (or of one without, when given). */
  readonly maxLen: number;
  /** Beam search's length normalisation (0: none). */
  readonly alpha?: number;
  /** Draw each token from the decoder's distribution (softmax of scores / temperature) instead of the best. */
  readonly sample?: boolean;
  readonly temperature?: number;
  readonly seed?: number;
  /** Write the attention weights as heat maps (.svg or .html). */
  readonly attention?: string;
  /** Give each output's attention weights in the JSON lines. */
  readonly showAttention?: boolean;
  readonly force?: boolean;
}

/** One decoded output: its tokens and their log-probability under the model (natural log). */
export interface Decoded {
  readonly tokens: readonly number[];
  readonly logProb: number;
}

export async function translateCommand(file: string, texts: readonly string[], opts: TranslateOptions): Promise<number> {
  const program = loadProgram(file, { quietWarnings: true });
  const name = pickModel(program, opts.model);
  const ckpt = loadCheckpoint(nodeIO, opts.ckpt);
  const extra = ckpt.extra as Partial<CheckpointExtra> | undefined;
  if (!extra?.dims || !extra.vocabs) throw new CliError(`${opts.ckpt} has no vocabulary: it was not written by \`rnnc run\``);
  const model = bindModel(program, name, extra.dims);
  const src = model.inputs[0];
  const tgt = model.targets[0];
  const image = src?.type.kind === 'vector' ? src.type.dims.map(Number) : undefined;
  if (model.decoders.length === 0 || model.inputs.length !== 1 || !(src?.type.kind === 'tokens' || image !== undefined) || tgt?.type.kind !== 'tokens') {
    throw new CliError(
      `model ${name} is not an encoder-decoder: rnnc translate needs one input (seq<token[V]>, or one tensor per example such as an image) and a decoder (a cell whose first output is a token, \`-> y: token[K]\`) scored against a target seq<token[K]>`,
    );
  }
  if (opts.limit !== undefined && !opts.validation) throw new CliError('--limit chooses how many held-out examples --validation decodes: give --validation too', EXIT.usage);
  if (image !== undefined && !opts.validation) {
    throw new CliError(`model ${name} reads ${image.length === 3 ? 'an image' : 'a tensor'} [${image.join(', ')}] per example, not text: decode its held-out examples with --validation (and --limit N)`, EXIT.usage);
  }
  // Settings of one way of decoding, given for another, would be silently ignored: refuse them.
  if (!opts.sample && (opts.temperature !== undefined || opts.seed !== undefined)) {
    throw new CliError(`${opts.temperature !== undefined ? '--temperature' : '--seed'} sets how --sample draws tokens: give --sample too (greedy decoding and beam search draw nothing)`, EXIT.usage);
  }
  if (opts.alpha !== undefined && !(opts.beam > 1)) throw new CliError('--alpha normalises the scores of beam search: give --beam K (K > 1) too', EXIT.usage);
  const srcVocab = image === undefined ? vocabOf(extra.vocabs.inputs[0], opts.ckpt, 'input') : undefined;
  const tgtVocab = vocabOf(extra.vocabs.targets[0], opts.ckpt, 'target');
  // --validation: the held-out examples of the train block's data, scored against their targets.
  const held = opts.validation ? validationSet(program, name, extra.data, opts.limit) : undefined;
  if (opts.validation && (texts.length > 0 || opts.input !== undefined)) throw new CliError('--validation decodes the held-out examples: give no texts and no --input with it', EXIT.usage);
  const shown = (s: Source, i: number): string => (s instanceof Int32Array && srcVocab ? decodeIds(srcVocab, s, levelOf(srcVocab)) : `example ${i + 1}`);
  const lines = held ? held.sources.map(shown) : opts.input !== undefined ? readLines(opts.input) : texts;
  if (lines.length === 0) throw new CliError('give texts to translate, --input FILE with one per line, or --validation');
  const sources: Source[] = held ? held.sources : lines.map((text, i) => encode(srcVocab!, text, opts.input !== undefined ? `${opts.input}:${i + 1}` : JSON.stringify(text)));

  const format = opts.attention !== undefined ? heatmapFormat(opts.attention) : undefined;
  if (opts.attention !== undefined) checkOutput(opts.attention, { inputs: [file, opts.ckpt, ...(opts.input ? [opts.input] : [])], kind: heatmapFile, force: opts.force ?? false, headBytes: 256 });
  info(`backend: ${await startBackend(opts.backend)}`);
  const session = newSession(model, trainConfigFor(program, name));
  try {
    session.restore(ckpt, opts.ckpt);
    const end = decoderOption(program.analysis, model, 'end');
    const K = tgt.type.vocab as number;
    if (end !== undefined && !(Number.isInteger(end) && end >= 0 && end < K)) throw new CliError(`the decoder's end token ${end} is not a token id of its ${K} tokens (0 to ${K - 1})`);
    if (opts.showAttention && !opts.json) throw new CliError('--show-attention adds the weights to the JSON lines: give --json too (or --attention FILE for heat maps)', EXIT.usage);
    const own = model.targetAxis !== undefined;
    // Without an end token, an output has its input's length (the decoders of rnnc's symbol tasks).
    const lengths = sources.map((src) => (own && end !== undefined ? opts.maxLen : own && opts.maxLen !== DEFAULT_MAX_LEN ? opts.maxLen : src.length));
    const limits: Limits = { lengths, own, ...(end !== undefined ? { end } : {}), alpha: opts.alpha ?? 0, ...(image ? { dims: image } : {}) };
    if (opts.sample && opts.beam > 1) throw new CliError('--sample draws one output per input: leave out --beam', EXIT.usage);
    const decoded = opts.sample
      ? await sampleDecode(session, sources, limits, opts.temperature ?? 1, new Rng(opts.seed ?? 0))
      : opts.beam > 1
        ? await beamSearch(session, sources, opts.beam, limits)
        : await greedy(session, greedyPredictGraph(program, model), sources, limits);
    const wantWeights = format !== undefined || opts.showAttention === true;
    const weights = wantWeights ? await attentionWeights(session, withFeed(program, model, { kind: 'teacher' }, { attention: true }), sources, decoded, image) : undefined;
    if (wantWeights && weights!.every((w) => Object.keys(w).length === 0)) {
      throw new CliError(`model ${name} has no attention (no \`attend\` in its cells): there are no weights to show`);
    }
    const outputs = decoded.map((d) => decodeIds(tgtVocab, d.tokens, levelOf(tgtVocab)));
    if (held) {
      const s = scoreDecoded(decoded, held.targets, end);
      const how = opts.sample ? `sampled (temperature ${opts.temperature ?? 1}, seed ${opts.seed ?? 0})` : opts.beam > 1 ? `beam ${opts.beam}` : 'greedy';
      info(`${how} on ${s.sequences.toLocaleString('en-US')} held-out example${s.sequences === 1 ? '' : 's'}: exact match ${(s.exact * 100).toFixed(2)}%, token accuracy ${(s.tokens * 100).toFixed(2)}%`);
    }
    // With --validation, the true output beside each (its end token left out).
    const truths = held?.targets.map((t) => decodeIds(tgtVocab, [...t].filter((id, k, all) => !(id === end && k === all.length - 1)), levelOf(tgtVocab)));
    const out = decoded.map((d, i) => {
      if (!opts.json) return outputs[i]!;
      return JSON.stringify({ input: lines[i], output: outputs[i], ...(truths ? { target: truths[i] } : {}), tokens: d.tokens, logprob: d.logProb, ...(opts.showAttention ? { attention: weights![i] } : {}) });
    });
    process.stdout.write(`${out.join('\n')}\n`);
    if (format !== undefined) {
      const first = (w: Record<string, number[][]>) => Object.values(w)[0] ?? [];
      const outputTokens = (d: Decoded) => d.tokens.map((id) => tgtVocab.token(id));
      const svg =
        image === undefined
          ? await renderHeatmap(
              decoded.map((d, i) => ({ input: [...(sources[i] as Int32Array)].map((id) => srcVocab!.token(id)), output: outputTokens(d), weights: first(weights![i]!) })),
              format,
            )
          : await renderImageAttention(
              decoded.map((d, i) => ({ image: sources[i] as Float32Array, height: image[0]!, width: image[1] ?? 1, channels: image[2] ?? 1, output: outputTokens(d), ...(truths ? { truth: truths[i]! } : {}), weights: first(weights![i]!) })),
              format,
            );
      writeFileAtomic(opts.attention!, svg);
      info(`attention of ${decoded.length} output${decoded.length === 1 ? '' : 's'}: ${opts.attention}`);
    }
  } finally {
    session.dispose();
  }
  return EXIT.ok;
}

/**
 * The attention weights of each decoded output, per `attend` call
 * (`<instance>.<equation>.alpha`): weights[t][l] over the output's steps t
 * and the input's positions l. The model taught with the output's own tokens
 * computes exactly what decoding computed (step t reads token t-1).
 */
export async function attentionWeights(session: TrainingSession, taught: LoweredModel, sources: readonly Source[], decoded: readonly Decoded[], dims?: readonly number[]): Promise<Record<string, number[][]>[]> {
  const graph = trainingGraphs(taught, false, { liftParamTransposes: true }).predict;
  const steps = decoded.map((d) => Math.max(1, d.tokens.length));
  const targets = decoded.map((d) => d.tokens);
  const outs = session.outputsWith(graph, taught.targetAxis !== undefined ? tokenBatch(sources, targets, steps, dims) : tokenBatch(sources, targets, undefined, dims));
  const result: Record<string, number[][]>[] = sources.map(() => ({}));
  for (const [name, t] of outs) {
    if (name.endsWith('.alpha')) {
      const [T, B, L] = t.shape as [number, number, number];
      const data = await t.data();
      sources.forEach((s, b) => {
        // A sequence's padded positions are left out; every location of a per-example memory counts.
        const n = s instanceof Int32Array ? s.length : L;
        result[b]![name] = Array.from({ length: Math.min(decoded[b]!.tokens.length, T) }, (_, step) => Array.from(data.slice((step * B + b) * L, (step * B + b) * L + n)));
      });
    }
    t.dispose();
  }
  return result;
}

function vocabOf(json: unknown, ckptPath: string, what: string): Vocab {
  if (json === null || json === undefined) throw new CliError(`${ckptPath}: the model's ${what} has no vocabulary (it is not text)`);
  return Vocab.fromJSON(json);
}

/** Characters when every token but the specials (`<s>`, `<unk>`) is one character, else words separated by spaces. */
function levelOf(v: Vocab): 'char' | 'word' {
  return v.tokens.every((t) => /^<\/?\w+>$/.test(t) || [...t].length === 1) ? 'char' : 'word';
}

function encode(v: Vocab, text: string, where: string): Int32Array {
  let ids: Int32Array;
  try {
    // Words: the tokens between spaces, as written (no line-end token: an input is one line).
    ids = levelOf(v) === 'word' ? Int32Array.from(text.trim().split(/\s+/).filter((w) => w !== ''), (w) => v.id(w)) : encodeText(v, text, 'char');
  } catch (e) {
    throw new CliError(`${where}: ${(e as Error).message}`);
  }
  if (ids.length === 0) throw new CliError(`${where}: nothing to translate (an empty input)`);
  return ids;
}

function readLines(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return userError(e, "read --input", path);
  }
  // One input per line, in order (an empty line is an error, not skipped: outputs line up with inputs); a last line break ends the file.
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * A batch of token sequences, time-major, padded with id 0; `targets` are fed
 * back to a taught decoder. With `targetLengths` (a model whose targets have
 * their own steps) the targets run over max(targetLengths) steps of their own.
 * With `dims`, the sources are one tensor of those sizes per example (an
 * image): the batch has one step.
 */
export function tokenBatch(sources: readonly Source[], targets?: readonly (readonly number[])[], targetLengths?: readonly number[], dims?: readonly number[]): Batch {
  const B = sources.length;
  const T = dims !== undefined ? 1 : Math.max(...sources.map((s) => s.length));
  const ids = (rows: readonly ArrayLike<number>[], steps = T): HostTensor => {
    const data = new Int32Array(steps * B);
    rows.forEach((r, b) => {
      for (let t = 0; t < r.length && t < steps; t++) data[t * B + b] = r[t]!;
    });
    return { dtype: 'int32', shape: [steps, B], data };
  };
  if (targetLengths !== undefined) {
    const U = Math.max(1, ...targetLengths);
    const base = tokenBatch(sources, undefined, undefined, dims);
    const mask = new Float32Array(U * B);
    targetLengths.forEach((n, b) => {
      for (let t = 0; t < n; t++) mask[t * B + b] = 1;
    });
    return {
      ...base,
      targets: [ids(targets ?? sources.map(() => []), U)],
      target: { steps: U, mask: { dtype: 'float32', shape: [U, B], data: mask }, lengths: Int32Array.from(targetLengths) },
    };
  }
  const mask = new Float32Array(T * B);
  const last = new Float32Array(T * B);
  const lengths = sources.map((s) => (dims !== undefined ? 1 : s.length));
  lengths.forEach((n, b) => {
    for (let t = 0; t < n; t++) mask[t * B + b] = 1;
    last[(n - 1) * B + b] = 1;
  });
  const input = (): HostTensor => {
    if (dims === undefined) return ids(sources as readonly Int32Array[]);
    const width = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(B * width);
    sources.forEach((s, b) => {
      if (s.length !== width) throw new CliError(`example ${b + 1} holds ${s.length} numbers where [${dims.join(', ')}] needs ${width}`);
      data.set(s, b * width);
    });
    return { dtype: 'float32', shape: [B, ...dims], data };
  };
  return {
    inputs: [input()],
    targets: [ids(targets ?? sources.map(() => []))],
    mask: { dtype: 'float32', shape: [T, B], data: mask },
    last: { dtype: 'float32', shape: [T, B], data: last },
    lengths: Int32Array.from(lengths),
    batchSize: B,
    steps: T,
  };
}

/**
 * How long outputs may be: per input, at most `lengths[i]` tokens, ending
 * early at the decoder's end token (its `end` option) when it has one. `own`:
 * the targets run over steps of their own (LoweredModel.targetAxis), else an
 * output has its input's steps. `alpha`: beam search's length normalisation.
 */
export interface Limits {
  readonly lengths: readonly number[];
  /** The sizes of one source when the sources are tensors (images), not token sequences. */
  readonly dims?: readonly number[];
  readonly end?: number;
  readonly own: boolean;
  readonly alpha?: number;
}

/** The batch that decodes rows of `sources`, with `targets` fed back, scored at step `t` (so over t + 1 target steps). */
function decodingBatch(sources: readonly Source[], targets: readonly (readonly number[])[] | undefined, steps: readonly number[], limits: Limits): Batch {
  return limits.own ? tokenBatch(sources, targets, steps, limits.dims) : tokenBatch(sources, targets, undefined, limits.dims);
}

/** Greedy decoding: the graph whose decoders read back their own most likely token. */
export async function greedy(session: TrainingSession, graph: Parameters<TrainingSession['predictWith']>[0], sources: readonly Source[], limits: Limits): Promise<Decoded[]> {
  const batch = decodingBatch(sources, undefined, limits.lengths, limits);
  const pred = session.predictWith(graph, batch);
  const [T, B, K] = pred.shape as [number, number, number];
  const lp = logSoftmaxRows((await pred.data()) as Float32Array, K);
  pred.dispose();
  return sources.map((_, b) => {
    const tokens: number[] = [];
    let logProb = 0;
    for (let t = 0; t < limits.lengths[b]! && t < T; t++) {
      const at = (t * B + b) * K;
      let best = 0;
      for (let k = 1; k < K; k++) if (lp[at + k]! > lp[at + best]!) best = k;
      logProb += lp[at + best]!;
      if (best === limits.end) break;
      tokens.push(best);
    }
    return { tokens, logProb };
  });
}

/** Beam search with `width` hypotheses per input; all inputs' open hypotheses share each step's batch. */
export function beamSearch(session: TrainingSession, sources: readonly Source[], width: number, limits: Limits): Promise<Decoded[]> {
  return beamSearchWithAsync(sources.length, width, limits, async (rows, t) => {
    const batch = decodingBatch(
      rows.map((r) => sources[r.source]!),
      rows.map((r) => r.tokens),
      rows.map(() => t + 1),
      limits,
    );
    const { prediction, states } = session.forward(batch);
    states.forEach((x) => x.dispose());
    const k = prediction.shape[2]!;
    const step = tf.tidy(() => tf.slice(prediction, [t, 0, 0], [1, rows.length, k]));
    prediction.dispose();
    const data = await step.data();
    step.dispose();
    return { data, k };
  });
}

/**
 * Sampling: each step draws the next token from softmax(scores /
 * temperature) with `rng` (below 1: safer, above 1: more varied), feeding
 * the drawn tokens back like beam search does; stops at the end token.
 */
export async function sampleDecode(session: TrainingSession, sources: readonly Source[], limits: Limits, temperature: number, rng: Rng): Promise<Decoded[]> {
  const out = sources.map(() => ({ tokens: [] as number[], logProb: 0, done: false }));
  const maxLen = Math.max(...limits.lengths);
  for (let t = 0; t < maxLen; t++) {
    const rows = out.flatMap((o, e) => (!o.done && t < limits.lengths[e]! ? [e] : []));
    if (rows.length === 0) break;
    const batch = decodingBatch(
      rows.map((e) => sources[e]!),
      rows.map((e) => out[e]!.tokens),
      rows.map(() => t + 1),
      limits,
    );
    const { prediction, states } = session.forward(batch);
    states.forEach((x) => x.dispose());
    const K = prediction.shape[2]!;
    const step = tf.tidy(() => tf.slice(prediction, [t, 0, 0], [1, rows.length, K]));
    prediction.dispose();
    const scores = (await step.data()) as Float32Array;
    step.dispose();
    const lp = logSoftmaxRows(scores, K);
    const tempered = logSoftmaxRows(Float32Array.from(scores, (x) => x / temperature), K);
    rows.forEach((e, i) => {
      const u = rng.next();
      let acc = 0;
      let k = 0;
      for (; k < K - 1; k++) {
        acc += Math.exp(tempered[i * K + k]!);
        if (u < acc) break;
      }
      const o = out[e]!;
      o.logProb += lp[i * K + k]!;
      if (k === limits.end) o.done = true;
      else o.tokens.push(k);
    });
  }
  return out.map(({ tokens, logProb }) => ({ tokens, logProb }));
}
