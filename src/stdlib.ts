// Finds the standard cells shipped with the package (compiler/stdlib/cells.rnn),
// from the sources (tests, tsx) and from the build (dist/).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SourceText } from '../compiler/compile.js';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('rnnc: cannot find the package root');
    dir = up;
  }
  return dir;
}

export const STDLIB_PATH = join(packageRoot(), 'compiler', 'stdlib', 'cells.rnn');

let cached: SourceText | undefined;
export function loadStdlib(): SourceText {
  cached ??= { file: 'cells.rnn', text: readFileSync(STDLIB_PATH, 'utf8') };
  return cached;
}
