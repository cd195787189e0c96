// Bad input to `rnnc run`: every one is a one-paragraph user error (exit 1)
// or a usage error (exit 2) with no stack trace, naming what is wrong.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, expectUserError, removeDir, rnnc, tempDir, writeFile } from './cli-harness.js';

let dir: string;
beforeAll(() => {
  dir = tempDir();
  writeFile(dir, 'abc.txt', 'abcab cabba\n'.repeat(20));
});
afterAll(() => removeDir(dir));

const lm = (data: string, name = 'lm'): string => `
dim V, E = 4, H = 5
model ${name} {
  input  chars: seq<token[V]>
  target next:  seq<token[V]>
  h = rnn(embed(chars, E)) with H
  y = dense(h, V)
  loss = cross_entropy(y, next)
}
train ${name} { data ${data}; optimizer adam(lr = 1e-2); batch 4; epochs 1; seed 1 }
`;

const regression = (data: string): string => `
dim H = 3
model reg {
  input  x: seq<[1]>
  target y: [1]
  h = rnn(x) with H
  loss = mse(dense(last(h), 1), y)
}
train reg { data ${data}; optimizer adam(lr = 1e-2); batch 2; epochs 1; seed 1 }
`;

let n = 0;
async function run(program: string, ...flags: string[]) {
  n++;
  const f = writeFile(dir, `p${n}.rnn`, program);
  return rnnc('run', f, '--backend', 'cpu', '--steps', '1', '--out', join(dir, `out${n}`), '--quiet', ...flags);
}

describe('data sources', () => {
  it('an unknown data source: exit 1, lists the sources with their arguments', async () => {
    const r = await run(lm('nosuch(seq_len = 3)'));
    expectUserError(r);
    expect(r.stderr).toContain('unknown data source "nosuch"');
    for (const s of ['brown_chars(seq_len=100', 'adding(T=50', 'sine(T=50', 'text(path', 'jsonl(path']) expect(r.stderr).toContain(s);
  });

  it('an argument the source does not have, in the train block: exit 1, names it and the signature', async () => {
    const r = await run(lm('text("abc.txt", seq_len = 10, bogus = 3)'));
    expectUserError(r);
    expect(r.stderr).toContain('text has no argument "bogus"');
    expect(r.stderr).toContain('text(path, level=char');
  });

  it('an argument the source does not have, through --data-arg: exit 1', async () => {
    const r = await run(lm('text("abc.txt", seq_len = 10)'), '--data-arg', 'bogus=3');
    expectUserError(r);
    expect(r.stderr).toContain('no argument "bogus"');
  });

  it('an ill-typed argument through --data-arg: exit 1, says what it must be', async () => {
    const r = await run(lm('text("abc.txt", seq_len = 10)'), '--data-arg', 'seq_len=ten');
    expectUserError(r);
    expect(r.stderr).toMatch(/seq_len must be a number/);
  });

  it('--data-arg overrides the train block (and a good one runs)', async () => {
    const r = await run(lm('text("abc.txt", seq_len = 10)'), '--data-arg', 'seq_len=6');
    expectOk(r);
    expect(r.stderr).toContain('seq_len 6');
  });

  it('a malformed --data-arg is a usage error: exit 2', async () => {
    expectUserError(await run(lm('text("abc.txt", seq_len = 10)'), '--data-arg', 'seq_len'), 2);
  });

  it('positional arguments to a source that takes names: exit 1', async () => {
    const r = await run(lm('brown_chars(20)'));
    expectUserError(r);
    expect(r.stderr).toContain('by name');
  });

  it('a text file that does not exist: exit 1, data file not found', async () => {
    const r = await run(lm('text("missing.txt", seq_len = 10)'));
    expectUserError(r);
    expect(r.stderr).toContain('data file not found');
    expect(r.stderr).toContain('missing.txt');
  });

  it('a jsonl line that is not JSON (NaN): exit 1, names the file and line', async () => {
    const f = writeFile(dir, 'nan.jsonl', '{"x": [[0.5], [1.0]], "y": 1.5}\n{"x": [[0.5], [NaN]], "y": 1.5}\n');
    const r = await run(regression('jsonl("nan.jsonl")'));
    expectUserError(r);
    expect(r.stderr).toContain(`${f}:2:`);
    expect(r.stderr).toContain('not valid JSON');
  });

  it('a jsonl number that overflows to Infinity: exit 1, names the file, line and field', async () => {
    const f = writeFile(dir, 'inf.jsonl', '{"x": [[0.5], [1.0]], "y": 1.5}\n{"x": [[0.5], [1.0]], "y": 2}\n{"x": [[0.5], [1e999]], "y": 1.5}\n');
    const r = await run(regression('jsonl("inf.jsonl")'));
    expectUserError(r);
    expect(r.stderr).toContain(`${f}:3:`);
    expect(r.stderr).toContain('"x"[1][0] is not a finite number');
  });

  it('the same jsonl without the bad value trains', async () => {
    writeFile(dir, 'good.jsonl', '{"x": [[0.5], [1.0]], "y": 1.5}\n{"x": [[0.5], [0.25]], "y": 0.75}\n');
    expectOk(await run(regression('jsonl("good.jsonl", split = 1)')));
  });
});

describe('checkpoints for --resume', () => {
  const program = lm('text("abc.txt", seq_len = 10)');

  it('a truncated (corrupt) checkpoint: exit 1, says it is corrupt', async () => {
    const good = await run(program);
    expectOk(good);
    const text = readFileSync(join(dir, `out${n}`, 'checkpoint.json'), 'utf8');
    const corrupt = writeFile(dir, 'corrupt.json', text.slice(0, Math.floor(text.length / 2)));
    const r = await run(program, '--resume', corrupt);
    expectUserError(r);
    expect(r.stderr).toContain(corrupt);
    expect(r.stderr).toContain('corrupt');
  });

  it('a checkpoint with a NaN-like null in its parameters: exit 1, names the field', async () => {
    const good = await run(program);
    expectOk(good);
    const ckpt = JSON.parse(readFileSync(join(dir, `out${n}`, 'checkpoint.json'), 'utf8')) as {
      params: Record<string, { data: (number | null)[] }>;
    };
    const first = Object.keys(ckpt.params)[0]!;
    ckpt.params[first]!.data[0] = null;
    const bad = writeFile(dir, 'null.json', JSON.stringify(ckpt));
    const r = await run(program, '--resume', bad);
    expectUserError(r);
    expect(r.stderr).toContain(bad);
    expect(r.stderr).toContain(first);
  });

  it('a checkpoint that does not exist: exit 1', async () => {
    const r = await run(program, '--resume', join(dir, 'none.json'));
    expectUserError(r);
    expect(r.stderr).toContain('checkpoint not found');
  });

  it('a checkpoint of another model: exit 1, names both', async () => {
    const other = await run(lm('text("abc.txt", seq_len = 10)', 'other'));
    expectOk(other);
    const r = await run(program, '--resume', join(dir, `out${n}`, 'checkpoint.json'));
    expectUserError(r);
    expect(r.stderr).toContain('model other, not lm');
  });
});

describe('flags', () => {
  const program = lm('text("abc.txt", seq_len = 10)');
  it.each([
    ['--epochs', '0'],
    ['--epochs', 'abc'],
    ['--epochs', '1.5'],
    ['--batch', '0'],
    ['--steps', '-1'],
    ['--seed', 'x'],
    ['--backend', 'gpu'],
    ['--checkpoint-every', 'often'],
  ])('%s %s is a usage error: exit 2, names the flag', async (flag, value) => {
    const r = await run(program, flag, value);
    expectUserError(r, 2);
    expect(r.stderr).toContain(flag);
  });
});
