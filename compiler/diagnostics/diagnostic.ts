// Diagnostics are data: a stable code from the message table, a severity, the
// span it points at, a one-line message, and optional notes (other spans that
// explain it, e.g. where a shape came from) and a hint (what to do).
import type { Span } from './span.js';

export type Severity = 'error' | 'warning';

export interface Note {
  readonly message: string;
  readonly span?: Span;
}

export interface Diagnostic {
  readonly code: string; // RNNxxxx, see messages.ts
  readonly severity: Severity;
  readonly message: string;
  readonly span: Span;
  readonly notes: readonly Note[];
  readonly hint?: string;
}

/** Compiler bugs (not user mistakes) are thrown as this; the CLI gives them their own exit code. */
export class InternalError extends Error {
  constructor(message: string) {
    super(`internal compiler error: ${message}`);
    this.name = 'InternalError';
  }
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}
