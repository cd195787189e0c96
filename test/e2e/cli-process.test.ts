// The real executable (src/bin.ts) in its own process: exit codes reach the
// shell and a user mistake never shows a stack trace; Ctrl-C (SIGINT) stops a
// run between batches with exit 130 and a checkpoint from which --resume
// continues exactly. The sources are compiled with tsc into a temporary
// folder (about a second), never into the shared dist/.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOk, fixture, readCheckpoint, rnnc, runProcess, useExecutable, writeAbcText, writeFile } from './cli-harness.js';

const exe = useExecutable();

function rnncProcess(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  return runProcess(exe.bin, args);
}

describe('the rnnc executable', () => {
  it('exit 0 and "ok" for a clean file', () => {
    const r = rnncProcess('check', fixture('clean.rnn'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(': ok');
  });

  it.each([
    ['a missing file', 1, ['check', '/nonexistent/x.rnn'], 'file not found'],
    ['a syntax error', 1, ['check', fixture('syntax-error.rnn')], 'RNN1002'],
    ['an unknown data source', 1, ['run', 'DATA', '--backend', 'cpu', '--quiet'], 'unknown data source'],
    ['--epochs 0', 2, ['run', fixture('clean.rnn'), '--epochs', '0'], '--epochs'],
    ['an unknown command', 2, ['frobnicate'], 'frobnicate'],
  ] as const)('%s: exit %i, a message and no stack trace', (_what, code, args, message) => {
    const argv = args.map((a) => (a === 'DATA' ? writeFile(exe.dir, 'nodata.rnn', readFileSync(fixture('clean.rnn'), 'utf8').replace(/sine\([^)]*\)/, 'nosuch(n = 1)')) : a));
    const r = rnncProcess(...argv);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain('    at ');
  });
});

describe('standard input', () => {
  it('rnnc predict --input - reads the lines to predict from standard input', async () => {
    writeAbcText(exe.dir);
    const file = writeFile(exe.dir, 'stdin-lm.rnn', `model lm { dim V, H = 4; input x: seq<token[V]>; target y: seq<token[V]>; h = gru(one_hot(x)) with H; loss = cross_entropy(dense(h, V), y) }
train lm { data text("abc.txt", seq_len = 5); optimizer adam(lr = 0.01); batch 2; epochs 1 }`);
    expectOk(await rnnc('run', file, '--backend', 'cpu', '--out', join(exe.dir, 'stdin-run'), '--quiet'));
    const ckpt = join(exe.dir, 'stdin-run', 'checkpoint.json');
    const fromFile = await rnnc('predict', file, '--ckpt', ckpt, '--backend', 'cpu', '--input', writeFile(exe.dir, 'lines.txt', 'abc\nca\n'));
    expectOk(fromFile);
    const r = spawnSync(process.execPath, [exe.bin, 'predict', file, '--ckpt', ckpt, '--backend', 'cpu', '--input', '-'], { input: 'abc\nca\n', encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(fromFile.stdout);
  });
});

describe('Ctrl-C', () => {
  it('SIGINT mid-run: exit 130, a checkpoint, and --resume from it equals an uninterrupted run', async () => {
    writeAbcText(exe.dir);
    const file = writeFile(
      exe.dir,
      'lm.rnn',
      `dim V, E = 4, H = 6
model lm { input chars: seq<token[V]>; target next: seq<token[V]>; h = lstm(embed(chars, E)) with H; y = dense(h, V); loss = cross_entropy(y, next) }
train lm { data text("abc.txt", seq_len = 10); optimizer adam(lr = 1e-2); batch 4; epochs 1000; seed 5 }`,
    );
    const out = join(exe.dir, 'interrupted');
    const metrics = join(out, 'metrics.jsonl');
    const child = spawn(process.execPath, [exe.bin, 'run', file, '--backend', 'cpu', '--out', out, '--quiet'], { env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    // Interrupt once a few steps are logged.
    const started = Date.now();
    while (!(existsSync(metrics) && readFileSync(metrics, 'utf8').split('\n').length > 4)) {
      expect(Date.now() - started, `no training steps logged; stderr:\n${stderr}`).toBeLessThan(30_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGINT');
    // A run that ignored the signal would go on for 1000 epochs: give it 20 s, then kill it and fail.
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(guard);
    expect(code, stderr).toBe(130);
    const ckptPath = join(out, 'checkpoint.json');
    expect(stderr).toContain(`interrupted: checkpoint written to ${ckptPath}`);
    expect(stderr).not.toContain('    at ');
    const k = readCheckpoint(ckptPath).step;
    expect(k).toBeGreaterThanOrEqual(4);
    // The log and the checkpoint agree on how far training got.
    const logged = readFileSync(metrics, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number });
    expect(logged[logged.length - 1]!.step).toBe(k);

    const N = k + 7;
    expectOk(await rnnc('run', file, '--backend', 'cpu', '--steps', String(N), '--resume', ckptPath, '--out', join(exe.dir, 'resumed'), '--quiet'));
    expectOk(await rnnc('run', file, '--backend', 'cpu', '--steps', String(N), '--out', join(exe.dir, 'whole'), '--quiet'));
    const a = readCheckpoint(join(exe.dir, 'resumed', 'checkpoint.json'));
    const b = readCheckpoint(join(exe.dir, 'whole', 'checkpoint.json'));
    expect(a.step).toBe(N);
    expect(a.params).toEqual(b.params);
    expect(a['optimizer']).toEqual(b['optimizer']);
  });
});
