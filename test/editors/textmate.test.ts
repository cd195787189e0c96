// The editor support in editors/vscode: the TextMate grammar, loaded as VS
// Code loads it (vscode-textmate on the Oniguruma regex engine, compiled to
// WebAssembly), tokenises every example and the standard cells without a
// line that fails or an illegal token, and gives the tokens that matter the
// expected scopes; the extension's manifest points at files that exist and
// its JSON files parse.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import * as oniguruma from 'vscode-oniguruma';
import * as vsctm from 'vscode-textmate';
import { keywordTokens } from '../../grammar/tokens.js';
import { packageRoot } from '../../src/stdlib.js';

const root = packageRoot();
const ext = join(root, 'editors', 'vscode');
const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

interface Token {
  readonly text: string;
  readonly scopes: readonly string[];
}

let grammar: vsctm.IGrammar;

beforeAll(async () => {
  const wasm = readFileSync(join(root, 'node_modules', 'vscode-oniguruma', 'release', 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) => (scope === 'source.rnn' ? vsctm.parseRawGrammar(readFileSync(join(ext, 'syntaxes', 'rnn.tmLanguage.json'), 'utf8'), 'rnn.tmLanguage.json') : null),
  });
  const g = await registry.loadGrammar('source.rnn');
  if (!g) throw new Error('the grammar did not load');
  grammar = g;
});

/** Each line's tokens; fails the test if a line stops early. */
function tokenize(text: string): Token[][] {
  let state = vsctm.INITIAL;
  return text.split(/\r?\n/).map((line, k) => {
    const r = grammar.tokenizeLine(line, state);
    expect(r.stoppedEarly, `line ${k + 1} stopped early`).toBe(false);
    state = r.ruleStack;
    return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
  });
}

/** The scopes of the `nth` token with this text (innermost last). */
function scopesOf(lines: Token[][], text: string, nth = 0): readonly string[] {
  const hits = lines.flat().filter((t) => t.text === text);
  const t = hits[nth];
  if (!t) throw new Error(`no token ${JSON.stringify(text)} (#${nth}); tokens: ${JSON.stringify(lines.flat().map((x) => x.text))}`);
  return t.scopes;
}

const hasScope = (scopes: readonly string[], prefix: string): boolean => scopes.some((s) => s.split(' ').some((p) => p.startsWith(prefix)));

const sources = [
  ...readdirSync(join(root, 'examples'))
    .filter((f) => f.endsWith('.rnn'))
    .map((f) => join(root, 'examples', f)),
  join(root, 'compiler', 'stdlib', 'cells.rnn'),
];

describe('the TextMate grammar', () => {
  it('finds the examples and the standard cells', () => {
    expect(sources.length).toBeGreaterThan(5);
  });

  it.each(sources.map((s) => [s.slice(root.length + 1), s]))('tokenises %s: no line fails, nothing illegal, every keyword is a keyword', (_name, path) => {
    const text = readFileSync(path, 'utf8');
    const lines = tokenize(text);
    const all = lines.flat();
    expect(all.filter((t) => hasScope(t.scopes, 'invalid')).map((t) => t.text)).toEqual([]);
    // Whatever starts with `#` outside a string is a comment to the end of its line.
    for (const [k, line] of text.split(/\r?\n/).entries()) {
      const at = line.indexOf('#');
      if (at < 0 || line.slice(0, at).includes('"')) continue;
      const tail = lines[k]!.filter((t) => hasScope(t.scopes, 'comment'));
      expect(tail.map((t) => t.text).join(''), `line ${k + 1}`).toBe(line.slice(at));
    }
    for (const t of all) {
      if (/^(cell|model|train|dim|param|option|input|target|with|reverse|bidir)$/.test(t.text) && !hasScope(t.scopes, 'comment')) {
        expect(hasScope(t.scopes, 'keyword'), `${t.text}: ${t.scopes.join(' ')}`).toBe(true);
      }
    }
  });

  it('knows every keyword of the lexer (grammar/tokens.ts)', () => {
    const words = keywordTokens.map((t) => (t.PATTERN as RegExp).source);
    expect(words).toContain('cell');
    for (const word of words) {
      const [line] = tokenize(`${word} x`);
      const t = line!.find((x) => x.text === word);
      expect(t && (hasScope(t.scopes, 'keyword') || hasScope(t.scopes, 'support.type')), `${word}: ${t?.scopes.join(' ')}`).toBe(true);
    }
  });

  it('gives keywords, names, comments, strings, numbers, shapes and time indices their scopes', () => {
    const lines = tokenize(
      [
        '# the minimal gated unit',
        'dim H = 64',
        'cell mgu(x: [X]) -> h: [H] {',
        '  param W_f: [2 * H, X] = glorot   # start open',
        '  option act = tanh',
        '  h[t] = act(W_f @ x[t] + h[t-1] * 0.5e-1)',
        '}',
        'model tagger {',
        '  input words: seq<token[V]>',
        '  h = bidir lstm(reverse e) with H = 128',
        '}',
        'train tagger {',
        '  data text(path = "corpus.txt")',
        '  optimizer adam(lr = 1e-3); batch 32',
        '  clip norm 5.0',
        '}',
        'dim Bad = 2H',
      ].join('\n'),
    );
    expect(hasScope(scopesOf(lines, ' the minimal gated unit'), 'comment.line.number-sign')).toBe(true);
    expect(hasScope(scopesOf(lines, '#'), 'punctuation.definition.comment')).toBe(true);
    expect(hasScope(scopesOf(lines, ' start open'), 'comment.line')).toBe(true);
    expect(hasScope(scopesOf(lines, 'dim'), 'keyword.declaration')).toBe(true);
    expect(hasScope(scopesOf(lines, 'cell'), 'keyword.declaration.cell')).toBe(true);
    expect(hasScope(scopesOf(lines, 'mgu'), 'entity.name.function.cell')).toBe(true);
    expect(hasScope(scopesOf(lines, 'tagger'), 'entity.name.type.model')).toBe(true);
    expect(hasScope(scopesOf(lines, 'tagger', 1), 'entity.name.type.model')).toBe(true);
    expect(hasScope(scopesOf(lines, 'param'), 'keyword.declaration')).toBe(true);
    expect(hasScope(scopesOf(lines, 'option'), 'keyword.declaration')).toBe(true);
    expect(hasScope(scopesOf(lines, 'with'), 'keyword.other')).toBe(true);
    expect(hasScope(scopesOf(lines, 'bidir'), 'keyword.other')).toBe(true);
    expect(hasScope(scopesOf(lines, 'reverse'), 'keyword.other')).toBe(true);
    expect(hasScope(scopesOf(lines, 'seq'), 'support.type')).toBe(true);
    expect(hasScope(scopesOf(lines, 'token'), 'support.type')).toBe(true);
    expect(hasScope(scopesOf(lines, '64'), 'constant.numeric.integer')).toBe(true);
    expect(hasScope(scopesOf(lines, '0.5e-1'), 'constant.numeric.float')).toBe(true);
    expect(hasScope(scopesOf(lines, '1e-3'), 'constant.numeric.float')).toBe(true);
    expect(hasScope(scopesOf(lines, '5.0'), 'constant.numeric.float')).toBe(true);
    expect(hasScope(scopesOf(lines, 'corpus.txt'), 'string.quoted.double')).toBe(true);
    expect(hasScope(scopesOf(lines, 'X', 0), 'entity.name.type.dimension')).toBe(true);
    expect(hasScope(scopesOf(lines, 'V'), 'entity.name.type.dimension')).toBe(true);
    expect(hasScope(scopesOf(lines, 'lstm'), 'entity.name.function.call')).toBe(true);
    expect(hasScope(scopesOf(lines, 'glorot'), 'variable')).toBe(true);
    expect(hasScope(scopesOf(lines, 't', 1), 'variable.language.time')).toBe(true);
    expect(hasScope(scopesOf(lines, '1'), 'constant.numeric.integer')).toBe(true); // the 1 of h[t-1]
    expect(hasScope(scopesOf(lines, '@'), 'keyword.operator.matmul')).toBe(true);
    expect(hasScope(scopesOf(lines, '->'), 'keyword.operator.arrow')).toBe(true);
    expect(hasScope(scopesOf(lines, 'data'), 'keyword.other.setting')).toBe(true);
    expect(hasScope(scopesOf(lines, 'optimizer'), 'keyword.other.setting')).toBe(true);
    expect(hasScope(scopesOf(lines, 'batch'), 'keyword.other.setting')).toBe(true);
    expect(hasScope(scopesOf(lines, 'norm'), 'keyword.other.setting-mode')).toBe(true);
    expect(hasScope(scopesOf(lines, '2H'), 'invalid.illegal.number')).toBe(true);
  });
});

describe('the VS Code extension folder', () => {
  interface Manifest {
    main: string;
    engines: { vscode: string };
    dependencies: Record<string, string>;
    contributes: {
      languages: { id: string; extensions: string[]; configuration: string }[];
      grammars: { language: string; scopeName: string; path: string }[];
      snippets: { language: string; path: string }[];
    };
  }
  const manifest = readJson(join(ext, 'package.json')) as Manifest;

  it('declares the language, grammar and snippets at paths that exist, and JSON files that parse', () => {
    const lang = manifest.contributes.languages.find((l) => l.id === 'rnn');
    expect(lang?.extensions).toEqual(['.rnn']);
    const paths = [manifest.main, lang!.configuration, ...manifest.contributes.grammars.map((g) => g.path), ...manifest.contributes.snippets.map((s) => s.path)];
    for (const p of paths) expect(existsSync(join(ext, p)), p).toBe(true);
    for (const p of paths.filter((x) => x.endsWith('.json'))) expect(() => readJson(join(ext, p)), p).not.toThrow();
    expect(manifest.contributes.grammars).toEqual([{ language: 'rnn', scopeName: 'source.rnn', path: './syntaxes/rnn.tmLanguage.json' }]);
    expect((readJson(join(ext, 'syntaxes', 'rnn.tmLanguage.json')) as { scopeName: string }).scopeName).toBe('source.rnn');
  });

  it('pins its client library exactly and starts `rnnc lsp` with it', () => {
    expect(manifest.dependencies['vscode-languageclient']).toMatch(/^\d+\.\d+\.\d+$/);
    const client = readFileSync(join(ext, manifest.main), 'utf8');
    // CommonJS (the folder's package.json sets no "type"), as VS Code loads it; it must at least parse.
    expect((manifest as unknown as { type?: string }).type).toBeUndefined();
    expect(() => new Script(client, { filename: manifest.main })).not.toThrow();
    expect(client).toContain("require('vscode-languageclient/node')");
    expect(client).toContain("'lsp'");
  });

  it('has comments, brackets and auto-closing pairs in its language configuration', () => {
    const conf = readJson(join(ext, 'language-configuration.json')) as { comments: { lineComment: string }; brackets: string[][]; autoClosingPairs: unknown[] };
    expect(conf.comments.lineComment).toBe('#');
    expect(conf.brackets).toEqual(expect.arrayContaining([['{', '}'], ['[', ']'], ['(', ')']]));
    expect(conf.autoClosingPairs.length).toBeGreaterThan(0);
  });

  it('has snippets whose bodies parse as rnn once their placeholders are filled', async () => {
    const { parseProgram } = await import('../../compiler/ast/index.js');
    const snippets = readJson(join(ext, 'snippets', 'rnn.json')) as Record<string, { prefix: string; body: string[] }>;
    expect(Object.keys(snippets)).toEqual(expect.arrayContaining(['cell', 'model', 'train', 'lstm layer']));
    for (const name of ['cell', 'model', 'train']) {
      // ${1:name} -> name, $1 -> what ${1:...} said, $0 -> nothing.
      const body = snippets[name]!.body.join('\n');
      const defaults = new Map([...body.matchAll(/\$\{(\d+):([^}]*)\}/g)].map((m) => [m[1]!, m[2]!]));
      const text = body.replace(/\$\{(\d+):([^}]*)\}/g, '$2').replace(/\$(\d+)/g, (_m, k: string) => defaults.get(k) ?? '');
      expect(parseProgram(text, `${name}.rnn`).diagnostics, `${name}:\n${text}`).toEqual([]);
    }
  });
});
