import { describe, expect, it } from 'vitest';
import {
  chunkStream,
  codePoints,
  decodeIds,
  encodeText,
  EOS,
  textLmDataset,
  wordTokens,
} from '../../runtime/data/text.js';
import type { Example } from '../../runtime/data/types.js';

function ids(ex: Example, side: 'inputs' | 'targets'): number[] {
  const v = ex[side][0]!;
  if (v.kind !== 'tokens') throw new Error('expected tokens');
  return Array.from(v.ids);
}

/** Inputs concatenated plus the final target token: the original stream. */
function reconstruct(examples: Example[]): number[] {
  const out = examples.flatMap((e) => ids(e, 'inputs'));
  out.push(ids(examples[examples.length - 1]!, 'targets').at(-1)!);
  return out;
}

describe('text language-model datasets', () => {
  // Twice the same lines, so every validation character was seen in training.
  const text = 'the quick brown fox jumps over the lazy dog\nand runs away 🦊!\n'.repeat(2);

  it('chunks into shifted input/target pairs that rebuild the stream', () => {
    const stream = Int32Array.from({ length: 23 }, (_, i) => i);
    const ex = chunkStream(stream, 5);
    expect(ex).toHaveLength(5); // 22 transitions: 4 chunks of 5 and one of 2
    for (const e of ex) expect(ids(e, 'targets')).toEqual(ids(e, 'inputs').map((i) => i + 1));
    expect(ids(ex[4]!, 'inputs')).toEqual([20, 21]);
    expect(reconstruct(ex)).toEqual(Array.from(stream));
  });

  it('splits by position with no overlap, and decodes back to the text', () => {
    const d = textLmDataset('t', text, { level: 'char', seqLen: 7, split: 0.75 });
    expect(d.task).toBe('lm');
    const vocab = d.inputs[0]!.vocab!;
    const train = decodeIds(vocab, reconstruct(d.train));
    const valid = decodeIds(vocab, reconstruct(d.valid));
    expect(train + valid).toBe(text);
    expect(codePoints(train).length).toBe(Math.floor(0.75 * codePoints(text).length));
    // The emoji is one token (a code point), not two surrogate halves.
    expect(vocab.has('🦊')).toBe(true);
    expect(d.inputs[0]!.type).toEqual({ kind: 'tokens', vocab: vocab.size });
  });

  it('builds the vocabulary from the training part only, with <unk> for unseen validation tokens', () => {
    const d = textLmDataset('t', 'aaaaaaaabbbbbbbbbbbbxyz', { level: 'char', seqLen: 4, split: 0.8 });
    const vocab = d.inputs[0]!.vocab!;
    expect(vocab.tokens).toEqual(['<unk>', 'a', 'b']);
    expect(reconstruct(d.valid).slice(-3)).toEqual([0, 0, 0]);
  });

  it('tokenises words per line with <eos> and decodes lines back', () => {
    expect(wordTokens('a b  c\n\n d e\n')).toEqual(['a', 'b', 'c', EOS, 'd', 'e', EOS]);
    const d = textLmDataset('w', 'the cat sat\nthe dog sat\n', { level: 'word', seqLen: 3, split: 1 });
    const vocab = d.inputs[0]!.vocab!;
    expect(vocab.tokens).toEqual([EOS, 'sat', 'the', 'cat', 'dog']);
    expect(decodeIds(vocab, reconstruct(d.train), 'word')).toBe('the cat sat\nthe dog sat\n');
    expect(d.valid).toEqual([]);
    expect(Array.from(encodeText(vocab, 'the dog', 'word'))).toEqual([2, 4, 0]);
  });

  it('encodes and decodes characters with a given vocabulary', () => {
    const d = textLmDataset('t', text, { level: 'char', seqLen: 10, split: 1 });
    const vocab = d.inputs[0]!.vocab!;
    expect(decodeIds(vocab, encodeText(vocab, 'the fox'))).toBe('the fox');
    expect(() => encodeText(vocab, 'Q')).toThrow(/not in the vocabulary/);
  });

  it('rejects bad arguments as user errors', () => {
    expect(() => textLmDataset('t', text, { level: 'char', seqLen: 0, split: 0.9 })).toThrow(/seq_len/);
    expect(() => textLmDataset('t', text, { level: 'char', seqLen: 5, split: 1.5 })).toThrow(/split/);
    expect(() => textLmDataset('t', 'a', { level: 'char', seqLen: 5, split: 1 })).toThrow(/at least 2/);
  });
});
