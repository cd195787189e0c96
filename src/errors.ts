// How the CLI ends: user mistakes print one paragraph and exit 1; usage
// mistakes exit 2; compiler bugs exit 3 with their own prefix; an
// interrupted run exits 130 after saving its checkpoint.
import type { Diagnostic } from '../compiler/diagnostics/diagnostic.js';

export const EXIT = { ok: 0, user: 1, usage: 2, internal: 3, interrupted: 130 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.user,
    /** The diagnostics behind the failure, when it is a program's errors (the API's RnncError carries them). */
    readonly diagnostics: readonly Diagnostic[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}
