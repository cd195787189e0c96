// `rnnc evaluate FILE --ckpt C`: the validation metrics of a trained model,
// as `rnnc run` prints them at its end, on the data the checkpoint was
// trained on (its data arguments), on other data (--data-arg overrides
// them), or on the training split (--split train). For a model with
// decoders: with teacher forcing, and with greedy decoding. `--json` prints
// one object (docs: README, "rnnc evaluate").
import type { LoweredModel } from '../../compiler/sema/model.js';
import { loadCheckpoint } from '../../runtime/checkpoint.js';
import type { Dataset } from '../../runtime/data/types.js';
import type { EvalResult } from '../../runtime/train/session.js';
import { startBackend } from '../backend-choice.js';
import { CliError, EXIT } from '../errors.js';
import { newSession } from '../new-session.js';
import { nodeIO } from '../node-io.js';
import { bindModel, greedyGraph, loadData, loadProgram, pickModel, teacherGraph, trainConfigFor } from '../project.js';
import { info } from '../terminal.js';
import { evaluate, formatEval, type CheckpointExtra } from './run.js';

export interface EvaluateOptions {
  readonly ckpt: string;
  readonly model?: string;
  readonly backend?: string;
  readonly dataArg?: Readonly<Record<string, number | string>>;
  readonly split?: 'validation' | 'train';
  readonly json?: boolean;
}

/** One evaluation as JSON: the stable fields (README, "rnnc evaluate" and "rnnc run --json"). */
export function evalJson(ev: EvalResult, data: Dataset, level: 'char' | 'word'): Record<string, number> {
  return {
    loss: ev.loss,
    count: ev.count,
    ...(data.task === 'lm' ? { perplexity: Math.exp(ev.loss), ...(level === 'char' ? { bits_per_char: ev.loss / Math.LN2 } : {}) } : {}),
    ...(ev.accuracy !== undefined && data.task !== 'lm' ? { accuracy: ev.accuracy } : {}),
    ...(ev.exact !== undefined && data.task !== 'lm' ? { exact: ev.exact, sequences: ev.sequences! } : {}),
  };
}

export async function evaluateCommand(file: string, opts: EvaluateOptions): Promise<number> {
  const program = loadProgram(file, { quietWarnings: true });
  const name = pickModel(program, opts.model);
  const ckpt = loadCheckpoint(nodeIO, opts.ckpt);
  if (ckpt.model !== name) throw new CliError(`${opts.ckpt} is a checkpoint of model ${ckpt.model}, not ${name}`);
  const extra = ckpt.extra as Partial<CheckpointExtra> | undefined;
  if (!extra?.dims || !extra.data) throw new CliError(`${opts.ckpt} was not written by \`rnnc run\` (it has no data dimensions)`);
  const config = trainConfigFor(program, name);
  // The data the checkpoint was trained on, with --data-arg on top (another file, another split).
  // (A text file given in order, `text("a.txt")`, is the checkpoint's positional argument.)
  const positional = (extra.data as { positional?: (number | string)[] }).positional ?? [];
  const dataSpec = { name: extra.data.name, args: { ...extra.data.args, ...(opts.dataArg ?? {}) }, positional: opts.dataArg?.['path'] !== undefined ? [] : positional, span: config.span };
  const data = loadData(program, { ...config, data: dataSpec });
  const model: LoweredModel = bindModel(program, name, extra.dims);
  const split: Dataset = opts.split === 'train' ? { ...data, valid: data.train } : data;
  info(`backend: ${await startBackend(opts.backend)}`);
  const session = newSession(model, config);
  try {
    session.restore(ckpt, opts.ckpt);
    const level = extra.level ?? 'char';
    const decoders = model.decoders.length > 0;
    const ev = evaluate(session, split, config.batch, decoders ? teacherGraph(model) : undefined);
    const greedy = decoders ? evaluate(session, split, config.batch, greedyGraph(program, model)) : undefined;
    const which = opts.split === 'train' ? 'train' : split.valid.length > 0 ? 'validation' : 'train';
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ model: name, step: ckpt.step, split: which, examples: (split.valid.length > 0 ? split.valid : split.train).length, ...evalJson(ev, split, level), ...(greedy ? { greedy: evalJson(greedy, split, level) } : {}) })}\n`);
    } else {
      const relabel = (line: string): string => (opts.split === 'train' ? line.replace(/^validation/, 'training') : line);
      process.stdout.write(`${relabel(formatEval(ev, split, level, model, decoders ? 'teacher forcing' : undefined))}\n`);
      if (greedy) process.stdout.write(`${relabel(formatEval(greedy, split, level, model, 'greedy decoding'))}\n`);
    }
  } finally {
    session.dispose();
  }
  return EXIT.ok;
}
