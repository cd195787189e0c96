// The PyTorch-CPU reference of the benchmark: where `python3 -c "import torch"`
// works, bench/torch_reference.py trains the same rows (one-hot or dense
// input, torch.nn.RNN/LSTM/GRU, Linear, cross-entropy, Adam) and times one
// streaming step, so the tables can state the distance to PyTorch. Its
// threads are pinned to --torch-threads and it reports its BLAS. GFLOP/s
// count the products it runs (config.ts layerFlops: its one-hot input is a
// product). Optional: nothing
// else depends on it, and without torch the run says why it is left out.
// RNNC_PYTHON names another interpreter than python3.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../src/stdlib.js';
import { gflops, layerFlops, type BenchShape, type CellKind, type InputKind } from './config.js';

export interface TorchRow {
  readonly cell: CellKind;
  readonly size: string;
  readonly input: InputKind;
  readonly trainMs: number;
  /** Absent with --infer-iters 0. */
  readonly inferMs?: number;
  readonly gflops: number;
}

export type TorchResult =
  | { readonly available: true; readonly version: string; readonly threads: number; readonly blas?: unknown; readonly rows: readonly TorchRow[] }
  | { readonly available: false; readonly note: string };

export interface TorchOptions {
  readonly iters: number;
  readonly warmup: number;
  readonly inferIters: number;
  /** 0: PyTorch's default. */
  readonly threads?: number;
  readonly python?: string;
  readonly log?: (line: string) => void;
}

const SCRIPT = (): string => join(packageRoot(), 'bench', 'torch_reference.py');
/** A long PyTorch run still ends: 30 minutes for all rows. */
const TIMEOUT_MS = 30 * 60 * 1000;

type Row = { readonly cell: CellKind; readonly size: string; readonly shape: BenchShape; readonly input?: InputKind };

export function torchReference(rows: readonly Row[], o: TorchOptions): TorchResult {
  const python = o.python ?? process.env['RNNC_PYTHON'] ?? 'python3';
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? probe.error.message : (probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`);
    return { available: false, note: `${python} -c "import torch" failed (${why})` };
  }
  const config = {
    rows: rows.map((r) => ({ cell: r.cell, size: r.size, input: r.input ?? 'tokens', ...r.shape })),
    iters: o.iters,
    warmup: o.warmup,
    inferIters: o.inferIters,
    threads: o.threads ?? 0,
  };
  o.log?.(`PyTorch reference: ${python} ${SCRIPT()}`);
  const run = spawnSync(python, [SCRIPT(), JSON.stringify(config)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: TIMEOUT_MS, maxBuffer: 1 << 24 });
  if (run.error || run.status !== 0) return { available: false, note: `the PyTorch reference failed (${run.error?.message ?? `exit ${run.status}`})` };
  return parseTorchOutput(run.stdout, rows);
}

/** The script's JSON, checked against the rows asked for, with GFLOP/s by the benchmark's FLOP count. */
export function parseTorchOutput(stdout: string, rows: readonly Row[]): TorchResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    return { available: false, note: `the PyTorch reference printed no JSON: ${JSON.stringify(stdout.slice(0, 200))}` };
  }
  const out = parsed as { torch?: unknown; threads?: unknown; blas?: unknown; rows?: unknown };
  if (typeof out.torch !== 'string' || typeof out.threads !== 'number' || !Array.isArray(out.rows) || out.rows.length !== rows.length) {
    return { available: false, note: `the PyTorch reference printed JSON of another form: ${JSON.stringify(stdout.slice(0, 200))}` };
  }
  const got: TorchRow[] = [];
  for (const [i, want] of rows.entries()) {
    const r = out.rows[i] as { cell?: unknown; size?: unknown; trainMs?: unknown; inferMs?: unknown };
    const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
    if (r.cell !== want.cell || r.size !== want.size || !positive(r.trainMs) || (r.inferMs !== null && !positive(r.inferMs))) {
      return { available: false, note: `the PyTorch reference's row ${i} is not ${want.cell} ${want.size} with positive times: ${JSON.stringify(r)}` };
    }
    const input = want.input ?? 'tokens';
    got.push({ cell: want.cell, size: want.size, input, trainMs: r.trainMs, ...(positive(r.inferMs) ? { inferMs: r.inferMs } : {}), gflops: gflops(layerFlops(want.cell, want.shape, 'product'), r.trainMs) });
  }
  return { available: true, version: out.torch, threads: out.threads, ...(out.blas !== undefined ? { blas: out.blas } : {}), rows: got };
}
