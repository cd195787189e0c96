// `rnnc sample` and `rnnc score`: a trained language model generates text
// from a prime, or gives the log-probability of a text (so that
// P(I am going home) and P(I am going house) can be compared).
import { loadCheckpoint } from '../../runtime/checkpoint.js';
import { decodeIds, encodeText } from '../../runtime/data/text.js';
import { Vocab } from '../../runtime/data/vocab.js';
import { Rng } from '../../runtime/rng.js';
import { sampleTokens, scoreTokens } from '../../runtime/train/generate.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import type { TrainingSession } from '../../runtime/train/session.js';
import { startBackend } from '../backend-choice.js';
import { CliError, EXIT } from '../errors.js';
import { nodeIO } from '../node-io.js';
import { newSession } from '../new-session.js';
import { bindModel, loadProgram, pickModel, trainConfigFor } from '../project.js';
import { info } from '../terminal.js';
import type { CheckpointExtra } from './run.js';

interface Loaded {
  readonly session: TrainingSession;
  readonly vocab: Vocab;
  readonly level: 'char' | 'word';
}

async function loadTrained(file: string, ckptPath: string, opts: { model?: string; backend?: string }): Promise<Loaded> {
  const program = loadProgram(file, { quietWarnings: true });
  const name = pickModel(program, opts.model);
  const ckpt = loadCheckpoint(nodeIO, ckptPath);
  const extra = ckpt.extra as Partial<CheckpointExtra> | undefined;
  if (!extra?.dims || !extra.vocabs || !extra.level) {
    throw new CliError(`${ckptPath} has no vocabulary: it was not written by \`rnnc run\` for a text model`);
  }
  const model = bindModel(program, name, extra.dims);
  checkLanguageModel(model, extra, ckptPath);
  info(`backend: ${await startBackend(opts.backend)}`);
  const vocabJson = extra.vocabs.inputs[0];
  if (!vocabJson) throw new CliError(`${ckptPath}: the model's input has no vocabulary (it is not text)`);
  const vocab = Vocab.fromJSON(vocabJson);
  const session = newSession(model, trainConfigFor(program, name));
  try {
    session.restore(ckpt, ckptPath);
  } catch (e) {
    session.dispose();
    throw e;
  }
  return { session, vocab, level: extra.level };
}

/**
 * Sampling feeds each predicted token back as the next input, and scoring
 * reads the probability of each next token: both need a model whose target
 * is its own input one step on. Checked here, before anything else (a
 * classifier without a line break in its vocabulary was asked for --prime;
 * a tagger passes the runtime's own check, which does not compare the two
 * vocabularies).
 */
function checkLanguageModel(model: LoweredModel, extra: Partial<CheckpointExtra>, ckptPath: string): void {
  const inp = model.inputs[0];
  const tgt = model.targets[0];
  const show = (f: typeof inp): string => (f ? `${f.name}: ${f.type.kind === 'tokens' ? `seq<token[${String(f.type.vocab)}]>` : f.type.kind}` : 'none');
  const trainedFor = extra.task && extra.task !== 'lm' && extra.task !== 'tagging' ? `, trained for ${extra.task}` : '';
  const why =
    model.inputs.length !== 1 || model.targets.length !== 1 || inp?.type.kind !== 'tokens' || tgt?.type.kind !== 'tokens'
      ? `its input is ${show(inp)} and its target ${show(tgt)}`
      : model.loss !== 'cross_entropy'
        ? `its loss is ${model.loss}`
        : inp.type.vocab !== tgt.type.vocab || JSON.stringify(extra.vocabs?.targets[0] ?? null) !== JSON.stringify(extra.vocabs?.inputs[0] ?? null)
          ? `its target ${show(tgt)} is not over the input's vocabulary (${show(inp)}): it tags or classifies tokens rather than predicting the next one`
          : undefined;
  if (why === undefined) return;
  throw new CliError(
    `model ${model.name} (${ckptPath}${trainedFor}) is not a language model: ${why}. ` +
      'rnnc sample and rnnc score need one that predicts the next token of its input: one input seq<token[V]>, a target seq<token[V]> over the same vocabulary, and a cross_entropy loss',
  );
}

function encode(l: Loaded, text: string, what: string): Int32Array {
  try {
    return encodeText(l.vocab, text, l.level);
  } catch (e) {
    throw new CliError(`${what}: ${(e as Error).message}`);
  }
}

/** A text to condition on: a line break where the vocabulary has one (the corpus separates sentences with them). */
function start(l: Loaded): string {
  return l.level === 'char' && l.vocab.has('\n') ? '\n' : '';
}

export async function sampleCommand(
  file: string,
  opts: { ckpt: string; prime?: string; temperature: number; length: number; seed: number; model?: string; backend?: string; json?: boolean },
): Promise<number> {
  const l = await loadTrained(file, opts.ckpt, opts);
  try {
    return await sample(l, opts);
  } finally {
    l.session.dispose();
  }
}

async function sample(l: Loaded, opts: { prime?: string; temperature: number; length: number; seed: number; json?: boolean }): Promise<number> {
  const prime = opts.prime ?? '';
  const ids = encode(l, start(l) + prime, 'the prime');
  if (ids.length === 0) throw new CliError('give a prime with --prime TEXT (this vocabulary has no line break to start from)');
  const out = await sampleTokens(l.session, ids, opts.length, opts.temperature, new Rng(opts.seed));
  const sep = l.level === 'word' ? ' ' : '';
  const generated = decodeIds(l.vocab, out, l.level);
  if (opts.json) process.stdout.write(`${JSON.stringify({ prime, text: generated, tokens: Array.from(out, (id) => l.vocab.token(id)), ids: Array.from(out), temperature: opts.temperature, seed: opts.seed })}\n`);
  else process.stdout.write(`${prime}${prime && sep}${generated}\n`);
  return EXIT.ok;
}

export async function scoreCommand(file: string, texts: readonly string[], opts: { ckpt: string; model?: string; backend?: string; json?: boolean }): Promise<number> {
  const l = await loadTrained(file, opts.ckpt, opts);
  try {
    return await score(l, texts, opts.json ?? false);
  } finally {
    l.session.dispose();
  }
}

async function score(l: Loaded, texts: readonly string[], json: boolean): Promise<number> {
  const lines: string[] = [];
  for (const text of texts) {
    const prefix = start(l);
    const ids = encode(l, prefix + text, JSON.stringify(text));
    if (ids.length < 2) throw new CliError(`${JSON.stringify(text)} is too short to score`);
    const s = await scoreTokens(l.session, ids);
    const n = s.perToken.length;
    const unit = l.level === 'char' ? 'chars' : 'tokens';
    if (json) {
      lines.push(JSON.stringify({ text, logprob: s.logProb, bits: s.logProb / Math.LN2, perplexity: Math.exp(-s.logProb / n), tokens: n }));
      continue;
    }
    lines.push(
      `${JSON.stringify(text)}: log P = ${s.logProb.toFixed(4)} nats (${(s.logProb / Math.LN2).toFixed(4)} bits), ` +
        `perplexity ${Math.exp(-s.logProb / n).toFixed(4)} per token over ${n} ${unit}${prefix ? ' (given a line start)' : ''}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  info(SCORE_NOTE);
  return EXIT.ok;
}

/** Which number to compare: log P sums over a text's tokens, so it only ranks texts of one model; perplexity is per token. */
export const SCORE_NOTE =
  'note: log P is the total over the text: compare it between texts under one model (a longer text always scores lower); ' +
  'perplexity is per token: compare it across models on the same texts, when they split text the same way (chars or words)';
