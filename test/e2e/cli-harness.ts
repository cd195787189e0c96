// Runs the rnnc CLI in-process (src/cli.ts `main`) and captures what it
// writes to stdout and stderr, so the end-to-end tests need no build. Also
// small helpers for temporary folders, .rnn sources and metrics files.
//
// A real `rnnc` process ends after one command, releasing whatever tfjs held;
// here commands share one process, so after each command the harness records
// the tfjs variables and tensors still alive (`leaked`) and then disposes the
// variables, as a process exit would: a command that fails after creating
// its TrainingSession does not release it (see cli-in-process.test.ts), and
// the session's fixed variable names (p_0, p_1, ...) would make every later
// command in this process fail with "Variable with name p_0 was already
// registered".
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
// The CLI loads a command's modules (and with them a tfjs backend) only when
// the command runs (src/cli.ts); the harness reads tf.memory() before the
// first command, which needs a backend registered.
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import { main } from '../../src/cli.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** tfjs variables alive after the command, and tensors it added (0 and 0 for a command that cleans up). */
  readonly leaked: { readonly variables: number; readonly tensors: number };
}

/** Runs `rnnc ...argv` in this process; stdout and stderr are captured, not shown. */
export async function rnnc(...argv: string[]): Promise<CliResult> {
  const r = await rnncKeepingState(...argv);
  if (r.leaked.variables > 0) tf.disposeVariables();
  return r;
}

/** As `rnnc`, but leaves whatever tfjs state the command left behind. */
export async function rnncKeepingState(...argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const capture =
    (sink: (s: string) => void) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture((s) => (stdout += s)) as typeof process.stdout.write);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture((s) => (stderr += s)) as typeof process.stderr.write);
  const tensorsBefore = tf.memory().numTensors;
  let code: number;
  try {
    code = await main(argv);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const leaked = { variables: Object.keys(tf.engine().registeredVariables).length, tensors: tf.memory().numTensors - tensorsBefore };
  return { code, stdout, stderr, leaked };
}

/** A fresh temporary folder (remove it with removeDir). */
export function tempDir(prefix = 'rnnc-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Writes `text` to `dir/name` (creating folders) and returns the path. */
export function writeFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

export interface MetricLine {
  kind: 'train' | 'eval';
  step: number;
  loss: number;
  [k: string]: unknown;
}

/** metrics.jsonl of a run folder, every line parsed (a line that is not JSON fails the test). */
export function readMetrics(outDir: string): MetricLine[] {
  return readFileSync(join(outDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as MetricLine);
}

export interface CheckpointJson {
  step: number;
  epoch: number;
  batchInEpoch: number;
  model: string;
  params: Record<string, { shape: number[]; data: number[] }>;
  [k: string]: unknown;
}

export function readCheckpoint(path: string): CheckpointJson {
  return JSON.parse(readFileSync(path, 'utf8')) as CheckpointJson;
}

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A file under test/e2e/fixtures. */
export function fixture(name: string): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'fixtures', name);
}

/** Success: exit 0, and every tfjs variable and tensor the command made is released. */
export function expectOk(r: CliResult): void {
  expect(r.code, `exit code; stderr:\n${r.stderr}`).toBe(0);
  expect(r.leaked, 'tfjs variables and tensors left alive by the command').toEqual({ variables: 0, tensors: 0 });
}

/**
 * A user (exit 1) or usage (exit 2) error: the expected code, and no stack
 * frame ("    at ") or internal-error prefix in what the user sees.
 */
export function expectUserError(r: CliResult, code = 1): void {
  expect(r.code, `exit code; stderr:\n${r.stderr}`).toBe(code);
  expect(r.stderr).not.toContain('    at ');
  expect(r.stderr).not.toContain('internal error');
  expect(r.stderr.trim().length).toBeGreaterThan(0);
}

/** Every number in a JSON value (NaN and Infinity are written as null by JSON.stringify, so nulls count as bad). */
export function jsonNumbers(v: unknown, out: unknown[] = []): unknown[] {
  if (v === null || typeof v === 'number') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => jsonNumbers(x, out));
  else if (typeof v === 'object') Object.values(v as object).forEach((x) => jsonNumbers(x, out));
  return out;
}

/**
 * The real executable, compiled with tsc into a temporary folder (about a
 * second), never into the shared dist/: for what needs its own process or
 * compiled JavaScript (exit codes, signals, worker threads).
 */
export function buildExecutable(): { readonly bin: string; readonly dir: string } {
  const root = resolve(fixture('.'), '..', '..', '..');
  const dir = tempDir('rnnc-e2e-build-');
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json'), '--outDir', dir, '--declaration', 'false', '--sourceMap', 'false'], {
      cwd: root,
      stdio: 'pipe',
    });
  } catch {
    // Type errors elsewhere in the tree still emit JavaScript; the checks need only what they run.
  }
  const bin = join(dir, 'src', 'bin.js');
  expect(existsSync(bin), 'tsc did not emit src/bin.js').toBe(true);
  // What the package root provides at run time: package.json (version, root marker), the standard cells, node_modules.
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  mkdirSync(join(dir, 'compiler', 'stdlib'), { recursive: true });
  cpSync(join(root, 'compiler', 'stdlib', 'cells.rnn'), join(dir, 'compiler', 'stdlib', 'cells.rnn'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { bin, dir };
}

/** Runs a built executable (buildExecutable) in its own process. */
export function runProcess(bin: string, args: readonly string[], timeoutMs = 60_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', RNNC_DEBUG: '' }, timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * For a test file that runs the built executable: builds it before the tests
 * and makes a scratch folder, removing both after. Read the paths inside tests.
 */
export function useExecutable(): { readonly bin: string; readonly dir: string } {
  const paths = { bin: '', dir: '', build: '' };
  beforeAll(() => {
    const built = buildExecutable();
    paths.bin = built.bin;
    paths.build = built.dir;
    paths.dir = tempDir();
  });
  afterAll(() => {
    removeDir(paths.build);
    removeDir(paths.dir);
  });
  return {
    get bin() {
      return paths.bin;
    },
    get dir() {
      return paths.dir;
    },
  };
}

/** 480 characters of a three-letter text: with seq_len 10, 44 training chunks (11 batches of 4). */
export const ABC_TEXT = 'abcab cabba\n'.repeat(40);

/** Writes ABC_TEXT to dir/abc.txt. */
export function writeAbcText(dir: string): void {
  writeFile(dir, 'abc.txt', ABC_TEXT);
}

/** A small LSTM character model (embedding E, H units) and its train block; the end-to-end tests vary the rest. */
export function charLm(o: { name: string; E: number; H: number; data: string; optimizer: string; clip?: string; bptt?: string; batch: number; epochs: number; seed: number }): string {
  return `
dim V, E = ${o.E}, H = ${o.H}
model ${o.name} {
  input  chars: seq<token[V]>
  target next:  seq<token[V]>
  h = lstm(embed(chars, E)) with H
  y = dense(h, V)
  loss = cross_entropy(y, next)
}
train ${o.name} {
  data      ${o.data}
  optimizer ${o.optimizer}
  ${o.clip ?? ''}
  ${o.bptt !== undefined ? `bptt      ${o.bptt}` : ''}
  batch ${o.batch}; epochs ${o.epochs}; seed ${o.seed}
}
`;
}

/** A fresh temporary folder holding abc.txt, the data of abcLm. */
export function abcDir(): string {
  const dir = tempDir();
  writeAbcText(dir);
  return dir;
}

/** Writes the small abc model of most end-to-end tests (H 5, one epoch; full BPTT unless `bptt`) as dir/name. */
export function writeAbcLm(dir: string, name: string, o: { seed: number; bptt?: string }): string {
  return writeFile(dir, name, abcLm({ H: 5, epochs: 1, bptt: o.bptt ?? 'full', seed: o.seed }));
}

/** The small LSTM character model on abc.txt the end-to-end tests train; the train block varies. */
export function abcLm(o: { H: number; bptt: string; epochs: number; seed: number; clip?: string }): string {
  return charLm({ name: 'lm', E: 4, data: 'text("abc.txt", seq_len = 10)', optimizer: 'adam(lr = 1e-2)', batch: 4, ...o });
}
