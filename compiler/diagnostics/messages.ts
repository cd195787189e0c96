// The one table of diagnostic codes. Codes are stable: tests and users rely on
// them, so a code is never reused for a different meaning.
//   RNN1xxx  lexing and parsing
//   RNN2xxx  names
//   RNN3xxx  shapes and dimensions
//   RNN4xxx  recurrence (time indices)
//   RNN5xxx  models, losses and training settings
import type { Diagnostic, Note, Severity } from './diagnostic.js';
import type { Span } from './span.js';

export const MESSAGES = {
  RNN1001: { severity: 'error', title: 'unexpected character' },
  RNN1002: { severity: 'error', title: 'syntax error' },
  RNN1003: { severity: 'error', title: 'unterminated string' },
  RNN1004: { severity: 'error', title: 'invalid number' },
  RNN1005: { severity: 'error', title: 'nesting too deep' },
  RNN1006: { severity: 'error', title: 'program too large' },
  RNN1007: { severity: 'error', title: 'comment the formatter cannot place' },

  RNN2001: { severity: 'error', title: 'unknown name' },
  RNN2002: { severity: 'error', title: 'declared twice' },
  RNN2003: { severity: 'warning', title: 'unused parameter' },
  RNN2004: { severity: 'error', title: 'unknown function' },
  RNN2005: { severity: 'error', title: 'wrong arguments' },
  RNN2006: { severity: 'error', title: 'unknown model' },
  RNN2007: { severity: 'error', title: 'unknown cell option or dimension' },
  RNN2008: { severity: 'error', title: 'assigned twice' },

  RNN3001: { severity: 'error', title: 'shape mismatch' },
  RNN3002: { severity: 'error', title: 'unknown dimension' },
  RNN3003: { severity: 'error', title: 'dimension has no value' },
  RNN3004: { severity: 'error', title: 'not a matrix product' },
  RNN3005: { severity: 'error', title: 'sequence expected' },
  RNN3006: { severity: 'error', title: 'invalid dimension value' },
  RNN3007: { severity: 'error', title: 'tensor too large' },

  RNN4001: { severity: 'error', title: 'equation depends on itself' },
  RNN4002: { severity: 'error', title: 'mixed time directions' },
  RNN4003: { severity: 'error', title: 'invalid time index' },
  RNN4004: { severity: 'error', title: 'output never computed' },
  RNN4005: { severity: 'error', title: 'time index needed' },
  RNN4006: { severity: 'error', title: 'invalid decoder' },

  RNN5001: { severity: 'error', title: 'missing loss' },
  RNN5002: { severity: 'error', title: 'invalid training setting' },
  RNN5003: { severity: 'warning', title: 'k2 smaller than k1' },
  RNN5004: { severity: 'error', title: 'invalid data source' },
  RNN5005: { severity: 'error', title: 'invalid optimizer or schedule' },
  RNN5006: { severity: 'error', title: 'truncated BPTT needs forward recurrences' },
  RNN5007: { severity: 'error', title: 'invalid loss' },
  RNN5008: { severity: 'error', title: 'decoder without teacher tokens' },
} as const satisfies Record<string, { severity: Severity; title: string }>;

export type DiagnosticCode = keyof typeof MESSAGES;

/** Builds a diagnostic for `code`; the severity comes from the table. */
export function makeDiagnostic(
  code: DiagnosticCode,
  span: Span,
  message: string,
  extra: { notes?: readonly Note[]; hint?: string } = {},
): Diagnostic {
  return {
    code,
    severity: MESSAGES[code].severity,
    message,
    span,
    notes: extra.notes ?? [],
    ...(extra.hint !== undefined ? { hint: extra.hint } : {}),
  };
}
