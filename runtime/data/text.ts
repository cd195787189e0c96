// Text -> next-token language-model datasets, and the encode/decode helpers
// the CLI uses to score and sample.
//
// Tokens: 'char' level takes Unicode code points (a surrogate pair is one
// token); 'word' level splits each line on whitespace and ends every
// non-empty line with `<eos>`, so that line structure survives a round trip.
//
// Split: by position. The first `split` fraction of the token stream trains,
// the rest validates, never shuffled, so no validation text leaks into
// training (neighbouring chunks of running text are strongly correlated).
// The vocabulary is built from the training part only; when the validation
// part holds tokens the training part lacks, or `maxVocab` cuts, the
// vocabulary gets `<unk>` (id 0).
//
// Chunks: example k covers stream positions [k*n, k*n + n] (n = seq_len):
// input = those n tokens, target = the same shifted by one. Consecutive
// examples overlap by that one token, so the inputs concatenated plus the
// last target token give back the stream exactly. The final chunk may be
// shorter; nothing is dropped. Chunks are views (`subarray`) of one
// Int32Array per split, so a 6M-character corpus costs 24 MB, not 60k arrays.
import { RuntimeUserError } from '../io.js';
import type { Dataset, Example, FieldSpec } from './types.js';
import { UNK, Vocab, type VocabOrder } from './vocab.js';

/** Ends every non-empty line in word-level streams. */
export const EOS = '<eos>';

export type TextLevel = 'char' | 'word';

export interface TextLmOptions {
  level: TextLevel;
  seqLen: number;
  /** Fraction of the stream used for training, in (0, 1]. */
  split: number;
  /** Largest vocabulary, `<unk>` included; undefined or 0: no limit. */
  maxVocab?: number;
  /** Human name for the description line, e.g. "Brown corpus characters". */
  label?: string;
}

/** The two halves of a tokenised text, already encoded. */
export interface LmStreams {
  vocab: Vocab;
  train: Int32Array;
  valid: Int32Array;
}

export function checkSeqLen(seqLen: number, what = 'seq_len'): void {
  if (!Number.isInteger(seqLen) || seqLen < 1) {
    throw new RuntimeUserError(`${what} must be a positive integer, not ${seqLen}`);
  }
}

export function checkSplit(split: number): void {
  if (!(split > 0 && split <= 1)) {
    throw new RuntimeUserError(`split must be a fraction in (0, 1] (the training share), not ${split}`);
  }
}

/** Unicode code points of `text` (surrogate pairs joined). */
export function codePoints(text: string): Int32Array {
  const out = new Int32Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out[n++] = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        i++;
        continue;
      }
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

/** Word-level tokens: whitespace-separated words, `<eos>` after each non-empty line. */
export function wordTokens(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const words = line.split(/\s+/).filter((w) => w.length > 0);
    if (words.length === 0) continue;
    for (const w of words) out.push(w);
    out.push(EOS);
  }
  return out;
}

export function tokenizeText(text: string, level: TextLevel): string[] {
  if (level === 'word') return wordTokens(text);
  return Array.from(codePoints(text), (c) => String.fromCodePoint(c));
}

/** Ids of `text` under `vocab`; unknown tokens become `<unk>`, or throw when the vocabulary has none. */
export function encodeText(vocab: Vocab, text: string, level: TextLevel = 'char'): Int32Array {
  if (level === 'word') return Int32Array.from(wordTokens(text), (t) => vocab.id(t));
  const cps = codePoints(text);
  const out = new Int32Array(cps.length);
  for (let i = 0; i < cps.length; i++) out[i] = vocab.id(String.fromCodePoint(cps[i]!));
  return out;
}

/** The text `ids` stand for: characters concatenated, or words joined by spaces with `<eos>` as a line break. */
export function decodeIds(vocab: Vocab, ids: ArrayLike<number>, level: TextLevel = 'char'): string {
  if (level === 'char') {
    let s = '';
    for (let i = 0; i < ids.length; i++) s += vocab.token(ids[i]!);
    return s;
  }
  let s = '';
  let atLineStart = true;
  for (let i = 0; i < ids.length; i++) {
    const t = vocab.token(ids[i]!);
    if (t === EOS) {
      s += '\n';
      atLineStart = true;
      continue;
    }
    s += atLineStart ? t : ' ' + t;
    atLineStart = false;
  }
  return s;
}

/** Character streams: split by code-point position, vocabulary in code-point order from the training part. */
export function charStreams(text: string, split: number, maxVocab?: number): LmStreams {
  checkSplit(split);
  const cps = codePoints(text);
  const cut = Math.floor(split * cps.length);
  const counts = new Map<number, number>();
  for (let i = 0; i < cut; i++) counts.set(cps[i]!, (counts.get(cps[i]!) ?? 0) + 1);
  let unseen = false;
  for (let i = cut; i < cps.length && !unseen; i++) unseen = !counts.has(cps[i]!);
  const strCounts = new Map<string, number>();
  for (const [c, k] of counts) strCounts.set(String.fromCodePoint(c), k);
  const vocab = Vocab.fromCounts(strCounts, { order: 'lexicographic', maxSize: limit(maxVocab), unk: unseen });
  // A code-point -> id table, so encoding 6M characters is one Map lookup each.
  const idOf = new Map<number, number>();
  for (const c of counts.keys()) {
    const id = vocab.lookup(String.fromCodePoint(c));
    if (id !== undefined) idOf.set(c, id);
  }
  const unk = vocab.unkId ?? -1;
  const ids = new Int32Array(cps.length);
  for (let i = 0; i < cps.length; i++) ids[i] = idOf.get(cps[i]!) ?? unk;
  return { vocab, train: ids.subarray(0, cut), valid: ids.subarray(cut) };
}

/** Token streams of an already tokenised text: split by position, vocabulary by frequency from the training part. */
export function tokenStreams(tokens: readonly string[], split: number, maxVocab?: number, order: VocabOrder = 'frequency'): LmStreams {
  checkSplit(split);
  const cut = Math.floor(split * tokens.length);
  const counts = new Map<string, number>();
  for (let i = 0; i < cut; i++) counts.set(tokens[i]!, (counts.get(tokens[i]!) ?? 0) + 1);
  let unseen = false;
  for (let i = cut; i < tokens.length && !unseen; i++) unseen = !counts.has(tokens[i]!);
  const vocab = Vocab.fromCounts(counts, { order, maxSize: limit(maxVocab), unk: unseen });
  const ids = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) ids[i] = vocab.id(tokens[i]!);
  return { vocab, train: ids.subarray(0, cut), valid: ids.subarray(cut) };
}

/** Consecutive next-token examples over `ids` (see the top of this file). */
export function chunkStream(ids: Int32Array, seqLen: number): Example[] {
  checkSeqLen(seqLen);
  const out: Example[] = [];
  for (let start = 0; start < ids.length - 1; start += seqLen) {
    const end = Math.min(start + seqLen, ids.length - 1);
    out.push({
      inputs: [{ kind: 'tokens', ids: ids.subarray(start, end) }],
      targets: [{ kind: 'tokens', ids: ids.subarray(start + 1, end + 1) }],
    });
  }
  return out;
}

/** The next-token dataset of two encoded streams. */
export function lmDataset(name: string, streams: LmStreams, seqLen: number, label: string, unit: string): Dataset {
  checkSeqLen(seqLen);
  if (streams.train.length < 2) {
    throw new RuntimeUserError(`${name}: the training text has ${streams.train.length} ${unit}; a language model needs at least 2`);
  }
  const V = streams.vocab.size;
  const spec = (n: string): FieldSpec => ({ name: n, type: { kind: 'tokens', vocab: V }, vocab: streams.vocab });
  const unkNote = streams.vocab.unkId !== null ? ` (with ${UNK})` : '';
  return {
    name,
    inputs: [spec('x')],
    targets: [spec('y')],
    train: chunkStream(streams.train, seqLen),
    valid: chunkStream(streams.valid, seqLen),
    task: 'lm',
    description:
      `${label}: ${formatCount(streams.train.length)} train ${unit}, ${formatCount(streams.valid.length)} valid, ` +
      `vocab ${V}${unkNote}, seq_len ${seqLen}`,
  };
}

/** A text as a character- or word-level language-model dataset. */
export function textLmDataset(name: string, text: string, opts: TextLmOptions): Dataset {
  checkSeqLen(opts.seqLen);
  const label = opts.label ?? name;
  if (opts.level === 'char') {
    return lmDataset(name, charStreams(text, opts.split, opts.maxVocab), opts.seqLen, label, 'chars');
  }
  return lmDataset(name, tokenStreams(wordTokens(text), opts.split, opts.maxVocab), opts.seqLen, label, 'words');
}

/** 1234 -> "1234", 12345 -> "12.3k", 1234567 -> "1.23M": counts for one-line descriptions. */
export function formatCount(n: number): string {
  if (n < 10_000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(2)}M`;
}

function limit(maxVocab: number | undefined): number | undefined {
  return maxVocab === undefined || maxVocab === 0 ? undefined : maxVocab;
}
