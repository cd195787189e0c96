import { describe, expect, it } from 'vitest';
import { DATA_SOURCES, loadDataset } from '../../runtime/data/registry.js';
import { RuntimeUserError } from '../../runtime/io.js';
import { Rng } from '../../runtime/rng.js';
import { nodeIO } from '../../src/node-io.js';
import { memoryFileIO, nodeFileIO } from './node-file-io.js';

describe('loadDataset', () => {
  it('knows the fifteen sources', () => {
    expect(DATA_SOURCES.map((s) => s.name)).toEqual(['brown_chars', 'brown_words', 'brown_pos', 'mnist_rows', 'mnist', 'mnist_strips', 'adding', 'sine', 'reversal', 'sorting', 'dates', 'melodies', 'text', 'jsonl', 'csv']);
  });

  it('dispatches with defaults and checked arguments', () => {
    const add = loadDataset('adding', { T: 10, n: 20 }, nodeFileIO, new Rng(1));
    expect(add.train).toHaveLength(20);
    expect(add.valid).toHaveLength(1000);
    const pos = loadDataset('brown_pos', { max_files: 2, tags: 'simple', categories: 'news' }, nodeFileIO, new Rng(1));
    expect(pos.description).toMatch(/tags \(simple\)$/);
    const chars = loadDataset('brown_chars', { max_files: 1, seq_len: 20 }, nodeFileIO, new Rng(1));
    expect(chars.task).toBe('lm');
    const io = memoryFileIO({ '/data/t.txt': 'hello world\n'.repeat(5), '/data/d.jsonl': '{"x": [1], "y": 0}\n{"x": [2], "y": 1}' });
    expect(loadDataset('text', { path: '/data/t.txt', level: 'word', seq_len: 3 }, io, new Rng(1)).inputs[0]!.type).toEqual({
      kind: 'tokens',
      vocab: 3,
    });
    expect(loadDataset('jsonl', { path: '/data/d.jsonl', split: 0.5 }, io, new Rng(1)).train).toHaveLength(1);
  });

  it('finds the corpus and the digits through the CLI\'s FileIO', () => {
    expect(loadDataset('brown_pos', { max_files: 1 }, nodeIO, new Rng(1)).train).toHaveLength(88);
    expect(loadDataset('mnist_rows', { n: 100 }, nodeIO, new Rng(1)).valid).toHaveLength(10);
  });

  it('explains unknown sources, unknown arguments and bad values', () => {
    const rng = new Rng(1);
    const io = memoryFileIO({});
    expect(() => loadDataset('brown', {}, io, rng)).toThrow(RuntimeUserError);
    expect(() => loadDataset('brown', {}, io, rng)).toThrow(/unknown data source "brown"; the sources are:\n {2}brown_chars\(seq_len=100/);
    expect(() => loadDataset('adding', { length: 5 }, io, rng)).toThrow('adding has no argument "length"; its arguments are adding(T=50, n=10000, valid=1000)');
    expect(() => loadDataset('adding', { T: 'long' }, io, rng)).toThrow(/argument T must be a number/);
    expect(() => loadDataset('adding', { T: 2.5 }, io, rng)).toThrow(/argument T must be an integer/);
    expect(() => loadDataset('text', { level: 'char' }, io, rng)).toThrow(/text needs the argument path/);
    expect(() => loadDataset('text', { path: 'a.txt', level: 'byte' }, io, rng)).toThrow(/level must be one of char, word, not "byte"/);
    expect(() => loadDataset('brown_words', { lowercase: 2 }, io, rng)).toThrow(/lowercase must be 0 or 1/);
  });
});
