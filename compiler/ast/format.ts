// formatSource: prints a parsed program back as canonical .rnn text, keeping
// its comments (what `rnnc fmt` writes; docs/language.md, "Formatting").
//
// The text is rebuilt from the AST, so spacing inside a statement is always
// the same: two spaces of indentation per block, one statement, equation or
// setting per line, spaces around binary operators and `=`, after commas and
// `:`, none inside brackets (`h[t-1]`, `[H, X]`), and only the parentheses
// the precedence needs (`a * (b + c)`, `(a - b) - c` printed `a - b - c`).
// Lines are never broken: newlines mean nothing in the language, and a
// statement reads best whole.
//
// What the AST does not hold is taken from the source, so that formatting
// keeps what the author chose and never loses text:
// - comments (the lexer's `comments` group). A comment after code stays at
//   the end of that line, in its column when the code still ends before it;
//   a comment on a line of its own stays above what follows it, indented
//   like it. A comment inside a statement that spans lines has no place in
//   the one-line statement: that is an RNN1007 error, never a lost comment;
// - blank lines between statements and comments (at most one; one is always
//   put after a cell, model or train block);
// - alignment: in a run of consecutive lines of the same kind (inputs and
//   targets, equations, params, options, train settings), a column that all
//   of them started at the same place in the source (the `=` of equations,
//   the names and types of inputs, the values of settings) stays aligned;
// - train settings written on one line (`batch 32; epochs 3; seed 1`) stay
//   on one line.
// Everything else, including which parentheses were written, is the AST's.
//
// Guarantees, checked here on every call: the formatted text parses to the
// same AST as the source (positions aside) and holds the same comments in
// the same order; a failure is an InternalError, never a changed program.
// Formatting its own output changes nothing (test/parse/format.test.ts).
// Pure: no fs, no process (ARCHITECTURE.md, compiler/).
import type { IToken } from 'chevrotain';
import { lexRnn, tokenMatcher, tokens as tok } from '../../grammar/index.js';
import { InternalError, type Diagnostic } from '../diagnostics/diagnostic.js';
import { makeDiagnostic } from '../diagnostics/messages.js';
import type { Span } from '../diagnostics/span.js';
import type {
  Arg,
  Binding,
  CellDecl,
  CellItem,
  DimDecl,
  DimExpr,
  ElemType,
  Expr,
  ModelDecl,
  ModelItem,
  Program,
  Shape,
  TimeIndex,
  TrainDecl,
  TrainSetting,
  TypedName,
  ValueType,
} from './ast.js';
import { parseProgram } from './index.js';
import { printAst } from './printer.js';

export type FormatResult =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

const INDENT = '  ';

// ---------------------------------------------------------------- expressions

/** Binding strength: +,- < *,/ < @ < prefix operators < atoms (grammar/parser.ts). */
function exprPrec(e: Expr): number {
  if (e.kind === 'Binary') return e.op === '+' || e.op === '-' ? 1 : e.op === '@' ? 3 : 2;
  if (e.kind === 'Unary') return 4;
  return 5;
}

function paren(text: string, needed: boolean): string {
  return needed ? `(${text})` : text;
}

export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'NumberLit':
      return e.text;
    case 'StringLit':
      // Strings have no escapes (grammar/tokens.ts): the text goes back as it was.
      return `"${e.value}"`;
    case 'NameRef':
      return `${e.name.name}${indexText(e.index)}`;
    case 'Call':
      return `${e.callee.name}(${e.args.map(argText).join(', ')})`;
    case 'Binary': {
      const p = exprPrec(e);
      // Operators are left-associative: a right operand of the same strength keeps its parentheses.
      return `${paren(formatExpr(e.left), exprPrec(e.left) < p)} ${e.op} ${paren(formatExpr(e.right), exprPrec(e.right) <= p)}`;
    }
    case 'Unary': {
      const inner = formatExpr(e.operand);
      // `-(-x)` rather than `--x`, which reads like a decrement.
      const wrap = exprPrec(e.operand) < 4 || (e.op === '-' && inner.startsWith('-'));
      return `${e.op}${e.op === '-' ? '' : ' '}${paren(inner, wrap)}`;
    }
  }
}

function argText(a: Arg): string {
  return a.name === undefined ? formatExpr(a.value) : `${a.name.name} = ${formatExpr(a.value)}`;
}

/**
 * A whole number as digits. String() writes 1e21 and above with an exponent,
 * which the grammar does not take where integers go, so large ones are
 * written out in full (the digits of the same double).
 */
function intText(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : BigInt(n).toString();
}

function indexText(i: TimeIndex | undefined): string {
  if (i === undefined) return '';
  // A step (`[0]`) keeps its digits as written: they are also its `variable` (ast.ts).
  if (i.step !== undefined) return `[${i.variable.name}]`;
  if (i.offset === 0) return `[${i.variable.name}]`;
  return `[${i.variable.name}${i.offset > 0 ? '+' : '-'}${intText(Math.abs(i.offset))}]`;
}

function dimPrec(d: DimExpr): number {
  if (d.kind !== 'DimBin') return 3;
  return d.op === '*' ? 2 : 1;
}

export function formatDim(d: DimExpr): string {
  switch (d.kind) {
    case 'DimNum':
      return intText(d.value);
    case 'DimName':
      return d.name;
    case 'DimBin': {
      const p = dimPrec(d);
      return `${paren(formatDim(d.left), dimPrec(d.left) < p)} ${d.op} ${paren(formatDim(d.right), dimPrec(d.right) <= p)}`;
    }
  }
}

function shapeText(s: Shape): string {
  return `[${s.dims.map(formatDim).join(', ')}]`;
}

function elemText(e: ElemType): string {
  return e.kind === 'TokenType' ? `token[${formatDim(e.vocab)}]` : shapeText(e.shape);
}

function typeText(t: ValueType): string {
  return t.seq ? `seq<${elemText(t.elem)}>` : elemText(t.elem);
}

function typedNameText(t: TypedName): string {
  return `${t.name.name}: ${t.token ? `token${shapeText(t.shape)}` : shapeText(t.shape)}`;
}

function dimDeclText(d: DimDecl): string {
  return `dim ${d.dims.map((i) => (i.value === undefined ? i.name.name : `${i.name.name} = ${formatDim(i.value)}`)).join(', ')}`;
}

function bindingText(b: Binding): string {
  return b.value === undefined ? b.name.name : `${b.name.name} = ${formatExpr(b.value)}`;
}

// ---------------------------------------------------------------- lines

/** What a line of the output holds; lines of one kind next to each other may align. */
type LineKind = 'header' | 'closer' | 'dim' | 'io' | 'equation' | 'param' | 'option' | 'setting' | 'settings';

/** A line of code in the output, with where its text came from. */
interface CodeLine {
  readonly type: 'code';
  readonly kind: LineKind;
  readonly depth: number;
  /** The line's text in columns; between two columns one space, or alignment padding. */
  readonly cells: readonly string[];
  /** The source column (1-based) where cells[k] started, for k >= 1; undefined where unknown. */
  readonly sourceColumns: readonly (number | undefined)[];
  /** Source offsets [start, end) and lines of the code the line prints. */
  readonly start: number;
  readonly end: number;
  readonly startLine: number;
  readonly endLine: number;
  /** Top-level lines: a blank line separates blocks from what is around them. */
  readonly topLevel: boolean;
  trailing?: IToken;
}

interface CommentLine {
  readonly type: 'comment';
  readonly depth: number;
  readonly token: IToken;
}

type Line = CodeLine | CommentLine;

class LineBuilder {
  readonly lines: CodeLine[] = [];
  private readonly lexTokens: readonly IToken[];

  constructor(tokens: readonly IToken[]) {
    this.lexTokens = tokens;
  }

  /** The first token starting at or after `offset`. */
  private tokenFrom(offset: number): IToken | undefined {
    let lo = 0;
    let hi = this.lexTokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.lexTokens[mid]!.startOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return this.lexTokens[lo];
  }

  private columnFrom(offset: number): number | undefined {
    return this.tokenFrom(offset)?.startColumn;
  }

  private add(kind: LineKind, depth: number, cells: string[], sourceColumns: (number | undefined)[], span: Span, topLevel = false): void {
    this.lines.push({ type: 'code', kind, depth, cells, sourceColumns, start: span.start, end: span.end, startLine: span.line, endLine: span.endLine, topLevel });
  }

  /** `cell f(...) -> ... {` up to and including the brace. */
  private header(text: string, from: Span, afterOffset: number): void {
    const brace = this.tokenFrom(afterOffset)!;
    const end = brace.startOffset + 1;
    this.lines.push({
      type: 'code',
      kind: 'header',
      depth: 0,
      cells: [text],
      sourceColumns: [undefined],
      start: from.start,
      end,
      startLine: from.line,
      endLine: brace.startLine ?? from.line,
      topLevel: true,
    });
  }

  private closer(span: Span): void {
    this.lines.push({
      type: 'code',
      kind: 'closer',
      depth: 0,
      cells: ['}'],
      sourceColumns: [undefined],
      start: span.end - 1,
      end: span.end,
      startLine: span.endLine,
      endLine: span.endLine,
      topLevel: true,
    });
  }

  program(p: Program): void {
    for (const item of p.items) {
      switch (item.kind) {
        case 'DimDecl':
          this.add('dim', 0, [dimDeclText(item)], [undefined], item.span, true);
          break;
        case 'CellDecl':
          this.cell(item);
          break;
        case 'ModelDecl':
          this.model(item);
          break;
        case 'TrainDecl':
          this.train(item);
          break;
      }
    }
  }

  private cell(c: CellDecl): void {
    const last = c.outputs[c.outputs.length - 1];
    const text = `cell ${c.name.name}(${c.inputs.map(typedNameText).join(', ')}) -> ${c.outputs.map(typedNameText).join(', ')} {`;
    this.header(text, c.span, (last ?? c.name).span.end);
    for (const item of c.body) this.bodyItem(item);
    this.closer(c.span);
  }

  private model(m: ModelDecl): void {
    this.header(`model ${m.name.name} {`, m.span, m.name.span.end);
    for (const item of m.items) this.bodyItem(item);
    this.closer(m.span);
  }

  private bodyItem(item: CellItem | ModelItem): void {
    switch (item.kind) {
      case 'DimDecl':
        this.add('dim', 1, [dimDeclText(item)], [undefined], item.span);
        return;
      case 'IoDecl':
        this.add(
          'io',
          1,
          [item.role, `${item.name.name}:`, typeText(item.type)],
          [undefined, item.name.span.column, item.type.span.column],
          item.span,
        );
        return;
      case 'Equation': {
        const target = `${item.target.name}${indexText(item.index)}`;
        const withText = item.bindings.length === 0 ? '' : ` with ${item.bindings.map(bindingText).join(', ')}`;
        const eqAt = (item.index ?? item.target).span.end;
        this.add('equation', 1, [target, `= ${formatExpr(item.value)}${withText}`], [undefined, this.columnFrom(eqAt)], item.span);
        return;
      }
      case 'ParamDecl': {
        const decl = `param ${item.names.map((n) => n.name).join(', ')}: ${shapeText(item.shape)}`;
        if (item.init === undefined) {
          this.add('param', 1, [decl], [undefined], item.span);
        } else {
          // An initialiser without arguments is written bare (`= zeros`), as the examples do.
          const init = item.init.args.length === 0 ? item.init.callee.name : formatExpr(item.init);
          this.add('param', 1, [decl, `= ${init}`], [undefined, this.columnFrom(item.shape.span.end)], item.span);
        }
        return;
      }
      case 'OptionDecl':
        this.add('option', 1, [`option ${item.name.name}`, `= ${formatExpr(item.value)}`], [undefined, this.columnFrom(item.name.span.end)], item.span);
        return;
    }
  }

  private train(t: TrainDecl): void {
    this.header(`train ${t.model.name} {`, t.span, t.model.span.end);
    // Settings that share a source line stay on one line, joined by `; `.
    const groups: TrainSetting[][] = [];
    for (const s of t.settings) {
      const group = groups[groups.length - 1];
      const prev = group?.[group.length - 1];
      if (group !== undefined && prev !== undefined && s.span.line === prev.span.endLine) group.push(s);
      else groups.push([s]);
    }
    for (const group of groups) {
      const first = group[0]!;
      const last = group[group.length - 1]!;
      const span = { ...first.span, end: last.span.end, endLine: last.span.endLine, endColumn: last.span.endColumn };
      if (group.length === 1) {
        const rest = first.mode === undefined ? settingValueText(first) : `${first.mode.name} ${formatExpr(first.value)}`;
        // The column of the token after the key: a value's span starts inside its parentheses.
        this.add('setting', 1, [first.key.name, rest], [undefined, this.columnFrom(first.key.span.end)], span);
      } else {
        this.add('settings', 1, [group.map(settingText).join('; ')], [undefined], span);
      }
    }
    this.closer(t.span);
  }
}

/**
 * A setting's value when it has no mode. `key a - 1` would parse as key `key`,
 * mode `a`, value `-1` (grammar/parser.ts, trainSetting), so a value that
 * starts with a name followed by a number, a string or `-` keeps parentheses.
 */
function settingValueText(s: TrainSetting): string {
  const text = formatExpr(s.value);
  const [a, b] = lexRnn(text).tokens;
  const ambiguous =
    a !== undefined &&
    b !== undefined &&
    tokenMatcher(a, tok.Identifier) &&
    (tokenMatcher(b, tok.NumberLiteral) || tokenMatcher(b, tok.StringLiteral) || tokenMatcher(b, tok.Minus));
  return ambiguous ? `(${text})` : text;
}

function settingText(s: TrainSetting): string {
  return s.mode === undefined ? `${s.key.name} ${settingValueText(s)}` : `${s.key.name} ${s.mode.name} ${formatExpr(s.value)}`;
}

// ---------------------------------------------------------------- comments

/**
 * Places every comment: at the end of the code line it followed, or as a line
 * of its own before the next code line. Returns the lines in output order, or
 * the diagnostics of comments that sit inside a statement.
 */
function placeComments(
  code: readonly CodeLine[],
  comments: readonly IToken[],
  file: string,
): { readonly lines: Line[]; readonly problems: Diagnostic[] } {
  const out: Line[] = [];
  const problems: Diagnostic[] = [];
  let next = 0; // the first code line not yet emitted
  for (const c of comments) {
    // Emit the code lines that end before the comment.
    while (next < code.length && code[next]!.end <= c.startOffset) out.push(code[next++]!);
    const upcoming = code[next];
    if (upcoming !== undefined && upcoming.start < c.startOffset) {
      const span: Span = {
        file,
        start: c.startOffset,
        end: c.startOffset + c.image.length,
        line: c.startLine ?? 1,
        column: c.startColumn ?? 1,
        endLine: c.startLine ?? 1,
        endColumn: (c.startColumn ?? 1) + c.image.length,
      };
      problems.push(
        makeDiagnostic('RNN1007', span, 'this comment is inside a statement that spans several lines, which the formatter prints on one line', {
          hint: 'move the comment above the statement or to the end of its last line',
        }),
      );
      continue;
    }
    const before = lastCode(out);
    if (before !== undefined && before.endLine === c.startLine && before.trailing === undefined) {
      before.trailing = c;
      continue;
    }
    // A comment line takes the depth of what follows it; before a `}` it is inside the block.
    const depth = upcoming === undefined ? 0 : upcoming.kind === 'closer' ? 1 : upcoming.depth;
    out.push({ type: 'comment', depth, token: c });
  }
  while (next < code.length) out.push(code[next++]!);
  return { lines: out, problems };
}

function lastCode(lines: readonly Line[]): CodeLine | undefined {
  const last = lines[lines.length - 1];
  return last?.type === 'code' ? last : undefined;
}

// ---------------------------------------------------------------- layout

function startLine(l: Line): number {
  return l.type === 'code' ? l.startLine : (l.token.startLine ?? 0);
}

function endLine(l: Line): number {
  return l.type === 'code' ? l.endLine : (l.token.startLine ?? 0);
}

/** Whether a blank line goes between two consecutive output lines. */
function blankBetween(prev: Line, next: Line): boolean {
  if (prev.type === 'code' && prev.kind === 'header') return false;
  if (next.type === 'code' && next.kind === 'closer') return false;
  if (prev.type === 'code' && prev.kind === 'closer') return true;
  if (next.type === 'code' && next.kind === 'header' && prev.type === 'code' && prev.topLevel) return true;
  return startLine(next) - endLine(prev) >= 2;
}

/**
 * The text of each code line, with alignment: a run is lines of one kind,
 * at one depth, on consecutive source lines; column k of a run's lines is
 * aligned where they all started it at the same source column.
 */
function alignRuns(lines: readonly Line[]): Map<CodeLine, string> {
  const texts = new Map<CodeLine, string>();
  let i = 0;
  while (i < lines.length) {
    const first = lines[i]!;
    if (first.type !== 'code') {
      i++;
      continue;
    }
    const run: CodeLine[] = [first];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      const prev = run[run.length - 1]!;
      if (l.type !== 'code' || l.kind !== first.kind || l.depth !== first.depth || l.startLine !== prev.endLine + 1) break;
      run.push(l);
    }
    alignRun(run, texts);
    i = j;
  }
  return texts;
}

function alignRun(run: readonly CodeLine[], texts: Map<CodeLine, string>): void {
  const built = run.map((l) => l.cells[0]!);
  const columns = Math.max(...run.map((l) => l.cells.length));
  for (let k = 1; k < columns; k++) {
    // Sub-runs of consecutive lines that all have column k at one source column.
    let a = 0;
    while (a < run.length) {
      const col = run[a]!.sourceColumns[k];
      let b = a + 1;
      if (col !== undefined && run[a]!.cells.length > k) {
        while (b < run.length && run[b]!.cells.length > k && run[b]!.sourceColumns[k] === col) b++;
      }
      const width = Math.max(...built.slice(a, b).map((t) => t.length));
      for (let m = a; m < b; m++) {
        const cell = run[m]!.cells[k];
        if (cell !== undefined) built[m] = `${b - a > 1 ? built[m]!.padEnd(width) : built[m]!} ${cell}`;
      }
      a = b;
    }
  }
  run.forEach((l, m) => texts.set(l, built[m]!));
}

function render(lines: readonly Line[]): string {
  const texts = alignRuns(lines);
  const out: string[] = [];
  lines.forEach((l, i) => {
    if (i > 0 && blankBetween(lines[i - 1]!, l)) out.push('');
    const indent = INDENT.repeat(l.depth);
    if (l.type === 'comment') {
      out.push(`${indent}${l.token.image.trimEnd()}`);
      return;
    }
    let text = `${indent}${texts.get(l)!}`;
    if (l.trailing !== undefined) {
      // The comment keeps its column where the code still ends before it.
      const column = (l.trailing.startColumn ?? 1) - 1;
      text = column > text.length ? `${text.padEnd(column)}${l.trailing.image.trimEnd()}` : `${text}  ${l.trailing.image.trimEnd()}`;
    }
    out.push(text);
  });
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------- entry point

/**
 * printAst without positions, on one line: what must not change when
 * formatting. (printAst breaks long lines by their length with positions, so
 * its line breaks are dropped too; strings cannot hold a line break.)
 */
export function astShape(program: Program): string {
  return printAst(program)
    .replace(/ @\d+:\d+/g, '')
    .replace(/\n */g, ' ');
}

/** The comments of a text, as they are printed (trailing spaces dropped). */
export function commentTexts(text: string): string[] {
  return lexRnn(text).comments.map((c) => c.image.trimEnd());
}

/**
 * The formatted text of a .rnn source, or the diagnostics that stop it: the
 * syntax errors of a file that does not parse (nothing is formatted then),
 * or RNN1007 for a comment the formatter cannot place.
 */
export function formatSource(text: string, file: string): FormatResult {
  const parsed = parseProgram(text, file);
  if (parsed.diagnostics.length > 0) return { ok: false, diagnostics: parsed.diagnostics };
  const lexed = lexRnn(text);
  const builder = new LineBuilder(lexed.tokens);
  builder.program(parsed.program);
  const placed = placeComments(builder.lines, lexed.comments, file);
  if (placed.problems.length > 0) return { ok: false, diagnostics: placed.problems };
  const formatted = render(placed.lines);

  const again = parseProgram(formatted, file);
  if (again.diagnostics.length > 0 || astShape(again.program) !== astShape(parsed.program)) {
    throw new InternalError(`formatting ${file} would change its meaning; the file is left as it is`);
  }
  if (commentTexts(formatted).join('\n') !== commentTexts(text).join('\n')) {
    throw new InternalError(`formatting ${file} would change its comments; the file is left as it is`);
  }
  return { ok: true, text: formatted };
}
