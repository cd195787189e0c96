// The front end: text -> AST + diagnostics.
//
// Lexes and parses with Chevrotain's error recovery, so a file with several
// syntax errors reports all of them in one run, and always returns a Program:
// with errors it is the best-effort AST of what parsed (see cst-to-ast.ts);
// sema must only run on it when no diagnostic here is an error.
//
// Never throws on user input. The parser is recursive descent, so absurdly
// deep nesting (hundreds of parentheses) would overflow the JS stack; such
// files are refused after lexing, before parsing, with RNN1005 and an empty
// program. Programs larger than any real model (limits.ts: terms of an
// expression, equations of a cell, statements of a model) are refused after
// parsing with RNN1006, before any later stage spends minutes on them.
import type { IToken } from 'chevrotain';
import { lexRnn, parseTokens, tokens as tok } from '../../grammar/index.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { makeDiagnostic } from '../diagnostics/messages.js';
import {
  badTokenDiagnostics,
  dropCascades,
  lexErrorsToDiagnostics,
  parseErrorsToDiagnostics,
  tokenSpan,
  wholeTextSpan,
} from '../diagnostics/syntax-errors.js';
import type { Program } from './ast.js';
import { cstToAst } from './cst-to-ast.js';
import { MAX_TOKENS, sizeDiagnostics } from './limits.js';

export interface ParseResult {
  readonly program: Program;
  /** Sorted by position; lexing and parsing errors interleaved. */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * The deepest nesting of brackets plus prefix operators that is parsed. The
 * parser overflows Node's default stack at about 250 levels of parentheses;
 * 100 leaves room for the callers' own frames, and no real model comes near.
 */
export const MAX_NESTING = 100;

const opening = new Set(['(', '[', '{']);
const closing = new Set([')', ']', '}']);

/** The first token at which nesting exceeds MAX_NESTING, if any. */
function tooDeep(tokens: readonly IToken[]): IToken | undefined {
  let depth = 0;
  let prefixRun = 0;
  for (const t of tokens) {
    const image = t.image;
    if (t.tokenType === tok.Minus || t.tokenType === tok.Reverse || t.tokenType === tok.Bidir) prefixRun++;
    else prefixRun = 0;
    if (opening.has(image)) depth++;
    else if (closing.has(image)) depth = Math.max(0, depth - 1);
    if (depth + prefixRun > MAX_NESTING) return t;
  }
  return undefined;
}

function emptyProgram(text: string, file: string): Program {
  return { kind: 'Program', file, items: [], span: wholeTextSpan(text, file) };
}

export function parseProgram(text: string, file: string): ParseResult {
  const lexed = lexRnn(text);
  if (lexed.tokens.length > MAX_TOKENS) {
    return {
      program: emptyProgram(text, file),
      diagnostics: [
        makeDiagnostic('RNN1006', tokenSpan(lexed.tokens[MAX_TOKENS]!, file), `this file has ${lexed.tokens.length} tokens; the limit is ${MAX_TOKENS}`, {
          hint: 'rnnc programs describe models, not data: a model this large is not something rnnc can compile in reasonable time',
        }),
      ],
    };
  }
  const deep = tooDeep(lexed.tokens);
  if (deep !== undefined) {
    return {
      program: emptyProgram(text, file),
      diagnostics: [
        makeDiagnostic('RNN1005', tokenSpan(deep, file), `nesting deeper than ${MAX_NESTING} levels`, {
          hint: 'name intermediate results with equations instead of nesting them',
        }),
      ],
    };
  }
  let parsed: ReturnType<typeof parseTokens>;
  try {
    parsed = parseTokens(lexed);
  } catch (e) {
    // The nesting check above should make this unreachable; it stays as the
    // last guard of "never throws on user input" for a caller that is itself
    // deep in the stack. Anything but a stack overflow is a compiler bug.
    if (!(e instanceof RangeError)) throw e;
    const span = wholeTextSpan(text, file);
    const start = { ...span, end: 0, endLine: 1, endColumn: 1 };
    return {
      program: emptyProgram(text, file),
      diagnostics: [makeDiagnostic('RNN1005', start, 'this file is nested too deeply to parse')],
    };
  }
  const { cst, tokens, lexErrors, parseErrors } = parsed;
  const program = cstToAst(cst, file, wholeTextSpan(text, file));
  const tooLarge = sizeDiagnostics(program);
  if (tooLarge.length > 0) return { program: emptyProgram(text, file), diagnostics: tooLarge };
  const diagnostics = [
    ...lexErrorsToDiagnostics(lexErrors, text, file),
    ...badTokenDiagnostics(tokens, file),
    ...parseErrorsToDiagnostics(parseErrors, tokens, text, file),
  ];
  // Array.prototype.sort is stable, so equal positions keep the order above
  // (lexing before parsing: the lexing error is usually the cause).
  diagnostics.sort((a, b) => a.span.start - b.span.start);
  return { program, diagnostics: dropCascades(diagnostics) };
}

export { cstToAst } from './cst-to-ast.js';
export { printAst } from './printer.js';
export type * from './ast.js';
