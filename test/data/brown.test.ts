import { beforeAll, describe, expect, it } from 'vitest';
import {
  brownChars,
  brownFiles,
  brownPos,
  brownSentences,
  brownText,
  brownWords,
  detokenize,
  simplifyTag,
  type BrownSentence,
} from '../../runtime/data/brown.js';
import { decodeIds } from '../../runtime/data/text.js';
import { nodeFileIO as io } from './node-file-io.js';

describe('Brown corpus', () => {
  let all: BrownSentence[];
  beforeAll(() => {
    all = brownSentences(io);
  });

  it('lists the 500 files in name order and filters by genre', () => {
    const files = brownFiles(io);
    expect(files).toHaveLength(500);
    expect(files[0]).toEqual({ name: 'ca01', category: 'news' });
    expect(files.at(-1)!.name).toBe('cr09');
    expect(brownFiles(io, { categories: ['a'] })).toHaveLength(44);
    expect(brownFiles(io, { categories: ['news'] })).toHaveLength(44);
    expect(brownFiles(io, { categories: ['humor', 'r'] }).map((f) => f.name)[0]).toBe('cr01');
    expect(() => brownFiles(io, { categories: ['poetry'] })).toThrow(/unknown Brown category "poetry"/);
  });

  it('reads one sentence per non-empty line', () => {
    // Non-empty lines per file, counted with grep.
    expect(brownSentences(io, { maxFiles: 1 })).toHaveLength(98);
    expect(brownSentences(io, { maxFiles: 2 })).toHaveLength(98 + 98);
    expect(brownSentences(io, { categories: ['r'] }).length).toBeGreaterThan(900);
    // The canonical totals of the tagged corpus.
    expect(all).toHaveLength(57340);
    expect(all.reduce((n, s) => n + s.length, 0)).toBe(1161192);
  });

  it('starts with the Fulton County sentence, tags as in the corpus', () => {
    const first = all[0]!;
    expect(first.slice(0, 4)).toEqual([
      { word: 'The', tag: 'at' },
      { word: 'Fulton', tag: 'np-tl' },
      { word: 'County', tag: 'nn-tl' },
      { word: 'Grand', tag: 'jj-tl' },
    ]);
    expect(first.at(-1)).toEqual({ word: '.', tag: '.' });
    expect(first.find((t) => t.word === "Atlanta's")!.tag).toBe('np$');
  });

  it('simplifies tags and counts both tag sets', () => {
    expect(simplifyTag('np-tl')).toBe('np');
    expect(simplifyTag('nn$-tl')).toBe('nn');
    expect(simplifyTag('nn-tl-hl')).toBe('nn');
    expect(simplifyTag('pps+bez')).toBe('pps');
    expect(simplifyTag('fw-in+nn-tl')).toBe('fw');
    expect(simplifyTag('do*')).toBe('do');
    expect(simplifyTag('*')).toBe('*');
    expect(simplifyTag('--')).toBe('--');
    expect(simplifyTag('---hl')).toBe('--');
    expect(simplifyTag(',-hl')).toBe(',');
    const full = new Set(all.flatMap((s) => s.map((t) => t.tag)));
    const simple = new Set([...full].map(simplifyTag));
    expect(full.size).toBe(472);
    expect(simple.size).toBe(81);
    expect(brownSentences(io, { maxFiles: 1, tags: 'simple' })[0]![1]!.tag).toBe('np');
  });

  it('rebuilds readable text', () => {
    expect(detokenize(['He', 'said', ',', '``', 'no', "''", '(', 'twice', ')', '.'])).toBe('He said, "no" (twice).');
    expect(detokenize(['Ivan', 'Allen', 'Jr.', '.'])).toBe('Ivan Allen Jr.');
    const text = brownText(io, { maxFiles: 1 });
    const lines = text.split('\n');
    expect(lines).toHaveLength(98);
    expect(lines[0]).toBe(
      'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.',
    );
    expect(text).not.toMatch(/ [,.;:?!]( |$)/m);
    expect(text).not.toMatch(/``|''/);
  });

  it('brown_chars loads all 500 files and rebuilds its text', () => {
    // How long this takes is a benchmark's question, not a test's (it would fail on a loaded machine).
    const d = brownChars(io);
    const vocab = d.inputs[0]!.vocab!;
    expect(vocab.size).toBe(85);
    expect(vocab.unkId).toBeNull();
    expect(d.train).toHaveLength(53692);
    expect(d.valid).toHaveLength(5966);
    expect(d.description).toMatch(/^Brown corpus characters: 5\.37M train chars, 596\.6k valid, vocab 85/);
    const first = d.train[0]!.inputs[0]!;
    if (first.kind !== 'tokens') throw new Error('tokens expected');
    expect(decodeIds(vocab, first.ids)).toBe(brownText(io, { maxFiles: 1 }).slice(0, 100));
  });

  it('brown_chars honours max_chars and seq_len', () => {
    const d = brownChars(io, { maxFiles: 2, maxChars: 1000, seqLen: 50, split: 0.9 });
    expect(d.train).toHaveLength(18); // 900 chars: 899 transitions
    expect(d.valid).toHaveLength(2); // 100 chars: 99 transitions
  });

  it('brown_words: 10000 words with <unk>, <eos> after each sentence', () => {
    const d = brownWords(io, { maxFiles: 20 });
    const vocab = d.inputs[0]!.vocab!;
    expect(vocab.size).toBeLessThanOrEqual(10000);
    const x = d.train[0]!.inputs[0]!;
    if (x.kind !== 'tokens') throw new Error('tokens expected');
    expect(x.ids).toHaveLength(35);
    expect(decodeIds(vocab, x.ids.subarray(0, 8), 'word')).toBe('the fulton county grand jury said friday an');
    expect(vocab.has('<eos>')).toBe(true);
    expect(vocab.has('"')).toBe(true);
  });

  it('brown_pos: aligned word and tag sequences, split by sentence order', () => {
    const d = brownPos(io, { maxSentences: 1000, split: 0.9 });
    expect(d.task).toBe('tagging');
    expect(d.train).toHaveLength(900);
    expect(d.valid).toHaveLength(100);
    const [words, tags] = [d.inputs[0]!, d.targets[0]!];
    expect(words.type.kind).toBe('tokens');
    expect(tags.type.kind).toBe('tokens');
    for (const e of [...d.train, ...d.valid]) {
      const x = e.inputs[0]!;
      const y = e.targets[0]!;
      if (x.kind !== 'tokens' || y.kind !== 'tokens') throw new Error('tokens expected');
      expect(x.ids.length).toBe(y.ids.length);
    }
    const e0 = d.train[0]!;
    if (e0.inputs[0]!.kind !== 'tokens' || e0.targets[0]!.kind !== 'tokens') throw new Error('tokens expected');
    expect(words.vocab!.token(e0.inputs[0]!.ids[1]!)).toBe('Fulton');
    expect(tags.vocab!.token(e0.targets[0]!.ids[1]!)).toBe('np-tl');
    expect(words.vocab!.unkId).toBe(0);

    const simple = brownPos(io, { maxSentences: 1000, tags: 'simple', maxLen: 20, lowercase: true });
    expect(simple.targets[0]!.vocab!.tokens).not.toContain('np-tl');
    expect(simple.train.length).toBeLessThan(900);
    for (const e of simple.train) expect((e.inputs[0] as { ids: Int32Array }).ids.length).toBeLessThanOrEqual(20);
    expect(simple.inputs[0]!.vocab!.has('fulton')).toBe(true);
  });

  it('brown_pos on the whole corpus: vocabulary and tag-set sizes', () => {
    const full = brownPos(io);
    expect(full.inputs[0]!.vocab!.size).toBe(10000);
    expect(full.targets[0]!.vocab!.size).toBe(472);
    expect(full.train.length + full.valid.length).toBe(57340);
  });
});
