// Runs the rnnc CLI in-process (src/cli.ts `main`) and captures what it
// writes to stdout and stderr, so the end-to-end tests need no build. Also
// small helpers for temporary folders, .rnn sources and metrics files.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { vi } from 'vitest';
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

/** No stack frame in what a user sees. */
export const STACK_FRAME = /^\s{4}at /m;
