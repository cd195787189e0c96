// Text -> CST. The entry point of grammar/: lexes and parses a .rnn file with
// error recovery and hands back the (possibly partial) CST together with the
// raw Chevrotain errors; compiler/ast turns those into AST and diagnostics.
// Lexing and parsing are also exported apart, so that a caller can inspect
// the tokens before parsing (compiler/ast refuses absurdly deep nesting).
import type { CstNode, ILexingError, IRecognitionException, IToken } from 'chevrotain';
import { rnnParser } from './parser.js';
import { rnnLexer } from './tokens.js';

/** Chevrotain's end-of-input token type and matcher, from the one copy of the library grammar/ loaded. */
export { EOF, tokenMatcher, chevrotainSource } from './chevrotain.js';

export interface LexResult {
  /** The tokens the parser sees (whitespace and comments removed), in source order. */
  readonly tokens: readonly IToken[];
  readonly lexErrors: readonly ILexingError[];
  /** The comments (`# ...` to the end of the line), in source order. */
  readonly comments: readonly IToken[];
}

export interface CstParseResult extends LexResult {
  readonly cst: CstNode;
  readonly parseErrors: readonly IRecognitionException[];
}

export function lexRnn(text: string): LexResult {
  const lexed = rnnLexer.tokenize(text);
  return { tokens: lexed.tokens, lexErrors: lexed.errors, comments: lexed.groups['comments'] ?? [] };
}

/** Parses lexed tokens into a CST (with error recovery). */
export function parseTokens(lexed: LexResult): CstParseResult {
  rnnParser.input = [...lexed.tokens];
  const cst = rnnParser.program();
  // `errors` is reset by the next `input` assignment, so take a copy.
  const parseErrors = [...rnnParser.errors];
  return { ...lexed, cst, parseErrors };
}

/** `file` is accepted for symmetry with parseProgram; CST tokens carry offsets only. */
export function parseToCst(text: string, file: string): CstParseResult {
  void file;
  return parseTokens(lexRnn(text));
}

export { RnnParser, rnnParser, describeFoundToken, describeTokenType, describeExpected } from './parser.js';
export * as tokens from './tokens.js';
