// Data handed to the API: examples held in memory, read exactly as the
// `jsonl` data source reads the lines of a file (runtime/data/files.ts), or
// a data source named as in a train block (runtime/data/registry.ts).
import type { TrainConfig } from '../../compiler/sema/train.js';
import { syntheticSpan } from '../../compiler/diagnostics/span.js';
import { jsonlText } from '../../runtime/data/files.js';
import type { Dataset } from '../../runtime/data/types.js';
import { RuntimeUserError } from '../../runtime/io.js';
import { loadData, type LoadedProgram } from '../project.js';
import { RnncError } from './errors.js';

/**
 * One value of an example, as a line of a `jsonl` data file holds it: a
 * string (a sequence of characters), an integer (a class), another number
 * (a regression target), an array of integers (token ids; with other
 * numbers: a vector) or an array of arrays of numbers (a sequence of
 * vectors).
 */
export type Value = string | number | readonly number[] | readonly (readonly number[])[];

/** A training or evaluation example: the model's input `x` and its target `y` (a model with one input and one target). */
export interface Example {
  /** The input. */
  readonly x: Value;
  /** The target. */
  readonly y: Value;
}

/** A data source as a train block names it, e.g. `{ source: 'brown_chars', args: { seq_len: 100 } }`; paths are relative to the program's `file`. */
export interface DataSource {
  /** The source's name (docs/language.md lists them: `brown_chars`, `jsonl`, `adding`, ...). */
  readonly source: string;
  /** Its arguments by name. */
  readonly args?: Readonly<Record<string, number | string>>;
}

/** What `fit` and `evaluate` read: examples in memory, or a data source. */
export type Data = readonly Example[] | DataSource;

/** The data spec checkpoints record for examples given in memory: the jsonl source, without a path (`rnnc evaluate --data-arg path=...` names one). */
export const IN_MEMORY = { name: 'jsonl', args: {} } as const;

/**
 * Examples as a dataset: `train` for training, and `valid` for validation;
 * one vocabulary over both, as one jsonl file of both would have. Messages
 * name an example as `train[i]` or `validation[i]`.
 */
export function examplesDataset(train: readonly Example[], valid: readonly Example[]): Dataset {
  if (!Array.isArray(train) || train.length === 0) throw new RnncError('no examples: give an array of at least one { x, y } object');
  if (!Array.isArray(valid)) throw new RnncError('the validation examples must be an array of { x, y } objects');
  const lines = [...train, ...valid].map((e, i) => {
    try {
      return JSON.stringify(e) ?? 'undefined';
    } catch (err) {
      throw new RnncError(`${nameOf(i, train.length)}: not JSON data (${(err as Error).message})`);
    }
  });
  let data: Dataset;
  try {
    data = jsonlText('examples', lines.join('\n'), { split: 1 });
  } catch (e) {
    if (!(e instanceof RuntimeUserError)) throw e;
    // "examples:LINE: ..." -> the example's index in the array it came from.
    throw new RnncError(e.message.replace(/^examples:(\d+):/, (_, line: string) => `${nameOf(Number(line) - 1, train.length)}:`).replace(/ on line (\d+)/g, (_, line: string) => ` in ${nameOf(Number(line) - 1, train.length)}`));
  }
  return { ...data, train: data.train.slice(0, train.length), valid: data.train.slice(train.length), description: `${train.length} training and ${valid.length} validation examples` };
}

const nameOf = (i: number, trainCount: number): string => (i < trainCount ? `train[${i}]` : `validation[${i - trainCount}]`);

/** A data source by name, loaded as `rnnc run` loads a train block's. */
export function sourceDataset(program: LoadedProgram, config: TrainConfig, data: DataSource): Dataset {
  if (typeof data.source !== 'string') throw new RnncError('a data source is { source: NAME, args: { ... } }, e.g. { source: "brown_chars", args: { seq_len: 100 } }');
  return loadData(program, { ...config, data: { name: data.source, args: { ...(data.args ?? {}) }, positional: [], span: config.span ?? syntheticSpan() } });
}

/** True for a data source (rather than an array of examples). */
export const isSource = (data: Data): data is DataSource => !Array.isArray(data);
