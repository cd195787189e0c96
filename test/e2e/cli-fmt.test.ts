// `rnnc fmt`: rewrites files in place only when they change, `--check` writes
// nothing and exits 1 when a file would change, `--stdout` and `-` print the
// text; files that do not parse, are missing or are not .rnn are clear errors
// and nothing is written; the examples are formatted.
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, expectUserError, removeDir, rnnc, tempDir, useExecutable, writeFile } from './cli-harness.js';

const messy = 'dim  V # vocabulary\nmodel m {\n input x: seq<[2]>;target y: [1]\n    h=rnn(x)with H=4\n loss = mse(dense(last(h),1),y)}\n';
const tidy = 'dim V  # vocabulary\n\nmodel m {\n  input x: seq<[2]>\n  target y: [1]\n  h = rnn(x) with H = 4\n  loss = mse(dense(last(h), 1), y)\n}\n';

let dir: string;
beforeAll(() => {
  dir = tempDir('rnnc-fmt-');
});
afterAll(() => removeDir(dir));

describe('rnnc fmt FILE...', () => {
  it('rewrites a file that changes, and leaves a formatted one untouched', async () => {
    const a = writeFile(dir, 'rewrite/a.rnn', messy);
    const b = writeFile(dir, 'rewrite/b.rnn', tidy);
    const inodeB = statSync(b).ino;
    const r = await rnnc('fmt', a, b);
    expectOk(r);
    expect(r.stdout).toBe(`formatted ${a}\n`);
    expect(readFileSync(a, 'utf8')).toBe(tidy);
    expect(readFileSync(b, 'utf8')).toBe(tidy);
    // A file is replaced by renaming a new one over it: an untouched file keeps its inode.
    expect(statSync(b).ino).toBe(inodeB);
    expect(readdirSync(join(dir, 'rewrite')).sort()).toEqual(['a.rnn', 'b.rnn']);

    const inodeA = statSync(a).ino;
    const again = await rnnc('fmt', a);
    expectOk(again);
    expect(again.stdout).toBe('');
    expect(statSync(a).ino).toBe(inodeA);
  });

  it('a rewritten file keeps its permissions', async () => {
    const a = writeFile(dir, 'mode/a.rnn', messy);
    chmodSync(a, 0o640);
    expectOk(await rnnc('fmt', a));
    expect(readFileSync(a, 'utf8')).toBe(tidy);
    expect(statSync(a).mode & 0o777).toBe(0o640);
  });

  it('--check writes nothing, lists what would change and exits 1; exit 0 when all are formatted', async () => {
    const a = writeFile(dir, 'check/a.rnn', messy);
    const b = writeFile(dir, 'check/b.rnn', tidy);
    const r = await rnnc('fmt', '--check', a, b);
    expectUserError(r);
    expect(r.stdout).toBe(`${a}\n`);
    expect(r.stderr).toContain('1 file would be reformatted');
    expect(readFileSync(a, 'utf8')).toBe(messy);

    const ok = await rnnc('fmt', '--check', b);
    expectOk(ok);
    expect(ok.stdout).toBe('');
  });

  it('--stdout prints the formatted text and leaves the file as it is', async () => {
    const a = writeFile(dir, 'stdout/a.rnn', messy);
    const r = await rnnc('fmt', '--stdout', a);
    expectOk(r);
    expect(r.stdout).toBe(tidy);
    expect(readFileSync(a, 'utf8')).toBe(messy);
  });

  it('a file with a syntax error is reported as rnnc check does and not touched; the others are formatted', async () => {
    const bad = writeFile(dir, 'syntax/bad.rnn', 'model m {\n  y = f(x\n}\n');
    const good = writeFile(dir, 'syntax/good.rnn', messy);
    const r = await rnnc('fmt', bad, good);
    expectUserError(r);
    expect(r.stderr).toContain(`${bad}:2:10: error RNN1002`);
    expect(r.stderr).toContain(`${bad}: 1 error, not formatted`);
    expect(readFileSync(bad, 'utf8')).toBe('model m {\n  y = f(x\n}\n');
    expect(readFileSync(good, 'utf8')).toBe(tidy);
  });

  it('a comment it cannot place is an error naming it, and the file keeps it', async () => {
    const text = 'model m {\n  y = f(a,   # the first\n        b)\n}\n';
    const a = writeFile(dir, 'comment/a.rnn', text);
    const r = await rnnc('fmt', a);
    expectUserError(r);
    expect(r.stderr).toContain(`${a}:2:14: error RNN1007`);
    expect(r.stderr).toContain('move the comment above the statement');
    expect(readFileSync(a, 'utf8')).toBe(text);
  });

  it.each([
    ['a missing file', ['MISSING'], 'file not found'],
    ['a file that is not .rnn', ['TXT'], 'is not a .rnn file'],
    ['a folder', ['FOLDER'], 'is a folder'],
  ])('%s is an error before anything is written', async (_what, args, message) => {
    const good = writeFile(dir, 'args/good.rnn', messy);
    const paths: Record<string, string> = {
      MISSING: join(dir, 'args', 'missing.rnn'),
      TXT: writeFile(dir, 'args/notes.txt', messy),
      FOLDER: join(dir, 'args', 'sub.rnn'),
    };
    writeFile(dir, 'args/sub.rnn/x.rnn', tidy);
    const r = await rnnc('fmt', good, ...args.map((a) => paths[a]!));
    expectUserError(r);
    expect(r.stderr).toContain(message);
    expect(readFileSync(good, 'utf8')).toBe(messy);
  });

  it.each([
    ['no file', []],
    ['--check with --stdout', ['--check', '--stdout', 'F']],
    ['--stdout with two files', ['--stdout', 'F', 'F']],
    ['- with a file', ['-', 'F']],
  ])('usage mistakes exit 2: %s', async (_what, args) => {
    const f = writeFile(dir, 'usage/a.rnn', messy);
    const r = await rnnc('fmt', ...args.map((a) => (a === 'F' ? f : a)));
    expectUserError(r, 2);
    expect(readFileSync(f, 'utf8')).toBe(messy);
  });

  it('the examples are formatted: rnnc fmt --check examples/*.rnn passes', async () => {
    const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
    const files = readdirSync(examples)
      .filter((f) => f.endsWith('.rnn'))
      .map((f) => join(examples, f));
    expect(files.length).toBeGreaterThanOrEqual(10);
    const r = await rnnc('fmt', '--check', ...files);
    expectOk(r);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`all ${files.length} files are formatted`);
  });
});

describe('rnnc fmt - (the executable, reading standard input)', () => {
  const exe = useExecutable();
  const run = (args: string[], input: string) => spawnSync(process.execPath, [exe.bin, 'fmt', ...args], { input, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

  it('prints the formatted text of standard input', () => {
    const r = run(['-'], messy);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(tidy);
  });

  it('with --check prints nothing of the text and exits 1 when it would change', () => {
    const r = run(['--check', '-'], messy);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toBe('<stdin>\n');
    expect(run(['--check', '-'], tidy).status).toBe(0);
  });

  it('a syntax error on standard input is exit 1 naming <stdin>', () => {
    const r = run(['-'], 'model m {\n  y = f(x\n}\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('<stdin>:2:10: error RNN1002');
    expect(r.stdout).toBe('');
  });
});
