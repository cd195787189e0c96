// The source formatter (compiler/ast/format.ts, `rnnc fmt`): on every example,
// the standard library and the parse cases it is idempotent, keeps the AST
// (positions aside) and keeps every comment in order; focused cases pin
// parentheses, long lines, strings, numbers, comments in awkward places and
// the alignment it keeps; random programs with random spacing, parentheses,
// semicolons, blank lines and comments keep all three guarantees.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { astShape, commentTexts, formatSource } from '../../compiler/ast/format.js';
import { parseProgram } from '../../compiler/ast/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function rnnFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...rnnFiles(rel));
    else if (entry.name.endsWith('.rnn')) out.push(rel);
  }
  return out.sort();
}

const corpus = [...rnnFiles('examples'), ...rnnFiles('compiler/stdlib'), ...rnnFiles('test/cases')].filter(
  (f) => parseProgram(readFileSync(join(root, f), 'utf8'), f).diagnostics.length === 0,
);

/** Formats, and checks the guarantees on the way: same AST, same comments, idempotent. */
function fmt(text: string): string {
  const r = formatSource(text, 'test.rnn');
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.span.line}:${d.span.column} ${d.message}`).join('\n'));
  expect(astShape(parseProgram(r.text, 'test.rnn').program)).toBe(astShape(parseProgram(text, 'test.rnn').program));
  expect(commentTexts(r.text)).toEqual(commentTexts(text));
  const again = formatSource(r.text, 'test.rnn');
  expect(again.ok && again.text).toBe(r.text);
  return r.text;
}

/** The formatted text of one equation of a cell. */
function fmtEquation(value: string): string {
  const out = fmt(`cell c(x: [X]) -> y: [X] {\n  y[t] = ${value}\n}\n`);
  return out.split('\n')[1]!.replace(/^ {2}y\[t\] = /, '');
}

describe('the repository corpus', () => {
  test('holds the examples, the standard library and the parse cases', () => {
    expect(corpus.filter((f) => f.startsWith('examples/')).length).toBeGreaterThanOrEqual(10);
    expect(corpus).toContain('compiler/stdlib/cells.rnn');
    expect(corpus.filter((f) => f.startsWith('test/cases/')).length).toBeGreaterThanOrEqual(5);
  });

  for (const file of corpus) {
    test(file, () => {
      const text = readFileSync(join(root, file), 'utf8');
      const once = fmt(text);
      // The comment count is kept, and is not trivially zero for the commented files.
      expect(commentTexts(once).length).toBe(text.split('\n').filter((l) => l.includes('#')).length);
    });
  }

  test('the examples are already formatted', () => {
    for (const file of corpus.filter((f) => f.startsWith('examples/'))) {
      const text = readFileSync(join(root, file), 'utf8');
      expect(fmt(text), file).toBe(text);
    }
  });
});

describe('parentheses follow precedence', () => {
  test.each([
    ['(a - b) - c', 'a - b - c'],
    ['a - (b - c)', 'a - (b - c)'],
    ['a + (b + c)', 'a + (b + c)'],
    ['(a * b) + c', 'a * b + c'],
    ['a * (b + c)', 'a * (b + c)'],
    ['(a + b) * c', '(a + b) * c'],
    ['(a / b) / c', 'a / b / c'],
    ['a / (b * c)', 'a / (b * c)'],
    ['(W @ x) * g', 'W @ x * g'],
    ['W @ (x * g)', 'W @ (x * g)'],
    ['(W @ U) @ x', 'W @ U @ x'],
    ['W @ (U @ x)', 'W @ (U @ x)'],
    ['(-a) @ b', '-a @ b'],
    ['-(a @ b)', '-(a @ b)'],
    ['- - a', '-(-a)'],
    ['-(1 - a)', '-(1 - a)'],
    ['((tanh((a))))', 'tanh(a)'],
    ['a*b+c/d-e', 'a * b + c / d - e'],
    ['f(a,b , k=1)', 'f(a, b, k = 1)'],
  ])('%s', (source, expected) => {
    expect(fmtEquation(source)).toBe(expected);
  });

  test('prefix operators on cell applications', () => {
    const out = fmt('model m {\n  input x: seq<[2]>\n  a = bidir   lstm(x)  with H=4\n  b = rnn(reverse(reverse x)) with H\n  c = -(reverse x)\n}\n');
    expect(out).toContain('  a = bidir lstm(x) with H = 4\n');
    expect(out).toContain('  b = rnn(reverse reverse x) with H\n');
    expect(out).toContain('  c = -reverse x\n');
  });

  test('dimension expressions keep only the parentheses that matter', () => {
    const out = fmt('dim A = (X - 1) * 2, B = X - (Y - 3), C = (X * 2) + 1, D = ((X)), E = X * (Y * Z)\n');
    expect(out).toBe('dim A = (X - 1) * 2, B = X - (Y - 3), C = X * 2 + 1, D = X, E = X * (Y * Z)\n');
    const shapes = fmt('cell c(x: [ 2*H ]) -> y: [H+X] {\n  param W: [ H , (X) ] = glorot()\n  y[t] = W @ x[t]\n}\n');
    expect(shapes).toContain('cell c(x: [2 * H]) -> y: [H + X] {\n');
    expect(shapes).toContain('  param W: [H, X] = glorot\n');
  });
});

describe('statements', () => {
  test('time indices, initial values, options, params and decoders', () => {
    const src = [
      'cell d(mem: [L,D], z:[Z]) -> y : token[ K ] , s: [H] {',
      'option start=0',
      'option act = tanh',
      'param E : [M,K] = normal(0, 0.01)',
      's[ 0 ] = tanh(S@z)',
      's[t] = act(E @ one_hot(y[ t - 1 ]) + s[t-1] + attend(s[t - 1], mem, additive) + x[t+1])',
      'y[t]=W@s[t]',
      '}',
    ].join('\n');
    expect(fmt(src)).toBe(
      [
        'cell d(mem: [L, D], z: [Z]) -> y: token[K], s: [H] {',
        '  option start = 0',
        '  option act = tanh',
        '  param E: [M, K] = normal(0, 0.01)',
        '  s[0] = tanh(S @ z)',
        '  s[t] = act(E @ one_hot(y[t-1]) + s[t-1] + attend(s[t-1], mem, additive) + x[t+1])',
        '  y[t] = W @ s[t]',
        '}',
        '',
      ].join('\n'),
    );
  });

  test('a long statement stays on one line', () => {
    const terms = Array.from({ length: 20 }, (_, i) => `W_${i} @ x[t]`).join(' +\n      ');
    const out = fmt(`cell c(x: [X]) -> h: [H] {\n  h[t] = tanh(${terms})\n}\n`);
    const lines = out.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]!.length).toBeGreaterThan(200);
    expect(lines[1]).toBe(`  h[t] = tanh(${Array.from({ length: 20 }, (_, i) => `W_${i} @ x[t]`).join(' + ')})`);
  });

  test('numbers are written as they were', () => {
    expect(fmtEquation('1e-3 * a + .5 * b + 2.5E+4 + 1. + 007')).toBe('1e-3 * a + .5 * b + 2.5E+4 + 1. + 007');
  });

  test('whole numbers past 1e21 are written as digits, never with an exponent', () => {
    const out = fmt('dim A = 99999999999999999999999 * 2\ncell c(x: [X]) -> h: [H] {\n  h[t] = x[t-100000000000000000000000] + h[100000000000000000000000]\n}\n');
    expect(out).not.toMatch(/e\+/);
    expect(out).toContain('h[100000000000000000000000]');
  });

  test('strings keep their text: backslashes, # and spaces inside are not comments or escapes', () => {
    const out = fmt('train m {\n  data text("C:\\\\data\\n #1 file.txt", level = char)   # the corpus\n}\n');
    expect(out).toBe('train m {\n  data text("C:\\\\data\\n #1 file.txt", level = char)   # the corpus\n}\n');
    expect(commentTexts(out)).toEqual(['# the corpus']);
  });

  test('train settings: modes, settings on one line, values that would read as a mode', () => {
    const out = fmt('train m { clip norm 5.0\n bptt full\n batch 32 ; epochs 3;seed 1\n feed scheduled(inverse_sigmoid, k=20)\n lr (a - 1)\n clip value -1 }\n');
    expect(out).toBe(
      'train m {\n  clip norm 5.0\n  bptt full\n  batch 32; epochs 3; seed 1\n  feed scheduled(inverse_sigmoid, k = 20)\n  lr (a - 1)\n  clip value -1\n}\n',
    );
  });

  test('one statement per line, semicolons dropped, a blank line after each block', () => {
    const out = fmt('dim V;dim H = 8\nmodel m { input x: seq<[2]>; target y: [1]; h = rnn(x) with H; loss = mse(dense(last(h), 1), y) } train m { batch 4 }');
    expect(out).toBe(
      'dim V\ndim H = 8\n\nmodel m {\n  input x: seq<[2]>\n  target y: [1]\n  h = rnn(x) with H\n  loss = mse(dense(last(h), 1), y)\n}\n\ntrain m {\n  batch 4\n}\n',
    );
  });

  test('CRLF line ends become LF', () => {
    expect(fmt('dim V  # a\r\nmodel m {\r\n  # own\r\n  input x: seq<[2]>\r\n}\r\n')).toBe('dim V  # a\n\nmodel m {\n  # own\n  input x: seq<[2]>\n}\n');
  });

  test('an empty file stays empty; a file with errors is not formatted', () => {
    expect(fmt('')).toBe('');
    const bad = formatSource('model m {\n  y = f(x\n}\n', 'bad.rnn');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.diagnostics.map((d) => d.code)).toEqual(['RNN1002']);
  });
});

describe('alignment', () => {
  test('columns the source aligned stay aligned, recomputed for the new widths', () => {
    const src = [
      'model m {',
      '  input  words:   seq<token[V]>',
      '  target tags:    seq<token[K]>',
      '  e       = embed(words,E)',
      '  fw      = lstm(e) with H',
      '  y[t] = dense(fw[t], K)',
      '  loss = cross_entropy(y, tags)',
      '}',
      '',
    ].join('\n');
    expect(fmt(src)).toBe(
      [
        'model m {',
        '  input  words: seq<token[V]>',
        '  target tags:  seq<token[K]>',
        '  e  = embed(words, E)',
        '  fw = lstm(e) with H',
        '  y[t] = dense(fw[t], K)',
        '  loss = cross_entropy(y, tags)',
        '}',
        '',
      ].join('\n'),
    );
  });

  test('no alignment is invented where the source had none', () => {
    const src = 'model m {\n  input x: seq<[2]>\n  target yy: [1]\n  h = rnn(x) with H\n  loss = mse(dense(last(h), 1), yy)\n}\n';
    expect(fmt(src)).toBe(src);
  });
});

describe('comments', () => {
  test('above items, at line ends, at the end of blocks and of the file, blank lines at most one', () => {
    const src = [
      '# header',
      '',
      '',
      '',
      'dim V   # vocabulary',
      '# about the cell',
      'cell c(x: [X]) -> h: [H] {   # opening',
      '      # a comment line, re-indented',
      '  param W: [H, X]',
      '',
      '',
      '  h[t] = tanh(W @ x[t])  # the step',
      '        # the end of the body',
      '}  # closing',
      '# the end',
      '',
    ].join('\n');
    expect(fmt(src)).toBe(
      [
        '# header',
        '',
        'dim V   # vocabulary',
        '# about the cell',
        'cell c(x: [X]) -> h: [H] {   # opening',
        '  # a comment line, re-indented',
        '  param W: [H, X]',
        '',
        '  h[t] = tanh(W @ x[t])  # the step',
        '  # the end of the body',
        '}  # closing',
        '',
        '# the end',
        '',
      ].join('\n'),
    );
  });

  test('a comment keeps its column, or moves two spaces past code that grew', () => {
    expect(fmt('dim A=1          # aligned\ndim B=(1)  # short\n')).toBe('dim A = 1        # aligned\ndim B = 1  # short\n');
    expect(fmt('dim A=1*2*3+4# tight\n')).toBe('dim A = 1 * 2 * 3 + 4  # tight\n');
  });

  test('a file of comments only', () => {
    expect(fmt('  # one\n\n\n# two   \n')).toBe('# one\n\n# two\n');
  });

  test('a comment inside a statement that spans lines is an error, never dropped', () => {
    const src = 'model m {\n  y = f(a,   # first\n        b)\n}\n';
    const r = formatSource(src, 'm.rnn');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.diagnostics.map((d) => [d.code, d.span.line, d.span.column])).toEqual([['RNN1007', 2, 14]]);
    const header = formatSource('cell c(x: [X],  # the input\n       y: [X]) -> h: [H] {\n  h[t] = x[t]\n}\n', 'c.rnn');
    expect(!header.ok && header.diagnostics.map((d) => [d.code, d.span.line])).toEqual([['RNN1007', 1]]);
  });

  test('a comment after the last line of a multi-line statement stays at its end', () => {
    const out = fmt('model m {\n  y = f(a,\n        b)   # both\n}\n');
    expect(out).toBe('model m {\n  y = f(a, b)  # both\n}\n');
  });

  test('the comment count and order are kept in a busy file', () => {
    const src = [
      '#a',
      'dim V #b',
      '#c',
      'model m { #d',
      '#e',
      'input x: seq<[2]> #f',
      '#g',
      'target y: [1]; h = rnn(x) with H #h',
      'loss = mse(dense(last(h), 1), y) #i',
      '#j',
      '} #k',
      '#l',
      'train m { #m',
      'batch 4; epochs 1 #n',
      '#o',
      '} #p',
    ].join('\n');
    const out = fmt(src);
    expect(commentTexts(out)).toEqual('abcdefghijklmnop'.split('').map((c) => `#${c}`));
  });
});

// RNNC_PROPERTY_RUNS=N and RNNC_PROPERTY_SEED=S run a longer or another sweep (as test/property does).
const RUNS = Number(process.env['RNNC_PROPERTY_RUNS'] ?? 300);
const SEED = Number(process.env['RNNC_PROPERTY_SEED'] ?? 20261206);

describe('random programs (fast-check)', () => {
  const ws = fc.constantFrom(' ', ' ', '  ', '\t', '\n    ');
  const leaf = fc.constantFrom('a', 'b_2', 'x[t]', 'h[t-1]', 'h[ t - 1 ]', 's[0]', 'x[t+2]', '1', '0.5', '1e-3', '.5', '"f.txt"');
  const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.tuple(tie('e'), fc.constantFrom('+', '-', '*', '/', '@'), tie('e'), ws, fc.boolean(), fc.boolean()).map(
        ([l, op, r, w, pl, pr]) => `${pl ? `(${l})` : l}${w}${op}${w}${pr ? `(${r})` : r}`,
      ),
      fc.tuple(fc.constantFrom('-', 'reverse ', 'bidir ', '- '), tie('e'), fc.boolean()).map(([op, e, p]) => `${op}${p ? `(${e})` : e}`),
      fc.tuple(fc.constantFrom('tanh', 'f', 'dense'), fc.array(tie('e'), { maxLength: 3 }), fc.boolean(), ws).map(
        ([f, args, kw, w]) => `${f}(${[...args, ...(kw ? ['k = 2'] : [])].join(`,${w}`)})`,
      ),
      tie('e').map((e) => `(${e})`),
    ),
  })).e;
  const statement = fc.tuple(fc.constantFrom('y', 'h[t]', 'c[t]', 's[0]', 'long_name[t]'), fc.constantFrom(' ', '    ', ''), expr, fc.constantFrom('', ' with H', ' with H = 2 * K, act = relu'));
  const separator = fc.constantFrom('\n  ', '\n  ', '\n\n\n  ', '; ', ';', '  # note\n  ', '\n  # own line\n  ', '\n\n# dedented\n\n      ', '   #\n');
  const body = fc.array(fc.tuple(statement, separator), { minLength: 1, maxLength: 6 });
  const program = fc.tuple(body, fc.constantFrom('', '# head\n\n', 'dim  K=2*(3+1) # size\n'), fc.constantFrom('', '\n# tail', '  # after')).map(
    ([items, head, tail]) =>
      `${head}cell c(x: [X]) -> h: [H] {\n  ${items.map(([[target, gap, value, withs], sep]) => `${target}${gap}= ${value}${withs}${sep}`).join('')}\n}${tail}\n`,
  );

  // Models and train blocks, with padding that sometimes lines columns up.
  const pad = fc.constantFrom(' ', ' ', '  ', '    ');
  const modelItem = fc.oneof(
    fc.tuple(fc.constantFrom('input', 'target'), pad, fc.constantFrom('x', 'words', 'y_long'), pad, fc.constantFrom('seq<[2]>', 'seq<token[V]>', '[28, 84, 2]', 'token[ 10 ]')).map(
      ([role, p1, name, p2, type]) => `${role}${p1}${name}:${p2}${type}`,
    ),
    fc.tuple(fc.constantFrom('e', 'fw', 'y[t]', 'loss'), pad, fc.constantFrom('lstm(x) with H', 'embed(words,E)', 'bidir gru(e)with H=4', 'dense(fw[t], K)')).map(([t, p, v]) => `${t}${p}= ${v}`),
    fc.constantFrom('dim E = 2*H', 'dim A, B=3'),
  );
  const setting = fc.tuple(fc.constantFrom('data', 'optimizer', 'clip', 'batch', 'bptt', 'lr'), pad, fc.constantFrom('text("a b.txt")', 'adam(lr = 1e-3)', 'norm 5.0', '32', 'full', '(a - 1)', 'value -1')).map(
    ([k, p, v]) => `${k}${p}${v}`,
  );
  const lineSep = fc.constantFrom('\n  ', '\n  ', '\n\n  ', '; ', '   # c\n  ', '\n  # own\n  ');
  const blocks = fc
    .tuple(fc.array(fc.tuple(modelItem, lineSep), { minLength: 1, maxLength: 6 }), fc.array(fc.tuple(setting, lineSep), { minLength: 1, maxLength: 6 }))
    .map(([items, settings]) => {
      const join = (xs: readonly (readonly [string, string])[]): string => xs.map(([a, b]) => `${a}${b}`).join('');
      return `model m {\n  ${join(items)}\n}\ntrain m {\n  ${join(settings)}\n}\n`;
    });

  test('models and train blocks: the AST and the comments are kept, and formatting is idempotent', () => {
    fc.assert(
      fc.property(blocks, (text) => {
        fmt(text);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test('the AST and the comments are kept, and formatting is idempotent', () => {
    fc.assert(
      fc.property(program, (text) => {
        fmt(text);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
