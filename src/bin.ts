#!/usr/bin/env node
// The `rnnc` executable.
import { handleError, main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => process.exit(handleError(e)),
);
