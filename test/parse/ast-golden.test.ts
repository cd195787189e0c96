// Golden tests of the AST printer: every test/cases/parse/*.rnn must parse
// without diagnostics, and its printed AST must equal the committed
// *.ast.txt next to it (`npx vitest run test/parse -u` rewrites them).
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseProgram, printAst } from '../../compiler/ast/index.js';

const casesDir = fileURLToPath(new URL('../cases/parse/', import.meta.url));
const cases = readdirSync(casesDir)
  .filter((f) => f.endsWith('.rnn'))
  .sort();

describe('AST goldens', () => {
  test('there are cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(5);
  });

  for (const file of cases) {
    test(file, async () => {
      const text = readFileSync(join(casesDir, file), 'utf8');
      const { program, diagnostics } = parseProgram(text, file);
      expect(diagnostics).toEqual([]);
      await expect(printAst(program)).toMatchFileSnapshot(join(casesDir, `${basename(file, '.rnn')}.ast.txt`));
    });
  }
});
