// The answers of `rnnc lsp` computed in-process (src/lsp/document.ts), over
// the examples: every name a model reads has a hover with its type, every
// use of a name goes to a definition, and no text cut short anywhere (the
// state of a file being typed) makes an answer throw.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Occurrence } from '../../compiler/ast/occurrences.js';
import { ATTENTION_KINDS } from '../../compiler/sema/cell.js';
import { RnnDocument } from '../../src/lsp/document.js';
import { packageRoot } from '../../src/stdlib.js';

const root = packageRoot();
const examples = readdirSync(join(root, 'examples'))
  .filter((f) => f.endsWith('.rnn'))
  .map((f) => ({ name: f, text: readFileSync(join(root, 'examples', f), 'utf8') }));

const hoverText = (d: RnnDocument, offset: number): string => {
  const h = d.hover(d.doc.positionAt(offset));
  return h && typeof h.contents === 'object' && 'value' in h.contents ? h.contents.value : '';
};

describe('answers about the examples', () => {
  it.each(examples.map((e) => [e.name, e.text]))('%s: model values have types, uses have definitions', (name, text) => {
    const d = new RnnDocument(pathToFileURL(join(root, 'examples', name)).href, 1, text);
    expect(d.diagnostics.filter((x) => x.severity === 'error')).toEqual([]);
    const inModels = d.occurrences.filter((o) => o.scope.kind === 'model' && o.kind === 'value' && o.name !== 'loss');
    expect(inModels.length).toBeGreaterThan(0);
    for (const o of inModels) {
      const shown = hoverText(d, o.span.start);
      // A model value shows `name: type`; a dimension read as a size (`dense(h, K)`) shows `dim`.
      expect(shown, `${o.name} at ${o.span.line}:${o.span.column}`).toMatch(new RegExp(`${o.name}: (seq<)?(token)?\\[|dim ${o.name}\\b`));
    }
    // Words that name no declaration: an attention kind (`attend(h, mem, additive)`), a data source's choice (`tags = simple`).
    const words = (o: Occurrence): boolean => o.scope.kind === 'train' || (ATTENTION_KINDS as readonly string[]).includes(o.name);
    for (const o of d.occurrences.filter((x) => !x.declares && (x.kind === 'value' || x.kind === 'dim') && !words(x))) {
      expect(d.definition(d.doc.positionAt(o.span.start)), `${o.name} at ${o.span.line}:${o.span.column}`).not.toBeNull();
    }
  });

  it.each(examples.map((e) => [e.name, e.text]))('%s cut short anywhere: no answer throws', (name, text) => {
    const cuts = 12;
    for (let k = 1; k <= cuts; k++) {
      const cut = text.slice(0, Math.floor((text.length * k) / cuts) - 3 * k);
      const d = new RnnDocument(`file:///tmp/${name}`, k, cut);
      expect(() => d.lspDiagnostics()).not.toThrow();
      for (let offset = 0; offset <= cut.length; offset += 7) {
        const p = d.doc.positionAt(offset);
        d.hover(p);
        d.definition(p);
        d.completions(p);
      }
    }
  });
});

describe('completion in a model', () => {
  it('offers the model\'s own dimensions, not those a `with` binds in an applied cell', () => {
    const text = 'model m {\n  dim V = 5\n  input x: seq<token[V]>\n  target y: seq<token[V]>\n  h = gru(one_hot(x)) with H = 8\n  loss = cross_entropy(dense(h, V), y)\n}\n';
    const d = new RnnDocument('file:///tmp/m.rnn', 1, text);
    const labels = d.completions({ line: 5, character: '  loss = '.length }).map((c) => c.label);
    expect(labels).toEqual(expect.arrayContaining(['V', 'h', 'x', 'y']));
    expect(labels).not.toContain('H');
  });
});

describe('completion and hover in a cell', () => {
  const text = 'cell c(x: [X]) -> h: [H] {\n  param W: [H, X] = glorot\n  param U: [H, H] = \n  h[t] = tanh(W @ x[t] + U @ h[t-1])\n}\n';
  const d = new RnnDocument('file:///tmp/c.rnn', 1, text);

  it('completes initialisers after `param ... =`, and functions and the cell\'s names in an equation', () => {
    const labels = (line: number, character: number): string[] => d.completions({ line, character }).map((c) => c.label);
    const inits = labels(2, '  param U: [H, H] = '.length);
    expect(inits).toEqual(expect.arrayContaining(['glorot', 'orthogonal', 'zeros', 'identity']));
    expect(inits).not.toContain('tanh');
    const inEquation = labels(3, '  h[t] = '.length);
    expect(inEquation).toEqual(expect.arrayContaining(['tanh', 'sigmoid', 'attend', 'lstm', 'W', 'U', 'x', 'h', 'H', 'X']));
    expect(inEquation).not.toContain('glorot');
  });

  it('hovers an initialiser, a parameter, an input and the equation of a state', () => {
    const at = (needle: string, nth = 0): number => {
      let k = -1;
      for (let i = 0; i <= nth; i++) k = text.indexOf(needle, k + 1);
      return k;
    };
    expect(hoverText(d, at('glorot'))).toContain('initialiser');
    expect(hoverText(d, at('W @'))).toContain('param W: [H, X] = glorot');
    expect(hoverText(d, at('x[t]'))).toContain('x: [X]');
    expect(hoverText(d, at('h[t-1]'))).toContain('h: [H]');
    expect(hoverText(d, at('H, X'))).toContain('dimension of cell `c`');
  });

  it("shows the shape of a standard cell's state with its equation", () => {
    const model = 'model m {\n  input x: seq<[3]>\n  target y: seq<[3]>\n  h = lstm(x) with H = 8\n  loss = mse(dense(h, 3), y)\n}\n';
    const m = new RnnDocument('file:///tmp/m.rnn', 1, model);
    const header = hoverText(m, model.indexOf('m {'));
    expect(header).toContain('model m');
    expect(header).toContain('x: seq<[3]>');
    expect(header).toContain('h: seq<[8]>');
    const lstm = hoverText(m, model.indexOf('lstm'));
    expect(lstm).toContain('c[t] = f[t] * c[t-1] + i[t] * g[t]');
    // Inside the standard cells' file: the state c of lstm.
    const std = new RnnDocument(pathToFileURL(join(root, 'compiler', 'stdlib', 'cells.rnn')).href, 1, readFileSync(join(root, 'compiler', 'stdlib', 'cells.rnn'), 'utf8'));
    const c = std.occurrences.find((o) => o.name === 'c' && o.declares && o.scope.name === 'lstm')!;
    const shown = hoverText(std, c.span.start);
    expect(shown).toContain('c: [H]');
    expect(shown).toContain('c[t] = f[t] * c[t-1] + i[t] * g[t]');
  });
});
