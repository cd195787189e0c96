// The messages between `rnnc run --workers N` and its worker threads
// (trainer.ts on the main thread, worker.ts in each worker).
import type { LoweredModel } from '../../compiler/sema/model.js';
import type { TrainConfig } from '../../compiler/sema/train.js';
import type { BatchSpecs } from '../../runtime/data/batching.js';
import type { Batch } from '../../runtime/data/types.js';
import type { ParamLayout } from '../../runtime/train/shared-gradients.js';
import type { BatchResult, SessionSnapshot } from '../../runtime/train/session.js';

export interface WorkerSetup {
  readonly index: number;
  /** The backend the main thread chose (each worker starts its own). */
  readonly backend: string;
  readonly model: LoweredModel;
  readonly config: TrainConfig;
  readonly remat: boolean;
  /** Field types only: which batch tensors are time-major. */
  readonly specs: BatchSpecs;
  readonly layout: readonly ParamLayout[];
  readonly shared: SharedArrayBuffer;
  /** Where every replica starts: the same parameters and optimizer state. */
  readonly start: SessionSnapshot;
}

export type ToWorker =
  | { readonly kind: 'train'; readonly id: number; readonly batch: Batch }
  | { readonly kind: 'snapshot'; readonly id: number };

export type FromWorker =
  | { readonly kind: 'ready' }
  | { readonly kind: 'trained'; readonly id: number; readonly result: BatchResult; readonly step: number }
  | { readonly kind: 'snapshot'; readonly id: number; readonly snapshot: SessionSnapshot }
  /** `user`: a mistake in the model or data (shown as is); otherwise a failure with its stack. */
  | { readonly kind: 'failed'; readonly message: string; readonly user: boolean; readonly aborted: boolean };
