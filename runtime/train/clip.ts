// Gradient clipping. Both functions return new tensors (the caller disposes
// them and still owns the inputs), computed in one tf.tidy so no
// intermediates survive.
import * as tf from '@tensorflow/tfjs-core';
import { RuntimeUserError } from '../io.js';
import { clipGlobalNorm, clipValues } from '../tfjs/portable-ops.js';

function checkLimit(what: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RuntimeUserError(`${what} must be a positive finite number, got ${value}`);
  }
}

/**
 * g <- g * min(1, maxNorm / ||g||) with ||g|| the L2 norm of all gradients
 * taken together (Pascanu et al.), so the direction of the whole update is
 * kept. The factor is computed as maxNorm / max(||g||, maxNorm): the same
 * value, with no division by zero when every gradient is 0. `norm` is the
 * norm before clipping (useful to log).
 */
export function clipByGlobalNorm(
  grads: ReadonlyMap<string, tf.Tensor>,
  maxNorm: number,
): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } {
  checkLimit('clip norm', maxNorm);
  const names = [...grads.keys()];
  // The arithmetic is clipGlobalNorm of runtime/tfjs/portable-ops.ts, the code emitted modules carry.
  const [norm, ...clipped] = clipGlobalNorm(names.map((n) => grads.get(n)!), maxNorm);
  const out = new Map<string, tf.Tensor>();
  names.forEach((n, i) => out.set(n, clipped[i]!));
  return { grads: out, norm: norm as tf.Scalar };
}

/** Clamps every gradient element to [-limit, limit]. */
export function clipByValue(grads: ReadonlyMap<string, tf.Tensor>, limit: number): Map<string, tf.Tensor> {
  checkLimit('clip value', limit);
  const names = [...grads.keys()];
  const clipped = clipValues(names.map((n) => grads.get(n)!), limit);
  return new Map(names.map((n, i) => [n, clipped[i]!] as const));
}
