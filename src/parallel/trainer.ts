// `rnnc run --workers N`: data-parallel training in N worker threads.
//
// The main thread keeps the data, the loop, progress and checkpoints; each
// batch is cut into N slices of consecutive examples (shardBatch), one per
// worker. Every worker holds a full replica of the parameters and optimizer
// state; before each update the replicas average their gradients through a
// SharedArrayBuffer (runtime/train/shared-gradients.ts) and apply the same
// update, so they never drift apart and no parameters travel per step. The
// result equals single-threaded training up to float32 rounding (the sums
// over the batch are split differently).
//
// A failing worker (an error, or a thread that dies) aborts the others'
// waits, so the run ends with the error instead of hanging.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LoweredModel } from '../../compiler/sema/model.js';
import type { TrainConfig } from '../../compiler/sema/train.js';
import { shardBatch, type BatchSpecs } from '../../runtime/data/batching.js';
import type { Batch } from '../../runtime/data/types.js';
import { resolveShape } from '../../runtime/shape-binding.js';
import { numericDims } from '../../runtime/train/feeds.js';
import type { BatchTrainer } from '../../runtime/train/loop.js';
import { abortExchange, createSharedGradients, type ParamLayout } from '../../runtime/train/shared-gradients.js';
import type { BatchResult, SessionSnapshot } from '../../runtime/train/session.js';
import { CliError, EXIT } from '../errors.js';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol.js';

export interface ParallelOptions {
  readonly workers: number;
  /** The backend name (tensorflow, wasm, cpu) each worker starts. */
  readonly backend: string;
  readonly model: LoweredModel;
  readonly config: TrainConfig;
  readonly remat: boolean;
  readonly specs: BatchSpecs;
  readonly start: SessionSnapshot;
}

interface Pending {
  readonly resolve: (m: FromWorker) => void;
  readonly reject: (e: Error) => void;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

export class DataParallelTrainer implements BatchTrainer {
  private readonly pending: Map<number, Pending>[];
  private nextId = 0;
  private failure: Error | undefined;
  /** True while `failure` is only "aborted": the worker that caused it may still report the real error. */
  private failureIsAbort = false;
  private closing = false;
  private currentStep: number;

  private constructor(
    private readonly workers: readonly Worker[],
    private readonly shared: SharedArrayBuffer,
    private readonly specs: BatchSpecs,
    step: number,
  ) {
    this.pending = workers.map(() => new Map());
    this.currentStep = step;
  }

  /** Starts the workers and waits until each has its backend and its replica. */
  static async start(o: ParallelOptions): Promise<DataParallelTrainer> {
    const script = fileURLToPath(WORKER_URL);
    if (!existsSync(script)) {
      throw new CliError(`--workers needs the compiled worker script ${script}, which is missing: build rnnc (npm run build) and run it from dist/`);
    }
    const bind = numericDims(o.model);
    const layout: ParamLayout[] = o.model.params.map((p) => ({ name: p.name, shape: resolveShape(p.shape, bind) }));
    const shared = createSharedGradients(layout, o.workers);
    // Field types only: vocabularies stay on the main thread.
    const specs: BatchSpecs = {
      inputs: o.specs.inputs.map((s) => ({ name: s.name, type: s.type })),
      targets: o.specs.targets.map((s) => ({ name: s.name, type: s.type })),
      ...(o.specs.separateTargets ? { separateTargets: true } : {}),
    };
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (let index = 0; index < o.workers; index++) {
      const setup: WorkerSetup = { index, backend: o.backend, model: o.model, config: o.config, remat: o.remat, specs, layout, shared, start: o.start };
      const w = new Worker(WORKER_URL, { workerData: setup });
      workers.push(w);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: FromWorker): void => {
            w.off('message', onMessage);
            w.off('error', reject);
            if (m.kind === 'ready') resolve();
            else reject(m.kind === 'failed' ? failure(m, index) : new Error(`internal: worker ${index} sent ${m.kind} before ready`));
          };
          w.on('message', onMessage);
          w.on('error', reject);
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      abortExchange(shared);
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    const trainer = new DataParallelTrainer(workers, shared, specs, o.start.optimizer.step);
    workers.forEach((w, i) => trainer.listen(w, i));
    return trainer;
  }

  get step(): number {
    return this.currentStep;
  }

  private listen(w: Worker, index: number): void {
    w.on('message', (m: FromWorker) => {
      if (m.kind === 'failed') return this.fail(failure(m, index), !m.aborted);
      if (m.kind === 'ready') return;
      const p = this.pending[index]!.get(m.id);
      if (!p) return this.fail(new Error(`internal: worker ${index} answered request ${m.id}, which is not pending`), true);
      this.pending[index]!.delete(m.id);
      p.resolve(m);
    });
    w.on('error', (e) => this.fail(new Error(`worker ${index} failed: ${e.stack ?? e.message}`), true));
    w.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`worker ${index} exited unexpectedly (code ${code})`), true);
    });
  }

  /** Records the first real failure, wakes every waiting worker and rejects what is pending. */
  private fail(e: Error, real: boolean): void {
    if (this.failure === undefined || (real && this.failureIsAbort)) {
      this.failure = e;
      this.failureIsAbort = !real;
    }
    abortExchange(this.shared);
    for (const map of this.pending) {
      map.forEach((p) => p.reject(this.failure!));
      map.clear();
    }
  }

  private request(index: number, make: (id: number) => ToWorker): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<FromWorker>((resolve, reject) => {
      this.pending[index]!.set(id, { resolve, reject });
      this.workers[index]!.postMessage(make(id));
    });
  }

  /** One batch: each worker trains on its slice; the replicas agree on every update. */
  async trainBatch(batch: Batch): Promise<BatchResult> {
    const parts = shardBatch(batch, this.specs, this.workers.length);
    const answers = await Promise.all(parts.map((part, k) => this.request(k, (id) => ({ kind: 'train', id, batch: part }))));
    const results = answers.map((a) => {
      if (a.kind !== 'trained') throw new Error(`internal: a worker answered ${a.kind} to train`);
      return a;
    });
    const first = results[0]!;
    // The replicas apply the same averaged update: anything else is a bug in the exchange.
    for (const r of results) {
      if (r.step !== first.step || r.result.updates !== first.result.updates || !sameNumber(r.result.loss, first.result.loss)) {
        throw new Error(`internal: data-parallel replicas disagree (step ${r.step} vs ${first.step}, loss ${r.result.loss} vs ${first.result.loss})`);
      }
    }
    this.currentStep = first.step;
    return first.result;
  }

  /** Parameters and optimizer state of the replicas (all equal; worker 0's). */
  async snapshot(): Promise<SessionSnapshot> {
    const a = await this.request(0, (id) => ({ kind: 'snapshot', id }));
    if (a.kind !== 'snapshot') throw new Error(`internal: worker 0 answered ${a.kind} to snapshot`);
    return a.snapshot;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function sameNumber(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

function failure(m: Extract<FromWorker, { kind: 'failed' }>, index: number): Error {
  if (m.user) return new CliError(m.message);
  if (m.aborted) return new Error(`worker ${index}: ${m.message}`);
  return new CliError(`internal error in worker ${index}: ${m.message}`, EXIT.internal);
}
