// What N cores give at all (`npm run bench -- --scaling`): the interpreted
// session trains a row's whole batch in one thread, then 1/N of it alone,
// then N such sessions at once in N worker threads, each with its own
// backend and no gradient exchange. The whole batch's time over the time of
// N parts at once is the most `rnnc run --workers N` can gain on this
// machine: what the cores lose to each other (shared caches, memory, a
// hypervisor's scheduling) is in it, the exchange is not.
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { BenchShape, CellKind } from './config.js';
import { makeBenchData } from './data.js';
import { THREAD_WARMUP_MS, timeTraining } from './measure.js';
import { rnncInterpreted } from './rnnc-interpreted.js';

export interface ScalingJob {
  readonly backend: string;
  readonly cell: CellKind;
  readonly shape: BenchShape;
  readonly seed: number;
  readonly warmup: number;
  readonly iters: number;
}

export interface ScalingResult {
  readonly cell: CellKind;
  readonly size: string;
  readonly threads: number;
  /** One thread, the whole batch. */
  readonly wholeMs: number;
  /** One thread, 1/N of the batch, nothing else running. */
  readonly partAloneMs: number;
  /** The slowest of N threads training 1/N each at the same time. */
  readonly partsAtOnceMs: number;
  /** wholeMs / partsAtOnceMs: the bound on the speedup of N workers. */
  readonly bound: number;
  /** wholeMs / partAloneMs: the bound if the cores did not slow each other. */
  readonly ideal: number;
}

async function timeAlone(cell: CellKind, shape: BenchShape, warmup: number, iters: number): Promise<number> {
  const impl = rnncInterpreted(cell, makeBenchData(shape, 1));
  try {
    return (await timeTraining(impl, warmup, iters, THREAD_WARMUP_MS)).medianMs;
  } finally {
    impl.dispose();
  }
}

/** N worker threads, each timing its part; resolves to each one's median. */
async function timeAtOnce(job: ScalingJob, threads: number): Promise<number[]> {
  const workers = Array.from({ length: threads }, (_, k) => new Worker(new URL('./scaling-worker.js', import.meta.url), { workerData: { ...job, seed: 1 + k } }));
  try {
    const answer = (w: Worker): Promise<{ ready?: boolean; medianMs?: number }> =>
      new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
    await Promise.all(workers.map(answer));
    const done = workers.map(answer);
    workers.forEach((w) => w.postMessage('go'));
    return (await Promise.all(done)).map((m) => m.medianMs!);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export async function measureScaling(cell: CellKind, size: string, shape: BenchShape, threads: number, warmup: number, iters: number): Promise<ScalingResult> {
  if (shape.B % threads !== 0) throw new Error(`--scaling: batch ${shape.B} of size ${size} does not split into ${threads} equal parts`);
  const part = { ...shape, B: shape.B / threads };
  const wholeMs = await timeAlone(cell, shape, warmup, iters);
  const partAloneMs = await timeAlone(cell, part, warmup, iters);
  const partsAtOnceMs = Math.max(...(await timeAtOnce({ backend: tf.getBackend(), cell, shape: part, seed: 1, warmup, iters }, threads)));
  return { cell, size, threads, wholeMs, partAloneMs, partsAtOnceMs, bound: wholeMs / partsAtOnceMs, ideal: wholeMs / partAloneMs };
}

export function scalingTable(results: readonly ScalingResult[]): string {
  const n = results[0]?.threads ?? 2;
  const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  return [
    `### What ${n} threads give at all: the interpreted session on the whole batch, on 1/${n} of it alone, and ${n} parts at once (no exchange)`,
    '',
    `| | whole batch ms | 1/${n} alone ms | ${n} parts at once ms | bound (whole / at once) | without contention (whole / alone) |`,
    '|---|---|---|---|---|---|',
    ...results.map((r) => `| ${r.cell.toUpperCase()} ${r.size} | ${ms(r.wholeMs)} | ${ms(r.partAloneMs)} | ${ms(r.partsAtOnceMs)} | ${r.bound.toFixed(2)}x | ${r.ideal.toFixed(2)}x |`),
  ].join('\n');
}
