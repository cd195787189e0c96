import { describe, expect, it } from 'vitest';
import { RuntimeUserError } from '../../runtime/io.js';
import { findJsonErrorOffset, formatParamsJson, parseParamsJson } from '../../runtime/params-json.js';

describe('params JSON', () => {
  it('round-trips float64 and float32 values exactly, keeping key order', () => {
    const f32 = Float32Array.from([0.1, -1e-30, 3.4e38, 1 / 3]);
    const params = new Map<string, { shape: number[]; data: ArrayLike<number> }>([
      ['enc.W_g', { shape: [2, 2], data: [Math.PI, -0, 1e-300, 123456789.123456789] }],
      ['dec.b', { shape: [4], data: f32 }],
      ['scalar', { shape: [], data: [2.5] }],
      ['empty', { shape: [0, 3], data: [] }],
    ]);
    const text = formatParamsJson(params);
    const back = parseParamsJson(text, 'p.json');
    expect([...back.keys()]).toEqual(['enc.W_g', 'dec.b', 'scalar', 'empty']);
    expect(back.get('enc.W_g')!.shape).toEqual([2, 2]);
    expect([...back.get('enc.W_g')!.data]).toEqual([Math.PI, -0, 1e-300, 123456789.123456789]);
    expect(Object.is(back.get('enc.W_g')!.data[1], -0)).toBe(true);
    expect([...Float32Array.from(back.get('dec.b')!.data)]).toEqual([...f32]);
    expect(back.get('scalar')).toEqual({ shape: [], data: Float64Array.from([2.5]) });
    expect(back.get('empty')!.data.length).toBe(0);
    expect(formatParamsJson(back)).toBe(text);
  });

  it('reports invalid JSON with its line and column', () => {
    const text = '{\n  "a": {"shape": [1], "data": [1,]}\n}';
    expect(() => parseParamsJson(text, 'p.json')).toThrow(RuntimeUserError);
    expect(() => parseParamsJson(text, 'p.json')).toThrow(/^p\.json: parameters file is not valid JSON at line 2, column \d+: /);
    expect(() => parseParamsJson('', 'p.json')).toThrow(/not valid JSON \(the file is empty\)/);
    // Truncated: the error is at the end of the text.
    expect(() => parseParamsJson('{"a": {"shape": [1], "da', 'p.json')).toThrow(/at line 1, column 25/);
  });

  it('locates syntax errors like JSON.parse does', () => {
    const valid = ['{}', '[1, -2.5e+3, "x\\n\\u00e9", true, false, null, {"a": []}]', ' 0 '];
    for (const t of valid) expect(findJsonErrorOffset(t), t).toBeNull();
    const invalid: [string, number][] = [
      ['[1,]', 3],
      ['{"a" 1}', 5],
      ['[01]', 2],
      ['{"a": tru}', 9],
      ['[1] x', 4],
      ['"abc', 4],
      ['[1.]', 3],
    ];
    for (const [t, offset] of invalid) {
      expect(() => JSON.parse(t)).toThrow();
      expect(findJsonErrorOffset(t), t).toBe(offset);
    }
  });

  it('reports each structural mistake precisely', () => {
    const cases: [string, RegExp][] = [
      ['[]', /p\.json: a parameters file must be a JSON object mapping names to \{"shape", "data"\}, found an array/],
      ['{"a": 3}', /p\.json: parameter "a": expected an object \{"shape": \[\.\.\.\], "data": \[\.\.\.\]\}, found number 3/],
      ['{"a": {"data": [1]}}', /p\.json: parameter "a": missing "shape"/],
      ['{"a": {"shape": [1]}}', /p\.json: parameter "a": missing "data"/],
      ['{"a": {"shape": [2, 3], "data": [1, 2]}}', /parameter "a": "data" has 2 numbers but shape \[2, 3\] needs 6/],
      ['{"a": {"shape": [1.5], "data": [1]}}', /parameter "a": shape\[0\] must be a non-negative integer, found number 1.5/],
      ['{"a": {"shape": [2], "data": [1, 1e999]}}', /parameter "a": data\[1\] must be a finite number, found number Infinity/],
      ['{"a": {"shape": [2], "data": [1, null]}}', /parameter "a": data\[1\] must be a finite number, found null/],
      ['{"a": {"shape": [1], "data": ["1"]}}', /data\[0\] must be a finite number, found the string "1"/],
      ['{"a": {"shape": [1], "data": [1], "dtype": "f32"}}', /unexpected key "dtype"/],
      ['{"a": {"shape": [1], "data": [[1, 2]]}}', /data\[0\] must be a finite number, found an array/],
    ];
    for (const [text, message] of cases) expect(() => parseParamsJson(text, 'p.json'), text).toThrow(message);
  });

  it('refuses to write non-finite values', () => {
    expect(() => formatParamsJson(new Map([['w', { shape: [2], data: [1, Number.NaN] }]]))).toThrow(
      /cannot write parameter "w": data\[1\] is NaN/,
    );
  });
});
