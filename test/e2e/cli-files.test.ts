// No command loses a user's file (README.md, "Security"): outputs are never
// written over an input of the same command, nor over a file that is not the
// command's own kind of output without --force; -o writes through a link;
// temporary files a killed checkpoint writer left are removed by the next
// write when stale; a resumed run logs each step once; bad --out folders are
// user errors, not internal ones, and never hang.
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseParamsJson } from '../../runtime/params-json.js';
import { abcDir, expectOk, expectUserError, readMetrics, removeDir, rnnc, writeAbcLm, writeFile } from './cli-harness.js';

let dir: string;
let lm: string;
let ckpt: string;
beforeAll(async () => {
  dir = abcDir();
  lm = writeAbcLm(dir, 'lm.rnn', { seed: 1 });
  expectOk(await rnnc('run', lm, '--backend', 'cpu', '--steps', '2', '--out', join(dir, 'base'), '--quiet'));
  ckpt = join(dir, 'base', 'checkpoint.json');
});
afterAll(() => removeDir(dir));

const compile = (out: string, ...extra: string[]) => rnnc('compile', lm, '--ckpt', ckpt, '-o', out, ...extra);

/** A pid that belonged to a process that has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

describe('outputs never replace an input', () => {
  it('run into a folder holding a run of another .rnn file: exit 1, that run unchanged; the same file again, or --force, replaces it', async () => {
    const one = writeAbcLm(dir, 'one.rnn', { seed: 3 });
    const two = writeAbcLm(dir, 'two.rnn', { seed: 4 });
    const out = join(dir, 'shared-run');
    expectOk(await rnnc('run', one, '--backend', 'cpu', '--out', out, '--quiet'));
    const before = readFileSync(join(out, 'checkpoint.json'), 'utf8');
    const r = await rnnc('run', two, '--backend', 'cpu', '--out', out, '--quiet');
    expectUserError(r);
    expect(r.stderr).toContain(`holds a run of ${one}, not of ${two}: choose another --out to keep both, or --force to replace it`);
    expect(readFileSync(join(out, 'checkpoint.json'), 'utf8')).toBe(before);
    expectOk(await rnnc('run', one, '--backend', 'cpu', '--out', out, '--quiet'));
    expectOk(await rnnc('run', two, '--backend', 'cpu', '--out', out, '--quiet', '--force'));
  });

  it('compile -o onto its own .rnn file (by name, through a link, by a hard link): exit 1, the source unchanged', async () => {
    const before = readFileSync(lm, 'utf8');
    const link = join(dir, 'link-to-lm.ts');
    symlinkSync(lm, link);
    const hard = join(dir, 'hard-lm.ts');
    linkSync(lm, hard);
    for (const out of [lm, link, hard]) {
      const r = await compile(out, '--force');
      expectUserError(r);
      expect(r.stderr).toContain(`refusing to write ${out}`);
      expect(r.stderr).toMatch(/input/);
    }
    expect(readFileSync(lm, 'utf8')).toBe(before);
  });

  it('compile -o onto its --ckpt: exit 1, the checkpoint unchanged', async () => {
    const before = readFileSync(ckpt, 'utf8');
    const r = await compile(ckpt, '--force');
    expectUserError(r);
    expect(readFileSync(ckpt, 'utf8')).toBe(before);
  });

  it('params CKPT -o CKPT: exit 1, the checkpoint unchanged', async () => {
    const before = readFileSync(ckpt, 'utf8');
    const r = await rnnc('params', ckpt, '-o', ckpt, '--force');
    expectUserError(r);
    expect(r.stderr).toContain(`refusing to write ${ckpt}: it is the input`);
    expect(readFileSync(ckpt, 'utf8')).toBe(before);
  });
});

describe('outputs replace only their own kind of file, unless --force', () => {
  it('compile: refuses a file that is not a compiled module, replaces one that is, and anything with --force', async () => {
    const notes = writeFile(dir, 'notes.ts', 'export const mine = 1;\n');
    const r = await compile(notes);
    expectUserError(r);
    expect(r.stderr).toContain(`refusing to overwrite ${notes}: it exists and is not a TypeScript module written by rnnc compile`);
    expect(r.stderr).toContain('--force');
    expect(readFileSync(notes, 'utf8')).toBe('export const mine = 1;\n');

    const model = join(dir, 'model.ts');
    expectOk(await compile(model));
    expectOk(await compile(model, '--target', 'forward'));
    expect(readFileSync(model, 'utf8')).toContain('target forward');

    expectOk(await compile(notes, '--force'));
    expect(readFileSync(notes, 'utf8')).toContain('compiled by rnnc');
  });

  it('params: refuses a file that is not a parameters file, replaces one that is, and anything with --force', async () => {
    const data = writeFile(dir, 'data.json', '{"mine": true}\n');
    const r = await rnnc('params', ckpt, '-o', data);
    expectUserError(r);
    expect(r.stderr).toContain(`refusing to overwrite ${data}: it exists and is not a parameters file`);
    expect(readFileSync(data, 'utf8')).toBe('{"mine": true}\n');

    const p = join(dir, 'p.json');
    expectOk(await rnnc('params', ckpt, '-o', p));
    expectOk(await rnnc('params', ckpt, '-o', p));
    expectOk(await rnnc('params', ckpt, '-o', data, '--force'));
    expect([...parseParamsJson(readFileSync(data, 'utf8'), data).keys()]).toContain('y.W');
  });

  it('an empty file may be replaced (it holds nothing to lose)', async () => {
    const empty = writeFile(dir, 'empty.json', '');
    expectOk(await rnnc('params', ckpt, '-o', empty));
  });
});

describe('-o onto a link writes through it', () => {
  it('the file the link names is replaced and the link stays a link', async () => {
    mkdirSync(join(dir, 'real'));
    const target = join(dir, 'real', 'params.json');
    expectOk(await rnnc('params', ckpt, '-o', target));
    writeFileSync(target, '{}\n');
    const link = join(dir, 'params-link.json');
    symlinkSync(target, link);
    expectOk(await rnnc('params', ckpt, '-o', link));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(parseParamsJson(readFileSync(target, 'utf8'), target).size).toBeGreaterThan(0);
    // No temporary file is left beside the link or the target.
    expect(readdirSync(join(dir, 'real'))).toEqual(['params.json']);
  });

  it('a link to nothing is refused with its target named', async () => {
    const link = join(dir, 'dangling.json');
    symlinkSync(join(dir, 'nowhere', 'x.json'), link);
    const r = await rnnc('params', ckpt, '-o', link);
    expectUserError(r);
    expect(r.stderr).toContain('which does not exist');
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });
});

describe('temporary files of a killed checkpoint write', () => {
  it('the next run removes its own stale ones (writer gone, or older than an hour) and nothing else', async () => {
    const out = join(dir, 'tmps');
    mkdirSync(out);
    const stale = `checkpoint.json.tmp-${deadPid()}-0123456789ab`;
    const old = `checkpoint.json.tmp-${process.pid}-aaaaaaaaaaaa`;
    const live = `checkpoint.json.tmp-${process.pid}-bbbbbbbbbbbb`;
    const others = [`other.json.tmp-${deadPid()}-0123456789ab`, 'checkpoint.json.tmp-mine', `checkpoint.json.tmp-${deadPid()}-xyz`];
    for (const f of [stale, old, live, ...others]) writeFile(out, f, 'partial');
    const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(join(out, old), twoHoursAgo, twoHoursAgo);
    expectOk(await rnnc('run', lm, '--backend', 'cpu', '--steps', '1', '--out', out, '--quiet'));
    expect(readdirSync(out).sort()).toEqual(['best.json', 'checkpoint.json', 'metrics.jsonl', live, ...others].sort());
  });
});

describe('--resume', () => {
  it('metrics.jsonl lists every step once, as an uninterrupted run does, when the run resumed had logged steps after its checkpoint', async () => {
    const out = join(dir, 'resumed');
    expectOk(await rnnc('run', lm, '--backend', 'cpu', '--steps', '2', '--out', out, '--quiet'));
    const early = writeFile(dir, 'early-ckpt.json', readFileSync(join(out, 'checkpoint.json'), 'utf8'));
    // The run goes on to step 4, then is "killed": its last checkpoint is the one at step 2.
    expectOk(await rnnc('run', lm, '--backend', 'cpu', '--steps', '4', '--out', out, '--quiet', '--resume', join(out, 'checkpoint.json')));
    expectOk(await rnnc('run', lm, '--backend', 'cpu', '--steps', '5', '--out', out, '--quiet', '--resume', early));
    const train = readMetrics(out).filter((m) => m.kind === 'train');
    expect(train.map((m) => m.step)).toEqual([1, 2, 3, 4, 5]);

    const straight = join(dir, 'straight');
    expectOk(await rnnc('run', lm, '--backend', 'cpu', '--steps', '5', '--out', straight, '--quiet'));
    expect(train.map((m) => m.loss)).toEqual(readMetrics(straight).filter((m) => m.kind === 'train').map((m) => m.loss));
  });
});

describe('bad output places are user errors', () => {
  const run = (out: string) => rnnc('run', lm, '--backend', 'cpu', '--steps', '1', '--out', out, '--quiet');

  it('--out naming an existing file: exit 1, names it, the file unchanged', async () => {
    const f = writeFile(dir, 'a-file', 'mine');
    const r = await run(f);
    expectUserError(r);
    expect(r.stderr).toContain(`--out ${f} is a file, not a folder`);
    expect(readFileSync(f, 'utf8')).toBe('mine');
  });

  it('--out under a file: exit 1', async () => {
    const f = writeFile(dir, 'b-file', 'mine');
    const r = await run(join(f, 'sub'));
    expectUserError(r);
    expect(r.stderr).toContain('a part of the path is not a folder');
  });

  it('metrics.jsonl being a folder: exit 1, names it', async () => {
    const out = join(dir, 'metrics-dir');
    mkdirSync(join(out, 'metrics.jsonl'), { recursive: true });
    const r = await run(out);
    expectUserError(r);
    expect(r.stderr).toContain(`${join(out, 'metrics.jsonl')} is a folder`);
  });

  it('--out /proc/x (a folder the kernel will not create) returns at once with exit 1', async () => {
    const r = await run('/proc/rnnc-test/x');
    expectUserError(r);
    expect(r.stderr).toContain('cannot create the folder /proc/rnnc-test');
  });

  it('a 300-character -o file name: exit 1, "the file name is too long"', async () => {
    const r = await rnnc('params', ckpt, '-o', join(dir, `${'p'.repeat(300)}.json`));
    expectUserError(r);
    expect(r.stderr).toContain('the file name is too long');
    const c = await compile(join(dir, `${'m'.repeat(300)}.ts`));
    expectUserError(c);
    expect(c.stderr).toContain('the file name is too long');
  });
});
