// One row of the benchmark: a cell at a size and an input kind, every
// implementation in turn on the same backend and the same fixed batch, all
// starting from rnnc's initial weights; and the backend's matMul ceiling.
// Each column's first loss is checked against rnnc's (issue 10: same maths),
// and its GFLOP/s count the products it runs (bench/flops.ts for rnnc,
// config.ts layerFlops for the others). Pure measurement: printing and
// files are run.ts's job.
import * as tf from '@tensorflow/tfjs-core';
import { performance } from 'node:perf_hooks';
import { gflops, layerFlops, trainingFlops, type BenchShape, type CellKind, type InputKind } from './config.js';
import { makeBenchData } from './data.js';
import { handFused } from './hand-fused.js';
import { setWebgpuFusion } from '../runtime/tfjs/webgpu-fused.js';
import { IMPL_NAMES, median, peakTrainingBytes, REFERENCE_IMPL, THREAD_WARMUP_MS, timeInference, timeTraining, trainingDispatches, type BenchImpl, type ImplName } from './measure.js';
import { COMPILED_NA, rnncCompiled } from './rnnc-compiled.js';
import { rnncInitialParams, rnncInterpreted, rnncTrainingFlops, type InitialParams } from './rnnc-interpreted.js';
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
  /** FLOPs of the matrix products this implementation runs in one training batch. */
  readonly flops?: number;
  /** Achieved GFLOP/s of training: `flops` / trainMs. */
  readonly gflops?: number;
  /** Median ms of one streaming inference step at batch 1. */
  readonly inferMs?: number;
  /** Bytes the training step allocates above what is live before it (tf.profile peakBytes - numBytes before). */
  readonly peakBytes?: number;
  /** On webgpu: GPU dispatches of one training step; for rnnc also with its fused kernels off (every op a dispatch). */
  readonly dispatches?: number;
  readonly dispatchesUnfused?: number;
  readonly firstLoss?: number;
  readonly lastLoss?: number;
  /**
   * The first-batch loss against rnnc's: 'same' within float32 tolerance,
   * 'mismatch', or 'other cell' (tf.layers' hardSigmoid: other maths, from
   * the same weights; not checked).
   */
  readonly check?: LossCheck;
  /** tf.layers-sigmoid ms / this implementation's ms; absent for a mismatch. */
  readonly speedup?: number;
}

export type LossCheck = 'same' | 'mismatch' | 'other cell';

/** Relative tolerance of the first-batch loss check: float32 sums over T*B positions. */
export const LOSS_TOLERANCE = 1e-4;

export function checkLoss(loss: number, reference: number): 'same' | 'mismatch' {
  return Math.abs(loss - reference) <= LOSS_TOLERANCE * Math.max(1, Math.abs(reference)) ? 'same' : 'mismatch';
}

export interface RowResult {
  readonly cell: CellKind;
  readonly size: string;
  readonly input: InputKind;
  readonly shape: BenchShape;
  /** Issue 4's formula 3 x T x (2B(X+H)GH + 2BHO), which counts the input products rnnc removes: a reference figure only. */
  readonly trainingFlops: number;
  readonly results: readonly ImplResult[];
  /** tf.layers-sigmoid ms / rnnc (interpreted) ms, when both agree on the first loss. */
  readonly speedup?: number;
}

export const SIGMOID_NA = 'n/a (simpleRNN has no recurrent activation: see tf.layers-sigmoid)';
export const ONEHOT_NA = 'n/a (dense-input row)';
export const PRODUCT_NA = 'n/a (cpu backend only)';

async function makeImpl(name: ImplName, cell: CellKind, size: string, input: InputKind, data: ReturnType<typeof makeBenchData>, init: InitialParams, o: RunOptions): Promise<BenchImpl | string> {
  const layersInput = input === 'tokens' ? 'embedding' : 'dense';
  switch (name) {
    case 'tf.layers':
      return cell === 'rnn' ? SIGMOID_NA : tfLayers(cell, data, { name, input: layersInput, recurrentActivation: 'hardSigmoid', init });
    case 'tf.layers-sigmoid':
      return tfLayers(cell, data, { name, input: layersInput, recurrentActivation: 'sigmoid', init });
    case 'tf.layers-onehot':
      return input === 'dense' ? ONEHOT_NA : tfLayers(cell, data, { name, input: 'onehot', recurrentActivation: 'sigmoid', init });
    case 'tf.layers-product':
      return tf.getBackend() !== 'cpu' ? PRODUCT_NA : tfLayers(cell, data, { name, input: layersInput, recurrentActivation: 'sigmoid', init, productKernel: true });
    case 'hand-fused':
      return handFused(cell, data, { input, init });
    case 'rnnc':
      return rnncInterpreted(cell, data, { input });
    case 'rnnc-workers':
      if (tf.getBackend() === 'webgpu') return 'n/a (data-parallel replicas train on CPU cores, not on webgpu)';
      return o.workers < 2 ? `${WORKERS_NA} (--workers ${o.workers})` : rnncWorkers(cell, data, o.workers, { input });
    case 'rnnc-compiled': {
      const r = await rnncCompiled(cell, data, `${cell}-${size}-${input}`, { input });
      return r.ok ? r.impl : `${COMPILED_NA}: ${r.reason}`;
    }
  }
}

/** FLOPs of the products `name` runs in one training batch (see the file comment). */
export function implFlops(name: ImplName, cell: CellKind, shape: BenchShape, input: InputKind, rnncFlops: number): number {
  if (name === 'rnnc' || name === 'rnnc-compiled' || name === 'rnnc-workers') return rnncFlops;
  if (name === 'hand-fused') return layerFlops(cell, shape, input === 'tokens' ? 'lookup' : 'product');
  return layerFlops(cell, shape, 'product');
}

export async function runRow(cell: CellKind, size: string, shape: BenchShape, o: RunOptions, input: InputKind = 'tokens'): Promise<RowResult> {
  const data = makeBenchData(shape);
  const init = await rnncInitialParams(cell, shape, input);
  const rnncFlops = rnncTrainingFlops(cell, shape, input);
  const results: ImplResult[] = [];
  for (const name of IMPL_NAMES.filter((n) => o.impls.includes(n))) {
    o.log(`  ${cell} ${size} ${input} ${name}: setting up`);
    const made = await makeImpl(name, cell, size, input, data, init, o);
    if (typeof made === 'string') {
      o.log(`  ${cell} ${size} ${input} ${name}: ${made}`);
      results.push({ impl: name, available: false, note: made });
      continue;
    }
    const flops = implFlops(name, cell, shape, input, rnncFlops);
    try {
      const t = await timeTraining(made, o.warmup, o.iters, name === 'rnnc-workers' ? THREAD_WARMUP_MS : 0);
      o.log(`  ${cell} ${size} ${input} ${name}: train ${t.medianMs.toFixed(1)} ms (${t.allMs.map((x) => x.toFixed(0)).join(', ')}), first loss ${t.firstLoss}`);
      const peakBytes = o.memory && made.memoryVisible !== false ? await peakTrainingBytes(made) : undefined;
      const inferMs = o.inferIters > 0 && made.inferStep ? await timeInference(made, o.inferIters, o.inferIters) : undefined;
      const dispatches = await trainingDispatches(made);
      let dispatchesUnfused: number | undefined;
      if (dispatches !== undefined && name === 'rnnc') {
        setWebgpuFusion(false);
        try {
          dispatchesUnfused = await trainingDispatches(made);
        } finally {
          setWebgpuFusion(true);
        }
      }
      results.push({
        impl: name,
        available: true,
        trainMs: t.medianMs,
        trainMsAll: t.allMs,
        flops,
        gflops: gflops(flops, t.medianMs),
        ...(inferMs !== undefined ? { inferMs } : {}),
        ...(peakBytes !== undefined ? { peakBytes } : {}),
        ...(dispatches !== undefined ? { dispatches } : {}),
        ...(dispatchesUnfused !== undefined ? { dispatchesUnfused } : {}),
        firstLoss: t.firstLoss,
        lastLoss: t.lastLoss,
      });
    } catch (e) {
      const note = `failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      o.log(`  ${cell} ${size} ${input} ${name}: ${note}`);
      results.push({ impl: name, available: false, note });
    } finally {
      await made.dispose();
    }
  }
  const rnncLoss = results.find((r) => r.impl === 'rnnc' && r.available)?.firstLoss;
  const checked = results.map((r): ImplResult => {
    if (!r.available || r.firstLoss === undefined || rnncLoss === undefined) return r;
    // hardSigmoid is another function: near sigmoid's at small pre-activations, so its loss may even fall within the tolerance.
    return { ...r, check: r.impl === 'tf.layers' ? 'other cell' : checkLoss(r.firstLoss, rnncLoss) };
  });
  const reference = checked.find((r) => r.impl === REFERENCE_IMPL && r.check === 'same');
  const withSpeedup = checked.map((r) =>
    r.impl !== REFERENCE_IMPL && reference?.trainMs !== undefined && r.trainMs !== undefined && r.check !== 'mismatch' ? { ...r, speedup: reference.trainMs / r.trainMs } : r,
  );
  const speedup = withSpeedup.find((r) => r.impl === 'rnnc')?.speedup;
  return { cell, size, input, shape, trainingFlops: trainingFlops(cell, shape), results: withSpeedup, ...(speedup !== undefined ? { speedup } : {}) };
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
export async function matMulCeiling(m: number, k: number, n: number, kernel: CeilingResult['kernel'] = 'tf.matMul', budgetMs = 3000, maxReps = 5): Promise<CeilingResult> {
  const a = tf.randomUniform([m, k]) as tf.Tensor2D;
  const b = tf.randomUniform([k, n]) as tf.Tensor2D;
  const multiply = kernel === 'tf.matMul' ? tf.matMul : product;
  // Read with await data(): the webgpu backend has no synchronous reads in Node.js (runtime/backend.ts).
  const run = async (): Promise<number> => {
    const t0 = performance.now();
    const c = multiply(a, b);
    await c.data();
    const ms = performance.now() - t0;
    c.dispose();
    return ms;
  };
  const first = await run();
  const times: number[] = [];
  if (first > budgetMs) times.push(first);
  else {
    let spent = 0;
    while (times.length < maxReps && (times.length === 0 || spent < budgetMs)) {
      const ms = await run();
      times.push(ms);
      spent += ms;
    }
  }
  tf.dispose([a, b]);
  const ms = median(times);
  return { kernel, shape: [m, k, n], ms, gflops: gflops(2 * m * k * n, ms), reps: times.length };
}
