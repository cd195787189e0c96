// User data files: `text` (plain text through text.ts) and `jsonl` (one JSON
// object {"x": ..., "y": ...} per line). Paths arrive already resolved by the
// caller; they are used as given in messages so the user recognises them.
//
// jsonl field kinds, by the JSON value each line holds:
//   string                      -> seq<token[V]>, one token per character;
//                                  x and y share one vocabulary built from
//                                  the whole file (code-point order).
//   array of integers >= 0      -> seq<token[V]> of ids, V = max id + 1.
//   array of numbers            -> vector [D], D the same on every line.
//   array of arrays of numbers  -> seq<[D]>, one row of D numbers per step.
//   integer >= 0                -> token[K] class label, K = max + 1.
//   number                      -> vector [1] (a regression target).
// The structure (string / number / array / array of arrays) is fixed by the
// first line and every other line must agree. Whether numbers are ids or
// values is decided over the whole file: a field is ids only when every
// number in it, on every line, is a non-negative integer, so a vector field
// whose first line happens to be [1, 0, 2] is still read as a vector.
import type { FileIO } from '../io.js';
import { RuntimeUserError } from '../io.js';
import { checkSeqLen, checkSplit, formatCount, textLmDataset, type TextLevel } from './text.js';
import type { Dataset, Example, FieldSpec, FieldType, FieldValue } from './types.js';
import { Vocab } from './vocab.js';
import { CsvError, parse as parseCsv } from 'csv-parse/sync';

function readUserFile(io: FileIO, path: string): string {
  if (!io.exists(path)) throw new RuntimeUserError(`data file not found: ${path}`);
  return io.readText(path);
}

export interface TextFileOptions {
  level?: TextLevel;
  seqLen?: number;
  split?: number;
  maxVocab?: number;
}

/** text(path, level, seq_len, split): a language model over a plain text file. */
export function textFile(io: FileIO, path: string, opts: TextFileOptions = {}): Dataset {
  const level = opts.level ?? 'char';
  const seqLen = opts.seqLen ?? 100;
  checkSeqLen(seqLen);
  const text = readUserFile(io, path);
  return textLmDataset('text', text, {
    level,
    seqLen,
    split: opts.split ?? 0.9,
    maxVocab: opts.maxVocab,
    label: `${path} (${level}s)`,
  });
}

type Structure = 'string' | 'number' | 'array' | 'matrix';

const FIELDS = ['x', 'y'] as const;
type FieldName = (typeof FIELDS)[number];

/** What one line holds for one field, validated but not yet encoded. */
type RawValue =
  | { s: 'string'; text: string }
  | { s: 'number'; value: number }
  | { s: 'array'; values: number[] }
  | { s: 'matrix'; rows: number[][]; width: number };

interface FieldSummary {
  structure: Structure;
  /** Line where the structure was fixed (the first line). */
  firstLine: number;
  firstDescription: string;
  /** Every number seen is a non-negative integer so far. */
  allIds: boolean;
  /** First line holding a number that is not a non-negative integer. */
  firstNonId: number | null;
  maxId: number;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every((e) => Array.isArray(e))) return 'an array of arrays';
    if (v.length > 0 && v.every((e) => typeof e === 'number' && Number.isInteger(e))) return 'an array of integers';
    return 'an array of numbers';
  }
  return 'an object';
}

const isId = (v: number): boolean => Number.isInteger(v) && v >= 0;

export interface JsonlOptions {
  split?: number;
  /** The keys of the input and the target in each object (default "x" and "y"); other keys are ignored. */
  x?: string;
  y?: string;
  /** Arrays of numbers are vectors even when they hold only whole numbers (several CSV columns). */
  arraysAreVectors?: boolean;
}

/** jsonl(path, split): examples from JSON lines, kinds inferred as described at the top of this file. */
export function jsonlFile(io: FileIO, path: string, opts: JsonlOptions = {}): Dataset {
  return jsonlText(path, readUserFile(io, path), opts);
}

/** The examples of JSON lines `text` (read from `path`, which messages name; the API passes examples held in memory). */
export function jsonlText(path: string, text: string, opts: JsonlOptions = {}): Dataset {
  const split = opts.split ?? 0.9;
  checkSplit(split);
  // The field the model sees as its input (x) and its target (y), and the key each is read from.
  const key: Record<FieldName, string> = { x: opts.x ?? 'x', y: opts.y ?? 'y' };
  if (key.x === key.y) throw new RuntimeUserError(`jsonl: x and y read the same key "${key.x}"`);
  // A byte-order mark (as some editors save UTF-8) is not part of the first line.
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split(/\r?\n/);
  const fail = (line: number, msg: string): never => {
    throw new RuntimeUserError(`${path}:${line}: ${msg}`);
  };

  const rows: { line: number; values: Record<FieldName, RawValue> }[] = [];
  const summary = new Map<FieldName, FieldSummary>();

  const readValue = (field: FieldName, v: unknown, line: number): RawValue => {
    const q = `"${key[field]}"`;
    const finite = (x: unknown, where: string): number => {
      if (typeof x !== 'number') return fail(line, `${where} is ${describe(x)}; expected a number`);
      if (!Number.isFinite(x)) return fail(line, `${where} is not a finite number`);
      return x;
    };
    if (typeof v === 'string') {
      if (v.length === 0) return fail(line, `${q} is an empty string; a sequence needs at least one step`);
      return { s: 'string', text: v };
    }
    if (typeof v === 'number') return { s: 'number', value: finite(v, q) };
    if (Array.isArray(v)) {
      if (v.length === 0) return fail(line, `${q} is an empty array; a sequence or vector needs at least one element`);
      if (Array.isArray(v[0])) {
        const rowsOut: number[][] = [];
        let width = -1;
        v.forEach((row, i) => {
          if (!Array.isArray(row)) return fail(line, `${q}[${i}] is ${describe(row)}, but ${q}[0] is an array`);
          const nums = row.map((x, j) => finite(x, `${q}[${i}][${j}]`));
          if (nums.length === 0) return fail(line, `${q}[${i}] is an empty array`);
          if (width === -1) width = nums.length;
          else if (nums.length !== width) {
            return fail(line, `${q}[${i}] has ${nums.length} numbers but ${q}[0] has ${width}; every step needs the same size`);
          }
          rowsOut.push(nums);
        });
        return { s: 'matrix', rows: rowsOut, width };
      }
      return { s: 'array', values: v.map((x, i) => finite(x, `${q}[${i}]`)) };
    }
    return fail(line, `${q} is ${describe(v)}; expected a string, a number, an array of numbers or an array of arrays of numbers`);
  };

  lines.forEach((text, idx) => {
    const line = idx + 1;
    if (text.trim().length === 0) return;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      return fail(line, `not valid JSON (${(e as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      return fail(line, `expected an object like {"${key.x}": ..., "${key.y}": ...}, not ${describe(obj)}`);
    }
    // Keys other than the two read are ignored (an id, a note).
    const rec = obj as Record<string, unknown>;
    const values = {} as Record<FieldName, RawValue>;
    for (const f of FIELDS) {
      if (!Object.prototype.hasOwnProperty.call(rec, key[f])) {
        return fail(line, `missing "${key[f]}"${line === 1 ? ` (the ${f === 'x' ? 'input' : 'target'} is read from key "${key[f]}"; name another with jsonl(..., ${f} = "key"))` : ''}`);
      }
      const raw = rec[key[f]];
      const v = readValue(f, raw, line);
      const seen = summary.get(f);
      if (seen === undefined) {
        summary.set(f, { structure: v.s, firstLine: line, firstDescription: describe(raw), allIds: true, firstNonId: null, maxId: -1 });
      } else if (seen.structure !== v.s) {
        return fail(line, `"${key[f]}" is ${describe(raw)} here but ${seen.firstDescription} on line ${seen.firstLine}`);
      }
      const sum = summary.get(f)!;
      const nums = v.s === 'number' ? [v.value] : v.s === 'array' ? v.values : [];
      for (const x of nums) {
        if (isId(x)) sum.maxId = Math.max(sum.maxId, x);
        else if (sum.allIds) {
          sum.allIds = false;
          sum.firstNonId = line;
        }
      }
      if (v.s === 'matrix') {
        const firstRow = rows.length > 0 ? rows[0]!.values[f] : undefined;
        if (firstRow?.s === 'matrix' && firstRow.width !== v.width) {
          return fail(line, `"${key[f]}" has ${v.width} numbers per step here but ${firstRow.width} on line ${rows[0]!.line}`);
        }
      }
      values[f] = v;
    }
    rows.push({ line, values });
  });
  if (rows.length === 0) throw new RuntimeUserError(`${path}: no examples (every line is empty)`);

  // Vector fields ([D]) need one D for the whole file.
  for (const f of FIELDS) {
    const s = summary.get(f)!;
    if (s.structure !== 'array' || (s.allIds && !opts.arraysAreVectors)) continue;
    const first = rows[0]!;
    const d = (first.values[f] as { values: number[] }).values.length;
    for (const r of rows) {
      const n = (r.values[f] as { values: number[] }).values.length;
      if (n !== d) {
        fail(
          r.line,
          `"${key[f]}" has ${n} numbers here but ${d} on line ${first.line}; an array of numbers is a fixed-size vector ` +
            `(only arrays of non-negative integers are token sequences, and "${key[f]}" has other numbers on line ${s.firstNonId})`,
        );
      }
    }
  }

  // One character vocabulary shared by every string field.
  let chars: Vocab | undefined;
  if (FIELDS.some((f) => summary.get(f)!.structure === 'string')) {
    const counts = new Map<string, number>();
    for (const r of rows) {
      for (const f of FIELDS) {
        const v = r.values[f];
        if (v.s === 'string') for (const c of v.text) counts.set(c, (counts.get(c) ?? 0) + 1);
      }
    }
    chars = Vocab.fromCounts(counts, { order: 'lexicographic' });
  }

  const specOf = (f: FieldName): FieldSpec => {
    const s = summary.get(f)!;
    const first = rows[0]!.values[f];
    let type: FieldType;
    switch (s.structure) {
      case 'string':
        return { name: key[f], type: { kind: 'tokens', vocab: chars!.size }, vocab: chars! };
      case 'array':
        type = s.allIds && !opts.arraysAreVectors ? { kind: 'tokens', vocab: s.maxId + 1 } : { kind: 'vector', dims: [(first as { values: number[] }).values.length] };
        return { name: key[f], type };
      case 'matrix':
        return { name: key[f], type: { kind: 'vectors', dims: [(first as { width: number }).width] } };
      case 'number':
        type = s.allIds ? { kind: 'token', vocab: s.maxId + 1 } : { kind: 'vector', dims: [1] };
        return { name: key[f], type };
    }
  };
  const xSpec = specOf('x');
  const ySpec = specOf('y');

  const encode = (v: RawValue, spec: FieldSpec): FieldValue => {
    switch (v.s) {
      case 'string':
        return { kind: 'tokens', ids: Int32Array.from(v.text, (c) => chars!.id(c)) };
      case 'array':
        return spec.type.kind === 'tokens' ? { kind: 'tokens', ids: Int32Array.from(v.values) } : { kind: 'vector', data: Float32Array.from(v.values) };
      case 'matrix': {
        const data = new Float32Array(v.rows.length * v.width);
        v.rows.forEach((row, t) => data.set(row, t * v.width));
        return { kind: 'vectors', data, steps: v.rows.length };
      }
      case 'number':
        return spec.type.kind === 'token' ? { kind: 'token', id: v.value } : { kind: 'vector', data: Float32Array.of(v.value) };
    }
  };
  const examples: Example[] = rows.map((r) => ({ inputs: [encode(r.values.x, xSpec)], targets: [encode(r.values.y, ySpec)], where: `${path}:${r.line}` }));
  const cut = Math.floor(split * examples.length);
  const task: Dataset['task'] =
    ySpec.type.kind === 'tokens' ? 'tagging' : ySpec.type.kind === 'token' ? 'classification' : 'regression';
  return {
    name: 'jsonl',
    inputs: [xSpec],
    targets: [ySpec],
    train: examples.slice(0, cut),
    valid: examples.slice(cut),
    task,
    description: `${path}: ${formatCount(cut)} train, ${formatCount(examples.length - cut)} valid; x ${typeText(xSpec.type)}, y ${typeText(ySpec.type)}`,
  };
}

/** A field type in the language's own notation, for descriptions. */
export function typeText(t: FieldType): string {
  switch (t.kind) {
    case 'tokens':
      return `seq<token[${t.vocab}]>`;
    case 'vectors':
      return `seq<[${t.dims.join(', ')}]>`;
    case 'token':
      return `token[${t.vocab}]`;
    case 'vector':
      return `[${t.dims.join(', ')}]`;
  }
}

export interface CsvOptions {
  split?: number;
  /** The input's column, or several separated by commas (a vector of their numbers). */
  x: string;
  /** The target's column. */
  y: string;
  delimiter?: string;
}

/**
 * csv(path, x = "text", y = "label"): examples from a CSV file with a header
 * row, parsed by csv-parse (quotes, escaped quotes, line breaks in quoted
 * cells). A column whose cells are all numbers is numbers (whole numbers
 * from 0: token ids, e.g. classes), any other column text (a character
 * sequence); several input columns make a vector. The kinds are inferred as
 * for jsonl, whose rules and messages these rows go through (line numbers
 * are the file's).
 */
export function csvFile(io: FileIO, path: string, opts: CsvOptions): Dataset {
  const text = readUserFile(io, path);
  const rows = csvRows(path, text, opts.delimiter ?? ',');
  const header = rows[0]!.record.map((h) => h.trim());
  const column = (name: string, what: string): number => {
    const k = header.indexOf(name);
    if (k < 0) {
      // One column whose name holds another usual separator: the file is probably separated by it.
      const other = header.length === 1 ? [';', '\t', '|'].find((d) => header[0]!.includes(d)) : undefined;
      const hint = other !== undefined ? `the header reads as one column: if the file separates its columns with ${JSON.stringify(other)}, give csv(..., delimiter = ${JSON.stringify(other)})` : `name it with csv(..., ${what === 'input' ? 'x' : 'y'} = "column")`;
      throw new RuntimeUserError(`${path}:1: no column "${name}" for the ${what} (the columns: ${header.join(', ')}); ${hint}`);
    }
    return k;
  };
  if (rows.length === 1) throw new RuntimeUserError(`${path}: only a header row; give one example per row after it`);
  const xCols = opts.x.split(',').map((c) => column(c.trim(), 'input'));
  const yCol = column(opts.y, 'target');
  const cell = (r: string[], k: number): string => r[k] ?? '';
  const value = csvValue;
  // As JSON lines, one per line of the file (blank lines where the file has the header or a quoted line break).
  const lines: string[] = [];
  const textual = textColumns(rows);
  const read = (record: string[], k: number): string | number => (textual.has(k) ? cell(record, k) : value(cell(record, k)));
  for (const { record, info } of rows.slice(1)) {
    while (lines.length < info.lines - 1) lines.push('');
    const x = xCols.length > 1 ? xCols.map((k) => value(cell(record, k))) : read(record, xCols[0]!);
    lines.push(JSON.stringify({ [opts.x]: x, [opts.y]: read(record, yCol) }));
  }
  return { ...jsonlText(path, lines.join('\n'), { split: opts.split ?? 0.9, x: opts.x, y: opts.y, arraysAreVectors: true }), name: 'csv' };
}

/** The rows of a CSV text (the header first), each with the file line it ends on; errors name the file and line. */
export function csvRows(path: string, text: string, delimiter: string): { record: string[]; info: { lines: number } }[] {
  if (delimiter === '' || /[\r\n"]/.test(delimiter)) {
    throw new RuntimeUserError(`csv: delimiter must be the text between columns, such as "," ";" or "\\t" (not empty, no quote or line break), got ${JSON.stringify(delimiter)}`);
  }
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    // Every line ending, even mixed in one file (a CRLF file with lines appended by `echo`).
    rows = parseCsv(text, { delimiter, record_delimiter: ['\r\n', '\n', '\r'], info: true, skip_empty_lines: true, bom: true }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    const err = e as CsvError & { lines?: number };
    throw new RuntimeUserError(`${path}${err.lines !== undefined ? `:${err.lines}` : ''}: not valid CSV (${err.message})`);
  }
  if (rows.length === 0) throw new RuntimeUserError(`${path}: no rows (a header, then one example per row)`);
  return rows;
}

/** A CSV cell: a number when it reads as one, else its text. */
export function csvValue(v: string): string | number {
  return v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
}

/** The columns to read as text although they hold numbers: those written with a leading zero somewhere ("007", "0101": codes, digit strings, zip codes). */
export function textColumns(rows: readonly { record: readonly string[] }[]): Set<number> {
  const out = new Set<number>();
  for (const { record } of rows.slice(1)) record.forEach((c, k) => (/^\s*[+-]?0\d/.test(c) ? out.add(k) : undefined));
  return out;
}
