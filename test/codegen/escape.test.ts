// User text in emitted code (compiler/codegen/escape.ts): no source line,
// file name or string of a .rnn file can end a comment, close a string or
// become a statement of the emitted module.
//
// The proof for whole modules: a program whose file name and source lines
// carry a hostile payload compiles to a module whose TypeScript tokens
// (comments aside) are exactly those of the same program without the
// payload; the hostile module loads and runs, and the statement the payload
// tried to inject never executes.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { pathToFileURL } from 'node:url';
import { ts } from 'ts-morph';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertInert, commentText, identifier, propertyKey, stringLiteral } from '../../compiler/codegen/escape.js';
import { InternalError } from '../../compiler/diagnostics/diagnostic.js';
import { compileText, writeGenerated } from './helpers.js';

const INJECTED = '__rnncInjected';
const STATEMENT = `globalThis.${INJECTED} = true;`;

/** Each tries to leave a comment or a string and run STATEMENT. */
const PAYLOADS: Readonly<Record<string, string>> = {
  lf: `\n${STATEMENT}\n`,
  cr: `\r${STATEMENT}\r`,
  crlf: `\r\n${STATEMENT}\r\n`,
  lineSeparator: `\u2028${STATEMENT}\u2028`,
  paragraphSeparator: `\u2029${STATEMENT}\u2029`,
  nextLine: `\u0085${STATEMENT}\u0085`,
  closeDocComment: `*/ ${STATEMENT} /*`,
  closeDocCommentThenLine: `*/\u2028${STATEMENT}\u2028/**`,
  backtick: `\` + (${STATEMENT}) + \``,
  templateHole: `\${(${STATEMENT})}`,
  singleQuote: `' + (${STATEMENT}) + '`,
  doubleQuote: `" + (${STATEMENT}) + "`,
  backslash: `\\' + (${STATEMENT}) + '\\`,
  bidiOverride: `\u202E${STATEMENT}\u202C\u2066`,
  nonAscii: `é ü 漢字 😀 \uD800 ${STATEMENT}`,
  nul: `\u0000${STATEMENT}`,
};

describe('escaping functions', () => {
  const hostile = Object.values(PAYLOADS);

  it('commentText leaves no line terminator, control character or comment end', () => {
    for (const p of hostile) {
      const c = commentText(p);
      expect(c).not.toMatch(/[\n\r\u2028\u2029\u0085\u0000\u202E]/);
      expect(c).not.toContain('*/');
      // Inside a line comment and a doc comment, the text is one comment and nothing else.
      for (const wrapped of [`// ${c}\nexport {};`, `/** ${c} */\nexport {};`]) {
        expect(codeTokens(wrapped), JSON.stringify(p)).toBe('export {};\n');
      }
    }
    expect(commentText('h = tanh(W @ x[t]) # é')).toBe('h = tanh(W @ x[t]) # é');
  });

  it('stringLiteral round-trips every payload and shows only printable ASCII', () => {
    for (const p of hostile) {
      const lit = stringLiteral(p);
      expect(lit).toMatch(/^'[\x20-\x7e]*'$/);
      expect(new Function(`return ${lit};`)()).toBe(p);
      const file = ts.createSourceFile('s.ts', `const s = ${lit};`, ts.ScriptTarget.Latest);
      expect(file.statements).toHaveLength(1);
      const init = (file.statements[0] as import('ts-morph').ts.VariableStatement).declarationList.declarations[0]!.initializer!;
      expect(ts.isStringLiteral(init) && init.text).toBe(p);
    }
  });

  it('identifier: reserved words and Object.prototype names get a suffix', () => {
    for (const name of ['constructor', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'toString', 'class', 'await', 'undefined', 'eval']) {
      expect(identifier(name)).toBe(`${name}_`);
    }
    expect(identifier('h.W_g')).toBe('h_W_g');
    expect(identifier('2x')).toBe('_2x');
    expect(identifier('hidden')).toBe('hidden');
  });

  it('propertyKey: __proto__ is a computed key (an own property, not the prototype)', () => {
    const obj = new Function(`return { ${propertyKey('__proto__')}: 1, ${propertyKey('a.b')}: 2, ${propertyKey('V', true)}: 3 };`)() as Record<string, number>;
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(Object.keys(obj)).toEqual(['__proto__', 'a.b', 'V']);
  });

  it('assertInert rejects a module holding a raw line terminator other than \\n', () => {
    expect(() => assertInert('// a\nconst x = 1;\n')).not.toThrow();
    expect(() => assertInert('// a\u2028const x = 1;\n')).toThrow(InternalError);
    expect(() => assertInert('const x = 1;\r\n')).toThrow(/\\u\{D\} on line 1/);
  });
});

// A program whose last model line carries a string (a data path) on the same
// line as the train block: the emitted module quotes that line in comments.
const program = (path: string): string => `dim V = 5
model lm {
  dim H = 4
  input  x: seq<token[V]>
  target y: seq<token[V]>
  h = gru(embed(x, 3)) with H
  loss = cross_entropy(dense(h, V), y) } train lm { data text("${path}") optimizer adam(lr = 0.01) }
`;

describe('hostile modules', () => {
  let clean: string;
  beforeAll(async () => {
    clean = codeTokens((await compileText(program('corpus.txt'), { file: 'lm.rnn' })).code);
    await tf.setBackend('cpu');
  });

  for (const [name, payload] of Object.entries(PAYLOADS)) {
    it(`${name}: the same code as without it, and nothing runs`, async () => {
      // A string literal holds no line break (RNN1003): those reach the module through the file name only.
      const inString = payload.replace(/[\n\r"]/g, ' ');
      // The module names the file by its base name: a separator in the payload would only shorten it.
      const { code } = await compileText(program(inString), { file: `lm${payload.replace(/[\\/]/g, '_')}.rnn` });
      expect(code).toContain(commentText(inString));
      expect(codeTokens(code)).toBe(clean);
      const mod = (await import(pathToFileURL(writeGenerated(`hostile_${name}`, code)).href)) as {
        initParams(seed: number): Record<string, tf.Tensor>;
        forward(p: Record<string, tf.Tensor>, inputs: Record<string, tf.Tensor>): { outputs: Record<string, tf.Tensor> };
      };
      const out = mod.forward(mod.initParams(1), { x: tf.tensor2d([[1, 2, 3]], [1, 3], 'int32') });
      expect(Object.values(out.outputs)[0]!.shape).toEqual([1, 3, 5]);
      expect((globalThis as Record<string, unknown>)[INJECTED]).toBeUndefined();
    });
  }
});

/** A TypeScript module as the compiler reads it, printed back without comments. */
function codeTokens(text: string): string {
  const file = ts.createSourceFile('m.ts', text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  return ts.createPrinter({ removeComments: true }).printFile(file);
}
