// The one place grammar/ (and through it the compiler) takes Chevrotain's
// runtime values from.
//
// The package's entry (lib/src/api.js) loads lodash-es as some 640 separate
// ES modules: about 0.35 s before `rnnc check` can parse a line. The same
// package ships the same code as one bundle, lib/chevrotain.mjs, which loads
// in about 0.03 s. That file is not in the package's `exports`, so it is
// reached by path from the resolved entry. Where the entry cannot be resolved
// that way (a bundler, a test runner without import.meta.resolve), the
// package is imported as usual: same API, only slower to load.
//
// Every runtime import of Chevrotain must come through here (test/layering
// checks it): two copies of the library loaded side by side would have two
// EOF token types, and tokenMatcher would fail across them.
import type * as Api from 'chevrotain';

async function load(): Promise<{ api: typeof Api; source: 'bundle' | 'entry' }> {
  try {
    const entry = import.meta.resolve('chevrotain');
    if (entry.startsWith('file:') && entry.endsWith('/lib/src/api.js')) {
      return { api: (await import(new URL('../chevrotain.mjs', entry).href)) as typeof Api, source: 'bundle' };
    }
  } catch {
    // fall through to the package's entry
  }
  return { api: await import('chevrotain'), source: 'entry' };
}

const { api: chevrotain, source } = await load();

export const { createToken, EOF, tokenMatcher } = chevrotain;
export const Lexer = chevrotain.Lexer;
export type Lexer = Api.Lexer;
export const CstParser = chevrotain.CstParser;
export type CstParser = Api.CstParser;
/** Which copy of the library was loaded (test/layering checks that it is the bundle under Node). */
export const chevrotainSource = source;
