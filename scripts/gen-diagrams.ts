// Writes docs/grammar.html: Chevrotain's railroad (syntax) diagrams of the
// .rnn grammar, generated from the parser itself so they cannot drift from it.
//
// Node 20 cannot run TypeScript directly and the repository has no tsx, so
// the file is produced by a golden test: test/parse/diagrams.test.ts compares
// docs/grammar.html with grammarDiagramsHtml() and
//   npx vitest run test/parse/diagrams.test.ts -u
// rewrites it. Compiled to JavaScript (or run by any TypeScript runner), this
// module also writes the file when executed directly.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createSyntaxDiagramsCode } from 'chevrotain';
import { rnnParser } from '../grammar/parser.js';

/** The HTML page of the diagrams (it loads Chevrotain's diagram renderer from unpkg). */
export function grammarDiagramsHtml(): string {
  return createSyntaxDiagramsCode(rnnParser.getSerializedGastProductions());
}

export const grammarHtmlPath = fileURLToPath(new URL('../docs/grammar.html', import.meta.url));

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(grammarHtmlPath, grammarDiagramsHtml());
}
