// The checks before `rnnc compile -o` and `rnnc params -o` write a file, so
// that no command loses a file of the user's (README.md, "Security"):
// - never over one of the command's own inputs (`rnnc compile lm.rnn -o
//   lm.rnn`), compared as files, not as spellings: device and inode after
//   following links, so `./lm.rnn`, a link to it and a hard link to it are
//   all the same file;
// - never over an existing file that is not the command's own kind of output
//   (a module rnnc compiled, a parameters file) unless --force is given, as a
//   careful build tool refuses to clobber a source it did not write; an
//   empty file holds nothing to lose and may be replaced;
// - the writing itself goes through src/node-io.ts (atomic, through links).
import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { CliError, EXIT } from './errors.js';
import { userError, writeTarget } from './node-io.js';

export interface OutputKind {
  /** What the command writes, for messages: "a TypeScript module written by rnnc compile". */
  readonly what: string;
  /** Whether an existing file's text is such an output (so replacing it loses nothing the command cannot make again). */
  readonly isOwn: (text: string) => boolean;
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/** The first `max` bytes of a file as UTF-8 (a kind is recognised by its start; a huge file is not read whole). */
function head(file: string, max: number): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(max);
    const n = readSync(fd, buf, 0, max, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks that `output` may be written; throws a CliError (exit 1) naming the
 * file and the way out otherwise. `inputs` are the files the command reads
 * (those that exist are compared). Returns nothing: the write itself
 * resolves links again, atomically.
 */
export function checkOutput(output: string, o: { inputs: readonly string[]; kind: OutputKind; force: boolean; headBytes?: number }): void {
  const target = writeTarget(output);
  const existing = statOrUndefined(target);
  if (existing === undefined) return;
  for (const input of o.inputs) {
    const st = statOrUndefined(input);
    if (st && st.dev === existing.dev && st.ino === existing.ino) {
      throw new CliError(`refusing to write ${output}: it is ${input === output ? 'the input' : `the same file as the input ${input}`}, which would be lost; choose another output file`, EXIT.user);
    }
  }
  if (o.force || existing.size === 0) return;
  let text: string;
  try {
    text = o.headBytes !== undefined ? head(target, o.headBytes) : head(target, existing.size);
  } catch (e) {
    return userError(e, 'read', output);
  }
  if (!o.kind.isOwn(text)) {
    throw new CliError(
      `refusing to overwrite ${output}: it exists and is not ${o.kind.what}, so it may be a file of yours; ` +
        'choose another output file, or give --force to replace it',
      EXIT.user,
    );
  }
}

/** An emitted module opens with the header compiler/codegen/module.ts writes (moduleHeader). */
export const compiledModule: OutputKind = {
  what: 'a TypeScript module written by rnnc compile',
  isOwn: (text) => /^\/\*\*\n \* Model `[^\n]*, compiled by rnnc \(target [^\n]*\n \* Generated code: /.test(text),
};

/** JSON lines of `rnnc encode`: each line an object with the example's `index` first. */
export const encodedLines: OutputKind = {
  what: 'JSON lines written by rnnc encode',
  isOwn: (text) => text.startsWith('{"index":'),
};

/** The head of a PNG image, as read for isOwn (its first byte, 0x89, is not UTF-8). */
export function isPng(text: string): boolean {
  return text.startsWith('\uFFFDPNG\r\n\x1A\n');
}

/** A chart rnnc drew (an attention heat map, a map of codes, curves): an SVG by vega, the page holding one, or a PNG image. */
export const heatmapFile: OutputKind = {
  what: 'a chart written by rnnc',
  isOwn: (text) => isPng(text) || text.startsWith('<svg xmlns="http://www.w3.org/2000/svg"') || /^<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>(attention|codes|curves|visual attention)<\/title>/.test(text),
};
