// Runs the rnnc CLI in-process (src/cli.ts `main`) and captures what it
// writes to stdout and stderr, so the end-to-end tests need no build. Also
// small helpers for temporary folders, .rnn sources and metrics files.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, vi } from 'vitest';
import { main } from '../../src/cli.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `rnnc ...argv` in this process; stdout and stderr are captured, not shown. */
export async function rnnc(...argv: string[]): Promise<CliResult> {
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
  let code: number;
  try {
    code = await main(argv);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { code, stdout, stderr };
}

/** A fresh temporary folder, removed by the returned cleanup. */
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
