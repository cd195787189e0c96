// Parameters as JSON: one object whose keys are full parameter names
// (`enc.W_g`) in the model's order and whose values are
// {"shape": [...], "data": [...]} with data row-major. Numbers are plain JSON
// numbers printed with JavaScript's shortest round-trip formatting, so a
// float32 or float64 value reads back bit-for-bit.
//
// The tensor-entry schema here (valibot, checked once where a file is read)
// is shared with checkpoint.ts, src/batch-json.ts and the optimizer's
// setState, so every file format reports a bad tensor the same way:
// "<source>: <where>: <what is wrong>".
import * as v from 'valibot';
import { RuntimeUserError } from './io.js';

export interface ParamValue {
  shape: number[];
  data: Float64Array;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 20 ? value.slice(0, 20) + '...' : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A message template of the tensor schema below: `{where}` becomes the
 * path inside the entry (`shape[0]`, `"data"`), so messages read as
 * "<source>: <entry>: shape[0] must be a non-negative integer, found ...".
 */
const says =
  (what: string) =>
  (issue: v.BaseIssue<unknown>): string =>
    `{where} ${what}, found ${describe(issue.input)}`;

const dimension = v.pipe(v.number(says('must be a non-negative integer')), v.integer(says('must be a non-negative integer')), v.minValue(0, says('must be a non-negative integer')));
const finiteNumber = v.pipe(v.number(says('must be a finite number')), v.finite(says('must be a finite number')));

/** One tensor entry of every rnnc JSON format (parameters, batches, checkpoints): {"shape": [...], "data": [...]}, data row-major. */
const TENSOR_SCHEMA = v.pipe(
  v.strictObject(
    {
      shape: v.array(dimension, says('must be an array of dimensions')),
      data: v.array(finiteNumber, says('must be a flat array of numbers')),
    },
    (issue) =>
      issue.expected === 'never'
        ? `unexpected key ${issue.received} (an entry has only "shape" and "data")`
        : issue.expected === 'Object'
          ? `expected an object {"shape": [...], "data": [...]}, found ${describe(issue.input)}`
          : `missing ${issue.expected}`,
  ),
  v.check(
    (t) => t.data.length === t.shape.reduce((a, b) => a * b, 1),
    (issue) => {
      const t = issue.input as { shape: number[]; data: number[] };
      return `"data" has ${t.data.length} number${t.data.length === 1 ? '' : 's'} but shape [${t.shape.join(', ')}] needs ${t.shape.reduce((a, b) => a * b, 1)}`;
    },
  ),
);

/** `shape[0]`, `"data"`: where in a JSON value an issue is. */
function issuePath(issue: v.BaseIssue<unknown>): string {
  const keys = (issue.path ?? []).map((p) => p.key as string | number);
  if (keys.length === 1 && typeof keys[0] === 'string') return JSON.stringify(keys[0]);
  return keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

/**
 * Validates `value` against a valibot schema at the edge where a file is
 * read; the first issue becomes a RuntimeUserError "<source>: <where>:
 * <what>", its message template's `{where}` filled with the issue's path.
 */
export function checkJson<S extends v.GenericSchema>(schema: S, value: unknown, where: string, source: string): v.InferOutput<S> {
  const r = v.safeParse(schema, value, { abortEarly: true });
  if (r.success) return r.output;
  const issue = r.issues[0];
  const text = issue.message.replace('{where}', issuePath(issue));
  throw new RuntimeUserError(`${source}: ${where ? `${where}: ` : ''}${text}`);
}

/**
 * Checks one {"shape", "data"} entry and converts it. `where` names it for
 * messages (e.g. `"enc.W_g"`); `source` names the file.
 */
export function checkTensorJson(value: unknown, where: string, source: string): ParamValue {
  const t = checkJson(TENSOR_SCHEMA, value, where, source);
  return { shape: [...t.shape], data: Float64Array.from(t.data) };
}

/**
 * JSON.parse with its error turned into a RuntimeUserError naming the file
 * and the line and column of the first error. Node 20's V8 reports a
 * position for some syntax errors ("... at position 12") but only a snippet
 * for others ("Unexpected token ']', ..."), so on failure the text is
 * re-scanned by findJsonErrorOffset to locate the error every time.
 */
export function parseJsonText(text: string, source: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const found = findJsonError(text);
    const pos = found?.offset ?? null;
    let at = '';
    if (text.trim() === '') {
      at = ' (the file is empty)';
    } else if (pos !== null) {
      const before = text.slice(0, pos);
      const line = before.split('\n').length;
      const col = pos - before.lastIndexOf('\n');
      at = ` at line ${line}, column ${col}`;
    }
    if (found?.tooDeep) {
      throw new RuntimeUserError(`${source}: ${what} is not valid JSON, and nests arrays or objects more than ${MAX_JSON_DEPTH} levels deep${at} (rnnc's files nest at most 4): ${message}`);
    }
    throw new RuntimeUserError(`${source}: ${what} is not valid JSON${at}: ${message}`);
  }
}

/**
 * The offset of the first syntax error in `text` (text.length when it ends
 * too early), or null if it is valid JSON. A validating recursive-descent
 * scan of RFC 8259 that builds no values; it runs only after JSON.parse has
 * failed, so its speed does not matter.
 */
export function findJsonErrorOffset(text: string): number | null {
  return findJsonError(text)?.offset ?? null;
}

/**
 * rnnc's formats nest four levels at most; past this the scan stops rather
 * than recurse until the stack overflows (a file of 200,000 `[`).
 */
export const MAX_JSON_DEPTH = 1000;

function findJsonError(text: string): { offset: number; tooDeep: boolean } | null {
  let i = 0;
  let depth = 0;
  let tooDeep = false;
  class At extends Error {
    constructor(readonly offset: number) {
      super('json syntax');
    }
  }
  const fail = (): never => {
    throw new At(i);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const expectChar = (c: string): void => {
    if (text[i] !== c) fail();
    i++;
  };
  const literal = (word: string): void => {
    for (const c of word) expectChar(c);
  };
  const digits = (): void => {
    if (!(text[i]! >= '0' && text[i]! <= '9')) fail();
    while (text[i]! >= '0' && text[i]! <= '9') i++;
  };
  const number = (): void => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else digits();
    if (text[i] === '.') {
      i++;
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits();
    }
  };
  const string = (): void => {
    expectChar('"');
    for (;;) {
      if (i >= text.length) fail();
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        i++;
        const e = text[i];
        if (e === 'u') {
          i++;
          for (let k = 0; k < 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail();
            i++;
          }
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i++;
        } else {
          fail();
        }
      } else {
        i++;
      }
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if ((c === '[' || c === '{') && depth >= MAX_JSON_DEPTH) {
      tooDeep = true;
      fail();
    }
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      depth++;
      for (;;) {
        ws();
        string();
        ws();
        expectChar(':');
        value();
        ws();
        if (text[i] === ',') i++;
        else {
          expectChar('}');
          depth--;
          return;
        }
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      depth++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else {
          expectChar(']');
          depth--;
          return;
        }
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else fail();
  };
  try {
    // Like JSON.parse, a leading byte-order mark is an error (at offset 0).
    value();
    ws();
    if (i < text.length) fail();
    return null;
  } catch (e) {
    if (e instanceof At) return { offset: e.offset, tooDeep };
    throw e;
  }
}

/** Reads a parameters file; the Map keeps the file's key order. */
export function parseParamsJson(text: string, source: string): Map<string, ParamValue> {
  const root = parseJsonText(text, source, 'parameters file');
  if (!isPlainObject(root)) {
    throw new RuntimeUserError(
      `${source}: a parameters file must be a JSON object mapping names to {"shape", "data"}, found ${describe(root)}`,
    );
  }
  const out = new Map<string, ParamValue>();
  for (const [name, entry] of Object.entries(root)) {
    out.set(name, checkTensorJson(entry, `parameter "${name}"`, source));
  }
  return out;
}

/**
 * Writes parameters in the Map's order, one parameter per line so diffs of
 * two files stay readable. Throws a RuntimeUserError on a non-finite value
 * (a diverged run), since JSON cannot hold it and silently writing null would
 * make a file that cannot be read back.
 */
export function formatParamsJson(
  params: ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>,
): string {
  const lines: string[] = [];
  for (const [name, { shape, data }] of params) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new Error(`internal: parameter ${name} has ${data.length} values for shape [${shape.join(', ')}]`);
    }
    const nums: string[] = new Array<string>(data.length);
    for (let i = 0; i < data.length; i++) {
      const x = data[i]!;
      if (!Number.isFinite(x)) {
        throw new RuntimeUserError(`cannot write parameter "${name}": data[${i}] is ${x} (training diverged?)`);
      }
      // String(x) is the shortest text that reads back to the same double;
      // Object.is keeps -0 distinct from 0 (JSON.stringify would drop the sign).
      nums[i] = Object.is(x, -0) ? '-0' : String(x);
    }
    lines.push(`  ${JSON.stringify(name)}: {"shape": [${shape.join(', ')}], "data": [${nums.join(', ')}]}`);
  }
  return lines.length === 0 ? '{}\n' : `{\n${lines.join(',\n')}\n}\n`;
}
