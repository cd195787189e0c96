// `rnnc predict`: a trained model on new inputs, one result per line, for a
// language model (text in, the next character at each position out), a
// classifier (JSON lines in, a label and the probabilities out) and a
// regressor (vectors in, values out); bad lines are errors naming file and
// line.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../runtime/rng.js';
import { abcDir, expectOk, expectUserError, removeDir, rnnc, writeAbcLm, writeFile } from './cli-harness.js';

let dir: string;
beforeAll(() => {
  dir = abcDir();
});
afterAll(() => removeDir(dir));

describe('rnnc predict', () => {
  it('a language model: the most likely next character after each position of each line', async () => {
    const lm = writeAbcLm(dir, 'lm.rnn', { seed: 5 });
    expectOk(await rnnc('run', lm, '--backend', 'cpu', '--out', join(dir, 'lm'), '--quiet'));
    const input = writeFile(dir, 'lines.txt', 'abc\nca\n');
    const r = await rnnc('predict', lm, '--ckpt', join(dir, 'lm', 'checkpoint.json'), '--input', input, '--backend', 'cpu');
    expectOk(r);
    const out = r.stdout.split('\n').slice(0, -1);
    expect(out.map((l) => [...l].length)).toEqual([3, 2]);
    const json = await rnnc('predict', lm, '--ckpt', join(dir, 'lm', 'checkpoint.json'), '--input', input, '--backend', 'cpu', '--json');
    expectOk(json);
    const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { input: string; tokens: string[]; ids: number[]; prob: number[] });
    expect(rows.map((x) => x.input)).toEqual(['abc', 'ca']);
    // Each chosen token's probability, one per step.
    for (const r of rows) {
      expect(r.prob).toHaveLength(r.ids.length);
      for (const p of r.prob) expect(p > 0 && p <= 1).toBe(true);
    }
    expect(rows.map((x) => x.tokens.join(''))).toEqual(out);
  });

  it('a classifier over JSON lines: a label, and probabilities that sum to 1', async () => {
    const rng = new Rng(3);
    const lines = Array.from({ length: 120 }, () => {
      const x = Array.from({ length: 3 + rng.int(5) }, () => (rng.next() < 0.5 ? 'a' : 'b')).join('');
      return JSON.stringify({ x, y: [...x].filter((c) => c === 'a').length > x.length / 2 ? 1 : 0 });
    });
    writeFileSync(join(dir, 'ab.jsonl'), `${lines.join('\n')}\n`);
    const cls = writeFile(dir, 'cls.rnn', `model cls { dim V, K, H = 6
  input x: seq<token[V]>; target y: token[K]
  h = gru(one_hot(x)) with H
  loss = cross_entropy(dense(last(h), K), y) }
train cls { data jsonl("ab.jsonl"); optimizer adam(lr = 0.05); batch 20; epochs 2; seed 1 }`);
    expectOk(await rnnc('run', cls, '--backend', 'cpu', '--out', join(dir, 'cls'), '--quiet'));
    const input = writeFile(dir, 'q.jsonl', '{"x": "aaab"}\n{"x": "bbba", "note": "extra keys are ignored"}\n');
    const r = await rnnc('predict', cls, '--ckpt', join(dir, 'cls', 'checkpoint.json'), '--input', input, '--backend', 'cpu', '--json');
    expectOk(r);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { input: { x: string }; label: string; id: number; probs: number[] });
    expect(rows).toHaveLength(2);
    expect(rows[0]!.input.x).toBe('aaab');
    for (const row of rows) {
      expect(row.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      expect(row.id).toBe(row.probs.indexOf(Math.max(...row.probs)));
    }
  });

  it('a regressor over vectors; bad lines name file and line', async () => {
    const add = writeFile(dir, 'add.rnn', `model add { dim H = 6; input x: seq<[2]>; target y: [1]; h = gru(x) with H; loss = mse(dense(last(h), 1), y) }
train add { data adding(T = 5, n = 100, valid = 10); optimizer adam(lr = 0.01); batch 20; epochs 1 }`);
    expectOk(await rnnc('run', add, '--backend', 'cpu', '--out', join(dir, 'add'), '--quiet'));
    const ckpt = join(dir, 'add', 'checkpoint.json');
    const good = writeFile(dir, 'v.jsonl', '{"x": [[0.5, 1], [0.2, 0], [0.1, 1]]}\n{"x": [[0.9, 0]]}\n');
    const r = await rnnc('predict', add, '--ckpt', ckpt, '--input', good, '--backend', 'cpu');
    expectOk(r);
    expect(r.stdout).toMatch(/^-?\d+\.\d+\n-?\d+\.\d+\n$/);
    const cases: [string, string][] = [
      ['{"x": [[0.5, 1], [0.2]]}', 'v2.jsonl:1: "x": expected 2 steps of 2 numbers each'],
      ['{"y": 1}', 'v2.jsonl:1: "x" is missing'],
      ['{"x": [[0.5, "a"]]}', 'v2.jsonl:1: "x": holds "a", not a number; expected numbers only'],
      ['{"x": [[0.5, 1e400]]}', 'v2.jsonl:1: "x": holds a number too large (read as Infinity); expected numbers only'],
      ['not json', 'v2.jsonl:1: not a JSON object'],
    ];
    for (const [line, message] of cases) {
      const bad = writeFile(dir, 'v2.jsonl', `${line}\n`);
      const e = await rnnc('predict', add, '--ckpt', ckpt, '--input', bad, '--backend', 'cpu');
      expectUserError(e);
      expect(e.stderr).toContain(message);
    }
    const text = writeFile(dir, 't.txt', 'abc\n');
    const t = await rnnc('predict', add, '--ckpt', ckpt, '--input', text, '--backend', 'cpu');
    expectUserError(t, 2);
    expect(t.stderr).toContain('give --input a .jsonl file with one {"x": ...} per line');
  });
  it('whole numbers where the model declares values (counts, prices) are values, in jsonl and csv', async () => {
    const rng = new Rng(9);
    const sums: string[] = [];
    const rows = ['rooms,age,price'];
    for (let i = 0; i < 200; i++) {
      const x = [rng.int(10), rng.int(10), rng.int(10)];
      sums.push(JSON.stringify({ x, y: x[0]! + x[1]! + x[2]! }));
      rows.push(`${x[0]},${x[1]},${100 + 20 * x[0]! - 3 * x[1]!}`);
    }
    writeFileSync(join(dir, 'sum.jsonl'), `${sums.join('\n')}\n`);
    writeFileSync(join(dir, 'house.csv'), `${rows.join('\n')}\n`);
    const sum = writeFile(dir, 'sum.rnn', `model sum { input x: [3]; target y: [1]; loss = mse(dense(x, 1), y) }
train sum { data jsonl("sum.jsonl"); optimizer adam(lr = 0.1); batch 20; epochs 30; seed 1 }`);
    expectOk(await rnnc('run', sum, '--backend', 'cpu', '--out', join(dir, 'sum'), '--quiet'));
    const q = writeFile(dir, 'sq.jsonl', '{"x": [1, 2, 3]}\n');
    const r = await rnnc('predict', sum, '--ckpt', join(dir, 'sum', 'checkpoint.json'), '--input', q, '--backend', 'cpu');
    expectOk(r);
    expect(Number(r.stdout.trim())).toBeGreaterThan(5);
    expect(Number(r.stdout.trim())).toBeLessThan(7);
    const house = writeFile(dir, 'house.rnn', `model house { input x: [2]; target y: [1]; loss = mse(dense(x, 1), y) }
train house { data csv("house.csv", x = "rooms,age", y = "price"); optimizer adam(lr = 0.5); batch 20; epochs 3; seed 1 }`);
    const h = await rnnc('run', house, '--backend', 'cpu', '--out', join(dir, 'house'), '--json');
    expectOk(h);
    const last = JSON.parse(h.stdout.trim().split('\n').at(-1)!) as { loss: number; count: number };
    expect(Number.isFinite(last.loss)).toBe(true);
    expect(last.count).toBe(20);
    const ev = await rnnc('evaluate', house, '--ckpt', join(dir, 'house', 'checkpoint.json'), '--backend', 'cpu', '--json');
    expectOk(ev);
    expect((JSON.parse(ev.stdout) as { loss: number }).loss).toBeCloseTo(last.loss, 3);
    // Predicting from a CSV file: the training data's columns, in any order, other columns ignored.
    const hckpt = join(dir, 'house', 'checkpoint.json');
    const csvIn = writeFile(dir, 'hq.csv', 'note,age,rooms\nx,10,3\ny,"2",1\n');
    const pc = await rnnc('predict', house, '--ckpt', hckpt, '--input', csvIn, '--backend', 'cpu', '--json');
    expectOk(pc);
    const jsonIn = writeFile(dir, 'hq.jsonl', '{"x": [3, 10]}\n{"x": [1, 2]}\n');
    const pj = await rnnc('predict', house, '--ckpt', hckpt, '--input', jsonIn, '--backend', 'cpu', '--json');
    expectOk(pj);
    const values = (out: string) => out.trim().split('\n').map((l) => (JSON.parse(l) as { values: number[] }).values[0]);
    expect(values(pc.stdout)).toEqual(values(pj.stdout));
    const noAge = await rnnc('predict', house, '--ckpt', hckpt, '--input', writeFile(dir, 'hb.csv', 'rooms\n3\n'), '--backend', 'cpu');
    expectUserError(noAge);
    expect(noAge.stderr).toContain('hb.csv:2: "x" (or "rooms,age", its key in the training data) is missing');
    const json = await rnnc('predict', house, '--ckpt', hckpt, '--input', writeFile(dir, 'h.json', '{}'), '--backend', 'cpu');
    expectUserError(json, 2);
    expect(json.stderr).toContain('give inputs as JSON lines (.jsonl');
  });

  it('text labels are classes (jsonl and csv): predict names them, reads the data\'s key, evaluate maps another file\'s labels', async () => {
    const rng = new Rng(7);
    const rows = Array.from({ length: 300 }, () => {
      const x = Array.from({ length: 3 + rng.int(6) }, () => (rng.next() < 0.5 ? 'a' : 'b')).join('');
      const a = [...x].filter((c) => c === 'a').length;
      return { text: x, label: a * 2 > x.length ? 'mostly a' : a * 2 < x.length ? 'mostly b' : 'tie' };
    });
    writeFileSync(join(dir, 'lab.jsonl'), `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    writeFileSync(join(dir, 'lab.csv'), `text,label\n${rows.map((r) => `${r.text},${r.label}`).join('\n')}\n`);
    const program = (source: string) => `model lab { dim V, K, H = 16
  input x: seq<token[V]>; target y: token[K]
  h = gru(one_hot(x)) with H
  loss = cross_entropy(dense(last(h), K), y) }
train lab { data ${source}; optimizer adam(lr = 0.02); batch 20; epochs 15; seed 1 }`;
    const lab = writeFile(dir, 'lab.rnn', program('jsonl("lab.jsonl", x = "text", y = "label")'));
    const run = await rnnc('run', lab, '--backend', 'cpu', '--out', join(dir, 'lab'), '--json');
    expectOk(run);
    expect((JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { accuracy: number }).accuracy).toBeGreaterThan(0.9);
    const ckpt = join(dir, 'lab', 'checkpoint.json');
    // The input's characters are its own (the labels' letters are not input tokens); the classes are the labels.
    const vocabs = (JSON.parse(readFileSync(ckpt, 'utf8')) as { extra: { vocabs: { inputs: { tokens: string[] }[]; targets: { tokens: string[] }[] } } }).extra.vocabs;
    expect(vocabs.inputs[0]!.tokens).toEqual(['a', 'b']);
    expect(vocabs.targets[0]!.tokens).toEqual(['mostly a', 'mostly b', 'tie']);
    const q = writeFile(dir, 'lq.jsonl', '{"text": "aaab"}\n{"x": "bbbbba"}\n');
    const p = await rnnc('predict', lab, '--ckpt', ckpt, '--input', q, '--backend', 'cpu');
    expectOk(p);
    expect(p.stdout).toBe('mostly a\nmostly b\n');
    const missing = await rnnc('predict', lab, '--ckpt', ckpt, '--input', writeFile(dir, 'lm.jsonl', '{"y": "tie"}\n'), '--backend', 'cpu');
    expectUserError(missing);
    expect(missing.stderr).toContain('lm.jsonl:1: "x" (or "text", its key in the training data) is missing');
    // Another file holding only two of the classes: its own ids (tie 1) are read as the checkpoint's (tie 2).
    writeFileSync(join(dir, 'two.jsonl'), `${rows.filter((r) => r.label !== 'mostly a').map((r) => JSON.stringify(r)).join('\n')}\n`);
    const ev = await rnnc('evaluate', lab, '--ckpt', ckpt, '--data-arg', `path=${join(dir, 'two.jsonl')}`, '--data-arg', 'split=1', '--split', 'train', '--backend', 'cpu', '--json');
    expectOk(ev);
    expect((JSON.parse(ev.stdout) as { accuracy: number }).accuracy).toBeGreaterThan(0.9);
    const csv = writeFile(dir, 'labc.rnn', program('csv("lab.csv", x = "text", y = "label")'));
    const c = await rnnc('run', csv, '--backend', 'cpu', '--out', join(dir, 'labc'), '--json');
    expectOk(c);
    expect((JSON.parse(c.stdout.trim().split('\n').at(-1)!) as { accuracy: number }).accuracy).toBeGreaterThan(0.9);
  });
});
