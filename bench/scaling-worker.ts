// One thread of the scaling measurement (bench/scaling.ts): its own backend
// and interpreted session on its part of a row's batch; reports ready, waits
// for the signal to start (so that all threads train at once), then times its
// steps and reports their median.
import { parentPort, workerData } from 'node:worker_threads';
import { startBackend } from '../src/backend-choice.js';
import { makeBenchData } from './data.js';
import type { ScalingJob } from './scaling.js';
import { rnncInterpreted } from './rnnc-interpreted.js';
import { THREAD_WARMUP_MS, timeTraining } from './measure.js';

const port = parentPort;
if (!port) throw new Error('internal: bench/scaling-worker.js runs only as a worker thread');
const job = workerData as ScalingJob;
await startBackend(job.backend);
const impl = rnncInterpreted(job.cell, makeBenchData(job.shape, job.seed));
port.once('message', () => {
  void timeTraining(impl, job.warmup, job.iters, THREAD_WARMUP_MS).then((t) => {
    impl.dispose();
    port.postMessage({ medianMs: t.medianMs });
  });
});
port.postMessage({ ready: true });
