// Data-parallel gradient averaging through one SharedArrayBuffer.
//
// N replicas of a TrainingSession (one per worker thread, each with its own
// tfjs backend) train on consecutive slices of every batch. For each update,
// each replica writes its loss, its count (the positions its slice counts in
// the loss) and its gradients into its own slot, waits at a barrier until
// every replica taking part has written, and then computes the same weighted
// average Σ_k (count_k / C) · g_k in the same order: every replica applies
// bit-identical gradients and so keeps bit-identical parameters and
// optimizer state, without a parameter broadcast. Because the loss of a batch
// is sum(weighted losses) / sum(weights), that average is the gradient of the
// whole batch (up to float32 rounding).
//
// Slots are double-buffered by the barrier's generation, so a replica can
// write the next update's slot while a slower one still reads this one's.
// Every replica takes part in every update, with count 0 when its slice is
// empty or counts nothing there, so all of them apply every update. The
// coordinating thread can abort every wait (a worker failed): waits poll an
// abort flag, so nothing ever hangs.
import * as tf from '@tensorflow/tfjs-core';

/** What one replica brings to an update. `grads` may be absent when count is 0. */
export interface Contribution {
  readonly grads?: ReadonlyMap<string, tf.Tensor>;
  readonly loss: number;
  readonly count: number;
}

/** The combined update, the same in every replica. */
export interface Reduced {
  /** Averaged gradients (caller disposes); absent when nothing counted or the loss was not finite. */
  readonly grads?: Map<string, tf.Tensor>;
  /** Mean loss over all counted positions of all replicas. */
  readonly loss: number;
  readonly count: number;
  readonly nonFinite: boolean;
}

export interface GradientExchange {
  reduce(c: Contribution): Reduced;
}

export interface ParamLayout {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Thrown in a replica when the coordinator aborted the run (another replica failed). */
export class ExchangeAborted extends Error {
  constructor() {
    super('data-parallel training was aborted');
  }
}

// Header (Int32 words).
const ARRIVED = 0;
const GENERATION = 1;
const ABORT = 2;
const HEADER_BYTES = 16;
/** Per slot: loss and count as float64, then the gradients as float32. */
const META_BYTES = 16;
const WAIT_SLICE_MS = 200;

function layoutSize(layout: readonly ParamLayout[]): number {
  return layout.reduce((n, p) => n + p.shape.reduce((a, d) => a * d, 1), 0);
}

/** Rounded up to 8 bytes, so every slot's float64 header is aligned. */
function slotBytes(size: number): number {
  return META_BYTES + 8 * Math.ceil(size / 2);
}

/** The shared buffer for `replicas` replicas of a model with these parameters. */
export function createSharedGradients(layout: readonly ParamLayout[], replicas: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + 2 * replicas * slotBytes(layoutSize(layout)));
}

/** Coordinator side: wakes every waiting replica with ExchangeAborted. */
export function abortExchange(sab: SharedArrayBuffer): void {
  const h = new Int32Array(sab, 0, 4);
  Atomics.store(h, ABORT, 1);
  Atomics.notify(h, GENERATION);
}

export class SharedGradientExchange implements GradientExchange {
  private readonly header: Int32Array;
  private readonly size: number;
  private readonly replicas: number;

  constructor(
    private readonly sab: SharedArrayBuffer,
    private readonly layout: readonly ParamLayout[],
    private readonly index: number,
  ) {
    this.header = new Int32Array(sab, 0, 4);
    this.size = layoutSize(layout);
    this.replicas = (sab.byteLength - HEADER_BYTES) / (2 * slotBytes(this.size));
    if (!Number.isInteger(this.replicas) || index < 0 || index >= this.replicas) {
      throw new Error(`internal: shared gradient buffer does not fit replica ${index} of this model`);
    }
  }

  private slot(buffer: number, replica: number): { meta: Float64Array; grads: Float32Array } {
    const at = HEADER_BYTES + (buffer * this.replicas + replica) * slotBytes(this.size);
    return { meta: new Float64Array(this.sab, at, 2), grads: new Float32Array(this.sab, at + META_BYTES, this.size) };
  }

  reduce(c: Contribution): Reduced {
    const participants = this.replicas;
    const generation = Atomics.load(this.header, GENERATION);
    const buffer = generation & 1;
    const own = this.slot(buffer, this.index);
    own.meta[0] = c.loss;
    own.meta[1] = c.count;
    if (c.count > 0) {
      if (!c.grads) throw new Error('internal: a contribution with a count has no gradients');
      let off = 0;
      for (const p of this.layout) {
        const g = c.grads.get(p.name);
        if (!g) throw new Error(`internal: no gradient for ${p.name}`);
        const data = g.dataSync() as Float32Array;
        own.grads.set(data, off);
        off += data.length;
      }
    }
    this.barrier(generation, participants);

    let total = 0;
    let nonFinite = false;
    let badLoss = NaN;
    for (let k = 0; k < participants; k++) {
      const meta = this.slot(buffer, k).meta;
      if (meta[1]! > 0) {
        total += meta[1]!;
        if (!Number.isFinite(meta[0]!) && !nonFinite) {
          nonFinite = true;
          badLoss = meta[0]!;
        }
      }
    }
    if (nonFinite) return { loss: badLoss, count: total, nonFinite: true };
    if (total === 0) return { loss: 0, count: 0, nonFinite: false };
    // Each element is 0 + w_0 g_0 + w_1 g_1 + ... in float64, in replica order, rounded once: the same
    // in every replica. One pass per parameter straight into the array the tensor is made from.
    const parts: { w: number; grads: Float32Array }[] = [];
    let loss = 0;
    for (let k = 0; k < participants; k++) {
      const { meta, grads } = this.slot(buffer, k);
      const count = meta[1]!;
      if (count === 0) continue;
      const w = count / total;
      loss += w * meta[0]!;
      parts.push({ w, grads });
    }
    const out = new Map<string, tf.Tensor>();
    let off = 0;
    for (const p of this.layout) {
      const n = p.shape.reduce((a, d) => a * d, 1);
      const values = new Float32Array(n);
      if (parts.length === 2) {
        // The common case (two workers), without the inner loop.
        const [a, b] = [parts[0]!, parts[1]!];
        for (let i = 0; i < n; i++) values[i] = 0 + a.w * a.grads[off + i]! + b.w * b.grads[off + i]!;
      } else {
        for (let i = 0; i < n; i++) {
          let v = 0;
          for (const part of parts) v += part.w * part.grads[off + i]!;
          values[i] = v;
        }
      }
      out.set(p.name, tf.tensor(values, [...p.shape], 'float32'));
      off += n;
    }
    return { grads: out, loss, count: total, nonFinite: false };
  }

  /** Waits until all `participants` replicas have arrived at this generation. */
  private barrier(generation: number, participants: number): void {
    const h = this.header;
    if (Atomics.add(h, ARRIVED, 1) + 1 === participants) {
      Atomics.store(h, ARRIVED, 0);
      Atomics.add(h, GENERATION, 1);
      Atomics.notify(h, GENERATION);
      return;
    }
    while (Atomics.load(h, GENERATION) === generation) {
      if (Atomics.load(h, ABORT) !== 0) throw new ExchangeAborted();
      Atomics.wait(h, GENERATION, generation, WAIT_SLICE_MS);
    }
    if (Atomics.load(h, ABORT) !== 0) throw new ExchangeAborted();
  }
}
