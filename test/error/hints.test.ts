// Mistakes a new user makes, and the words that put them right: arguments a
// built-in function does not take (never silently ignored), a size given to
// a cell as an argument, `=` in a train setting, a data source that does not
// exist, and a name with two letters swapped.
import { describe, expect, it } from 'vitest';
import { analyze, checkProgram } from '../../compiler/compile.js';
import type { Diagnostic } from '../../compiler/diagnostics/diagnostic.js';
import { closest, editDistance } from '../../compiler/sema/suggest.js';
import { loadStdlib } from '../../src/stdlib.js';
import { trainSettingDiagnostics } from '../../src/train-settings.js';

const program = (line: string, train = ''): string => `model m {
  dim V = 5
  input x: seq<token[V]>
  target y: seq<token[V]>
  ${line}
  loss = cross_entropy(dense(h, V), y)
}
${train}`;

function errors(text: string): Diagnostic[] {
  const all = checkProgram({ file: 'm.rnn', text }, loadStdlib(), trainSettingDiagnostics);
  return all.filter((d) => d.severity === 'error');
}
const one = (text: string): Diagnostic => {
  const ds = errors(text);
  expect(ds, ds.map((d) => d.message).join('\n')).toHaveLength(1);
  return ds[0]!;
};

describe('arguments a built-in function does not take: RNN2005', () => {
  it('a keyword argument (dense(h, V, activation = relu), embed(x, 16, foo = 3)), with how the function is called', () => {
    const d = one(program('h = dense(embed(x, 4), 3, activation = relu)'));
    expect([d.code, d.message, d.hint]).toEqual(['RNN2005', '`dense` has no argument named `activation`', 'it is called as dense(x, K)']);
    expect(one(program('h = dense(embed(x, 16, foo = 3), 3)')).message).toBe('`embed` has no argument named `foo`');
  });

  it('one argument too many', () => {
    const d = one(program('h = dense(embed(x, 4), 3, 7)'));
    expect([d.code, d.message]).toEqual(['RNN2005', '`dense` takes 2 arguments, got 3']);
  });

  it('in a cell too; an element-wise function takes its attribute by name', () => {
    const cell = (eq: string) => `cell c(x: [X]) -> h: [H] {\n  param W: [H, X]\n  h[t] = ${eq}\n}\n${program('h = c(embed(x, 4)) with H = 3')}`;
    expect(one(cell('tanh(W @ x[t], 2)')).message).toBe('`tanh` takes 1 argument, got 2');
    expect(one(cell('softmax(W @ x[t], axis = 0)')).message).toBe('`softmax` has no argument named `axis`');
    expect(errors(cell('leaky_relu(W @ x[t], alpha = 0.2)'))).toEqual([]);
    expect(errors(program('h = leaky_relu(dense(embed(x, 4), 3), alpha = 0.2)'))).toEqual([]);
  });
});

describe('hints that say what to write', () => {
  it('lstm(e, 64): sizes go after `with`', () => {
    const d = one(program('h = lstm(embed(x, 4), 64)'));
    expect([d.code, d.hint]).toEqual(['RNN2005', 'write `lstm(...) with H = 64` (its dimensions: H)']);
    expect(one(program('h = lstm(embed(x, 4), H = 64)')).hint).toBe('write `lstm(...) with H = 64` (its dimensions: H)');
  });

  it('epochs = 5: train settings take no `=`', () => {
    const d = one(program('h = gru(embed(x, 4)) with H = 3', 'train m { epochs = 5 }'));
    expect([d.code, d.hint]).toEqual(['RNN1002', 'train settings take no `=`: write `epochs 5`, `optimizer adam(lr = 0.01)`']);
  });

  it('tsv("a.tsv"): the source is unknown, and the known ones are listed', () => {
    const a = analyze({ file: 'm.rnn', text: program('h = gru(embed(x, 4)) with H = 3', 'train m { data tsv("a.tsv") }') }, loadStdlib());
    const ds = trainSettingDiagnostics(a);
    expect(ds.map((d) => d.code)).toEqual(['RNN5004']);
    expect(ds[0]!.message).toContain('unknown data source "tsv"');
    expect(ds[0]!.hint).toContain('brown_chars(');
  });

  it('csv("f.csv", "a", "b"): only the path goes by position, and the message shows the names', () => {
    const a = analyze({ file: 'm.rnn', text: program('h = gru(embed(x, 4)) with H = 3', 'train m { data csv("f.csv", "a", "b") }') }, loadStdlib());
    const ds = trainSettingDiagnostics(a);
    expect(ds.map((d) => d.code)).toEqual(['RNN5004']);
    expect(ds[0]!.message).toBe('csv takes only its path by position; give the other arguments by name, e.g. csv("data.csv", x = "text", y = "label")');
    const b = analyze({ file: 'm.rnn', text: program('h = gru(embed(x, 4)) with H = 3', 'train m { data sine(10) }') }, loadStdlib());
    expect(trainSettingDiagnostics(b)[0]!.message).toContain('give the arguments of sine by name, e.g. sine(');
  });

  it('did-you-mean counts two swapped letters as one edit (gur -> gru)', () => {
    expect(editDistance('gur', 'gru')).toBe(1);
    expect(editDistance('lstm', 'lsmt')).toBe(1);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(closest('gur', ['gru', 'rnn', 'lstm'])).toBe('gru');
    expect(one(program('h = gur(embed(x, 4)) with H = 3')).hint).toBe('did you mean `gru`?');
  });
});
