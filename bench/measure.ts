// Timing and memory measurement shared by every column.
//
// Training time: `warmup` untimed steps (the data-parallel column: and more
// until 3 s have passed), then `iters` timed ones; the figure is the median. Every step ends with the loss read back to the host, so the
// time covers all the work the step queued (on cpu and wasm kernels run
// synchronously anyway).
// Peak memory: one more, untimed step run under tf.profile, whose `peakBytes`
// is the high-water mark of tf.memory().numBytes sampled after every kernel;
// reported minus numBytes before the step, i.e. what the step allocates on
// top of the parameters and optimizer state it starts with. (Profiling adds
// per-kernel bookkeeping, which is why that step is not timed.)
import * as tf from '@tensorflow/tfjs-core';
import { performance } from 'node:perf_hooks';

/**
 * The columns (issue 10): tf.layers with tfjs's default recurrentActivation
 * hardSigmoid, and with sigmoid (rnnc's cell: the reference of every
 * speedup), both with an embedding (token rows) or dense input; tf.layers
 * on one-hot floats (the extra column, token rows); tf.layers with rnnc's
 * host product as the cpu backend's matMul (cpu only); the hand-written
 * tfjs step; rnnc interpreted, compiled and with worker threads.
 */
export type ImplName = 'tf.layers' | 'tf.layers-sigmoid' | 'tf.layers-onehot' | 'tf.layers-product' | 'hand-fused' | 'rnnc' | 'rnnc-compiled' | 'rnnc-workers';
export const IMPL_NAMES: readonly ImplName[] = ['tf.layers', 'tf.layers-sigmoid', 'tf.layers-onehot', 'tf.layers-product', 'hand-fused', 'rnnc', 'rnnc-compiled', 'rnnc-workers'];
/** The column every speedup divides: tf.layers with rnnc's cell (sigmoid) and an embedding or dense input. */
export const REFERENCE_IMPL: ImplName = 'tf.layers-sigmoid';

/** One implementation, set up on one row's data. */
export interface BenchImpl {
  readonly name: ImplName;
  /** One training step on the fixed batch (forward, backward, Adam); resolves to the batch's mean loss. */
  trainStep(): Promise<number>;
  /** One streaming inference step at batch 1, state carried from the previous call; reads the prediction back. Absent: not measured. */
  inferStep?(): Promise<void>;
  /** False when the training work runs in other threads, whose tensors this thread's tf.memory() cannot see. */
  readonly memoryVisible?: boolean;
  dispose(): void | Promise<void>;
}

export interface TrainTiming {
  readonly medianMs: number;
  readonly allMs: readonly number[];
  readonly firstLoss: number;
  readonly lastLoss: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * `warmup` untimed steps, and more until `minWarmupMs` have passed (worker
 * threads compile tfjs's wasm module and their own hot code in the
 * background while their first steps run), then `iters` timed ones.
 */
/**
 * The least warm-up of a measurement in new worker threads: each compiles
 * tfjs's wasm module and its hot code in the background during its first
 * seconds, and two threads doing so at once slow each other down (after two
 * warm-up steps, two half batches at once took longer than the whole one).
 */
export const THREAD_WARMUP_MS = 3000;

export async function timeTraining(impl: BenchImpl, warmup: number, iters: number, minWarmupMs = 0, clock: () => number = () => performance.now()): Promise<TrainTiming> {
  const losses: number[] = [];
  const start = clock();
  for (let i = 0; i < warmup || (warmup > 0 && clock() - start < minWarmupMs); i++) losses.push(await impl.trainStep());
  const allMs: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = clock();
    losses.push(await impl.trainStep());
    allMs.push(clock() - t0);
  }
  return { medianMs: median(allMs), allMs, firstLoss: losses[0]!, lastLoss: losses[losses.length - 1]! };
}

/** Median latency of one streaming step, after `warmup` untimed ones. */
export async function timeInference(impl: BenchImpl, warmup: number, iters: number): Promise<number> {
  const step = impl.inferStep?.bind(impl);
  if (!step) throw new Error(`internal: ${impl.name} has no streaming step`);
  for (let i = 0; i < warmup; i++) await step();
  const ms: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await step();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

type Method = (...args: unknown[]) => unknown;

/**
 * What `f` runs on the webgpu backend: its GPU dispatches (every
 * dispatchWorkgroups call of a compute pass, whoever records it: tfjs's
 * programs, rnnc's fused shaders in the interpreter or in a compiled
 * module), and of them the programs of tfjs's own (its runWebGPUProgram);
 * undefined off webgpu. Also used by the webgpu tests.
 */
export async function countGpuDispatches(f: () => Promise<unknown>): Promise<{ dispatches: number; programs: number } | undefined> {
  const pass = (globalThis as { GPUComputePassEncoder?: { prototype: { dispatchWorkgroups: Method } } }).GPUComputePassEncoder?.prototype;
  const backend = tf.getBackend() === 'webgpu' ? (tf.backend() as unknown as { runWebGPUProgram: Method }) : undefined;
  if (pass === undefined || backend === undefined) return undefined;
  const [dispatch, run] = [pass.dispatchWorkgroups, backend.runWebGPUProgram];
  const n = { dispatches: 0, programs: 0 };
  pass.dispatchWorkgroups = function (this: unknown, ...args: unknown[]) {
    n.dispatches++;
    return dispatch.apply(this, args);
  };
  backend.runWebGPUProgram = function (this: unknown, ...args: unknown[]) {
    n.programs++;
    return run.apply(this, args);
  };
  try {
    await f();
  } finally {
    pass.dispatchWorkgroups = dispatch;
    backend.runWebGPUProgram = run;
  }
  return n;
}

/** GPU dispatches of one training step on the webgpu backend (countGpuDispatches); undefined on other backends. */
export async function trainingDispatches(impl: BenchImpl): Promise<number | undefined> {
  return (await countGpuDispatches(() => impl.trainStep()))?.dispatches;
}

/** Bytes a training step allocates above what is live before it (see the file comment). */
export async function peakTrainingBytes(impl: BenchImpl): Promise<number> {
  const before = tf.memory().numBytes;
  const info = await tf.profile(async () => {
    await impl.trainStep();
  });
  return Math.max(0, info.peakBytes - before);
}
