// `rnnc check` and `rnnc ir` end to end, through the CLI's main() in-process:
// exit codes, the file:line:col / code / caret rendering of diagnostics, the
// JSON form, and the printed IR (scan, gradients, truncation gates).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, expectUserError, fixture, removeDir, rnnc, tempDir, writeFile } from './cli-harness.js';

/**
 * Checks the rendered diagnostic `file:line:col: error CODE` and that the
 * caret line under the quoted source line points at that column.
 */
function expectRendered(stderr: string, file: string, line: number, col: number, code: string): void {
  expect(stderr).toContain(`${file}:${line}:${col}: error ${code}`);
  const lines = stderr.split('\n');
  const src = lines.findIndex((l) => new RegExp(`^\\s*${line} \\| `).test(l));
  expect(src, `no source line ${line} quoted in:\n${stderr}`).toBeGreaterThanOrEqual(0);
  const caret = lines[src + 1]!;
  expect(caret).toMatch(/^\s*\|\s*\^+\s*$/);
  const textStart = caret.indexOf('|') + 2;
  expect(caret.indexOf('^') - textStart).toBe(col - 1);
  // The quoted line is the file's line, after the same gutter width.
  expect(lines[src]!.indexOf('|')).toBe(caret.indexOf('|'));
}

describe('rnnc check', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => removeDir(dir));

  it('a clean file exits 0 and prints "<file>: ok" with nothing on stderr', async () => {
    const f = fixture('clean.rnn');
    const r = await rnnc('check', f);
    expectOk(r);
    expect(r.stdout.trim()).toBe(`${f}: ok`);
    expect(r.stderr).toBe('');
  });

  it('train settings the runtime owns are checked without loading data: data source (RNN5004), optimizer (RNN5005)', async () => {
    const f = writeFile(
      dir,
      'settings.rnn',
      `dim H = 4
model wave { input x: seq<[1]>; target y: seq<[1]>; h = rnn(x) with H; loss = mse(dense(h, 1), y) }
train wave {
  data sinus(T = 5)
  optimizer adamw(lr = 1e-3)
}
`,
    );
    const r = await rnnc('check', f);
    expect(r.code).toBe(1);
    expectRendered(r.stderr, f, 4, 8, 'RNN5004');
    expect(r.stderr).toContain('unknown data source "sinus"');
    expectRendered(r.stderr, f, 5, 13, 'RNN5005');
    expect(r.stderr).toContain('adamw');
    const wrongArg = writeFile(
      dir,
      'settings2.rnn',
      `dim H = 4
model wave { input x: seq<[1]>; target y: seq<[1]>; h = rnn(x) with H; loss = mse(dense(h, 1), y) }
train wave { data sine(T = 5, period = 3); optimizer adam(learning_rate = 1) }
`,
    );
    const r2 = await rnnc('check', wrongArg);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('RNN5004');
    expect(r2.stderr).toContain('"period"');
    expect(r2.stderr).toContain('RNN5005');
    expect(r2.stderr).toContain('learning_rate');
  });

  it('a syntax error exits 1 with file:line:col, RNN1002, the source line and a caret', async () => {
    const f = fixture('syntax-error.rnn');
    const r = await rnnc('check', f);
    expectUserError(r);
    expectRendered(r.stderr, f, 5, 32, 'RNN1002');
    expect(r.stderr).toContain("expected ')'");
    expect(r.stdout).toContain(`${f}: 1 error`);
  });

  it('a shape error exits 1 with file:line:col, RNN3001 and a caret under the call', async () => {
    const f = fixture('shape-error.rnn');
    const r = await rnnc('check', f);
    expectUserError(r);
    expectRendered(r.stderr, f, 9, 10, 'RNN3001');
    expect(r.stderr).toMatch(/\[3\].*\[2\]/);
  });

  it('--json prints parseable JSON with the codes and spans (exit 1 on errors, 0 and [] when clean)', async () => {
    // With --json the diagnostics go to stdout only.
    const syn = await rnnc('check', fixture('syntax-error.rnn'), '--json');
    expect(syn.code).toBe(1);
    expect(syn.stderr).toBe('');
    const d1 = JSON.parse(syn.stdout) as { code: string; severity: string; span: { line: number; column: number; file: string } }[];
    expect(d1.map((d) => d.code)).toEqual(['RNN1002']);
    expect(d1[0]!.severity).toBe('error');
    expect(d1[0]!.span).toMatchObject({ line: 5, column: 32, file: fixture('syntax-error.rnn') });

    const shape = await rnnc('check', fixture('shape-error.rnn'), '--json');
    expect(shape.code).toBe(1);
    expect(shape.stderr).toBe('');
    const d2 = JSON.parse(shape.stdout) as { code: string; span: { line: number; column: number } }[];
    expect(d2.map((d) => d.code)).toContain('RNN3001');
    expect(d2.find((d) => d.code === 'RNN3001')!.span).toMatchObject({ line: 9, column: 10 });

    const clean = await rnnc('check', fixture('clean.rnn'), '--json');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toEqual([]);
  });

  it('a missing file exits 1 with "file not found" and no stack trace', async () => {
    const missing = join(dir, 'nope.rnn');
    const r = await rnnc('check', missing);
    expectUserError(r);
    expect(r.stderr).toContain(`file not found: ${missing}`);
    expect(r.stdout).toBe('');
  });

  it('a folder instead of a file exits 1 and says it is a folder', async () => {
    const r = await rnnc('check', dir);
    expectUserError(r);
    expect(r.stderr).toContain(dir);
    expect(r.stderr).toMatch(/folder|directory/);
  });

  it('a binary file exits 1 and says where it is not text', async () => {
    const f = writeFile(dir, 'binary.rnn', 'model m {\u0000}');
    const r = await rnnc('check', f);
    expectUserError(r);
    expect(r.stderr).toContain('binary.rnn:1:10: a NUL byte');
    expect(r.stderr).toContain('.rnn files are UTF-8 text');
  });

  it('an unknown flag is a usage error: exit 2', async () => {
    const r = await rnnc('check', fixture('clean.rnn'), '--frobnicate');
    expectUserError(r, 2);
    expect(r.stderr).toContain('--frobnicate');
    expect(r.stdout).toBe('');
  });

  it('a missing argument and an unknown command are usage errors: exit 2', async () => {
    expectUserError(await rnnc('check'), 2);
    expectUserError(await rnnc('frobnicate', 'x.rnn'), 2);
  });
});

describe('rnnc ir', () => {
  const two = fixture('two-models.rnn');

  it('--dump-ir-after NAME prints the graphs leaving that pass; --no-optimize shows what autodiff makes; an unknown pass exits 2', async () => {
    const after = await rnnc('ir', two, '--dims', 'V=6', '--dump-ir-after', 'hoist-weight-gradients');
    expectOk(after);
    expect(after.stdout).toMatch(/^model trained after hoist-weight-gradients \{/);
    const raw = await rnnc('ir', two, '--dims', 'V=6', '--grad', '--no-optimize');
    const optimized = await rnnc('ir', two, '--dims', 'V=6', '--grad');
    expectOk(raw);
    // Autodiff accumulates weight gradients inside the reverse loop; the pipeline moves them out.
    const outerInLoops = (text: string) => text.split('\n').filter((l) => /^\s{6,}.*= outer\(/.test(l)).length;
    expect(outerInLoops(raw.stdout)).toBeGreaterThan(0);
    expect(outerInLoops(optimized.stdout)).toBe(0);
    const bad = await rnnc('ir', two, '--dump-ir-after', 'no-such-pass');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('hoist-weight-transposes');
  });

  it('--unpadded prints the variant for batches without padding: its loops do not read the mask', async () => {
    const general = await rnnc('ir', two, '--dims', 'V=6', '--grad');
    const unpadded = await rnnc('ir', two, '--dims', 'V=6', '--grad', '--unpadded');
    expectOk(unpadded);
    expect(unpadded.stdout).toMatch(/^gradient of model trained \(batches without padding\) \{/);
    expect(general.stdout).toContain('mask_t');
    expect(unpadded.stdout).not.toContain('mask_t');
  });

  it('prints the forward graph of the model with a train block, with a scan and dims from --dims', async () => {
    const r = await rnnc('ir', two, '--dims', 'V=6');
    expectOk(r);
    expect(r.stdout).toMatch(/^model trained \{/);
    expect(r.stdout).toMatch(/= scan\[/);
    // --dims V=6 binds the embedding table's rows (E = 4 from the file).
    expect(r.stdout).toMatch(/in param %\d+:[\w.]+ : f32\[6, 4\]/);
    expect(r.stdout).not.toContain('out grad');
    expect(r.stdout).not.toContain('grad_gate');
  });

  it('--grad prints `out grad d_<param>` for every parameter of the forward graph, and a reverse scan', async () => {
    const fwd = await rnnc('ir', two, '--dims', 'V=6');
    const r = await rnnc('ir', two, '--dims', 'V=6', '--grad');
    expectOk(r);
    expect(r.stdout).toMatch(/^gradient of model trained \{/);
    expect(r.stdout).toMatch(/scan\[[^\]]*reverse=true/);
    const params = [...fwd.stdout.matchAll(/^ {2}in param %\d+:(\S+) :/gm)].map((m) => m[1]!);
    const grads = [...r.stdout.matchAll(/^ {2}out grad d_(\S+) = /gm)].map((m) => m[1]!);
    expect(params.length).toBeGreaterThanOrEqual(15);
    expect([...grads].sort()).toEqual([...params].sort());
  });

  it('--truncated adds grad_gate to the scan body (absent without it for a full-BPTT model)', async () => {
    const r = await rnnc('ir', two, '--dims', 'V=6', '--truncated');
    expectOk(r);
    expect(r.stdout).toContain('(truncated BPTT)');
    expect(r.stdout).toContain('grad_gate');
    expect(r.stdout).toMatch(/in control %\d+:gate/);
  });

  it('--model picks the other model; an unknown model exits 1 and lists the models', async () => {
    const other = await rnnc('ir', two, '--model', 'other');
    expectOk(other);
    expect(other.stdout).toMatch(/^model other \{/);

    const r = await rnnc('ir', two, '--model', 'zzz');
    expectUserError(r);
    expect(r.stderr).toContain('no model named zzz');
    expect(r.stderr).toContain('trained, other');
  });

  it('a file with errors exits 1 after printing its diagnostics', async () => {
    const r = await rnnc('ir', fixture('shape-error.rnn'));
    expectUserError(r);
    expect(r.stderr).toContain('RNN3001');
    expect(r.stdout).toBe('');
  });

  it('a malformed --dims is a usage error: exit 2', async () => {
    expectUserError(await rnnc('ir', two, '--dims', 'V=six'), 2);
  });
});
