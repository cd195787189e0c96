// `rnnc fmt FILE... [--check] [--stdout]` and `rnnc fmt -`: the source
// formatter (compiler/ast/format.ts) on files.
//
// Every path is checked (it exists, it is a .rnn file, it is UTF-8) and read
// before anything is written, so a mistake in the arguments leaves every
// file as it was. A file that does not parse is reported as `rnnc check`
// reports it and never touched; the others are still formatted, and the
// exit code is 1. Files are rewritten only when their text changes, through
// writeTextAtomic (src/node-io.ts: a temporary file renamed over the original),
// so an interrupted run leaves the old file or the new one, never a part;
// the new file gets the old one's permissions.
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { formatSource } from '../../compiler/ast/format.js';
import { CliError, EXIT } from '../errors.js';
import { nodeIO } from '../node-io.js';
import { decodeSource, readSource } from '../project.js';
import { printDiagnostics } from '../terminal.js';

export interface FmtOptions {
  /** Write nothing; list the files that would change and exit 1 if any would. */
  readonly check?: boolean;
  /** Print the formatted text of the one file instead of rewriting it. */
  readonly stdout?: boolean;
}

/** The name standard input goes by in messages. */
const STDIN = '<stdin>';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function fmtCommand(files: readonly string[], opts: FmtOptions): number {
  if (opts.check && opts.stdout) throw new CliError('--check and --stdout do not go together: --check writes nothing, --stdout prints the text', EXIT.usage);
  const fromStdin = files.includes('-');
  if (fromStdin && files.length > 1) throw new CliError('`-` (standard input) cannot be combined with files', EXIT.usage);
  if (opts.stdout && files.length !== 1) {
    throw new CliError(`--stdout prints one file, and ${files.length} were given; leave out --stdout to format them in place`, EXIT.usage);
  }

  const sources: { readonly file: string; readonly text: string }[] = [];
  if (fromStdin) {
    sources.push({ file: STDIN, text: decodeSource(readFileSync(0), STDIN) });
  } else {
    for (const file of files) {
      if (!file.endsWith('.rnn')) throw new CliError(`${file} is not a .rnn file: rnnc fmt formats .rnn sources only`);
      sources.push({ file, text: readSource(file) });
    }
  }

  let failed = 0;
  const changed: string[] = [];
  for (const { file, text } of sources) {
    const r = formatSource(text, file);
    if (!r.ok) {
      printDiagnostics(r.diagnostics, new Map([[file, text]]));
      process.stderr.write(`${file}: ${plural(r.diagnostics.length, 'error')}, not formatted\n`);
      failed++;
      continue;
    }
    if (opts.stdout || fromStdin) {
      if (!opts.check) process.stdout.write(r.text);
      if (r.text !== text) changed.push(file);
      continue;
    }
    if (r.text === text) continue;
    changed.push(file);
    if (opts.check) {
      process.stdout.write(`${file}\n`);
    } else {
      // The new file is made with default permissions: give it the old one's.
      const mode = statSync(file).mode & 0o7777;
      nodeIO.writeTextAtomic(file, r.text);
      chmodSync(file, mode);
      process.stdout.write(`formatted ${file}\n`);
    }
  }

  if (opts.check) {
    if (fromStdin && changed.length > 0) process.stdout.write(`${STDIN}\n`);
    const formatted = sources.length - changed.length - failed;
    if (changed.length > 0) {
      process.stderr.write(`${plural(changed.length, 'file')} would be reformatted (run rnnc fmt on ${changed.length === 1 ? 'it' : 'them'}); ${formatted} already formatted\n`);
    } else if (failed === 0) {
      process.stderr.write(`${sources.length === 1 ? 'the file is' : `all ${sources.length} files are`} formatted\n`);
    }
  }
  return failed > 0 || (opts.check && changed.length > 0) ? EXIT.user : EXIT.ok;
}
