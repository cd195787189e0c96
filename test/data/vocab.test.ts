import { describe, expect, it } from 'vitest';
import { RuntimeUserError } from '../../runtime/io.js';
import { UNK, Vocab } from '../../runtime/data/vocab.js';

describe('Vocab', () => {
  const words = 'b a c a b a d'.split(' ');

  it('orders by frequency, ties by code units, deterministically', () => {
    const v = Vocab.build(words, { order: 'frequency' });
    expect(v.tokens).toEqual(['a', 'b', 'c', 'd']);
    // The same multiset in another order gives the same ids.
    expect(Vocab.build(words.slice().reverse(), { order: 'frequency' }).tokens).toEqual(v.tokens);
    expect(v.unkId).toBeNull();
  });

  it('orders characters by code point, independent of counts', () => {
    const v = Vocab.build(Array.from('zzzaB b'), { order: 'lexicographic' });
    expect(v.tokens).toEqual([' ', 'B', 'a', 'b', 'z']);
  });

  it('keeps the most frequent tokens plus <unk> under maxSize', () => {
    const v = Vocab.build(words, { order: 'frequency', maxSize: 3 });
    expect(v.tokens).toEqual([UNK, 'a', 'b']);
    expect(v.id('d')).toBe(0);
    expect(v.id('b')).toBe(2);
    // A lexicographic vocabulary is cut by frequency, then sorted.
    const c = Vocab.build(Array.from('dddaaabbc'), { order: 'lexicographic', maxSize: 3 });
    expect(c.tokens).toEqual([UNK, 'a', 'd']);
  });

  it('maps ids both ways and fails clearly on unknown tokens without <unk>', () => {
    const v = Vocab.build(words, { order: 'frequency' });
    for (let i = 0; i < v.size; i++) expect(v.id(v.token(i))).toBe(i);
    expect(() => v.id('zebra')).toThrow(RuntimeUserError);
    expect(() => v.token(99)).toThrow(/out of range/);
    expect(v.lookup('zebra')).toBeUndefined();
  });

  it('round-trips through JSON and validates what it reads', () => {
    const v = Vocab.build(words, { order: 'frequency', unk: true });
    const back = Vocab.fromJSON(JSON.parse(JSON.stringify(v)));
    expect(back.tokens).toEqual(v.tokens);
    expect(back.unkId).toBe(0);
    expect(back.id('unseen')).toBe(0);
    expect(() => Vocab.fromJSON({ tokens: ['a', 'a'], unk: false })).toThrow(/duplicate/);
    expect(() => Vocab.fromJSON({ tokens: ['a'], unk: true })).toThrow(RuntimeUserError);
    expect(() => Vocab.fromJSON([1, 2])).toThrow(RuntimeUserError);
  });
});
