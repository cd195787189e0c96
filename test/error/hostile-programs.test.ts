// Hostile but plausible programs: each gets a located diagnostic instead of a
// stack overflow, minutes of work or a crash in the backend.
// - Size (compiler/ast/limits.ts, RNN1006): a 100,000-term sum, a cell of
//   10,000 equations, a model of 2,000 layers; programs just under the limits
//   are still accepted.
// - Sizes that cannot be allocated (RNN3006 for a dimension, RNN3007 for a
//   parameter): 10^12, 2^53 + 1, a product past 2^31, a [10^5, 10^5] matrix;
//   `with H = 0`, negative and fractional sizes as for `dim`.
// - Files that are not UTF-8 text (src/project.ts decodeSource): NUL bytes,
//   UTF-16, Latin-1, each with the line and column of the first bad byte.
import { describe, expect, it } from 'vitest';
import { checkProgram } from '../../compiler/compile.js';
import type { Diagnostic } from '../../compiler/diagnostics/diagnostic.js';
import { MAX_CELL_EQUATIONS, MAX_EXPRESSION_NODES, MAX_MODEL_STATEMENTS } from '../../compiler/ast/limits.js';
import { decodeSource } from '../../src/project.js';
import { loadStdlib } from '../../src/stdlib.js';

const check = (text: string): Diagnostic[] => checkProgram({ file: 'm.rnn', text }, loadStdlib()).filter((d) => d.severity === 'error');
const codes = (text: string): string[] => check(text).map((d) => d.code);

const cellOf = (equations: string): string => `cell c(x: [X]) -> h: [X] {
${equations}
}
model m {
  input x: seq<[2]>
  target y: seq<[2]>
  h = c(x)
  loss = mse(h, y)
}
`;
const sumOf = (n: number): string => cellOf(`  h[t] = tanh(${Array.from({ length: n }, () => 'x[t]').join(' + ')} + h[t-1])`);
const chainOf = (n: number): string =>
  cellOf([`  a0[t] = tanh(x[t] + h[t-1])`, ...Array.from({ length: n }, (_, i) => `  a${i + 1}[t] = tanh(a${i}[t])`), `  h[t] = a${n}[t]`].join('\n'));
const stackOf = (n: number): string => `model m {
  dim H = 2
  input x: seq<[2]>
  target y: seq<[2]>
  h0 = rnn(x) with H
${Array.from({ length: n }, (_, i) => `  h${i + 1} = rnn(h${i}) with H`).join('\n')}
  loss = mse(h${n}, y)
}
`;
const withH = (dims: string, app = 'with H'): string => `model m {
  ${dims}
  input x: seq<[2]>
  target y: seq<[2]>
  h = rnn(x) ${app}
  loss = mse(dense(h, 2), y)
}
`;

describe('programs too large (RNN1006)', () => {
  it('a 100,000-term sum: refused with its place, not a stack overflow', () => {
    const ds = check(sumOf(100_000));
    expect(ds.map((d) => d.code)).toEqual(['RNN1006']);
    expect(ds[0]!.message).toMatch(/this file has \d+ tokens; the limit is 50000/);
  });

  it('a 2,000-term sum: refused at the expression', () => {
    const ds = check(sumOf(2000));
    expect(ds.map((d) => d.code)).toEqual(['RNN1006']);
    expect(ds[0]!.message).toContain(`more than ${MAX_EXPRESSION_NODES} terms`);
    expect(ds[0]!.span.line).toBe(2);
  });

  it('a cell of 1,000 (or 10,000) equations and a model of 2,000 layers: refused at their names', () => {
    // 10,000 equations are past the file's token limit already; 1,000 are past the cell's.
    expect(check(chainOf(10_000)).map((d) => d.code)).toEqual(['RNN1006']);
    const cell = check(chainOf(1000));
    expect(cell.map((d) => [d.code, d.span.line])).toEqual([['RNN1006', 1]]);
    expect(cell[0]!.message).toBe(`cell \`c\` has 1002 equations; the limit is ${MAX_CELL_EQUATIONS}`);
    const model = check(stackOf(2000));
    expect(model.map((d) => [d.code, d.span.line])).toEqual([['RNN1006', 1]]);
    expect(model[0]!.message).toBe(`model \`m\` has 2005 statements; the limit is ${MAX_MODEL_STATEMENTS}`);
  });

  it('programs under the limits are accepted', () => {
    expect(codes(sumOf(300))).toEqual([]);
    expect(codes(chainOf(MAX_CELL_EQUATIONS - 2))).toEqual([]);
    expect(codes(stackOf(MAX_MODEL_STATEMENTS - 5))).toEqual([]);
  });
});

describe('sizes that cannot be allocated', () => {
  it('dimensions past 2^31 - 1, written or computed, and sizes below 1: RNN3006 at the value, and nothing else', () => {
    for (const dims of ['dim H = 1000000000000', 'dim H = 9007199254740993', 'dim H = 60000 * 60000', 'dim H = 0']) {
      const ds = check(withH(dims));
      expect(ds.map((d) => d.code), dims).toEqual(['RNN3006']);
      expect(ds[0]!.span.line).toBe(2);
    }
  });

  it('a parameter of 10^10 numbers: RNN3007 where the cell is applied, with its size', () => {
    const ds = check(withH('dim H = 100000'));
    expect(ds.map((d) => d.code)).toEqual(['RNN3007']);
    expect(ds[0]!.span.line).toBe(5);
    expect(ds[0]!.message).toBe('parameter h.W would be [100000, 100000]: 1.00e+10 numbers, 37.3 GiB as float32');
    expect(ds[0]!.notes?.[0]?.message).toBe('h.W is declared here');
    expect(codes(withH('dim H = 8192'))).toEqual([]);
  });

  it('`with H = 0`, negative and fractional sizes: RNN3006 as for `dim`', () => {
    for (const v of ['0', '-1', '2.5']) {
      const ds = check(withH('dim K = 2', `with H = ${v}`));
      expect(ds.map((d) => d.code), v).toEqual(['RNN3006']);
      expect(ds[0]!.span.line).toBe(5);
    }
    expect(codes(withH('dim K = 2', 'with H = 3'))).toEqual([]);
  });
});

describe('files that are not UTF-8 text', () => {
  const bytes = (...parts: (string | number[])[]): Uint8Array =>
    Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...new TextEncoder().encode(p)] : p)));

  it('a NUL byte: its line and column', () => {
    expect(() => decodeSource(bytes('model m {\n  input x', [0], '\n}'), 'm.rnn')).toThrow('m.rnn:2:10: a NUL byte');
  });

  it('UTF-16, with or without a byte-order mark', () => {
    const utf16 = (s: string): number[] => [...s].flatMap((c) => [c.charCodeAt(0), 0]);
    expect(() => decodeSource(bytes([0xff, 0xfe], utf16('model m {}')), 'm.rnn')).toThrow('m.rnn is UTF-16 text');
    expect(() => decodeSource(bytes(utf16('model m {}')), 'm.rnn')).toThrow('m.rnn:1:2: a NUL byte');
  });

  it('Latin-1 and other bytes that are not UTF-8: the first one', () => {
    expect(() => decodeSource(bytes('# ok\n# caf', [0xe9], '\n'), 'm.rnn')).toThrow('m.rnn:2:6: byte 0xe9, which is not UTF-8');
    // An overlong encoding and a lone continuation byte.
    expect(() => decodeSource(bytes('a', [0xc0, 0xaf]), 'm.rnn')).toThrow('m.rnn:1:2: byte 0xc0');
    expect(() => decodeSource(bytes('ab', [0x80]), 'm.rnn')).toThrow('m.rnn:1:3: byte 0x80');
  });

  it('UTF-8, with non-ASCII text and a byte-order mark, is read as it is', () => {
    expect(decodeSource(bytes('# café 漢字 😀\nmodel m {}'), 'm.rnn')).toBe('# café 漢字 😀\nmodel m {}');
    expect(decodeSource(bytes([0xef, 0xbb, 0xbf], '# bom'), 'm.rnn')).toBe('# bom');
    expect(() => decodeSource(bytes('# 漢字 ', [0xe6, 0xbc]), 'm.rnn')).toThrow('m.rnn:1:6: byte 0xe6');
  });
});
