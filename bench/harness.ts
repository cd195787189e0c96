// One row of the benchmark: a cell at a size, every implementation in turn on
// the same backend and the same fixed batch; and the backend's matMul
// ceiling. Pure measurement: printing and files are run.ts's job.
import * as tf from '@tensorflow/tfjs-core';
import { performance } from 'node:perf_hooks';
import { gflops, trainingFlops, type BenchShape, type CellKind } from './config.js';
import { makeBenchData } from './data.js';
import { handFused } from './hand-fused.js';
import { IMPL_NAMES, median, peakTrainingBytes, THREAD_WARMUP_MS, timeInference, timeTraining, type BenchImpl, type ImplName } from './measure.js';
import { COMPILED_NA, rnncCompiled } from './rnnc-compiled.js';
import { rnncInterpreted } from './rnnc-interpreted.js';
import { rnncWorkers, WORKERS_NA } from './rnnc-workers.js';
import { tfLayers } from './tf-layers.js';
import { product } from '../runtime/tfjs/portable-ops.js';

export interface RunOptions {
  readonly iters: number;
  readonly warmup: number;
  /** Timed streaming-inference steps (after as many warm-up steps). */
  readonly inferIters: number;
  readonly impls: readonly ImplName[];
  /** Measure peak memory (one more untimed training step per implementation). */
  readonly memory: boolean;
  /** Worker threads of the data-parallel column (rnnc-workers). */
  readonly workers: number;
  readonly log: (line: string) => void;
}

export interface ImplResult {
  readonly impl: ImplName;
  /** False when the implementation could not run here (see `note`). */
  readonly available: boolean;
  readonly note?: string;
  /** Median ms per training batch (forward + backward + Adam). */
  readonly trainMs?: number;
  readonly trainMsAll?: readonly number[];
  /** Achieved GFLOP/s of training (3x forward FLOPs over T steps / trainMs). */
  readonly gflops?: number;
  /** Median ms of one streaming inference step at batch 1. */
  readonly inferMs?: number;
  /** Bytes the training step allocates above what is live before it (tf.profile peakBytes - numBytes before). */
  readonly peakBytes?: number;
  readonly firstLoss?: number;
  readonly lastLoss?: number;
  /** tf.layers ms / this implementation's ms (absent for tf.layers itself). */
  readonly speedup?: number;
}

export interface RowResult {
  readonly cell: CellKind;
  readonly size: string;
  readonly shape: BenchShape;
  readonly trainingFlops: number;
  readonly results: readonly ImplResult[];
  /** tf.layers ms / rnnc (interpreted) ms. */
  readonly speedup?: number;
}

async function makeImpl(name: ImplName, cell: CellKind, size: string, data: ReturnType<typeof makeBenchData>, o: RunOptions): Promise<BenchImpl | string> {
  switch (name) {
    case 'tf.layers':
      return tfLayers(cell, data);
    case 'hand-fused':
      return handFused(cell, data);
    case 'rnnc':
      return rnncInterpreted(cell, data);
    case 'rnnc-workers':
      return o.workers < 2 ? `${WORKERS_NA} (--workers ${o.workers})` : rnncWorkers(cell, data, o.workers);
    case 'rnnc-compiled': {
      const r = await rnncCompiled(cell, data, `${cell}-${size}`);
      return r.ok ? r.impl : `${COMPILED_NA}: ${r.reason}`;
    }
  }
}

export async function runRow(cell: CellKind, size: string, shape: BenchShape, o: RunOptions): Promise<RowResult> {
  const data = makeBenchData(shape);
  const flops = trainingFlops(cell, shape);
  const results: ImplResult[] = [];
  for (const name of IMPL_NAMES.filter((n) => o.impls.includes(n))) {
    o.log(`  ${cell} ${size} ${name}: setting up`);
    const made = await makeImpl(name, cell, size, data, o);
    if (typeof made === 'string') {
      o.log(`  ${cell} ${size} ${name}: ${made}`);
      results.push({ impl: name, available: false, note: made });
      continue;
    }
    try {
      const t = await timeTraining(made, o.warmup, o.iters, name === 'rnnc-workers' ? THREAD_WARMUP_MS : 0);
      o.log(`  ${cell} ${size} ${name}: train ${t.medianMs.toFixed(1)} ms (${t.allMs.map((x) => x.toFixed(0)).join(', ')})`);
      const peakBytes = o.memory && made.memoryVisible !== false ? await peakTrainingBytes(made) : undefined;
      const inferMs = o.inferIters > 0 && made.inferStep ? await timeInference(made, o.inferIters, o.inferIters) : undefined;
      results.push({
        impl: name,
        available: true,
        trainMs: t.medianMs,
        trainMsAll: t.allMs,
        gflops: gflops(flops, t.medianMs),
        ...(inferMs !== undefined ? { inferMs } : {}),
        ...(peakBytes !== undefined ? { peakBytes } : {}),
        firstLoss: t.firstLoss,
        lastLoss: t.lastLoss,
      });
    } catch (e) {
      const note = `failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      o.log(`  ${cell} ${size} ${name}: ${note}`);
      results.push({ impl: name, available: false, note });
    } finally {
      await made.dispose();
    }
  }
  const layersMs = results.find((r) => r.impl === 'tf.layers')?.trainMs;
  const withSpeedup = results.map((r) => (r.impl !== 'tf.layers' && layersMs !== undefined && r.trainMs !== undefined ? { ...r, speedup: layersMs / r.trainMs } : r));
  const speedup = withSpeedup.find((r) => r.impl === 'rnnc')?.speedup;
  return { cell, size, shape, trainingFlops: flops, results: withSpeedup, ...(speedup !== undefined ? { speedup } : {}) };
}

export interface CeilingResult {
  /** 'tf.matMul': the backend's kernel; 'rnnc product': the product rnnc runs (a host loop on cpu). */
  readonly kernel: 'tf.matMul' | 'rnnc product';
  readonly shape: readonly [number, number, number];
  readonly ms: number;
  readonly gflops: number;
  readonly reps: number;
}

/**
 * GFLOP/s of one plain matMul [m, k] @ [k, n]: one warm-up, then timed
 * repetitions until `budgetMs` is spent (at least one, at most `maxReps`).
 * On a slow backend a single long warm-up is itself the measurement.
 */
export function matMulCeiling(m: number, k: number, n: number, kernel: CeilingResult['kernel'] = 'tf.matMul', budgetMs = 3000, maxReps = 5): CeilingResult {
  const a = tf.randomUniform([m, k]) as tf.Tensor2D;
  const b = tf.randomUniform([k, n]) as tf.Tensor2D;
  const multiply = kernel === 'tf.matMul' ? tf.matMul : product;
  const run = (): number => {
    const t0 = performance.now();
    const c = multiply(a, b);
    c.dataSync();
    const ms = performance.now() - t0;
    c.dispose();
    return ms;
  };
  const first = run();
  const times: number[] = [];
  if (first > budgetMs) times.push(first);
  else {
    let spent = 0;
    while (times.length < maxReps && (times.length === 0 || spent < budgetMs)) {
      const ms = run();
      times.push(ms);
      spent += ms;
    }
  }
  tf.dispose([a, b]);
  const ms = median(times);
  return { kernel, shape: [m, k, n], ms, gflops: gflops(2 * m * k * n, ms), reps: times.length };
}
