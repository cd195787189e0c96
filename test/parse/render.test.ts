// Golden renderings of whole diagnostic texts (rustc-style) and of the JSON
// form. Inputs: test/cases/parse/errors/*.rnn; goldens next to them
// (*.err.txt, *.err.json); `npx vitest run test/parse -u` rewrites them.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseProgram } from '../../compiler/ast/index.js';
import type { Diagnostic } from '../../compiler/diagnostics/diagnostic.js';
import { makeDiagnostic } from '../../compiler/diagnostics/messages.js';
import {
  renderDiagnostic,
  renderDiagnostics,
  renderDiagnosticsJson,
  renderDiagnosticWithSources,
} from '../../compiler/diagnostics/render.js';
import type { Span } from '../../compiler/diagnostics/span.js';

const dir = fileURLToPath(new URL('../cases/parse/errors/', import.meta.url));
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.rnn'))
  .sort();

describe('rendered syntax errors', () => {
  for (const file of cases) {
    test(file, async () => {
      const text = readFileSync(join(dir, file), 'utf8');
      const { diagnostics } = parseProgram(text, file);
      expect(diagnostics.length).toBeGreaterThan(0);
      const stem = basename(file, '.rnn');
      await expect(renderDiagnostics(diagnostics, new Map([[file, text]]))).toMatchFileSnapshot(
        join(dir, `${stem}.err.txt`),
      );
      await expect(renderDiagnosticsJson(diagnostics)).toMatchFileSnapshot(join(dir, `${stem}.err.json`));
    });
  }
});

function spanOf(file: string, text: string, needle: string, occurrence = 0): Span {
  let start = -1;
  for (let i = 0; i <= occurrence; i++) start = text.indexOf(needle, start + 1);
  if (start < 0) throw new Error(`${needle} not in ${file}`);
  const before = text.slice(0, start).split('\n');
  const line = before.length;
  const column = before[before.length - 1]!.length + 1;
  const lines = needle.split('\n');
  const endLine = line + lines.length - 1;
  const endColumn = lines.length === 1 ? column + needle.length : lines[lines.length - 1]!.length + 1;
  return { file, start, end: start + needle.length, line, column, endLine, endColumn };
}

describe('rendering', () => {
  const model = 'model m {\n  dim H = 8\n  h = rnn(x) with H\n}\n';
  const cells = 'cell rnn(x: [X]) -> h: [H] {\n  param W: [H, H]\n}\n';

  test('notes in another file, a multi-line span and a hint', () => {
    const d: Diagnostic = makeDiagnostic(
      'RNN3001',
      spanOf('model.rnn', model, 'rnn(x) with H\n}'),
      'shapes [8] and [16] do not match',
      {
        notes: [
          { message: 'H is 8 here', span: spanOf('model.rnn', model, 'H = 8') },
          { message: 'W is declared here', span: spanOf('cells.rnn', cells, 'W') },
          { message: 'a note without a place' },
        ],
        hint: 'bind H to the same size in both places',
      },
    );
    const text = renderDiagnosticWithSources(
      d,
      new Map([
        ['model.rnn', model],
        ['cells.rnn', cells],
      ]),
    );
    expect(text).toBe(
      [
        'model.rnn:3:7: error RNN3001: shapes [8] and [16] do not match',
        ' 3 |   h = rnn(x) with H',
        '   |       ^^^^^^^^^^^^^',
        'note: model.rnn:2:7: H is 8 here',
        ' 2 |   dim H = 8',
        '   |       ^^^^^',
        'note: cells.rnn:2:9: W is declared here',
        ' 2 |   param W: [H, H]',
        '   |         ^',
        'note: a note without a place',
        'hint: bind H to the same size in both places',
        '',
      ].join('\n'),
    );
    // Without the other file's text, its note keeps its location only.
    expect(renderDiagnostic(d, model)).toContain('note: cells.rnn:2:9: W is declared here\nnote: a note');
  });

  test('tabs are kept in the caret padding and empty spans get one caret', () => {
    const text = 'model m {\n\ty = f(x\n}\n';
    const { diagnostics } = parseProgram(text, 'tab.rnn');
    expect(renderDiagnostic(diagnostics[0]!, text)).toBe(
      [
        "tab.rnn:2:9: error RNN1002: expected ')', found '}'",
        ' 2 | \ty = f(x',
        '   | \t       ^',
        "hint: a '(' is not closed; add ')'",
        '',
      ].join('\n'),
    );
  });

  test('JSON has a fixed key order', () => {
    const d = makeDiagnostic('RNN1001', spanOf('a.rnn', 'x $', '$'), 'unexpected character `$`');
    expect(JSON.parse(renderDiagnosticsJson([d]))).toEqual([
      {
        code: 'RNN1001',
        severity: 'error',
        message: 'unexpected character `$`',
        span: { file: 'a.rnn', start: 2, end: 3, line: 1, column: 3, endLine: 1, endColumn: 4 },
        notes: [],
      },
    ]);
    expect(Object.keys(JSON.parse(renderDiagnosticsJson([d]))[0] as object)).toEqual([
      'code',
      'severity',
      'message',
      'span',
      'notes',
    ]);
  });
});
