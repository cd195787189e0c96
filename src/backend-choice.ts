// Picks the tfjs backend for a command and says which one runs, and why.
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../runtime/backend.js';

export async function startBackend(requested?: string): Promise<string> {
  // rnnc prints the backend it chose; tfjs's own advice banners would only repeat it.
  tf.env().set('PROD', true);
  const chosen = await selectBackend(requested);
  return requested !== undefined ? chosen.name : `${chosen.name} (${chosen.reason})`;
}
