// Backend selection. Preference when the user names none:
//   1. 'tensorflow' (@tensorflow/tfjs-node, native TensorFlow): fastest, but an
//      optionalDependency whose native addon often fails to install, so it is
//      loaded with a dynamic import whose failure is expected and harmless;
//   2. 'wasm' (@tensorflow/tfjs-backend-wasm): portable and much faster than
//      plain JS. In Node its main entry (dist/tf-backend-wasm.node.js) finds
//      its .wasm files next to itself through __dirname, so setWasmPaths is
//      not needed (it is for bundlers and browsers);
//   3. 'cpu' (@tensorflow/tfjs-backend-cpu): pure JS, always available.
// Every chosen backend runs a tiny smoke computation before it is reported as
// selected, so a backend that registers but cannot compute is skipped (when
// choosing) or reported (when requested).
//
// Why tfjs-node's backend is visible to our `tf`: tfjs-node's index registers
// its backend with `tf.registerBackend('tensorflow', () => new
// NodeJSKernelBackend(bindings, ...), 3)` and then calls
// `tf.setBackend('tensorflow')`, where `tf` is its dependency
// @tensorflow/tfjs (the union package re-exporting tfjs-core). That is a
// different module from ours unless npm dedupes it, but tfjs-core keeps its
// Engine on the global object (`global._tfengine`, see getOrMakeEngine in
// tfjs-core/src/engine.ts) and its kernel and gradient registries in the same
// global map, so registration through any copy of tfjs-core lands in the one
// engine ours uses. The copies must still be the same version (the Engine's
// and Tensor's layout is shared across them); package.json pins tfjs-node and
// tfjs-core to 4.22.0 so npm installs one tfjs-core. We do not rely on the
// reasoning alone: after the import we check that our tf sees the
// 'tensorflow' factory (tf.findBackendFactory) and that it computes.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { RuntimeUserError } from './io.js';

/** A TensorFlow.js backend rnnc runs on: native TensorFlow (tfjs-node), WebAssembly, or plain JavaScript. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

/** Why a backend could not be used, or null if it was registered. */
async function register(name: BackendName): Promise<string | null> {
  try {
    if (name === 'tensorflow') {
      // A non-literal specifier keeps tsc from looking for the (absent)
      // package's types and keeps bundlers from trying to inline it.
      const moduleName: string = '@tensorflow/tfjs-node';
      await import(moduleName);
      if (tf.findBackendFactory('tensorflow') == null) {
        return 'it loaded, but registered its backend with a different copy of @tensorflow/tfjs-core (reinstall so that both are version 4.22.0)';
      }
    } else if (name === 'wasm') {
      await import('@tensorflow/tfjs-backend-wasm');
    }
    return null;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && name === 'tensorflow') return '@tensorflow/tfjs-node is not installed';
    return e instanceof Error ? e.message.split('\n')[0]! : String(e);
  }
}

/** Makes `name` the active backend; a reason for failure, or null. */
async function activate(name: BackendName): Promise<string | null> {
  const registered = await register(name);
  if (registered !== null) return registered;
  try {
    // setBackend answers false (after logging a warning) when the backend's
    // factory throws, e.g. a .wasm file that fails to compile.
    if (!(await tf.setBackend(name))) return `tfjs could not initialise the '${name}' backend`;
    await tf.ready();
    const works = tf.tidy(() => {
      const r = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 0, 0, 1], [2, 2])).dataSync();
      return r[0] === 1 && r[1] === 2 && r[2] === 3 && r[3] === 4;
    });
    return works ? null : `the '${name}' backend computed a wrong result in its self-test`;
  } catch (e) {
    return e instanceof Error ? e.message.split('\n')[0]! : String(e);
  }
}

function requestedError(name: BackendName, why: string): RuntimeUserError {
  if (name === 'tensorflow') {
    return new RuntimeUserError(
      `backend 'tensorflow' is not available: ${why}\n` +
        `  it comes from @tensorflow/tfjs-node, an optional dependency whose native part failed to install (or was skipped) on this machine.\n` +
        `  to fix: run 'npm install @tensorflow/tfjs-node@4.22.0' (it needs a supported platform; see its install log for the cause),\n` +
        `  or use --backend wasm (portable, usually the next fastest) or --backend cpu.`,
    );
  }
  return new RuntimeUserError(`backend '${name}' is not available: ${why}; try --backend cpu`);
}

/**
 * Selects and activates a backend. With `requested` exactly that one (or a
 * RuntimeUserError); otherwise the first of tensorflow, wasm, cpu that works.
 * `reason` says why, for the CLI to print in verbose mode.
 */
export async function selectBackend(requested?: string): Promise<{ name: BackendName; reason: string }> {
  if (requested !== undefined) {
    if (!isBackendName(requested)) {
      throw new RuntimeUserError(`unknown backend '${requested}' (valid: ${BACKEND_NAMES.join(', ')})`);
    }
    const why = await activate(requested);
    if (why !== null) throw requestedError(requested, why);
    return { name: requested, reason: 'requested' };
  }
  const skipped: string[] = [];
  for (const name of BACKEND_NAMES) {
    const why = await activate(name);
    if (why === null) {
      const reason = skipped.length === 0 ? 'the fastest available' : `chosen automatically; ${skipped.join('; ')}`;
      return { name, reason };
    }
    skipped.push(`${name} unavailable (${why})`);
  }
  // cpu is pure JS and always registered; reaching here means tfjs is broken.
  throw new Error(`internal: no tfjs backend works: ${skipped.join('; ')}`);
}

/** Activates a known backend by name; RuntimeUserError if it cannot run here. */
export async function useBackend(name: BackendName): Promise<void> {
  const why = await activate(name);
  if (why !== null) throw requestedError(name, why);
}
