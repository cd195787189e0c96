// The training loop: epochs of seeded, shuffled batches through a
// TrainingSession, with progress callbacks, periodic checkpoints, a stop
// request (Ctrl-C) honoured between batches, and an exact resume: the batch
// order of an epoch depends only on the seed and the epoch, so a checkpoint
// only has to record (epoch, batch index) besides the model and optimizer.
import { makeBatches, type BatchSpecs } from '../data/batching.js';
import type { Batch, Example } from '../data/types.js';
import { Rng } from '../rng.js';
import type { BatchResult } from './session.js';

export interface Position {
  readonly epoch: number;
  /** Batches of this epoch already done. */
  readonly batchInEpoch: number;
}

export interface StepInfo {
  readonly step: number;
  readonly epoch: number;
  readonly epochs: number;
  readonly batchInEpoch: number;
  readonly batchesPerEpoch: number;
  readonly loss: number;
  /** Positions (tokens, or sequences for per-example losses) in this batch. */
  readonly count: number;
  /** The learning rate of the batch's last update and the global norm of its gradients before clipping (one thread). */
  readonly lr?: number;
  readonly gradNorm?: number;
}

export type LoopStatus = 'done' | 'stopped' | 'nonfinite' | 'max-steps' | 'early-stop';

/** What trains on a batch: a TrainingSession, or replicas in worker threads (src/parallel). */
export interface BatchTrainer {
  /** Optimizer updates made so far. */
  readonly step: number;
  trainBatch(batch: Batch): BatchResult | Promise<BatchResult>;
}

export interface LoopOptions {
  readonly session: BatchTrainer;
  readonly examples: readonly Example[];
  readonly specs: BatchSpecs;
  readonly batchSize: number;
  readonly epochs: number;
  readonly seed: number;
  readonly start?: Position;
  /** Stop after this many optimizer steps in total (counting earlier runs). */
  readonly maxSteps?: number;
  /** Save every this many optimizer steps (0: never mid-run). */
  readonly checkpointEvery: number;
  readonly save: (pos: Position) => void | Promise<void>;
  readonly shouldStop: () => boolean;
  readonly onStep?: (info: StepInfo) => void;
  /**
   * After each epoch but the last (whose end the caller evaluates anyway),
   * with the position after it: validation, early stopping. True stops the
   * loop ('early-stop').
   */
  readonly onEpochEnd?: (epoch: number, pos: Position) => boolean | Promise<boolean>;
  /** Also validate every this many optimizer steps, between batches (onValidate; true stops the loop). */
  readonly validateEvery?: number;
  readonly onValidate?: (pos: Position) => boolean | Promise<boolean>;
}

export interface LoopResult {
  readonly status: LoopStatus;
  readonly position: Position;
  readonly lastLoss: number;
}

/** The shuffling generator of one epoch: a function of the seed and the epoch only. */
export function epochRng(seed: number, epoch: number): Rng {
  return new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca77)) >>> 0);
}

export async function trainLoop(opts: LoopOptions): Promise<LoopResult> {
  const { session } = opts;
  let pos: Position = opts.start ?? { epoch: 0, batchInEpoch: 0 };
  let lastLoss = NaN;
  let lastSaved = session.step;
  // The step count after the previous batch (for `validate N`).
  let lastValidated = session.step;
  for (let epoch = pos.epoch; epoch < opts.epochs; epoch++) {
    const batches = makeBatches(opts.examples, opts.specs, opts.batchSize, epochRng(opts.seed, epoch));
    const first = epoch === pos.epoch ? pos.batchInEpoch : 0;
    for (let i = first; i < batches.length; i++) {
      if (opts.maxSteps !== undefined && session.step >= opts.maxSteps) {
        return { status: 'max-steps', position: pos, lastLoss };
      }
      const r = await session.trainBatch(batches[i]!);
      if (r.nonFinite) return { status: 'nonfinite', position: pos, lastLoss: r.loss };
      lastLoss = r.loss;
      pos = { epoch, batchInEpoch: i + 1 };
      opts.onStep?.({
        step: session.step,
        epoch,
        epochs: opts.epochs,
        batchInEpoch: i + 1,
        batchesPerEpoch: batches.length,
        loss: r.loss,
        count: r.count,
        ...(r.lr !== undefined ? { lr: r.lr } : {}),
        ...(r.gradNorm !== undefined ? { gradNorm: r.gradNorm } : {}),
      });
      if (opts.checkpointEvery > 0 && session.step - lastSaved >= opts.checkpointEvery) {
        await opts.save(pos);
        lastSaved = session.step;
      }
      // At each multiple of N steps (the same steps after --resume), but not at an epoch's end, which validates anyway.
      const stepBefore = lastValidated;
      lastValidated = session.step;
      if (opts.validateEvery !== undefined && opts.onValidate && Math.floor(session.step / opts.validateEvery) > Math.floor(stepBefore / opts.validateEvery) && i + 1 < batches.length) {
        if (await opts.onValidate(pos)) return { status: 'early-stop', position: pos, lastLoss };
      }
      // Let signal handlers run between batches.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (opts.shouldStop()) return { status: 'stopped', position: pos, lastLoss };
    }
    pos = { epoch: epoch + 1, batchInEpoch: 0 };
    if (epoch + 1 < opts.epochs && opts.onEpochEnd && (await opts.onEpochEnd(epoch, pos))) return { status: 'early-stop', position: pos, lastLoss };
  }
  return { status: 'done', position: pos, lastLoss };
}
