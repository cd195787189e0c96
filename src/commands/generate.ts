// `rnnc sample` and `rnnc score`: a trained language model generates text
// from a prime, or gives the log-probability of a text (so that
// P(I am going home) and P(I am going house) can be compared).
import { loadCheckpoint } from '../../runtime/checkpoint.js';
import { decodeIds, encodeText } from '../../runtime/data/text.js';
import { Vocab } from '../../runtime/data/vocab.js';
import { Rng } from '../../runtime/rng.js';
import { sampleTokens, scoreTokens } from '../../runtime/train/generate.js';
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
  info(`backend: ${await startBackend(opts.backend)}`);
  const model = bindModel(program, name, extra.dims);
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
  opts: { ckpt: string; prime?: string; temperature: number; length: number; seed: number; model?: string; backend?: string },
): Promise<number> {
  const l = await loadTrained(file, opts.ckpt, opts);
  try {
    return sample(l, opts);
  } finally {
    l.session.dispose();
  }
}

function sample(l: Loaded, opts: { prime?: string; temperature: number; length: number; seed: number }): number {
  const prime = opts.prime ?? '';
  const ids = encode(l, start(l) + prime, 'the prime');
  if (ids.length === 0) throw new CliError('give a prime with --prime TEXT (this vocabulary has no line break to start from)');
  const out = sampleTokens(l.session, ids, opts.length, opts.temperature, new Rng(opts.seed));
  const sep = l.level === 'word' ? ' ' : '';
  process.stdout.write(`${prime}${prime && sep}${decodeIds(l.vocab, out, l.level)}\n`);
  return EXIT.ok;
}

export async function scoreCommand(file: string, texts: readonly string[], opts: { ckpt: string; model?: string; backend?: string }): Promise<number> {
  const l = await loadTrained(file, opts.ckpt, opts);
  try {
    return score(l, texts);
  } finally {
    l.session.dispose();
  }
}

function score(l: Loaded, texts: readonly string[]): number {
  const lines: string[] = [];
  for (const text of texts) {
    const prefix = start(l);
    const ids = encode(l, prefix + text, JSON.stringify(text));
    if (ids.length < 2) throw new CliError(`${JSON.stringify(text)} is too short to score`);
    const s = scoreTokens(l.session, ids);
    const n = s.perToken.length;
    const unit = l.level === 'char' ? 'chars' : 'tokens';
    lines.push(
      `${JSON.stringify(text)}: log P = ${s.logProb.toFixed(4)} nats (${(s.logProb / Math.LN2).toFixed(4)} bits), ` +
        `perplexity ${Math.exp(-s.logProb / n).toFixed(4)} per token over ${n} ${unit}${prefix ? ' (given a line start)' : ''}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
