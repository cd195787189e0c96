#!/usr/bin/env node
// The `rnnc` executable. The exit waits until stdout and stderr have taken
// everything written to them: a pipe takes 64 KiB at a time, and an exit
// before it drained would cut long output (rnnc translate --json, encode).
import { handleError, main } from './cli.js';

function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(
  (code) => exitAfterFlush(code),
  (e: unknown) => exitAfterFlush(handleError(e)),
);
