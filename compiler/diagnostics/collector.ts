// Collects diagnostics while a stage runs. `fail` reports and then throws
// Abort, which the stage catches at the nearest statement so that one
// mistake is reported once and the rest of the program is still checked.
import type { Diagnostic, Note } from './diagnostic.js';
import { makeDiagnostic, type DiagnosticCode } from './messages.js';
import type { Span } from './span.js';

export class Abort extends Error {
  constructor() {
    super('aborted after a diagnostic');
  }
}

export class DiagnosticCollector {
  readonly list: Diagnostic[] = [];

  report(code: DiagnosticCode, span: Span, message: string, extra: { notes?: readonly Note[]; hint?: string } = {}): void {
    this.list.push(makeDiagnostic(code, span, message, extra));
  }

  fail(code: DiagnosticCode, span: Span, message: string, extra: { notes?: readonly Note[]; hint?: string } = {}): never {
    this.report(code, span, message, extra);
    throw new Abort();
  }

  hasErrors(): boolean {
    return this.list.some((d) => d.severity === 'error');
  }
}

/** Runs `fn`, swallowing Abort (already reported); returns undefined when it aborted. */
export function recover<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Abort) return undefined;
    throw e;
  }
}
