// `rnnc predict FILE --ckpt C --input F [--json]`: a trained model on new
// inputs, one result per input line, for every kind of model rnnc trains:
//   - a classifier (one token per example): the label (its name when the
//     data had names) and, with --json, the probability of each class;
//   - a regressor (one vector per example): the values;
//   - a tagger or a language model (a token per step): the most likely
//     token at each step (a language model's: the next token);
//   - a sequence regressor (a vector per step): the values at each step.
// Inputs: a text file with one input per line for a model that reads one
// token sequence (characters or words of its vocabulary), or JSON lines
// mapping each input's name to its value (a string or ids for token
// sequences, a number for a token, nested arrays of numbers for vectors,
// matrices and images). Batched with the train block's batch size; a
// progress bar on large files. Decoders that write outputs of their own
// length are `rnnc translate`'s.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import cliProgress from 'cli-progress';
import type { IoSpec, LoweredModel } from '../../compiler/sema/model.js';
import { loadCheckpoint } from '../../runtime/checkpoint.js';
import { makeBatches, type BatchSpecs } from '../../runtime/data/batching.js';
import { csvRows, csvValue } from '../../runtime/data/files.js';
import { decodeIds, encodeText } from '../../runtime/data/text.js';
import type { Example, FieldSpec, FieldValue } from '../../runtime/data/types.js';
import { Vocab } from '../../runtime/data/vocab.js';
import { startBackend } from '../backend-choice.js';
import { CliError, EXIT } from '../errors.js';
import { newSession } from '../new-session.js';
import { nodeIO, userError } from '../node-io.js';
import { bindModel, loadProgram, pickModel, trainConfigFor } from '../project.js';
import { info } from '../terminal.js';
import type { CheckpointExtra } from './run.js';

export interface PredictOptions {
  readonly ckpt: string;
  readonly input: string;
  readonly model?: string;
  readonly backend?: string;
  readonly json?: boolean;
}

/** A field's concrete sizes (the model's dims bound by the checkpoint). */
const sizesOf = (s: IoSpec): number[] => (s.type.kind === 'vectors' || s.type.kind === 'vector' ? s.type.dims.map((d) => d as number) : []);

export async function predictCommand(file: string, opts: PredictOptions): Promise<number> {
  const program = loadProgram(file, { quietWarnings: true });
  const name = pickModel(program, opts.model);
  const ckpt = loadCheckpoint(nodeIO, opts.ckpt);
  if (ckpt.model !== name) throw new CliError(`${opts.ckpt} is a checkpoint of model ${ckpt.model}, not ${name}`);
  const extra = ckpt.extra as Partial<CheckpointExtra> | undefined;
  if (!extra?.dims || !extra.vocabs) throw new CliError(`${opts.ckpt} was not written by \`rnnc run\` (it has no data dimensions)`);
  if (!Array.isArray(extra.vocabs.inputs) || !Array.isArray(extra.vocabs.targets)) {
    throw new CliError(`${opts.ckpt}: "extra.vocabs" must hold the lists "inputs" and "targets" (was the checkpoint edited?)`);
  }
  const model = bindModel(program, name, extra.dims);
  if (model.targetAxis !== undefined) throw new CliError(`model ${name} has a decoder that writes outputs of their own length: use rnnc translate`, EXIT.usage);
  const vocab = (json: unknown): Vocab | undefined => {
    if (json === null || json === undefined) return undefined;
    try {
      return Vocab.fromJSON(json);
    } catch (e) {
      throw new CliError(`${opts.ckpt}: a vocabulary of "extra.vocabs" is not one (${(e as Error).message})`);
    }
  };
  const inVocabs = model.inputs.map((_, k) => vocab(extra.vocabs!.inputs[k]));
  const target = model.targets.find((t) => t.name === model.lossTarget) ?? model.targets[0]!;
  const tgtVocab = vocab(extra.vocabs.targets[model.targets.indexOf(target)]);
  const level = extra.level ?? 'char';
  // Characters when every name but the specials (<unk>, <s>) is one character, else words separated by spaces.
  const levelOf = (v: Vocab | undefined): 'char' | 'word' => (v && !v.tokens.every((t) => /^<\/?\w+>$/.test(t) || [...t].length === 1) ? 'word' : level);

  let text: string;
  try {
    text = readFileSync(opts.input, 'utf8');
  } catch (e) {
    return userError(e, 'read --input', opts.input);
  }
  const ext = extname(opts.input).toLowerCase();
  if (ext === '.json') {
    throw new CliError(`${opts.input}: give inputs as JSON lines (.jsonl: one object per line), a .csv file with a header row, or text (one input per line)`, EXIT.usage);
  }
  // A model trained on jsonl or csv also reads its input under the data's key (`jsonl(x = "text")`: "text";
  // `csv(x = "rooms,age")`: those columns, as a vector).
  const dataArgs = (extra.data as { name?: string; args?: Record<string, unknown> } | undefined)?.args;
  const dataKey = typeof dataArgs?.['x'] === 'string' ? dataArgs['x'] : undefined;
  const aliases = model.inputs.map((s, k) => (k === 0 && model.inputs.length === 1 && dataKey !== undefined && dataKey !== s.name ? dataKey : undefined));
  // The inputs as lines (JSON objects for .jsonl and .csv), with where each is in the file.
  let lines: string[];
  let where: string[];
  const jsonl = ext === '.jsonl' || ext === '.csv';
  if (ext === '.csv') {
    let rows;
    try {
      rows = csvRows(opts.input, text, typeof dataArgs?.['delimiter'] === 'string' ? dataArgs['delimiter'] : ',');
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    const header = rows[0]!.record.map((h) => h.trim());
    const columns = dataKey?.split(',').map((c) => c.trim());
    lines = rows.slice(1).map(({ record }) => {
      const row: Record<string, unknown> = Object.create(null);
      header.forEach((h, k) => (row[h] = csvValue(record[k] ?? '')));
      // Several input columns: one vector under the data's key.
      if (columns && columns.length > 1 && columns.every((c) => header.includes(c))) row[dataKey!] = columns.map((c) => row[c]);
      return JSON.stringify(row);
    });
    where = rows.slice(1).map(({ info }) => `${opts.input}:${info.lines}`);
  } else {
    lines = text.split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    where = lines.map((_, i) => `${opts.input}:${i + 1}`);
  }
  if (lines.length === 0) throw new CliError(`${opts.input}: no inputs (${ext === '.csv' ? 'one per row after the header' : 'one per line'})`);
  const examples = lines.map((line, i) => exampleOf(model, inVocabs, inVocabs.map(levelOf), line, jsonl, where[i]!, aliases));

  info(`backend: ${await startBackend(opts.backend)}`);
  const config = trainConfigFor(program, name);
  const session = newSession(model, config);
  const bar = !opts.json && lines.length >= 1000 && process.stderr.isTTY ? new cliProgress.SingleBar({ stream: process.stderr, format: 'predict |{bar}| {value}/{total} inputs' }, cliProgress.Presets.shades_classic) : undefined;
  const out: string[] = [];
  try {
    session.restore(ckpt, opts.ckpt);
    const specs: BatchSpecs = {
      inputs: model.inputs.map((s) => ({ name: s.name, type: fieldType(s) })),
      targets: model.targets.map((s) => ({ name: s.name, type: fieldType(s) })),
    };
    bar?.start(lines.length, 0);
    let index = 0;
    for (const batch of makeBatches(examples, specs, config.batch, null)) {
      const { prediction, states } = session.forward(batch);
      states.forEach((t) => t.dispose());
      const data = prediction.dataSync();
      const shape = prediction.shape;
      prediction.dispose();
      for (let b = 0; b < batch.batchSize; b++) {
        const steps = model.lossPer === 'step' ? batch.lengths[b]! : 0;
        // In the JSON lines, an input is the text given, or the object of its .jsonl line.
        const input: unknown = jsonl ? JSON.parse(lines[index]!) : lines[index]!;
        out.push(formatResult(model, tgtVocab, levelOf(tgtVocab), data, shape, b, steps, input, opts.json ?? false));
        index++;
      }
      bar?.update(index);
    }
  } finally {
    bar?.stop();
    session.dispose();
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return EXIT.ok;
}

function fieldType(s: IoSpec): FieldSpec['type'] {
  const t = s.type;
  if (t.kind === 'tokens' || t.kind === 'token') return { kind: t.kind, vocab: t.vocab as number };
  return { kind: t.kind, dims: sizesOf(s) };
}

/** One input line as an example (targets: placeholders of the right kind, never read by the prediction). */
function exampleOf(
  model: LoweredModel,
  vocabs: readonly (Vocab | undefined)[],
  levels: readonly ('char' | 'word')[],
  line: string,
  jsonl: boolean,
  where: string,
  aliases: readonly (string | undefined)[],
): Example {
  let values: Record<string, unknown>;
  if (jsonl) {
    try {
      values = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new CliError(`${where}: not a JSON object`);
    }
    if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new CliError(`${where}: not a JSON object mapping input names to values`);
  } else {
    if (model.inputs.length !== 1 || model.inputs[0]!.type.kind !== 'tokens' || vocabs[0] === undefined) {
      throw new CliError(`${where}: model ${model.name} reads ${model.inputs.map((s) => `\`${s.name}\``).join(', ')}, not one text: give --input a .jsonl file with one {${model.inputs.map((s) => `"${s.name}": ...`).join(', ')}} per line`, EXIT.usage);
    }
    values = { [model.inputs[0]!.name]: line };
  }
  const inputs = model.inputs.map((s, k) => {
    const alias = aliases[k];
    const key = alias !== undefined && !Object.hasOwn(values, s.name) ? alias : s.name;
    if (!Object.hasOwn(values, key)) throw new CliError(`${where}: "${s.name}"${alias !== undefined ? ` (or "${alias}", its key in the training data)` : ''} is missing`);
    return fieldOf(s, values[key], vocabs[k], levels[k]!, `${where}: "${key}"`);
  });
  const steps = inputs.reduce((n, v) => (v.kind === 'tokens' ? v.ids.length : v.kind === 'vectors' ? v.steps : n), 1);
  const targets = model.targets.map((s): FieldValue => {
    const t = s.type;
    if (t.kind === 'tokens') return { kind: 'tokens', ids: new Int32Array(steps) };
    if (t.kind === 'token') return { kind: 'token', id: 0 };
    const width = sizesOf(s).reduce((a, b) => a * b, 1);
    return t.kind === 'vectors' ? { kind: 'vectors', data: new Float32Array(steps * width), steps } : { kind: 'vector', data: new Float32Array(width) };
  });
  return { inputs, targets };
}

function fieldOf(s: IoSpec, v: unknown, vocab: Vocab | undefined, level: 'char' | 'word', where: string): FieldValue {
  const t = s.type;
  if (v === undefined) throw new CliError(`${where} is missing`);
  const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : typeof x === 'number' && Number.isFinite(x) ? [x] : [Number.NaN]);
  if (t.kind === 'tokens') {
    let ids: Int32Array;
    if (typeof v === 'string') {
      if (!vocab) throw new CliError(`${where}: this model's tokens have no names; give ids (an array of whole numbers)`);
      try {
        ids = encodeText(vocab, v, level);
      } catch (e) {
        throw new CliError(`${where}: ${(e as Error).message}`);
      }
    } else if (Array.isArray(v) && v.every((x) => Number.isInteger(x))) ids = Int32Array.from(v as number[]);
    else throw new CliError(`${where}: expected a string or an array of token ids`);
    if (ids.length === 0) throw new CliError(`${where}: an empty sequence`);
    const V = t.vocab as number;
    const bad = ids.findIndex((id) => id < 0 || id >= V);
    if (bad >= 0) throw new CliError(`${where}: token id ${ids[bad]} (position ${bad}) is outside [0, ${V})`);
    return { kind: 'tokens', ids };
  }
  if (t.kind === 'token') {
    const id = typeof v === 'string' && vocab ? vocab.id(v) : v;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= (t.vocab as number)) throw new CliError(`${where}: expected a token id in [0, ${t.vocab as number})${vocab ? ' or a token name' : ''}`);
    return { kind: 'token', id };
  }
  const width = sizesOf(s).reduce((a, b) => a * b, 1);
  if (t.kind === 'vectors') {
    if (!Array.isArray(v) || v.length === 0) throw new CliError(`${where}: expected a sequence: an array of ${width}-number steps`);
    const data = Float32Array.from(flat(v));
    if (data.length !== v.length * width || data.some((x) => Number.isNaN(x))) throw new CliError(`${where}: expected ${v.length} steps of ${width} numbers each`);
    return { kind: 'vectors', data, steps: v.length };
  }
  const data = Float32Array.from(flat(v));
  if (data.length !== width || data.some((x) => Number.isNaN(x))) throw new CliError(`${where}: expected ${width} numbers ([${sizesOf(s).join(', ')}]), got ${data.length}`);
  return { kind: 'vector', data };
}

/** One input's result: text, or a JSON line. */
function formatResult(model: LoweredModel, vocab: Vocab | undefined, level: 'char' | 'word', data: ArrayLike<number>, shape: readonly number[], b: number, steps: number, input: unknown, json: boolean): string {
  const classes = model.loss === 'cross_entropy';
  const name = (id: number): string => (vocab ? vocab.token(id) : String(id));
  if (model.lossPer === 'example') {
    const K = shape[1]!;
    const row = Array.from({ length: K }, (_, k) => data[b * K + k]!);
    if (!classes) return json ? JSON.stringify({ input, values: row }) : row.map((x) => x.toPrecision(6)).join(' ');
    const p = softmax(row);
    const best = p.indexOf(Math.max(...p));
    return json ? JSON.stringify({ input, label: name(best), id: best, probs: p }) : name(best);
  }
  const [, B, K] = shape as [number, number, number];
  const rows = Array.from({ length: steps }, (_, t) => Array.from({ length: K }, (_, k) => data[(t * B + b) * K + k]!));
  if (!classes) return json ? JSON.stringify({ input, values: rows }) : rows.map((r) => r.map((x) => x.toPrecision(6)).join(' ')).join(' ; ');
  const ids = rows.map((r) => r.indexOf(Math.max(...r)));
  const tokens = ids.map(name);
  const text = vocab ? (level === 'char' ? decodeIds(vocab, ids, 'char') : tokens.join(' ')) : ids.join(' ');
  return json ? JSON.stringify({ input, tokens, ids }) : text;
}

function softmax(row: readonly number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((x) => Math.exp(x - m));
  const s = e.reduce((a, c) => a + c, 0);
  return e.map((x) => x / s);
}

