// How the CLI ends: user mistakes print one paragraph and exit 1; usage
// mistakes exit 2; compiler bugs exit 3 with their own prefix; an
// interrupted run exits 130 after saving its checkpoint.
export const EXIT = { ok: 0, user: 1, usage: 2, internal: 3, interrupted: 130 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.user,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
