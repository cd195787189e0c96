import { describe, expect, it } from 'vitest';
import { exampleLength, fieldsAsDeclared } from '../../runtime/data/batching.js';
import { csvFile, jsonlFile, textFile } from '../../runtime/data/files.js';
import { RuntimeUserError } from '../../runtime/io.js';
import { memoryFileIO } from './node-file-io.js';

function jsonl(lines: string[], split = 1) {
  return jsonlFile(memoryFileIO({ 'data.jsonl': lines.join('\n') }), 'data.jsonl', { split });
}

function errorOf(lines: string[]): string {
  try {
    jsonl(lines);
  } catch (e) {
    expect(e).toBeInstanceOf(RuntimeUserError);
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('jsonl', () => {
  it('examples know their file and line, and errors about their lengths name them', () => {
    const d = jsonlFile(memoryFileIO({ 't.jsonl': '{"x": "ab", "y": [0, 1]}\n\n{"x": "abc", "y": [0, 1]}\n' }), 't.jsonl', { split: 1 });
    expect(d.train.map((e) => e.where)).toEqual(['t.jsonl:1', 't.jsonl:3']);
    const specs = { inputs: d.inputs.map((f) => ({ name: f.name, type: f.type })), targets: d.targets.map((f) => ({ name: f.name, type: f.type })) };
    expect(() => exampleLength(d.train[1]!, specs)).toThrow('t.jsonl:3: sequence "y" has 2 steps but "x" has 3');
  });

  it('text labels: classes are the training labels, in code-unit order; a label only validation has is an error naming its line', () => {
    const declared = { inputs: [{ name: 'x', kind: 'tokens' as const, dims: ['V'] }], targets: [{ name: 'y', kind: 'token' as const, dims: ['K'] }] };
    const lines = ['{"x": "ab", "y": "pos"}', '{"x": "ba", "y": "neg"}', '{"x": "aa", "y": "pos"}', '{"x": "bb", "y": "neg"}'];
    const d = fieldsAsDeclared(declared, jsonlFile(memoryFileIO({ 'l.jsonl': lines.join('\n') }), 'l.jsonl', { split: 0.5 }));
    expect(d.targets[0]!.vocab!.tokens).toEqual(['neg', 'pos']);
    expect(d.inputs[0]!.vocab!.tokens).toEqual(['a', 'b']);
    expect(d.task).toBe('classification');
    const odd = [...lines.slice(0, 3), '{"x": "bb", "y": "neutral"}'];
    expect(() => fieldsAsDeclared(declared, jsonlFile(memoryFileIO({ 'l.jsonl': odd.join('\n') }), 'l.jsonl', { split: 0.75 }))).toThrow(
      'l.jsonl:4: "y" is "neutral", a label no training example has (the training labels: "neg", "pos")',
    );
  });

  it('text fields the model sizes differently (characters V, tags K) get a vocabulary each; fields of one size keep the shared one', () => {
    const lines = ['{"x": "ab", "y": "XO"}', '{"x": "ba", "y": "OX"}'];
    const read = () => jsonlFile(memoryFileIO({ 't.jsonl': lines.join('\n') }), 't.jsonl', { split: 1 });
    const seq = (dim: string) => ({ kind: 'tokens' as const, dims: [dim] });
    const tagger = fieldsAsDeclared({ inputs: [{ name: 'x', ...seq('V') }], targets: [{ name: 'y', ...seq('K') }] }, read());
    expect(tagger.inputs[0]!.vocab!.tokens).toEqual(['a', 'b']);
    expect(tagger.targets[0]!.vocab!.tokens).toEqual(['O', 'X']);
    expect(Array.from((tagger.train[0]!.targets[0] as { ids: Int32Array }).ids)).toEqual([1, 0]);
    const same = fieldsAsDeclared({ inputs: [{ name: 'x', ...seq('V') }], targets: [{ name: 'y', ...seq('V') }] }, read());
    expect(same.inputs[0]!.vocab).toBe(same.targets[0]!.vocab);
    expect(same.inputs[0]!.vocab!.tokens).toEqual(['O', 'X', 'a', 'b']);
  });

  it('ignores a byte-order mark at the start of the file', () => {
    const d = jsonlFile(memoryFileIO({ 'b.jsonl': '\uFEFF{"x": [1, 2], "y": 0}\n{"x": [3, 4], "y": 1}\n' }), 'b.jsonl', { split: 1 });
    expect(d.train).toHaveLength(2);
  });

  it('infers strings as character sequences with one shared vocabulary', () => {
    const d = jsonl(['{"x": "abc", "y": "bcd"}', '', '{"x": "ca", "y": "ab"}']);
    const v = d.inputs[0]!.vocab!;
    expect(d.targets[0]!.vocab).toBe(v);
    expect(v.tokens).toEqual(['a', 'b', 'c', 'd']);
    expect(d.inputs[0]!.type).toEqual({ kind: 'tokens', vocab: 4 });
    expect(d.task).toBe('tagging');
    expect(Array.from((d.train[1]!.inputs[0] as { ids: Int32Array }).ids)).toEqual([2, 0]);
  });

  it('infers token ids, class labels, vectors and vector sequences', () => {
    const d = jsonl(['{"x": [[1, 2], [3, 4.5], [0, 0]], "y": 2}', '{"x": [[1, 1]], "y": 0}']);
    expect(d.inputs[0]!.type).toEqual({ kind: 'vectors', dims: [2] });
    expect(d.targets[0]!.type).toEqual({ kind: 'token', vocab: 3 });
    expect(d.task).toBe('classification');
    const x = d.train[0]!.inputs[0]!;
    if (x.kind !== 'vectors') throw new Error('vectors expected');
    expect(x.steps).toBe(3);
    expect(Array.from(x.data)).toEqual([1, 2, 3, 4.5, 0, 0]);

    const ids = jsonl(['{"x": [3, 1, 4], "y": [0.5, 1]}', '{"x": [1, 5], "y": [2, 3]}']);
    expect(ids.inputs[0]!.type).toEqual({ kind: 'tokens', vocab: 6 });
    // [2, 3] on line 2 is a vector too: line 1 has non-integers in "y".
    expect(ids.targets[0]!.type).toEqual({ kind: 'vector', dims: [2] });
    expect(ids.task).toBe('regression');

    const reg = jsonl(['{"x": [1, 0, 2], "y": 1.5}', '{"x": [0.5, 0, 0], "y": 3}']);
    expect(reg.inputs[0]!.type).toEqual({ kind: 'vector', dims: [3] });
    expect(reg.targets[0]!.type).toEqual({ kind: 'vector', dims: [1] });
  });

  it('splits by line order', () => {
    const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ x: [i], y: i % 2 }));
    const d = jsonl(lines, 0.7);
    expect(d.train).toHaveLength(7);
    expect(d.valid).toHaveLength(3);
    expect((d.valid[0]!.inputs[0] as { ids: Int32Array }).ids[0]).toBe(7);
  });

  it('names the file and line when lines disagree', () => {
    const lines = Array.from({ length: 16 }, () => '{"x": "ab", "y": 1}');
    lines.push('{"x": "ab", "y": "no"}');
    expect(errorOf(lines)).toBe('data.jsonl:17: "y" is a string here but an integer on line 1');
    expect(errorOf(['{"x": [[1, 2]], "y": 1}', '{"x": [1, 2], "y": 1}'])).toBe(
      'data.jsonl:2: "x" is an array of integers here but an array of arrays on line 1',
    );
    expect(errorOf(['{"x": [[1, 2]], "y": 1}', '{"x": [[1, 2, 3]], "y": 1}'])).toBe(
      'data.jsonl:2: "x" has 3 numbers per step here but 2 on line 1',
    );
    expect(errorOf(['{"x": [[1, 2], [3]], "y": 1}'])).toMatch(/^data\.jsonl:1: "x"\[1\] has 1 numbers but "x"\[0\] has 2/);
    expect(errorOf(['{"x": [0.5, 1], "y": 1}', '{"x": [0.5, 1, 2], "y": 1}'])).toMatch(
      /^data\.jsonl:2: "x" has 3 numbers here but 2 on line 1; an array of numbers is a fixed-size vector/,
    );
  });

  it('rejects non-numbers, NaN and infinities with the line number', () => {
    expect(errorOf(['{"x": [1, 2], "y": 1}', '{"x": [1, NaN], "y": 1}'])).toMatch(/^data\.jsonl:2: not valid JSON/);
    expect(errorOf(['{"x": [1, 1e999], "y": 1}'])).toBe('data.jsonl:1: "x"[1] is not a finite number');
    expect(errorOf(['{"x": [1, "2"], "y": 1}'])).toBe('data.jsonl:1: "x"[1] is a string; expected a number');
    expect(errorOf(['{"x": true, "y": 1}'])).toMatch(/^data\.jsonl:1: "x" is a boolean; expected a string/);
    expect(errorOf(['{"x": [], "y": 1}'])).toMatch(/^data\.jsonl:1: "x" is an empty array/);
    expect(errorOf(['{"x": "a"}'])).toBe('data.jsonl:1: missing "y" (the target is read from key "y"; name another with jsonl(..., y = "key"))');
    expect(errorOf(['{"x": "a", "y": 1}', '{"x": "b"}'])).toBe('data.jsonl:2: missing "y"');
    expect(errorOf(['[1, 2]'])).toMatch(/^data\.jsonl:1: expected an object/);
    expect(errorOf(['', ''])).toBe('data.jsonl: no examples (every line is empty)');
  });

  it('reads the input and the target from the keys named (x = "text", y = "label"), ignoring other keys', () => {
    const ds = jsonlFile(
      memoryFileIO({ 'f.jsonl': '{"id": 7, "text": "ab", "label": 1, "note": "kept out"}\n{"id": 8, "text": "ba", "label": 0}\n' }),
      'f.jsonl',
      { x: 'text', y: 'label', split: 1 },
    );
    expect(ds.inputs.map((f) => [f.name, f.type.kind])).toEqual([['text', 'tokens']]);
    expect(ds.targets.map((f) => [f.name, f.type])).toEqual([['label', { kind: 'token', vocab: 2 }]]);
    expect(ds.train.map((e) => (e.targets[0] as { id: number }).id)).toEqual([1, 0]);
    expect(() => jsonlFile(memoryFileIO({ 'f.jsonl': '{"text": "ab", "y": 1}\n' }), 'f.jsonl', { x: 'text', y: 'label' })).toThrow(
      'f.jsonl:1: missing "label" (the target is read from key "label"',
    );
    expect(() => jsonlFile(memoryFileIO({ 'f.jsonl': '{"a": 1}\n' }), 'f.jsonl', { x: 'a', y: 'a' })).toThrow('jsonl: x and y read the same key "a"');
  });

  it("csv: columns by name from the header, numbers or text inferred, quotes and line breaks in cells, errors at the file's lines", () => {
    const text = 'id,review,stars,len\n1,"good, very ""good""",1,2.5\n2,"bad\nreally",0,1.5\n3,meh,0,0.5\n';
    const io = memoryFileIO({ 'r.csv': text });
    const ds = csvFile(io, 'r.csv', { x: 'review', y: 'stars', split: 1 });
    expect(ds.name).toBe('csv');
    expect(ds.inputs.map((f) => [f.name, f.type.kind])).toEqual([['review', 'tokens']]);
    expect(ds.targets.map((f) => [f.name, f.type])).toEqual([['stars', { kind: 'token', vocab: 2 }]]);
    const first = ds.train[0]!.inputs[0] as { ids: Int32Array };
    expect(Array.from(first.ids, (id) => ds.inputs[0]!.vocab!.token(id)).join('')).toBe('good, very "good"');
    expect(ds.train.map((e) => (e.targets[0] as { id: number }).id)).toEqual([1, 0, 0]);
    // Several input columns: a vector of their numbers; a real-valued target: a regression.
    const v = csvFile(io, 'r.csv', { x: 'id,stars', y: 'len', split: 1 });
    expect(v.inputs[0]!.type).toEqual({ kind: 'vector', dims: [2] });
    expect(v.targets[0]!.type).toEqual({ kind: 'vector', dims: [1] });
    expect(v.task).toBe('regression');
    expect(() => csvFile(io, 'r.csv', { x: 'text', y: 'stars' })).toThrow('r.csv:1: no column "text" for the input (the columns: id, review, stars, len)');
    // A row whose input column is empty (text) after numbers: the error names the file's line, counting the
    // quoted line break of the first row.
    const bad = memoryFileIO({ 'b.csv': 'a,b\n1,"2\n"\n2,3\n4,x\n' });
    expect(() => csvFile(bad, 'b.csv', { x: 'b', y: 'a' })).toThrow(/^b\.csv:5: /);
    expect(() => csvFile(memoryFileIO({ 'q.csv': 'a,b\n"unclosed,1\n' }), 'q.csv', { x: 'a', y: 'b' })).toThrow(/^q\.csv(:\d+)?: not valid CSV/);
    // Digit strings with a leading zero are text (a character sequence), the whole column.
    const codes = csvFile(memoryFileIO({ 'c.csv': 'code,y\n0101,1\n1100,0\n0011,1\n' }), 'c.csv', { x: 'code', y: 'y', split: 1 });
    expect(codes.inputs[0]!.type).toEqual({ kind: 'tokens', vocab: 2 });
    expect(Array.from((codes.train[1]!.inputs[0] as { ids: Int32Array }).ids)).toEqual([1, 1, 0, 0]);
    // Mixed line endings (CRLF lines, then lines appended with LF) read as rows, with no line break left in a cell.
    const mixed = csvFile(memoryFileIO({ 'm.csv': 'x,y\r\nab,pos\r\nba,neg\nab,pos\n' }), 'm.csv', { x: 'x', y: 'y', split: 1 });
    expect(mixed.train).toHaveLength(3);
    expect(mixed.inputs[0]!.vocab!.tokens).toEqual(['a', 'b', 'e', 'g', 'n', 'o', 'p', 's']);
    expect(() => csvFile(memoryFileIO({ 'h.csv': 'x,y\n' }), 'h.csv', { x: 'x', y: 'y' })).toThrow('h.csv: only a header row; give one example per row after it');
    // A file separated by another character: the header is one column, and the message says which delimiter to give.
    expect(() => csvFile(memoryFileIO({ 's.csv': 'a;b\n1;2\n' }), 's.csv', { x: 'a', y: 'b' })).toThrow('s.csv:1: no column "a" for the input (the columns: a;b); the header reads as one column: if the file separates its columns with ";", give csv(..., delimiter = ";")');
    expect(csvFile(memoryFileIO({ 's.csv': 'a;b\n1;2\n3;4\n' }), 's.csv', { x: 'a', y: 'b', delimiter: ';', split: 1 }).train).toHaveLength(2);
    expect(() => csvFile(memoryFileIO({ 's.csv': 'a;b\n1;2\n' }), 's.csv', { x: 'a', y: 'b', delimiter: '' })).toThrow('csv: delimiter must be the text between columns');
  });

  it('reports a missing file', () => {
    expect(() => jsonlFile(memoryFileIO({}), 'nope.jsonl')).toThrow('data file not found: nope.jsonl');
  });
});

describe('text files', () => {
  it('reads a text file as a character or word language model', () => {
    const io = memoryFileIO({ 'poem.txt': 'roses are red\nviolets are blue\n'.repeat(10) });
    const c = textFile(io, 'poem.txt', { seqLen: 16, split: 0.8 });
    expect(c.task).toBe('lm');
    expect(c.inputs[0]!.vocab!.tokens[0]).toBe('\n');
    const w = textFile(io, 'poem.txt', { level: 'word', seqLen: 4 });
    expect(w.inputs[0]!.vocab!.tokens.slice(0, 2)).toEqual(['<eos>', 'are']);
    expect(w.description).toMatch(/^poem\.txt \(words\)/);
  });
});
