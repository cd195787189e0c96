// Every ```rnn block of docs/language.md and grammar/GRAMMAR.md parses
// without diagnostics, so the references cannot drift from the parser.
// A block is a whole file, or statements of a cell, a model or a train block.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseProgram } from '../../compiler/ast/index.js';

const docs = ['../../docs/language.md', '../../grammar/GRAMMAR.md'];

const wrappers: readonly ((body: string) => string)[] = [
  (b) => b,
  (b) => `cell c(x: [X]) -> h: [H] {\n${b}\n}`,
  (b) => `model m {\n${b}\n}`,
  (b) => `train m {\n${b}\n}`,
];

function blocks(markdown: string): string[] {
  return [...markdown.matchAll(/```rnn\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe.each(docs)('%s', (doc) => {
  const text = readFileSync(fileURLToPath(new URL(doc, import.meta.url)), 'utf8');
  const examples = blocks(text);

  test('has examples', () => {
    expect(examples.length).toBeGreaterThan(5);
  });

  test.each(examples.map((b, i) => [i, b] as const))('example %i parses', (_i, body) => {
    const errors = wrappers.map((wrap) => parseProgram(wrap(body), 'doc.rnn').diagnostics);
    const best = errors.reduce((a, b) => (b.length < a.length ? b : a));
    expect(best.map((d) => `${d.span.line}:${d.span.column} ${d.message}`)).toEqual([]);
  });
});
