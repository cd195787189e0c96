// What `rnnc predict` and the API's Model.predict share (src/commands/predict.ts,
// src/api/model.ts): new inputs as examples of a trained model, checked
// against its declaration and read in its checkpoint's vocabularies, and
// each result as the data `rnnc predict --json` prints (and its text form).
import type { IoSpec, LoweredModel } from '../compiler/sema/model.js';
import { makeBatches, type BatchSpecs } from '../runtime/data/batching.js';
import { decodeIds, encodeText } from '../runtime/data/text.js';
import type { Example, FieldSpec, FieldValue } from '../runtime/data/types.js';
import { Vocab } from '../runtime/data/vocab.js';
import type { TrainingSession } from '../runtime/train/session.js';
import type { CheckpointExtra } from './commands/run.js';
import { CliError, EXIT } from './errors.js';

/** A field's concrete sizes (the model's dims bound by the checkpoint). */
const sizesOf = (s: IoSpec): number[] => (s.type.kind === 'vectors' || s.type.kind === 'vector' ? s.type.dims.map((d) => d as number) : []);

/** How a trained model reads inputs and names its outputs: the vocabularies of its checkpoint. */
export interface Reader {
  readonly model: LoweredModel;
  readonly inVocabs: readonly (Vocab | undefined)[];
  readonly inLevels: readonly ('char' | 'word')[];
  readonly tgtVocab: Vocab | undefined;
  readonly tgtLevel: 'char' | 'word';
  /**
   * Another key each input may be given under: the training data's (`jsonl(x = "text")`: "text"; `csv(x =
   * "rooms,age")`: "rooms,age"), for a model with one input trained on jsonl or csv.
   */
  readonly aliases: readonly (string | undefined)[];
}

/** The reader of a model bound to a checkpoint's sizes, from the checkpoint's vocabularies (`ckpt` names it in messages). */
export function readerFor(model: LoweredModel, extra: Partial<CheckpointExtra>, ckpt: string): Reader {
  const vocabs = extra.vocabs;
  if (!vocabs || !Array.isArray(vocabs.inputs) || !Array.isArray(vocabs.targets)) {
    throw new CliError(`${ckpt}: "extra.vocabs" must hold the lists "inputs" and "targets" (was the checkpoint edited?)`);
  }
  const vocab = (json: unknown): Vocab | undefined => {
    if (json === null || json === undefined) return undefined;
    try {
      return Vocab.fromJSON(json);
    } catch (e) {
      throw new CliError(`${ckpt}: a vocabulary of "extra.vocabs" is not one (${(e as Error).message})`);
    }
  };
  const inVocabs = model.inputs.map((_, k) => vocab(vocabs.inputs[k]));
  const target = model.targets.find((t) => t.name === model.lossTarget) ?? model.targets[0]!;
  const tgtVocab = vocab(vocabs.targets[model.targets.indexOf(target)]);
  const level = extra.level ?? 'char';
  // Characters when every name but the specials (<unk>, <s>) is one character, else words separated by spaces.
  const levelOf = (v: Vocab | undefined): 'char' | 'word' => (v && !v.tokens.every((t) => /^<\/?\w+>$/.test(t) || [...t].length === 1) ? 'word' : level);
  const dataKey = (extra.data as { args?: Record<string, unknown> } | undefined)?.args?.['x'];
  const aliases = model.inputs.map((s) => (model.inputs.length === 1 && typeof dataKey === 'string' && dataKey !== s.name ? dataKey : undefined));
  return { model, inVocabs, inLevels: inVocabs.map(levelOf), tgtVocab, tgtLevel: levelOf(tgtVocab), aliases };
}

/** One prediction: the fields of a line of `rnnc predict --json` (without "input"), and its line of text. */
export interface Prediction {
  readonly json: Record<string, unknown>;
  readonly text: string;
}

/** Runs the model forward over the examples in batches of `batchSize`; `onBatch` hears how many are done. */
export async function predictExamples(session: TrainingSession, reader: Reader, examples: readonly Example[], batchSize: number, onBatch?: (done: number) => void): Promise<Prediction[]> {
  const { model } = reader;
  const specs: BatchSpecs = {
    inputs: model.inputs.map((s) => ({ name: s.name, type: fieldType(s) })),
    targets: model.targets.map((s) => ({ name: s.name, type: fieldType(s) })),
  };
  const out: Prediction[] = [];
  for (const batch of makeBatches([...examples], specs, batchSize, null)) {
    const { prediction, states } = session.forward(batch);
    states.forEach((t) => t.dispose());
    const data = await prediction.data();
    const shape = prediction.shape;
    prediction.dispose();
    for (let b = 0; b < batch.batchSize; b++) {
      const steps = model.lossPer === 'step' ? batch.lengths[b]! : 0;
      out.push(predictionOf(reader, data, shape, b, steps));
    }
    onBatch?.(out.length);
  }
  return out;
}

export function fieldType(s: IoSpec): FieldSpec['type'] {
  const t = s.type;
  if (t.kind === 'tokens' || t.kind === 'token') return { kind: t.kind, vocab: t.vocab as number };
  return { kind: t.kind, dims: sizesOf(s) };
}

/** One input as an example (targets: placeholders of the right kind, never read by the prediction). */
export function exampleOf(reader: Reader, line: string, jsonl: boolean, where: string): Example {
  const { model, inVocabs: vocabs, inLevels: levels } = reader;
  return exampleFrom(model, vocabs, levels, parseInput(model, vocabs, line, jsonl, where), where, reader.aliases);
}

/** The values of one input line: its JSON object, or the text for a model that reads one token sequence. */
function parseInput(model: LoweredModel, vocabs: readonly (Vocab | undefined)[], line: string, jsonl: boolean, where: string): Record<string, unknown> {
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
  return values;
}

/** An example from the values of a model's inputs by name (targets: placeholders of the right kind, never read by the prediction). */
export function exampleFrom(
  model: LoweredModel,
  vocabs: readonly (Vocab | undefined)[],
  levels: readonly ('char' | 'word')[],
  values: Record<string, unknown>,
  where: string,
  aliases: readonly (string | undefined)[] = [],
): Example {
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
  // The first value that is no finite number, as written (a string, null, 1e400 read as Infinity).
  const notNumber = (x: unknown): string | undefined => {
    if (Array.isArray(x)) {
      for (const y of x) {
        const bad = notNumber(y);
        if (bad !== undefined) return bad;
      }
      return undefined;
    }
    if (typeof x === 'number') return Number.isFinite(x) ? undefined : 'a number too large (read as Infinity)';
    return `${JSON.stringify(x) ?? String(x)}, not a number`;
  };
  const bad = t.kind === 'vectors' || t.kind === 'vector' ? notNumber(v) : undefined;
  if (bad !== undefined) throw new CliError(`${where}: holds ${bad}; expected numbers only`);
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

/** One example's result (`b` of the batch's output `data` of `shape`; `steps`: its real length for per-step outputs). */
function predictionOf(reader: Reader, data: ArrayLike<number>, shape: readonly number[], b: number, steps: number): Prediction {
  const { model, tgtVocab: vocab, tgtLevel: level } = reader;
  const classes = model.loss === 'cross_entropy';
  const name = (id: number): string => (vocab ? vocab.token(id) : String(id));
  if (model.lossPer === 'example') {
    const K = shape[1]!;
    const row = Array.from({ length: K }, (_, k) => data[b * K + k]!);
    if (!classes) return { json: { values: row }, text: row.map((x) => x.toPrecision(6)).join(' ') };
    const p = softmax(row);
    const best = p.indexOf(Math.max(...p));
    return { json: { label: name(best), id: best, probs: p }, text: name(best) };
  }
  const [, B, K] = shape as [number, number, number];
  const rows = Array.from({ length: steps }, (_, t) => Array.from({ length: K }, (_, k) => data[(t * B + b) * K + k]!));
  if (!classes) return { json: { values: rows }, text: rows.map((r) => r.map((x) => x.toPrecision(6)).join(' ')).join(' ; ') };
  const ids = rows.map((r) => r.indexOf(Math.max(...r)));
  const tokens = ids.map(name);
  const text = vocab ? (level === 'char' ? decodeIds(vocab, ids, 'char') : tokens.join(' ')) : ids.join(' ');
  // The probability the model gives each chosen token (the whole distributions would be steps x K numbers).
  const prob = rows.map((r, t) => softmax(r)[ids[t]!]!);
  return { json: { tokens, ids, prob }, text };
}

function softmax(row: readonly number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((x) => Math.exp(x - m));
  const s = e.reduce((a, c) => a + c, 0);
  return e.map((x) => x / s);
}

