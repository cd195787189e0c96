// The one way user text reaches emitted code. Source lines, file names,
// identifiers, strings and dimension names written in a .rnn file end up in
// the emitted module as comments (the line a loop came from), string literals
// (object keys, error messages) and identifiers (local names). Each kind goes
// through one function here, so that no text of a user's can end a comment,
// close a string or a template, or become a statement:
//
// - commentText: for `//` and `/** */` comments. Every character that ends a
//   line in JavaScript (\n, \r, U+2028, U+2029), every other control or
//   format character (C0, C1, DEL, bidirectional overrides, zero-width
//   characters, lone surrogates) becomes a visible `\u{...}` escape, and `*/`
//   becomes `*\/`. Printable text, non-ASCII letters included, stays as it is.
// - stringLiteral: a single-quoted literal with every character outside
//   printable ASCII escaped, so it is also safe where a reader's tool
//   mishandles Unicode.
// - identifier: a name used as a TypeScript identifier: ASCII word characters
//   only, never a reserved word or a name of Object.prototype.
// - assertInert: the last check on a whole module: no line terminator but \n
//   and no other control or format character anywhere in it. A path that
//   forgot to escape fails here, as a compiler bug, instead of emitting code.
import { InternalError } from '../diagnostics/diagnostic.js';

/** Characters that may never appear raw in emitted code (\n is allowed separately, as the only line break). */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}]/gu;

const codePointEscape = (ch: string): string => `\\u{${ch.codePointAt(0)!.toString(16).toUpperCase()}}`;

/** User text made safe inside a `//` or `/** *\/` comment (one line; nothing in it ends the comment). */
export function commentText(s: string): string {
  return s.replace(UNSAFE, codePointEscape).replace(/\*\//g, '*\\/');
}

/** A single-quoted TypeScript string literal of `s`: only printable ASCII appears raw. */
export function stringLiteral(s: string): string {
  let out = "'";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '\\' || ch === "'") out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return `${out}'`;
}

/** Words that cannot name a variable in strict-mode TypeScript, or that would shadow what the module needs. */
export const RESERVED_WORDS: ReadonlySet<string> = new Set(
  ('break case catch class const continue debugger default delete do else enum export extends false finally for function if ' +
    'import in instanceof new null return super switch this throw true try typeof var void while with yield let static ' +
    'implements interface package private protected public await arguments eval undefined NaN Infinity globalThis').split(' '),
);

/** Names of Object.prototype's members: never an identifier or an object key of ours, however the object is made. */
export const OBJECT_PROTOTYPE_NAMES: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__']);

/**
 * A user's name as a TypeScript identifier: characters outside [A-Za-z0-9_$]
 * become `_`, a leading digit gets a `_` before it, and a reserved word or an
 * Object.prototype name gets a `_` after it.
 */
export function identifier(name: string): string {
  let s = name.replace(/[^A-Za-z0-9_$]/g, '_');
  if (s === '' || /^[0-9]/.test(s)) s = `_${s}`;
  if (RESERVED_WORDS.has(s) || OBJECT_PROTOTYPE_NAMES.has(s)) s = `${s}_`;
  return s;
}

/** Throws an InternalError when a module's text holds a character that escaping should have removed. */
export function assertInert(text: string): void {
  UNSAFE.lastIndex = 0;
  for (const m of text.matchAll(UNSAFE)) {
    if (m[0] === '\n') continue;
    const line = text.slice(0, m.index).split('\n').length;
    throw new InternalError(`codegen: the emitted module holds an unescaped ${codePointEscape(m[0])} on line ${line}`);
  }
}

/**
 * A user's name as the key of an object literal: quoted (bare with `bare`
 * when it is an identifier); `__proto__` as a computed key, since a literal
 * `__proto__: v`, quoted or not, would set the object's prototype instead.
 */
export function propertyKey(name: string, bare = false): string {
  if (name === '__proto__') return `[${stringLiteral(name)}]`;
  return bare && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : stringLiteral(name);
}
