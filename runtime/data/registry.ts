// The data sources a program can name (`data = brown_chars(seq_len = 100)`),
// as one table: each entry lists its arguments with kind, default and a
// line of help, and a loader that receives the checked, defaulted values.
// Unknown sources, unknown arguments and ill-typed values are user errors
// that list what is valid. Argument values arrive as written in the program:
// numbers, or strings for names (`level = char` -> 'char') and file paths
// (already resolved by the caller).
import type { FileIO } from '../io.js';
import { RuntimeUserError } from '../io.js';
import type { Rng } from '../rng.js';
import { brownChars, brownPos, brownWords, type BrownOptions } from './brown.js';
import { csvFile, jsonlFile, textFile } from './files.js';
import { mnistImages, mnistRows, mnistStrips } from './mnist.js';
import { addingProblem, datesTask, melodies, sineWaves, symbolTask } from './synthetic.js';
import type { Dataset } from './types.js';

export type ArgValue = number | string;

export interface ParamInfo {
  name: string;
  /** 'int' and 'number' take numbers; 'bool' takes 0/1 or true/false; 'choice' one of `choices`; 'string' any text. */
  kind: 'int' | 'number' | 'bool' | 'choice' | 'string';
  /** Undefined: the argument is required. */
  default?: ArgValue;
  choices?: readonly string[];
  /** Smallest allowed value for numbers. */
  min?: number;
  /** Largest allowed value for numbers. */
  max?: number;
  doc: string;
}

export interface DataSourceInfo {
  name: string;
  doc: string;
  params: readonly ParamInfo[];
}

/** Checked arguments as the loaders see them. */
class Args {
  constructor(private readonly values: ReadonlyMap<string, ArgValue>) {}
  num(name: string): number {
    return this.values.get(name) as number;
  }
  /** An optional count where 0 means "no limit". */
  limit(name: string): number | undefined {
    const v = this.num(name);
    return v === 0 ? undefined : v;
  }
  str(name: string): string {
    return this.values.get(name) as string;
  }
  bool(name: string): boolean {
    return this.values.get(name) === 1;
  }
  brown(): BrownOptions {
    const cats = this.str('categories')
      .split(/[\s,]+/)
      .filter((c) => c.length > 0);
    return { maxFiles: this.limit('max_files'), categories: cats.length > 0 ? cats : undefined };
  }
}

interface SourceEntry extends DataSourceInfo {
  load(args: Args, io: FileIO, rng: Rng): Dataset;
  /** Checks between arguments (one must not exceed another): a message, or undefined when they agree. Loads nothing. */
  check?(args: Args): string | undefined;
}

const split: ParamInfo = { name: 'split', kind: 'number', default: 0.9, min: 0, doc: 'training share, in (0, 1]; the rest validates' };
const brownCommon: ParamInfo[] = [
  { name: 'max_files', kind: 'int', default: 0, min: 0, doc: 'read only the first N corpus files (0: all 500)' },
  { name: 'categories', kind: 'string', default: '', doc: 'genres, e.g. "news,fiction" or "a,k" (empty: all)' },
];

const SOURCES: readonly SourceEntry[] = [
  {
    name: 'brown_chars',
    doc: 'Brown corpus as plain text: next-character language model',
    params: [
      { name: 'seq_len', kind: 'int', default: 100, min: 1, doc: 'characters per example' },
      split,
      { name: 'max_chars', kind: 'int', default: 0, min: 0, doc: 'use only the first N characters (0: all, about 6M)' },
      ...brownCommon,
    ],
    load: (a, io) =>
      brownChars(io, { ...a.brown(), seqLen: a.num('seq_len'), split: a.num('split'), maxChars: a.limit('max_chars') }),
  },
  {
    name: 'brown_words',
    doc: 'Brown corpus tokens: next-word language model, <eos> after each sentence',
    params: [
      { name: 'seq_len', kind: 'int', default: 35, min: 1, doc: 'words per example' },
      split,
      { name: 'max_vocab', kind: 'int', default: 10000, min: 0, doc: 'most frequent words kept, the rest are <unk> (0: all)' },
      { name: 'lowercase', kind: 'bool', default: 1, doc: 'lowercase every word' },
      ...brownCommon,
    ],
    load: (a, io) =>
      brownWords(io, {
        ...a.brown(),
        seqLen: a.num('seq_len'),
        split: a.num('split'),
        maxVocab: a.num('max_vocab'),
        lowercase: a.bool('lowercase'),
      }),
  },
  {
    name: 'brown_pos',
    doc: 'Brown corpus part-of-speech tagging: words -> tags, one sentence per example',
    params: [
      split,
      { name: 'max_sentences', kind: 'int', default: 0, min: 0, doc: 'use only the first N sentences (0: all 57,340)' },
      { name: 'max_len', kind: 'int', default: 0, min: 0, doc: 'leave out sentences longer than N words (0: keep all)' },
      { name: 'tags', kind: 'choice', default: 'full', choices: ['full', 'simple'], doc: 'full: 472 corpus tags; simple: 81 coarse tags' },
      { name: 'max_vocab', kind: 'int', default: 10000, min: 0, doc: 'most frequent words kept, the rest are <unk> (0: all)' },
      { name: 'lowercase', kind: 'bool', default: 0, doc: 'lowercase the input words' },
      ...brownCommon,
    ],
    load: (a, io) =>
      brownPos(io, {
        ...a.brown(),
        split: a.num('split'),
        maxSentences: a.limit('max_sentences'),
        maxLen: a.limit('max_len'),
        tags: a.str('tags') as 'full' | 'simple',
        maxVocab: a.num('max_vocab'),
        lowercase: a.bool('lowercase'),
      }),
  },
  {
    name: 'mnist_rows',
    doc: 'MNIST digits read row by row: 28 steps of 28 pixels -> digit class',
    params: [split, { name: 'n', kind: 'int', default: 10000, min: 1, doc: 'digits used (at most 10000)' }],
    load: (a, io) => mnistRows(io, { split: a.num('split'), n: a.num('n') }),
  },
  {
    name: 'mnist',
    doc: 'MNIST digits as images [28, 28, 1] -> digit class (for convolutional classifiers)',
    params: [split, { name: 'n', kind: 'int', default: 10000, min: 1, max: 10000, doc: 'digits used (at most 10000)' }],
    load: (a, io) => mnistImages(io, { split: a.num('split'), n: a.num('n') }),
  },
  {
    name: 'mnist_strips',
    doc: 'a few MNIST digits side by side in one image -> their digits, then </s> (visual attention: a caption of its own length)',
    params: [
      { name: 'digits', kind: 'int', default: 3, min: 1, max: 8, doc: 'the most digits a strip holds (its width is 28 x digits)' },
      { name: 'min_digits', kind: 'int', default: 1, min: 1, doc: 'the fewest digits a strip holds' },
      { name: 'n', kind: 'int', default: 10000, min: 1, doc: 'training strips' },
      { name: 'valid', kind: 'int', default: 1000, min: 0, doc: 'validation strips (of digits never used in training)' },
      { name: 'coords', kind: 'bool', default: 0, doc: "add a second channel holding each pixel's column, 0 at the left to 1 at the right" },
    ],
    check: (a) => (a.num('min_digits') > a.num('digits') ? `min_digits (${a.num('min_digits')}) must be at most digits (${a.num('digits')})` : undefined),
    load: (a, io, rng) => mnistStrips(io, rng, { digits: a.num('digits'), minDigits: a.num('min_digits'), n: a.num('n'), valid: a.num('valid'), coords: a.bool('coords') }),
  },
  {
    name: 'adding',
    doc: 'the adding problem: sum the two marked values of a long sequence (regression)',
    params: [
      { name: 'T', kind: 'int', default: 50, min: 2, doc: 'sequence length' },
      { name: 'n', kind: 'int', default: 10000, min: 1, doc: 'training examples' },
      { name: 'valid', kind: 'int', default: 1000, min: 0, doc: 'validation examples' },
    ],
    load: (a, _io, rng) => addingProblem(rng, { T: a.num('T'), n: a.num('n'), valid: a.num('valid') }),
  },
  {
    name: 'sine',
    doc: 'sine waves of random period, amplitude and phase: predict the next value',
    params: [
      { name: 'T', kind: 'int', default: 50, min: 1, doc: 'sequence length' },
      { name: 'n', kind: 'int', default: 2000, min: 1, doc: 'training series' },
      { name: 'valid', kind: 'int', default: 200, min: 0, doc: 'validation series' },
      { name: 'noise', kind: 'number', default: 0, min: 0, doc: 'standard deviation of added Gaussian noise' },
    ],
    load: (a, _io, rng) => sineWaves(rng, { T: a.num('T'), n: a.num('n'), valid: a.num('valid'), noise: a.num('noise') }),
  },
  // `reverse` is a keyword of the language: the sources are named after the tasks' nouns.
  ...(['reverse', 'sort'] as const).map((task) => ({
    name: task === 'reverse' ? 'reversal' : 'sorting',
    doc: `random symbol sequences and the same symbols ${task === 'reverse' ? 'reversed' : 'sorted'} (an encoder-decoder task; id 0 is the start token <s>)`,
    params: [
      { name: 'symbols', kind: 'int' as const, default: 10, min: 2, doc: 'distinct symbols (ids 1..symbols)' },
      { name: 'min_len', kind: 'int' as const, default: 3, min: 1, doc: 'shortest sequence' },
      { name: 'max_len', kind: 'int' as const, default: 12, min: 1, doc: 'longest sequence' },
      { name: 'n', kind: 'int' as const, default: 10000, min: 1, doc: 'training examples' },
      { name: 'valid', kind: 'int' as const, default: 1000, min: 0, doc: 'validation examples' },
    ],
    load: (a: Args, _io: FileIO, rng: Rng) =>
      symbolTask(rng, task, { symbols: a.num('symbols'), minLen: a.num('min_len'), maxLen: a.num('max_len'), n: a.num('n'), valid: a.num('valid') }),
  })),
  {
    name: 'dates',
    doc: 'human-written dates ("the 3rd of march 1998", "03/03/98", ...) -> ISO 8601 "1998-03-03" then </s>: targets of their own length',
    params: [
      { name: 'n', kind: 'int', default: 10000, min: 1, doc: 'training examples' },
      { name: 'valid', kind: 'int', default: 1000, min: 0, doc: 'validation examples' },
    ],
    load: (a, _io, rng) => datesTask(rng, { n: a.num('n'), valid: a.num('valid') }),
  },
  {
    name: 'melodies',
    doc: 'melodies in random keys: a few notes (the prime) -> the next notes then </s> (a generator to sample from)',
    params: [
      { name: 'n', kind: 'int', default: 5000, min: 1, doc: 'training melodies' },
      { name: 'valid', kind: 'int', default: 500, min: 0, doc: 'validation melodies' },
      { name: 'prime', kind: 'int', default: 4, min: 1, doc: 'notes given' },
      { name: 'length', kind: 'int', default: 12, min: 1, doc: 'notes to continue with' },
    ],
    load: (a, _io, rng) => melodies(rng, { n: a.num('n'), valid: a.num('valid'), prime: a.num('prime'), length: a.num('length') }),
  },
  {
    name: 'text',
    doc: 'a plain text file as a character- or word-level language model',
    params: [
      { name: 'path', kind: 'string', doc: 'the text file' },
      { name: 'level', kind: 'choice', default: 'char', choices: ['char', 'word'], doc: 'characters or whitespace-separated words' },
      { name: 'seq_len', kind: 'int', default: 100, min: 1, doc: 'tokens per example' },
      split,
      { name: 'max_vocab', kind: 'int', default: 0, min: 0, doc: 'most frequent tokens kept, the rest are <unk> (0: all)' },
    ],
    load: (a, io) =>
      textFile(io, a.str('path'), {
        level: a.str('level') as 'char' | 'word',
        seqLen: a.num('seq_len'),
        split: a.num('split'),
        maxVocab: a.limit('max_vocab'),
      }),
  },
  {
    name: 'jsonl',
    doc: 'JSON lines {"x": ..., "y": ...}; field types inferred from the values',
    params: [
      { name: 'path', kind: 'string', doc: 'the .jsonl file' },
      split,
      { name: 'x', kind: 'string', default: 'x', doc: 'the key of the input in each object' },
      { name: 'y', kind: 'string', default: 'y', doc: 'the key of the target in each object' },
    ],
    load: (a, io) => jsonlFile(io, a.str('path'), { split: a.num('split'), x: a.str('x'), y: a.str('y') }),
  },
  {
    name: 'csv',
    doc: 'a CSV file with a header row: the input and target columns by name; numbers or text, inferred as for jsonl',
    params: [
      { name: 'path', kind: 'string', doc: 'the .csv file' },
      { name: 'x', kind: 'string', doc: 'the input column (several, separated by commas: a vector of their numbers)' },
      { name: 'y', kind: 'string', doc: 'the target column' },
      split,
      { name: 'delimiter', kind: 'string', default: ',', doc: 'the field separator' },
    ],
    load: (a, io) => csvFile(io, a.str('path'), { split: a.num('split'), x: a.str('x'), y: a.str('y'), delimiter: a.str('delimiter') }),
  },
];

/** The sources and their arguments, for help text and completion. */
export const DATA_SOURCES: readonly DataSourceInfo[] = SOURCES.map(({ name, doc, params }) => ({ name, doc, params }));

function signature(s: DataSourceInfo): string {
  const ps = s.params.map((p) => (p.default === undefined ? p.name : `${p.name}=${p.default === '' ? '""' : p.default}`));
  return `${s.name}(${ps.join(', ')})`;
}

function checkArg(source: string, p: ParamInfo, v: ArgValue): ArgValue {
  const where = `${source}: argument ${p.name}`;
  switch (p.kind) {
    case 'int':
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new RuntimeUserError(`${where} must be a number, not ${JSON.stringify(v)}`);
      if (p.kind === 'int' && !Number.isInteger(v)) throw new RuntimeUserError(`${where} must be an integer, not ${v}`);
      if (p.min !== undefined && v < p.min) throw new RuntimeUserError(`${where} must be at least ${p.min}, not ${v}`);
      if (p.max !== undefined && v > p.max) throw new RuntimeUserError(`${where} must be at most ${p.max}, not ${v}`);
      return v;
    }
    case 'bool':
      if (v === 1 || v === 'true') return 1;
      if (v === 0 || v === 'false') return 0;
      throw new RuntimeUserError(`${where} must be 0 or 1 (or true / false), not ${JSON.stringify(v)}`);
    case 'choice':
      if (typeof v !== 'string' || !p.choices!.includes(v)) {
        throw new RuntimeUserError(`${where} must be one of ${p.choices!.join(', ')}, not ${JSON.stringify(v)}`);
      }
      return v;
    case 'string':
      if (typeof v !== 'string') throw new RuntimeUserError(`${where} must be a string, not ${v}`);
      return v;
  }
}

/**
 * A train block's data arguments with the positional ones placed: `text`,
 * `jsonl` and `csv` take their path by position; anything else positional
 * is a RuntimeUserError saying how to name it.
 */
export function placeDataArgs(name: string, args: Readonly<Record<string, number | string>>, positional: readonly (number | string)[]): Record<string, number | string> {
  const out: Record<string, number | string> = Object.assign(Object.create(null) as Record<string, number | string>, args);
  if (positional.length === 0) return out;
  const byPath = name === 'text' || name === 'jsonl' || name === 'csv';
  if (byPath && positional.length === 1 && out['path'] === undefined) {
    out['path'] = positional[0]!;
    return out;
  }
  if (byPath) {
    const example = name === 'text' ? 'text("a.txt", level = "word")' : `${name}("data.${name}", x = "text", y = "label")`;
    throw new RuntimeUserError(`${name} takes only its path by position; give the other arguments by name, e.g. ${example}`);
  }
  const first = SOURCES.find((d) => d.name === name)?.params.find((q) => q.default !== undefined);
  const example = first ? `${first.name} = ${first.default === '' ? '""' : first.default}` : 'name = value';
  throw new RuntimeUserError(`give the arguments of ${name} by name, e.g. ${name}(${example})`);
}

/** Checks a source's name and arguments, fills in defaults; RuntimeUserError for any mistake. Loads nothing. */
export function checkDataSource(name: string, args: Readonly<Record<string, number | string>>): ReadonlyMap<string, ArgValue> {
  const source = SOURCES.find((s) => s.name === name);
  if (source === undefined) {
    throw new RuntimeUserError(
      `unknown data source "${name}"; the sources are:\n${SOURCES.map((s) => `  ${signature(s)}  ${s.doc}`).join('\n')}`,
    );
  }
  const known = new Set(source.params.map((p) => p.name));
  for (const k of Object.keys(args)) {
    if (!known.has(k)) {
      throw new RuntimeUserError(`${name} has no argument "${k}"; its arguments are ${signature(source)}`);
    }
  }
  const values = new Map<string, ArgValue>();
  for (const p of source.params) {
    const given = Object.prototype.hasOwnProperty.call(args, p.name) ? args[p.name] : undefined;
    if (given === undefined) {
      if (p.default === undefined) throw new RuntimeUserError(`${name} needs the argument ${p.name} (${p.doc}): ${signature(source)}`);
      values.set(p.name, p.default);
    } else {
      values.set(p.name, checkArg(name, p, given));
    }
  }
  const problem = source.check?.(new Args(values));
  if (problem !== undefined) throw new RuntimeUserError(`${name}: ${problem}`);
  return values;
}

export function loadDataset(name: string, args: Readonly<Record<string, number | string>>, io: FileIO, rng: Rng): Dataset {
  const values = checkDataSource(name, args);
  return SOURCES.find((s) => s.name === name)!.load(new Args(values), io, rng);
}
