// Chevrotain's lexing and parsing errors -> Diagnostics (RNN1xxx).
//
// The parser already words its messages as "expected X, found Y" (see
// grammar/parser.ts errorMessageProvider); this module gives them a code, a
// span, and a hint where the mistake is a common one. It also reports the
// malformed literals the lexer lets through as tokens (RNN1003, RNN1004), and
// holds the token -> Span conversion that the AST builder uses too, so that
// diagnostics and AST nodes agree on positions.
//
// Never throws: every input, however garbled, yields a list of diagnostics.
import type { ILexingError, IRecognitionException, IToken } from 'chevrotain';
import { EOF, tokenMatcher, tokens as tok } from '../../grammar/index.js';
import type { Diagnostic } from './diagnostic.js';
import { makeDiagnostic } from './messages.js';
import type { Span } from './span.js';

// ---------------------------------------------------------------- spans

/** False for the virtual tokens error recovery inserts (no image, NaN offsets) and for EOF. */
export function isRealToken(t: IToken): boolean {
  return t.tokenType !== EOF && !t.isInsertedInRecovery && Number.isFinite(t.startOffset);
}

/**
 * The span of a real token. Tokens never contain line breaks (strings stop at
 * the end of the line), so the token ends on its start line; `endColumn` is
 * exclusive like `end`.
 */
export function tokenSpan(t: IToken, file: string): Span {
  const line = t.startLine ?? 1;
  const column = t.startColumn ?? 1;
  return {
    file,
    start: t.startOffset,
    end: t.startOffset + t.image.length,
    line,
    column,
    endLine: line,
    endColumn: column + t.image.length,
  };
}

/** An empty span just after a real token: where something missing should go. */
function pointAfter(t: IToken, file: string): Span {
  const s = tokenSpan(t, file);
  return { ...s, start: s.end, line: s.endLine, column: s.endColumn };
}

/** The span of the whole text (the Program node's span). */
export function wholeTextSpan(text: string, file: string): Span {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { file, start: 0, end: text.length, line: 1, column: 1, endLine: line, endColumn: text.length - lineStart + 1 };
}

function endOfTextPoint(text: string, file: string): Span {
  const whole = wholeTextSpan(text, file);
  return { ...whole, start: whole.end, line: whole.endLine, column: whole.endColumn };
}

// ---------------------------------------------------------------- lexing errors

/** Printable ASCII is shown as is; anything else as U+XXXX so messages stay one readable line. */
function showChars(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    out += code >= 0x20 && code < 0x7f ? ch : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return out;
}

// Characters people paste from papers, and what to type instead.
const charHints: ReadonlyMap<string, string> = new Map([
  ["'", 'strings use double quotes: "brown.txt"'],
  ['×', "write '@' for a matrix product or '*' for an element-wise product"],
  ['·', "write '@' for a matrix product or '*' for an element-wise product"],
  ['⊙', "write '*' for an element-wise product"],
  ['∘', "write '*' for an element-wise product"],
  ['−', "write the ASCII minus '-'"],
  ['σ', 'write `sigmoid(...)`; names are ASCII letters, digits and `_`'],
  ['.', 'a number needs digits around its point: `0.5` or `.5`'],
  ['^', 'there is no power operator; write the product out'],
]);

export function lexErrorsToDiagnostics(errors: readonly ILexingError[], text: string, file: string): Diagnostic[] {
  return errors.map((e) => {
    const chars = text.slice(e.offset, e.offset + e.length);
    const line = e.line ?? 1;
    const column = e.column ?? 1;
    const span: Span = {
      file,
      start: e.offset,
      end: e.offset + e.length,
      line,
      column,
      endLine: line,
      endColumn: column + e.length,
    };
    const first = [...chars][0] ?? '';
    let hint = charHints.get(first);
    if (hint === undefined && /\p{L}/u.test(first)) hint = 'names are ASCII letters, digits and `_`';
    const what = [...chars].length === 1 ? 'character' : 'characters';
    return makeDiagnostic('RNN1001', span, `unexpected ${what} \`${showChars(chars)}\``, hint === undefined ? {} : { hint });
  });
}

/** RNN1003/RNN1004 for the malformed literals the lexer produced as tokens. */
export function badTokenDiagnostics(tokens: readonly IToken[], file: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const t of tokens) {
    if (t.tokenType === tok.UnterminatedString) {
      out.push(
        makeDiagnostic('RNN1003', tokenSpan(t, file), 'this string has no closing `"`', {
          hint: 'close the string with `"` on the same line; strings cannot span lines',
        }),
      );
    } else if (t.tokenType === tok.InvalidNumber) {
      out.push(
        makeDiagnostic('RNN1004', tokenSpan(t, file), `invalid number \`${t.image}\``, { hint: numberHint(t.image) }),
      );
    }
  }
  return out;
}

function numberHint(image: string): string {
  const product = /^([0-9]+)([A-Za-z_][A-Za-z0-9_]*)$/.exec(image);
  if (product !== null && !/^[eE][0-9]*$/.test(product[2]!)) {
    return `write \`${product[1]!} * ${product[2]!}\` to multiply a number by a name`;
  }
  if (/[eE][+-]?$/.test(image)) return 'an exponent needs digits, e.g. `1e-3`';
  if ((image.match(/\./g) ?? []).length > 1) return "a number has at most one '.'";
  return 'numbers look like `12`, `0.5`, `.5`, `1e-3` or `2.5E+4`';
}

// ---------------------------------------------------------------- parsing errors

const keywordTypes = new Set(tok.keywordTokens);

/**
 * Hints for common mistakes, keyed on where the parser was (the innermost
 * rule), what it expected (the label text of the message) and what it found.
 */
function hintFor(
  ruleStack: readonly string[],
  expected: string,
  found: IToken,
  onLaterLine: boolean,
): string | undefined {
  const rule = ruleStack[ruleStack.length - 1] ?? 'program';
  const atEof = found.tokenType === EOF;
  if (keywordTypes.has(found.tokenType) && expected === 'identifier') {
    return `\`${found.image}\` is a keyword and cannot be a name; rename it (e.g. \`${found.image}_\`)`;
  }
  if ((expected === 'integer' || expected.startsWith('dimension')) && tokenMatcher(found, tok.FloatLiteral)) {
    return 'dimensions and time offsets are whole numbers';
  }
  if (rule === 'timeIndex') return 'a time index is `[t]`, `[t-1]` or `[t+1]`';
  if (expected === "':'" && (found.image === '=' || rule === 'typedName')) {
    return 'a name is given its shape with `:`, e.g. `x: [X]`';
  }
  if (expected === "'->'") return "a cell names its outputs after '->': `cell rnn(x: [X]) -> h: [H] { ... }`";
  if (atEof && expected.includes("'}'")) return "a '{' block is not closed; add '}' at its end";
  if (expected === "')'") {
    if (atEof || onLaterLine || found.image === '}' || found.image === ';') return "a '(' is not closed; add ')'";
    if (tokenMatcher(found, tok.Identifier) || tokenMatcher(found, tok.NumberLiteral)) {
      return "separate arguments with ','";
    }
  }
  // A train setting is `key value`: `epochs = 5` parses `epochs` as the key and then meets '='.
  if (found.image === '=' && ruleStack.includes('trainSetting')) return 'train settings take no `=`: write `epochs 5`, `optimizer adam(lr = 0.01)`';
  if (expected.startsWith('expression') && found.image === '=') return "an equation has a single '='";
  if (rule === 'binding') return '`with` binds dimensions and options: `with H` or `with H = 128, act = relu`';
  if (ruleStack.includes('trainSetting') && (found.image === '}' || found.image === ';')) {
    return 'each training setting is a name and a value, e.g. `batch 32`, `bptt full`, `clip norm 5.0`';
  }
  if (rule === 'initCall') {
    return 'an initialiser is a name like `zeros` or `orthogonal`, or a call like `uniform(scale = 0.1)`';
  }
  if (rule === 'valueType' || rule === 'elemType') {
    return 'types are `seq<token[V]>`, `seq<[D]>`, `token[V]` or a shape like `[D]`';
  }
  if (expected.startsWith('a declaration')) {
    return tokenMatcher(found, tok.Identifier)
      ? 'equations and settings belong inside a `cell`, `model` or `train` block'
      : 'a file holds `dim`, `cell`, `model` and `train` declarations';
  }
  return undefined;
}

export function parseErrorsToDiagnostics(
  errors: readonly IRecognitionException[],
  tokens: readonly IToken[],
  text: string,
  file: string,
): Diagnostic[] {
  const lastToken = tokens.length > 0 ? tokens[tokens.length - 1] : undefined;
  const out: Diagnostic[] = [];
  const seen = new Set<number>();
  for (const e of errors) {
    const found = e.token;
    const previous = 'previousToken' in e ? (e as { previousToken?: IToken }).previousToken : undefined;
    const onLaterLine =
      isRealToken(found) &&
      previous !== undefined &&
      isRealToken(previous) &&
      (found.startLine ?? 0) > (previous.endLine ?? previous.startLine ?? 0);
    let span: Span;
    if (!isRealToken(found)) {
      // At the end of the file: point just after the last token, where the
      // missing text belongs.
      span = lastToken !== undefined ? pointAfter(lastToken, file) : endOfTextPoint(text, file);
    } else if (onLaterLine && previous !== undefined) {
      // What was found is on a later line: the mistake is the missing text at
      // the end of the previous line, so point there.
      span = pointAfter(previous, file);
    } else {
      span = tokenSpan(found, file);
    }
    // Recovery can report the same position twice (once on re-sync inside a
    // repetition, once on leaving the rule); one diagnostic per place.
    if (seen.has(span.start)) continue;
    seen.add(span.start);
    const split = e.message.indexOf(', found ');
    const expected = e.message.startsWith('expected ') && split > 0 ? e.message.slice('expected '.length, split) : '';
    const hint = hintFor(e.context.ruleStack, expected, found, onLaterLine);
    out.push(makeDiagnostic('RNN1002', span, e.message, hint === undefined ? {} : { hint }));
  }
  return out;
}

/**
 * Drops the syntax errors that are only echoes of an earlier one on the same
 * line. Recovery resumes near the failing token and often fails again a few
 * tokens later (`input target: [1]` fails at `target` and then at `:`;
 * `loss = = mse(a, b)` re-syncs inside the call and trips over its `,`; a
 * lexing error leaves a gap the parser trips over). So an RNN1002 on a line
 * that already has a reported diagnostic is dropped: the first one explains
 * the line, and fixing it reveals any genuine second mistake. `diags` must be
 * sorted by position.
 */
export function dropCascades(diags: readonly Diagnostic[]): Diagnostic[] {
  const kept: Diagnostic[] = [];
  for (const d of diags) {
    const last = kept[kept.length - 1];
    if (d.code === 'RNN1002' && last !== undefined && last.span.file === d.span.file && last.span.line === d.span.line) {
      continue;
    }
    kept.push(d);
  }
  return kept;
}
