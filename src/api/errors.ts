// The API's one error type for user mistakes (src/api/): whatever the CLI
// would print as "error: ..." with exit code 1 (a CliError, a
// RuntimeUserError) reaches an application as an RnncError with the same
// message, and with the program's diagnostics where they are the cause.
// Compiler bugs (InternalError) and anything else pass through unchanged.
import type { Diagnostic } from '../../compiler/diagnostics/diagnostic.js';
import { RuntimeUserError } from '../../runtime/io.js';
import { CliError } from '../errors.js';

/** Where a diagnostic points: a file (the `file` option of {@link compile}) and 1-based lines and columns, the end exclusive. */
export interface SourceRange {
  /** The file, as the `file` option of compile() names it (`cells.rnn`: the standard cells). */
  readonly file: string;
  /** The first line, from 1. */
  readonly line: number;
  /** The first column, from 1. */
  readonly column: number;
  /** The last line. */
  readonly endLine: number;
  /** The column just past the end. */
  readonly endColumn: number;
}

/** A problem found in a program's text, as `rnnc check --json` reports it. */
export interface CompileDiagnostic extends SourceRange {
  /** A stable code, `RNN` and four digits (docs/language.md lists them with their messages). */
  readonly code: string;
  /** An error stops the program from running; a warning does not. */
  readonly severity: 'error' | 'warning';
  /** What is wrong, in one line. */
  readonly message: string;
  /** What to do about it, when the compiler knows. */
  readonly hint?: string;
  /** Other places that explain it (where a shape came from, an earlier declaration). */
  readonly notes: readonly {
    /** What the place explains. */
    readonly message: string;
    /** The place, when there is one. */
    readonly range?: SourceRange;
  }[];
}

/**
 * A user mistake: a program with errors, data that does not fit the model,
 * an unreadable checkpoint, an option out of range. `message` is the
 * one-paragraph explanation that `rnnc` prints; `diagnostics` holds the
 * program's errors when they are the cause (empty otherwise).
 */
export class RnncError extends Error {
  /** The program's errors behind this one, if any. */
  readonly diagnostics: readonly CompileDiagnostic[];

  constructor(message: string, diagnostics: readonly CompileDiagnostic[] = []) {
    super(message);
    this.name = 'RnncError';
    this.diagnostics = diagnostics;
  }
}

const range = (s: Diagnostic['span']): SourceRange => ({ file: s.file, line: s.line, column: s.column, endLine: s.endLine, endColumn: s.endColumn });

/** A compiler diagnostic as the API shows it. */
export function toApiDiagnostic(d: Diagnostic): CompileDiagnostic {
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    ...range(d.span),
    ...(d.hint !== undefined ? { hint: d.hint } : {}),
    notes: d.notes.map((n) => ({ message: n.message, ...(n.span ? { range: range(n.span) } : {}) })),
  };
}

/** The error an API call throws for `e`: user mistakes become RnncErrors, anything else is thrown as it is. */
export function apiError(e: unknown): unknown {
  if (e instanceof RnncError) return e;
  if (e instanceof CliError) {
    const diags = e.diagnostics.map(toApiDiagnostic);
    const first = diags[0];
    // "1 error; nothing was run" alone says too little: name the first error.
    const message = first ? `${e.message}: ${first.file}:${first.line}:${first.column}: ${first.code}: ${first.message}` : e.message;
    return new RnncError(message, diags);
  }
  if (e instanceof RuntimeUserError) return new RnncError(e.message);
  return e;
}

/** Runs `fn`, turning user mistakes into RnncErrors. */
export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw apiError(e);
  }
}

/** As guard, for asynchronous work. */
export async function guardAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw apiError(e);
  }
}
