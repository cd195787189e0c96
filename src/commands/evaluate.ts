// `rnnc evaluate FILE --ckpt C`: the validation metrics of a trained model,
// as `rnnc run` prints them at its end, on the data the checkpoint was
// trained on (its data arguments), on other data (--data-arg overrides
// them), or on the training split (--split train). For a model with
// decoders: with teacher forcing, and with greedy decoding. `--json` prints
// one object (docs: README, "rnnc evaluate").
import { extname } from 'node:path';
import type { LoweredModel } from '../../compiler/sema/model.js';
import { loadCheckpoint } from '../../runtime/checkpoint.js';
import type { Dataset, Example, FieldSpec, FieldValue } from '../../runtime/data/types.js';
import { Vocab } from '../../runtime/data/vocab.js';
import type { EvalResult } from '../../runtime/train/session.js';
import { startBackend } from '../backend-choice.js';
import { CliError, EXIT } from '../errors.js';
import { newSession } from '../new-session.js';
import { nodeIO } from '../node-io.js';
import { bindModel, declaredFields, greedyGraph, loadData, loadProgram, pickModel, teacherGraph, settingsFor } from '../project.js';
import { fieldsAsDeclared } from '../../runtime/data/batching.js';
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
  const config = settingsFor(program, name);
  // The data the checkpoint was trained on, with --data-arg on top (another file, another split).
  // (A text file given in order, `text("a.txt")`, is the checkpoint's positional argument.)
  const positional = (extra.data as { positional?: (number | string)[] }).positional ?? [];
  const otherPath = opts.dataArg?.['path'];
  if (otherPath === undefined && extra.data.args['path'] === undefined && positional.length === 0 && (extra.data.name === 'jsonl' || extra.data.name === 'csv' || extra.data.name === 'text')) {
    throw new CliError(`${opts.ckpt} was trained on examples held in memory (the TypeScript API), which it does not keep: give a file with --data-arg path=FILE`, EXIT.usage);
  }
  // Another file is evaluated whole (unless --data-arg split=... says otherwise), read by its extension's source.
  const other = typeof otherPath === 'string';
  const whole = other && opts.dataArg?.['split'] === undefined;
  const sourceName = other ? sourceByExtension(extra.data.name, otherPath) : extra.data.name;
  const baseArgs: Record<string, number | string> = { ...extra.data.args };
  if (sourceName !== extra.data.name) delete baseArgs['delimiter'];
  const dataSpec = { name: sourceName, args: { ...baseArgs, ...(whole ? { split: 1 } : {}), ...(opts.dataArg ?? {}) }, positional: other ? [] : positional, span: config.span };
  // Other data builds its own vocabulary: its token ids are re-read as the checkpoint's (the model's) ids.
  const model: LoweredModel = bindModel(program, name, extra.dims);
  const data = inCheckpointVocabs(fieldsAsDeclared(declaredFields(model), loadData(program, { ...config, data: dataSpec })), extra.vocabs, opts.ckpt);
  const split: Dataset = opts.split === 'train' || whole ? { ...data, valid: data.train } : data;
  info(`backend: ${await startBackend(opts.backend)}`);
  const session = newSession(model, config);
  try {
    session.restore(ckpt, opts.ckpt);
    const level = extra.level ?? 'char';
    const decoders = model.decoders.length > 0;
    const ev = await evaluate(session, split, config.batch, decoders ? teacherGraph(model) : undefined);
    const greedy = decoders ? await evaluate(session, split, config.batch, greedyGraph(program, model)) : undefined;
    const which = whole ? 'file' : opts.split === 'train' ? 'train' : split.valid.length > 0 ? 'validation' : 'train';
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ model: name, step: ckpt.step, split: which, examples: (split.valid.length > 0 ? split.valid : split.train).length, ...evalJson(ev, split, level), ...(greedy ? { greedy: evalJson(greedy, split, level) } : {}) })}\n`);
    } else {
      const relabel = (line: string): string => (whole ? line.replace(/^validation/, String(otherPath)) : opts.split === 'train' ? line.replace(/^validation/, 'training') : line);
      process.stdout.write(`${relabel(formatEval(ev, split, level, model, decoders ? 'teacher forcing' : undefined))}\n`);
      if (greedy) process.stdout.write(`${relabel(formatEval(greedy, split, level, model, 'greedy decoding'))}\n`);
    }
  } finally {
    session.dispose();
  }
  return EXIT.ok;
}

/**
 * The data with every token field that has names (characters, words,
 * labels) in the checkpoint's vocabulary: the ids of another file's own
 * vocabulary would read the wrong rows of the model's tables. A token the
 * model never saw is `<unk>` where its vocabulary has one, else an error
 * naming it.
 */
export function inCheckpointVocabs(data: Dataset, vocabs: CheckpointExtra['vocabs'] | undefined, ckpt: string): Dataset {
  if (!vocabs || !Array.isArray(vocabs.inputs) || !Array.isArray(vocabs.targets)) return data;
  const maps = (specs: readonly FieldSpec[], saved: readonly unknown[]): (Int32Array | undefined)[] =>
    specs.map((spec, k) => {
      const json = saved[k];
      if (!spec.vocab || json === null || json === undefined) return undefined;
      const model = Vocab.fromJSON(json);
      const same = model.size === spec.vocab.size && model.tokens.every((t, i) => spec.vocab!.token(i) === t);
      if (same) return undefined;
      const unseen = spec.vocab.tokens.filter((t) => !model.has(t));
      if (unseen.length > 0 && !model.tokens.includes('<unk>')) {
        throw new CliError(
          `the data's "${spec.name}" has ${unseen.length} token${unseen.length === 1 ? '' : 's'} the model never saw (${unseen.slice(0, 5).map((t) => JSON.stringify(t)).join(', ')}${unseen.length > 5 ? ', ...' : ''}) and its vocabulary in ${ckpt} has no <unk>`,
        );
      }
      return Int32Array.from(spec.vocab.tokens, (t) => model.id(t));
    });
  const inMaps = maps(data.inputs, vocabs.inputs);
  const outMaps = maps(data.targets, vocabs.targets);
  if ([...inMaps, ...outMaps].every((m) => m === undefined)) return data;
  const remap = (v: FieldValue, m: Int32Array | undefined): FieldValue =>
    m === undefined ? v : v.kind === 'tokens' ? { kind: 'tokens', ids: Int32Array.from(v.ids, (id) => m[id]!) } : v.kind === 'token' ? { kind: 'token', id: m[v.id]! } : v;
  const example = (e: Example): Example => ({ ...e, inputs: e.inputs.map((v, k) => remap(v, inMaps[k])), targets: e.targets.map((v, k) => remap(v, outMaps[k])) });
  const spec = (specs: readonly FieldSpec[], saved: readonly unknown[], m: readonly (Int32Array | undefined)[]): FieldSpec[] =>
    specs.map((f, k) => {
      if (m[k] === undefined) return f;
      const model = Vocab.fromJSON(saved[k]);
      return { ...f, vocab: model, type: f.type.kind === 'tokens' || f.type.kind === 'token' ? { ...f.type, vocab: model.size } : f.type };
    });
  return {
    ...data,
    inputs: spec(data.inputs, vocabs.inputs, inMaps),
    targets: spec(data.targets, vocabs.targets, outMaps),
    train: data.train.map(example),
    valid: data.valid.map(example),
  };
}

/** The file source that reads `path`: jsonl or csv by its extension, where the checkpoint's source was the other. */
function sourceByExtension(trained: string, path: string): string {
  const ext = extname(path).toLowerCase();
  if ((trained === 'jsonl' || trained === 'csv') && (ext === '.jsonl' || ext === '.csv')) return ext.slice(1);
  return trained;
}
