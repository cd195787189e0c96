// The tokens of the .rnn language and the lexer built from them.
//
// Every token has a `label`: the readable name that syntax errors use
// ("expected ':', found identifier `x`"), so the error messages never show
// Chevrotain's internal token names.
//
// Malformed literals (`2H`, `1e`, `1.2.3`, a string with no closing quote)
// are lexed as tokens of their own that belong to the category of the valid
// literal. The parser therefore accepts them where a number or a string may
// stand, and the front end reports one precise diagnostic (RNN1003/RNN1004)
// instead of a cascade of syntax errors.
import type { CustomPatternMatcherReturn, TokenType } from 'chevrotain';
import { createToken, Lexer } from './chevrotain.js';

// ---------------------------------------------------------------- trivia

export const WhiteSpace = createToken({
  name: 'WhiteSpace',
  pattern: /[ \t\r\n\f\v]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});

/**
 * Comments are not seen by the parser, but they are not thrown away: the
 * lexer keeps them in the `comments` group (lexRnn's `comments`), which the
 * formatter (compiler/ast/format.ts) puts back into the text it prints.
 */
export const Comment = createToken({
  name: 'Comment',
  pattern: /#[^\n\r]*/,
  group: 'comments',
});

// ---------------------------------------------------------------- identifiers and keywords

export const Identifier = createToken({
  name: 'Identifier',
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  label: 'identifier',
});

/**
 * Keywords are matched before identifiers; `longer_alt` makes the lexer
 * prefer the identifier when the keyword is only a prefix of a longer name
 * (`inputs`, `target_x`, `dimension`).
 */
function keyword(word: string): TokenType {
  return createToken({
    name: `Kw${word[0]!.toUpperCase()}${word.slice(1)}`,
    pattern: new RegExp(word),
    longer_alt: Identifier,
    label: `'${word}'`,
  });
}

export const Dim = keyword('dim');
export const Cell = keyword('cell');
export const Param = keyword('param');
export const Option = keyword('option');
export const Model = keyword('model');
export const Input = keyword('input');
export const Target = keyword('target');
export const Train = keyword('train');
export const With = keyword('with');
export const Reverse = keyword('reverse');
export const Bidir = keyword('bidir');
export const Seq = keyword('seq');
export const TokenKw = keyword('token');

/** In the order the lexer must try them (before `Identifier`). */
export const keywordTokens: readonly TokenType[] = [
  Dim,
  Cell,
  Param,
  Option,
  Model,
  Input,
  Target,
  Train,
  With,
  Reverse,
  Bidir,
  Seq,
  TokenKw,
];

// ---------------------------------------------------------------- literals

/** Any number. Abstract: only its sub-categories are produced by the lexer. */
export const NumberLiteral = createToken({ name: 'NumberLiteral', pattern: Lexer.NA, label: 'number' });

/** Digits only: what dimensions and time offsets accept. */
export const IntegerLiteral = createToken({
  name: 'IntegerLiteral',
  pattern: /[0-9]+/,
  categories: [NumberLiteral],
  label: 'integer',
});

/** `0.5`, `.5`, `1.`, `1e-3`, `2.5E+4`. */
export const FloatLiteral = createToken({
  name: 'FloatLiteral',
  pattern: /(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+/,
  categories: [NumberLiteral],
  label: 'number',
});

// Sticky regexes for the malformed-number matcher below. The number part is
// greedy and nothing after it can fail, so the regex engine never backtracks
// into a shorter number (which a single regex with a "bad tail" would do,
// turning `12.5` into `12` + `.5`).
const numberPrefix = /(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/y;
const numberTail = /[A-Za-z0-9_.]*/y;
const tailStart = /[A-Za-z0-9_.]/;

/**
 * A number immediately followed by letters, digits, `_` or `.`: `2H`, `1e`,
 * `1.2.3`. Categorised as an integer (hence also a number) so that parsing
 * goes on; the front end reports RNN1004 for it.
 */
export const InvalidNumber = createToken({
  name: 'InvalidNumber',
  pattern: (text: string, offset: number): CustomPatternMatcherReturn | null => {
    numberPrefix.lastIndex = offset;
    const head = numberPrefix.exec(text);
    if (head === null) return null;
    const after = offset + head[0].length;
    if (after >= text.length || !tailStart.test(text[after]!)) return null;
    numberTail.lastIndex = after;
    const tail = numberTail.exec(text);
    return [head[0] + (tail === null ? '' : tail[0])];
  },
  start_chars_hint: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '.'],
  line_breaks: false,
  categories: [IntegerLiteral],
  label: 'number',
});

/** `"file.txt"`: no escapes and no line breaks inside (strings are file paths and names). */
export const StringLiteral = createToken({
  name: 'StringLiteral',
  pattern: /"[^"\n\r]*"/,
  label: 'string',
});

/** A string whose closing quote is missing on its line; reported as RNN1003. */
export const UnterminatedString = createToken({
  name: 'UnterminatedString',
  pattern: /"[^"\n\r]*/,
  categories: [StringLiteral],
  label: 'string',
});

// ---------------------------------------------------------------- punctuation

function punct(name: string, pattern: RegExp, text: string): TokenType {
  return createToken({ name, pattern, label: `'${text}'` });
}

export const Arrow = punct('Arrow', /->/, '->');
export const Plus = punct('Plus', /\+/, '+');
export const Minus = punct('Minus', /-/, '-');
export const Star = punct('Star', /\*/, '*');
export const Slash = punct('Slash', /\//, '/');
export const At = punct('At', /@/, '@');
export const Equals = punct('Equals', /=/, '=');
export const Colon = punct('Colon', /:/, ':');
export const Comma = punct('Comma', /,/, ',');
export const Semicolon = punct('Semicolon', /;/, ';');
export const LParen = punct('LParen', /\(/, '(');
export const RParen = punct('RParen', /\)/, ')');
export const LBracket = punct('LBracket', /\[/, '[');
export const RBracket = punct('RBracket', /\]/, ']');
export const LBrace = punct('LBrace', /\{/, '{');
export const RBrace = punct('RBrace', /\}/, '}');
export const Less = punct('Less', /</, '<');
export const Greater = punct('Greater', />/, '>');

/**
 * All token types in lexing order: the first pattern that matches wins, so
 * `->` precedes `-`, malformed numbers precede the valid ones, floats precede
 * integers, the closed string precedes the unterminated one, and keywords
 * precede identifiers.
 */
export const allTokens: readonly TokenType[] = [
  WhiteSpace,
  Comment,
  Arrow,
  InvalidNumber,
  FloatLiteral,
  IntegerLiteral,
  NumberLiteral,
  StringLiteral,
  UnterminatedString,
  ...keywordTokens,
  Identifier,
  Plus,
  Minus,
  Star,
  Slash,
  At,
  Equals,
  Colon,
  Comma,
  Semicolon,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Less,
  Greater,
];

/**
 * Built once at module load. Definition errors are not deferred: a broken
 * token table is a compiler bug and throws on import.
 */
export const rnnLexer = new Lexer([...allTokens], { positionTracking: 'full' });
