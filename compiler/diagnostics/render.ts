// Diagnostics -> text (rustc/tsc style) and -> JSON.
//
//   lstm.rnn:3:17: error RNN1002: expected expression, found '}'
//      3 | train m { batch }
//        |                 ^
//   hint: each training setting is a name and a value, ...
//
// The caret line covers the span, clamped to the span's first line (at least
// one caret, so an empty span "just after a token" still shows where). Notes
// print their own location and, when the text of their file is known, their
// own source line and carets. No colours here: the CLI may colour the text.
import type { Diagnostic, Note } from './diagnostic.js';
import type { Span } from './span.js';

/** The text of every file a diagnostic may point into, by file name. */
export type SourceMap = ReadonlyMap<string, string>;

function location(span: Span): string {
  return `${span.file}:${span.line}:${span.column}`;
}

function sourceLine(text: string, line: number): string | undefined {
  // Split on \n only and drop a trailing \r, so CRLF files show clean lines
  // while columns (counted by the lexer on the raw text) stay right.
  const lines = text.split('\n');
  const raw = lines[line - 1];
  return raw === undefined ? undefined : raw.replace(/\r$/, '');
}

/** The source line and caret line of `span`, with a gutter `width` digits wide. */
function snippet(span: Span, text: string | undefined, width: number): string[] {
  if (text === undefined) return [];
  const src = sourceLine(text, span.line);
  if (src === undefined) return [];
  const startCol = Math.max(1, Math.min(span.column, src.length + 1));
  const endCol = span.endLine === span.line ? span.endColumn : src.length + 1;
  const carets = Math.max(1, endCol - startCol);
  // Keep tabs in the padding so the carets line up however tabs are shown.
  const pad = src.slice(0, startCol - 1).replace(/[^\t]/g, ' ');
  const gutter = ' '.repeat(width);
  return [` ${String(span.line).padStart(width)} | ${src}`, ` ${gutter} | ${pad}${'^'.repeat(carets)}`];
}

function textOf(span: Span, sources: SourceMap): string | undefined {
  return sources.get(span.file);
}

function noteLines(note: Note, sources: SourceMap, width: number): string[] {
  if (note.span === undefined) return [`note: ${note.message}`];
  return [`note: ${location(note.span)}: ${note.message}`, ...snippet(note.span, textOf(note.span, sources), width)];
}

/**
 * Renders one diagnostic. `sources` maps file names to their text; notes that
 * point into other files show their source lines only when those are given.
 */
export function renderDiagnosticWithSources(d: Diagnostic, sources: SourceMap): string {
  const lines = [d.span.line, ...d.notes.map((n) => n.span?.line ?? 0)];
  const width = Math.max(...lines.map((l) => String(l).length));
  const out = [`${location(d.span)}: ${d.severity} ${d.code}: ${d.message}`];
  out.push(...snippet(d.span, textOf(d.span, sources), width));
  for (const note of d.notes) out.push(...noteLines(note, sources, width));
  if (d.hint !== undefined) out.push(`hint: ${d.hint}`);
  return `${out.join('\n')}\n`;
}

/** Renders one diagnostic whose span (and notes in the same file) point into `sourceText`. */
export function renderDiagnostic(d: Diagnostic, sourceText: string): string {
  return renderDiagnosticWithSources(d, new Map([[d.span.file, sourceText]]));
}

/** Renders several diagnostics, separated by blank lines. */
export function renderDiagnostics(diags: readonly Diagnostic[], sources: SourceMap): string {
  return diags.map((d) => renderDiagnosticWithSources(d, sources)).join('\n');
}

// ---------------------------------------------------------------- JSON

function spanJson(s: Span): Record<string, string | number> {
  return {
    file: s.file,
    start: s.start,
    end: s.end,
    line: s.line,
    column: s.column,
    endLine: s.endLine,
    endColumn: s.endColumn,
  };
}

/**
 * Stable JSON for tools: an array of diagnostics with a fixed key order
 * (code, severity, message, span, notes, hint when present), two-space
 * indentation and a final newline.
 */
export function renderDiagnosticsJson(diags: readonly Diagnostic[]): string {
  const data = diags.map((d) => ({
    code: d.code,
    severity: d.severity,
    message: d.message,
    span: spanJson(d.span),
    notes: d.notes.map((n) => (n.span === undefined ? { message: n.message } : { message: n.message, span: spanJson(n.span) })),
    ...(d.hint !== undefined ? { hint: d.hint } : {}),
  }));
  return `${JSON.stringify(data, null, 2)}\n`;
}
