// Picks the tfjs backend for a command and says which one runs, and why.
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendName } from '../runtime/backend.js';
import { CliError, EXIT } from './errors.js';

/**
 * Starts the requested backend (or the fastest that loads) and returns the
 * words that say which one runs. `without` names a backend the command
 * cannot run on yet, and why (runtime/backend.ts selectBackend).
 */
export async function startBackend(requested?: string, without?: { readonly name: BackendName; readonly why: string }): Promise<string> {
  // rnnc prints the backend it chose; tfjs's own advice banners would only repeat it.
  tf.env().set('PROD', true);
  // Asking a command for a backend it cannot use is a usage error (exit 2), found before anything starts.
  if (without !== undefined && requested === without.name) {
    throw new CliError(`backend '${requested}' cannot run this: ${without.why}; use --backend wasm or cpu${process.env['RNNC_BACKEND'] === requested ? ' (RNNC_BACKEND is set to it)' : ''}`, EXIT.usage);
  }
  const chosen = await selectBackend(requested, without);
  if (requested === undefined) return `${chosen.name} (${chosen.reason})`;
  // A requested webgpu says which adapter it found (a software one computes the same numbers, slower).
  return chosen.reason === 'requested' ? chosen.name : `${chosen.name} (${chosen.reason})`;
}
