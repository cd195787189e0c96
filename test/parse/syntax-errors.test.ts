// Syntax errors: codes, positions and hints of the front end's diagnostics,
// recovery (several errors in one run, a best-effort AST), and robustness
// (random garbage and absurd nesting terminate with diagnostics, never throw).
import { describe, expect, test } from 'vitest';
import { parseProgram, printAst } from '../../compiler/ast/index.js';
import type { Diagnostic } from '../../compiler/diagnostics/diagnostic.js';

interface Expected {
  readonly code: string;
  readonly line: number;
  readonly column: number;
  readonly endColumn?: number;
  readonly message?: string | RegExp;
  readonly hint?: RegExp;
}

function check(source: string, expected: readonly Expected[]): readonly Diagnostic[] {
  const { diagnostics } = parseProgram(source, 'bad.rnn');
  expect(diagnostics.map((d) => `${d.code}@${d.span.line}:${d.span.column}`)).toEqual(
    expected.map((e) => `${e.code}@${e.line}:${e.column}`),
  );
  diagnostics.forEach((d, i) => {
    const e = expected[i]!;
    expect(d.span.file).toBe('bad.rnn');
    if (e.endColumn !== undefined) expect(d.span.endColumn).toBe(e.endColumn);
    if (e.message !== undefined) expect(d.message).toMatch(e.message);
    if (e.hint !== undefined) expect(d.hint ?? '').toMatch(e.hint);
  });
  return diagnostics;
}

describe('one syntax mistake, one diagnostic', () => {
  test('missing colon in a cell input', () => {
    check('cell c(x [X]) -> h: [H] { }', [
      { code: 'RNN1002', line: 1, column: 10, endColumn: 11, message: "expected ':', found '['", hint: /x: \[X\]/ },
    ]);
  });

  test('missing arrow before the outputs of a cell', () => {
    check('cell c(x: [X]) h: [H] { }', [
      { code: 'RNN1002', line: 1, column: 16, message: "expected '->', found identifier `h`", hint: /->/ },
    ]);
  });

  test("unclosed '(' at the end of a line points just after the line's last token", () => {
    check('cell c(x: [X]) -> h: [H] {\n  h[t] = tanh(W @ x[t]\n  y[t] = h[t]\n}', [
      {
        code: 'RNN1002',
        line: 2,
        column: 23,
        endColumn: 23,
        message: "expected ')', found identifier `y`",
        hint: /not closed/,
      },
    ]);
  });

  test('keyword used as a name', () => {
    check('model m {\n  input target: [D]\n}', [
      {
        code: 'RNN1002',
        line: 2,
        column: 9,
        endColumn: 15,
        message: "expected identifier, found keyword 'target'",
        hint: /keyword/,
      },
    ]);
  });

  test('fractional time offset', () => {
    check('cell c(x: [X]) -> h: [H] {\n  h[t] = h[t-1.5]\n}', [
      { code: 'RNN1002', line: 2, column: 14, endColumn: 17, message: 'expected integer, found number `1.5`' },
    ]);
  });

  test('malformed time index', () => {
    check('cell c(x: [X]) -> h: [H] {\n  h[t] = h[t--1]\n}', [
      { code: 'RNN1002', line: 2, column: 14, hint: /\[t-1\]/ },
    ]);
  });

  test('fractional dimension', () => {
    check('dim H = 2.5', [{ code: 'RNN1002', line: 1, column: 9, message: /^expected dimension/, hint: /whole/ }]);
  });

  test('missing comma between arguments', () => {
    check('model m {\n  e = embed(words E)\n}', [
      { code: 'RNN1002', line: 2, column: 19, message: "expected ')', found identifier `E`", hint: /','/ },
    ]);
  });

  test('training setting without a value', () => {
    check('train m {\n  batch\n}', [
      { code: 'RNN1002', line: 2, column: 8, message: "expected expression, found '}'", hint: /batch 32/ },
    ]);
  });

  test('equation outside any block', () => {
    check('x = 3\nmodel m { }', [
      { code: 'RNN1002', line: 1, column: 1, message: /^expected a declaration/, hint: /inside a `cell`/ },
    ]);
  });

  test('operator with no left operand', () => {
    check('model m {\n  y = a + * b\n}', [{ code: 'RNN1002', line: 2, column: 11, message: "expected expression, found '*'" }]);
  });

  test('sequence type without angle brackets', () => {
    check('model m {\n  input x: seq[D]\n}', [{ code: 'RNN1002', line: 2, column: 15, message: "expected '<', found '['" }]);
  });

  test('initialiser missing after =', () => {
    check('cell c(x: [X]) -> h: [H] {\n  param W: [H, X] =\n}', [
      { code: 'RNN1002', line: 2, column: 20, hint: /initialiser/ },
    ]);
  });

  test('stray closing brace at top level', () => {
    check('model m { y = f(x) }\n}', [{ code: 'RNN1002', line: 2, column: 1, message: /found '\}'$/ }]);
  });

  test('end of file inside a declaration', () => {
    check('model m { y = 1 }\ncell', [{ code: 'RNN1002', line: 2, column: 5, message: /found end of file$/ }]);
  });

  test('unexpected character', () => {
    check('model m { y = x ^ 2 }', [
      { code: 'RNN1001', line: 1, column: 17, endColumn: 18, message: 'unexpected character `^`', hint: /power/ },
    ]);
  });

  test('unterminated string', () => {
    check('train m {\n  data text("brown.txt)\n}', [{ code: 'RNN1003', line: 2, column: 13, endColumn: 24 }]);
  });

  test('number glued to a name', () => {
    check('dim H = 3 ; model m { y = 2H + x }', [
      { code: 'RNN1004', line: 1, column: 27, endColumn: 29, message: 'invalid number `2H`', hint: /2 \* H/ },
    ]);
  });

  test('number with two points and exponent without digits', () => {
    check('model m {\n  y = 1.2.3 + 1e\n}', [
      { code: 'RNN1004', line: 2, column: 7, hint: /one '\.'/ },
      { code: 'RNN1004', line: 2, column: 15, hint: /exponent/ },
    ]);
  });
});

describe('recovery', () => {
  test('three separate mistakes give three diagnostics', () => {
    const source = [
      'cell c(x: [X]) -> h: [H] {',
      '  h[t] = tanh(x[t]', // 1: unclosed '('
      '}',
      'model m {',
      '  y = = 3', // 2: '=' instead of an expression
      '}',
      'train m {',
      '  batch', // 3: setting without value
      '}',
    ].join('\n');
    check(source, [
      { code: 'RNN1002', line: 2, column: 19 },
      { code: 'RNN1002', line: 5, column: 7 },
      { code: 'RNN1002', line: 8, column: 8 },
    ]);
  });

  test('the AST keeps what parsed around the errors', () => {
    const source = 'dim H = 4\nmodel m {\n  input x: seq<[H]>\n  y = f(x,)\n  z = g(x)\n}\ntrain m { batch 8 }\n';
    const { program, diagnostics } = parseProgram(source, 'partial.rnn');
    expect(diagnostics).toHaveLength(1);
    expect(printAst(program)).toBe(
      [
        '(program "partial.rnn" @1:1',
        '  (dim @1:1 (H = 4 @1:5))',
        '  (model m @2:1 (input x: seq<[H]> @3:3) (eq z @5:3 (call g @5:7 (ref x @5:9))))',
        '  (train m @7:1 (set batch @7:11 (num 8 @7:17))))',
        '',
      ].join('\n'),
    );
  });

  test('an echo of an error on the next token is reported once', () => {
    check('model m { input inputs: seq<[D]> ; target target: [1] }', [{ code: 'RNN1002', line: 1, column: 43, endColumn: 49 }]);
  });
});

describe('lexing', () => {
  test('keywords do not swallow names that start with them', () => {
    const { program, diagnostics } = parseProgram(
      'dim inputs, target_x, dimension, cells, models, trains, withs, reversed, bidirs, seqs, tokens, params, options',
      'k.rnn',
    );
    expect(diagnostics).toEqual([]);
    const item = program.items[0]!;
    expect(item.kind).toBe('DimDecl');
    if (item.kind === 'DimDecl') expect(item.dims.map((d) => d.name.name)).toHaveLength(13);
  });

  test('t is an ordinary name', () => {
    const { diagnostics } = parseProgram('dim t = 3\nmodel m { t = t }', 't.rnn');
    expect(diagnostics).toEqual([]);
  });

  test('number forms', () => {
    const { program, diagnostics } = parseProgram('train m { a 12; b 0.5; c 1e-3; d 2.5E+4; e .5; f 1. }', 'n.rnn');
    expect(diagnostics).toEqual([]);
    const train = program.items[0]!;
    if (train.kind !== 'TrainDecl') throw new Error('expected a train block');
    expect(train.settings.map((s) => (s.value.kind === 'NumberLit' ? s.value.value : NaN))).toEqual([
      12, 0.5, 1e-3, 2.5e4, 0.5, 1,
    ]);
  });
});

describe('spans', () => {
  test('start, end and exclusive end column of nested nodes', () => {
    const source = 'model m {\n  y[t] = (a + b) * c[t-1]\n}';
    const { program } = parseProgram(source, 's.rnn');
    const model = program.items[0]!;
    if (model.kind !== 'ModelDecl') throw new Error('expected a model');
    const eq = model.items[0]!;
    if (eq.kind !== 'Equation') throw new Error('expected an equation');
    expect(source.slice(eq.span.start, eq.span.end)).toBe('y[t] = (a + b) * c[t-1]');
    expect(eq.span).toMatchObject({ line: 2, column: 3, endLine: 2, endColumn: 26 });
    expect(eq.value.kind).toBe('Binary');
    if (eq.value.kind !== 'Binary') return;
    // The product covers the parentheses of its left operand; the sum inside does not.
    expect(source.slice(eq.value.span.start, eq.value.span.end)).toBe('(a + b) * c[t-1]');
    expect(source.slice(eq.value.left.span.start, eq.value.left.span.end)).toBe('a + b');
    expect(source.slice(eq.value.right.span.start, eq.value.right.span.end)).toBe('c[t-1]');
    expect(model.span).toMatchObject({ start: 0, end: source.length, line: 1, column: 1, endLine: 3, endColumn: 2 });
    expect(program.span).toMatchObject({ start: 0, end: source.length, endLine: 3, endColumn: 2 });
  });
});

describe('robustness', () => {
  // A small deterministic generator (mulberry32), so a failure reproduces.
  function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const pieces = [
    'cell', 'model', 'train', 'dim', 'param', 'option', 'input', 'target', 'with', 'reverse', 'bidir', 'seq',
    'token', 'x', 'h', 't', '[', ']', '(', ')', '{', '}', '<', '>', ',', ';', ':', '=', '->', '-', '+', '*',
    '/', '@', '1', '0.5', '"s"', '"', '#c\n', '\n', ' ', '$', '.', '2H',
  ];

  test('200 random byte strings terminate with diagnostics and never throw', () => {
    const random = rng(42);
    for (let i = 0; i < 200; i++) {
      const length = 1 + Math.floor(random() * 200);
      let text = '';
      for (let j = 0; j < length; j++) text += String.fromCharCode(Math.floor(random() * 256));
      const { program, diagnostics } = parseProgram(text, 'fuzz.rnn');
      expect(program.kind).toBe('Program');
      // Bytes mostly are not .rnn text: nearly every string must be rejected.
      if (/[^\x20-\x7e\s]/.test(text)) expect(diagnostics.length).toBeGreaterThan(0);
      for (const d of diagnostics) {
        expect(d.span.start).toBeGreaterThanOrEqual(0);
        expect(d.span.end).toBeLessThanOrEqual(text.length);
        expect(d.span.line).toBeGreaterThanOrEqual(1);
      }
      expect(() => printAst(program)).not.toThrow();
    }
  });

  test('300 random token soups terminate and never throw', () => {
    const random = rng(7);
    for (let i = 0; i < 300; i++) {
      const n = 1 + Math.floor(random() * 80);
      const parts: string[] = [];
      for (let j = 0; j < n; j++) parts.push(pieces[Math.floor(random() * pieces.length)]!);
      const text = parts.join(' ');
      const { program, diagnostics } = parseProgram(text, 'soup.rnn');
      expect(program.kind).toBe('Program');
      for (const d of diagnostics) expect(d.span.end).toBeLessThanOrEqual(text.length);
      expect(() => printAst(program)).not.toThrow();
    }
  });

  test('absurd nesting is refused with RNN1005 instead of overflowing the stack', () => {
    for (const n of [150, 5000]) {
      const { diagnostics } = parseProgram(`model m { y = ${'('.repeat(n)}x${')'.repeat(n)} }`, 'deep.rnn');
      expect(diagnostics.map((d) => d.code)).toEqual(['RNN1005']);
      const minus = parseProgram(`model m { y = ${'- '.repeat(n)}x }`, 'deep.rnn');
      expect(minus.diagnostics.map((d) => d.code)).toEqual(['RNN1005']);
    }
    expect(parseProgram(`model m { y = ${'('.repeat(50)}x${')'.repeat(50)} }`, 'ok.rnn').diagnostics).toEqual([]);
  });

  test('long flat chains parse; past the expression limit they are RNN1006, not a stack overflow', () => {
    const chain = (n: number): string => `model m { y = ${Array.from({ length: n }, (_, i) => `a${i}`).join(' + ')} }`;
    const { program, diagnostics } = parseProgram(chain(500), 'long.rnn');
    expect(diagnostics).toEqual([]);
    expect(program.items).toHaveLength(1);
    expect(parseProgram(chain(3000), 'long.rnn').diagnostics.map((d) => d.code)).toEqual(['RNN1006']);
  });
});
