// Parameters as JSON: one object whose keys are full parameter names
// (`enc.W_g`) in the model's order and whose values are
// {"shape": [...], "data": [...]} with data row-major. Numbers are plain JSON
// numbers printed with JavaScript's shortest round-trip formatting, so a
// float32 or float64 value reads back bit-for-bit.
//
// The tensor-entry checker here is shared with checkpoint.ts and the
// optimizer's setState, so every file format reports a bad tensor the same
// way: "<source>: <where>: <what is wrong>".
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
 * Checks one {"shape", "data"} entry and converts it. `where` names it for
 * messages (e.g. `"enc.W_g"`); `source` names the file.
 */
export function checkTensorJson(value: unknown, where: string, source: string): ParamValue {
  const fail = (what: string): never => {
    throw new RuntimeUserError(`${source}: ${where}: ${what}`);
  };
  if (!isPlainObject(value)) return fail(`expected an object {"shape": [...], "data": [...]}, found ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (key !== 'shape' && key !== 'data') fail(`unexpected key "${key}" (an entry has only "shape" and "data")`);
  }
  if (!('shape' in value)) fail(`missing "shape"`);
  if (!('data' in value)) fail(`missing "data"`);
  const shape = value['shape'];
  if (!Array.isArray(shape)) return fail(`"shape" must be an array of dimensions, found ${describe(shape)}`);
  shape.forEach((d: unknown, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      fail(`shape[${i}] must be a non-negative integer, found ${describe(d)}`);
    }
  });
  const dims = shape as number[];
  const data = value['data'];
  if (!Array.isArray(data)) return fail(`"data" must be a flat array of numbers, found ${describe(data)}`);
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    fail(`"data" has ${data.length} number${data.length === 1 ? '' : 's'} but shape [${dims.join(', ')}] needs ${size}`);
  }
  const out = new Float64Array(size);
  data.forEach((x: unknown, i) => {
    // JSON has no NaN/Infinity literals, but 1e999 parses to Infinity.
    if (typeof x !== 'number' || !Number.isFinite(x)) fail(`data[${i}] must be a finite number, found ${describe(x)}`);
    out[i] = x as number;
  });
  return { shape: [...dims], data: out };
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
    const pos = findJsonErrorOffset(text);
    let at = '';
    if (text.trim() === '') {
      at = ' (the file is empty)';
    } else if (pos !== null) {
      const before = text.slice(0, pos);
      const line = before.split('\n').length;
      const col = pos - before.lastIndexOf('\n');
      at = ` at line ${line}, column ${col}`;
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
  let i = 0;
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
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        expectChar(':');
        value();
        ws();
        if (text[i] === ',') i++;
        else return expectChar('}');
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else return expectChar(']');
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
    if (e instanceof At) return e.offset;
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
