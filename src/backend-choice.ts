// Picks the tfjs backend for a command and says which one runs, and why.
import { readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, webgpuAdapter, type BackendName, type GpuProbe } from '../runtime/backend.js';

/**
 * The GPU device nodes of a Linux machine (/dev/dri/renderD*, /dev/nvidia0,
 * ...): without one the automatic choice passes webgpu over without loading
 * Dawn (about 0.3 s and its warnings on every command). Null elsewhere
 * (macOS and Windows: the adapter decides).
 */
export async function gpuDeviceNodes(): Promise<string[] | null> {
  if (process.platform !== 'linux') return null;
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir).map((f) => `${dir}/${f}`);
    } catch {
      return [];
    }
  };
  return [...list('/dev/dri').filter((f) => /\/renderD\d+$/.test(f)), ...list('/dev').filter((f) => /^\/dev\/nvidia\d+$/.test(f))];
}

const MACHINE: GpuProbe = { deviceNodes: gpuDeviceNodes, adapter: webgpuAdapter };
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
  const chosen = await selectBackend(requested, without, MACHINE);
  if (requested === undefined) return `${chosen.name} (${chosen.reason})`;
  // A requested webgpu says which adapter it found (a software one computes the same numbers, slower).
  return chosen.reason === 'requested' ? chosen.name : `${chosen.name} (${chosen.reason})`;
}
