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
import { loadCheckpoint } from '../../runtime/checkpoint.js';
import { csvRows, csvValue, textColumns } from '../../runtime/data/files.js';
import { startBackend } from '../backend-choice.js';
import { CliError, EXIT } from '../errors.js';
import { newSession } from '../new-session.js';
import { nodeIO, userError } from '../node-io.js';
import { bindModel, loadProgram, pickModel, settingsFor } from '../project.js';
import { exampleOf, predictExamples, readerFor } from '../predictions.js';
import { info } from '../terminal.js';
import type { CheckpointExtra } from './run.js';

export interface PredictOptions {
  readonly ckpt: string;
  readonly input: string;
  readonly model?: string;
  readonly backend?: string;
  readonly json?: boolean;
}

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
  const reader = readerFor(model, extra, opts.ckpt);

  let text: string;
  try {
    text = readFileSync(opts.input === '-' ? 0 : opts.input, 'utf8');
  } catch (e) {
    return userError(e, 'read --input', opts.input);
  }
  const ext = extname(opts.input).toLowerCase();
  if (ext === '.json') {
    throw new CliError(`${opts.input}: give inputs as JSON lines (.jsonl: one object per line), a .csv file with a header row, or text (one input per line)`, EXIT.usage);
  }
  // The inputs as lines (JSON objects for .jsonl and .csv), with where each is in the file.
  let lines: string[];
  let where: string[];
  const jsonl = ext === '.jsonl' || ext === '.csv';
  if (ext === '.csv') {
    const dataArgs = (extra.data as { args?: Record<string, unknown> } | undefined)?.args;
    let rows;
    try {
      rows = csvRows(opts.input, text, typeof dataArgs?.['delimiter'] === 'string' ? dataArgs['delimiter'] : ',');
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    const header = rows[0]!.record.map((h) => h.trim());
    const textual = textColumns(rows);
    // A model that reads one text reads its cells as text, digits or not.
    const asText = reader.model.inputs.length === 1 && reader.model.inputs[0]!.type.kind === 'tokens';
    // A model trained on csv(x = "rooms,age") reads those columns as one vector, under the data's key.
    const dataKey = reader.aliases[0];
    const columns = dataKey?.split(',').map((c) => c.trim());
    lines = rows.slice(1).map(({ record }) => {
      const row: Record<string, unknown> = Object.create(null);
      header.forEach((h, k) => (row[h] = textual.has(k) || asText ? (record[k] ?? '') : csvValue(record[k] ?? '')));
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
  const examples = lines.map((line, i) => exampleOf(reader, line, jsonl, where[i]!));

  info(`backend: ${await startBackend(opts.backend)}`);
  const config = settingsFor(program, name);
  const session = newSession(model, config);
  const bar = !opts.json && lines.length >= 1000 && process.stderr.isTTY ? new cliProgress.SingleBar({ stream: process.stderr, format: 'predict |{bar}| {value}/{total} inputs' }, cliProgress.Presets.shades_classic) : undefined;
  let out: string[];
  try {
    session.restore(ckpt, opts.ckpt);
    bar?.start(lines.length, 0);
    const predictions = await predictExamples(session, reader, examples, config.batch, (done) => bar?.update(done));
    // In the JSON lines, an input is the text given, or the object of its .jsonl line.
    out = predictions.map((p, i) => (opts.json ? JSON.stringify({ input: jsonl ? (JSON.parse(lines[i]!) as unknown) : lines[i]!, ...p.json }) : p.text));
  } finally {
    bar?.stop();
    session.dispose();
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return EXIT.ok;
}

