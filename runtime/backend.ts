// Backend selection. Preference when the user names none:
//   1. 'tensorflow' (@tensorflow/tfjs-node, native TensorFlow): fastest, but an
//      optionalDependency whose native addon often fails to install, so it is
//      loaded with a dynamic import whose failure is expected and harmless;
//   2. 'webgpu' (@tensorflow/tfjs-backend-webgpu on Dawn, the optional package
//      `webgpu`), when the machine has a GPU: on Linux the CLI first looks
//      for a device node (/dev/dri/renderD*, /dev/nvidia*: src/backend-choice.ts)
//      before Dawn is even loaded (looking for an adapter costs about 0.3 s
//      and prints Dawn's warnings), and the adapter found must be a hardware one: a software
//      Vulkan (Mesa's lavapipe, SwiftShader) computes the same numbers far
//      slower than wasm, so it runs only when asked for;
//   3. 'wasm' (@tensorflow/tfjs-backend-wasm): portable and much faster than
//      plain JS. In Node its main entry (dist/tf-backend-wasm.node.js) finds
//      its .wasm files next to itself through __dirname, so setWasmPaths is
//      not needed (it is for bundlers and browsers);
//   4. 'cpu' (@tensorflow/tfjs-backend-cpu): pure JS, always available.
// --backend or RNNC_BACKEND overrides the order; a command that cannot run
// on a backend (rnnc run --workers on webgpu) passes it over, and says so.
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
import { registerWebgpuBackend } from './tfjs/webgpu-fused.js';

/** A TensorFlow.js backend rnnc runs on: native TensorFlow (tfjs-node), WebGPU, WebAssembly, or plain JavaScript. */
export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** The backends there are. */
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

/** The backends a command chooses from when none is named, in order of preference (the comment at the top says when webgpu). */
const AUTOMATIC: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

/** What a WebGPU adapter says of itself (GPUAdapterInfo). */
export interface AdapterInfo {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
}

/**
 * A WebGPU adapter for this process, or why there is none. In Node.js,
 * `navigator.gpu` comes from the optional package `webgpu` (Dawn: Vulkan,
 * Metal or Direct3D 12; on Linux without a GPU, Mesa's lavapipe).
 * `software` is true for a CPU implementation (lavapipe, SwiftShader):
 * correct, and slower than wasm.
 */
export async function webgpuAdapter(): Promise<{ info: AdapterInfo; software: boolean } | string> {
  const g = globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<{ info?: AdapterInfo; isFallbackAdapter?: boolean } | null> } } };
  if (g.navigator?.gpu === undefined) {
    let dawn: { create(flags: string[]): unknown; globals: object };
    try {
      // A non-literal specifier: the package is optional, and bundlers must not inline it.
      const moduleName: string = 'webgpu';
      dawn = (await import(moduleName)) as typeof dawn;
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') return 'the optional package `webgpu` (Dawn for Node.js) is not installed';
      return `the package \`webgpu\` did not load (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
    }
    Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]);
    if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  }
  const adapter = await g.navigator!.gpu!.requestAdapter();
  if (adapter === null) return 'no WebGPU adapter (no GPU with Vulkan, Metal or Direct3D 12 drivers, and no software Vulkan such as Mesa\'s lavapipe)';
  // GPUAdapterInfo's fields are getters of its prototype: read each.
  const i = adapter.info;
  const info: AdapterInfo = { vendor: i?.vendor ?? '', architecture: i?.architecture ?? '', device: i?.device ?? '', description: i?.description ?? '' };
  const text = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.device ?? ''} ${info.description ?? ''}`;
  return { info, software: adapter.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|software/i.test(text) };
}

/**
 * What the automatic choice asks of the machine before trying webgpu: its
 * GPU device nodes (null: not known, the adapter decides; the CLI lists
 * Linux's: src/backend-choice.ts), and its adapter (webgpuAdapter). Tests
 * give their own.
 */
export interface GpuProbe {
  deviceNodes(): Promise<string[] | null>;
  adapter(): Promise<{ info: AdapterInfo; software: boolean } | string>;
}

/** Without a list of device nodes (runtime/ reads no files): the adapter decides. */
const MACHINE: GpuProbe = { deviceNodes: async () => null, adapter: webgpuAdapter };

/**
 * Why the automatic choice passes webgpu over on this machine, or null to
 * try it: no GPU device node (Linux; Dawn is then not loaded), no adapter,
 * or only a software one (the comment at the top of this file says why).
 */
export async function webgpuPassedOver(probe: GpuProbe = MACHINE): Promise<string | null> {
  const nodes = await probe.deviceNodes();
  if (nodes !== null && nodes.length === 0) return 'no GPU device in /dev/dri or /dev/nvidia*; --backend webgpu looks for a software adapter';
  const adapter = await probe.adapter();
  if (typeof adapter === 'string') return adapter;
  if (adapter.software) return `only a software adapter (${adapterName(adapter.info)}), slower than wasm; --backend webgpu runs on it`;
  return null;
}

/**
 * Makes tfjs's webgpu backend the active one (a RuntimeUserError says why it
 * cannot). Code that runs on it reads results with `await t.data()`: the
 * backend reads synchronously (dataSync) only through an OffscreenCanvas,
 * which Node.js lacks.
 */
export async function useWebgpu(): Promise<AdapterInfo & { software: boolean }> {
  const adapter = await webgpuAdapter();
  if (typeof adapter === 'string') throw new RuntimeUserError(`backend 'webgpu' is not available: ${adapter}`);
  try {
    const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
    registerWebgpuBackend(WebGPUBackend);
  } catch (e) {
    const why = (e as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' ? 'the optional package @tensorflow/tfjs-backend-webgpu is not installed' : String(e);
    throw new RuntimeUserError(`backend 'webgpu' is not available: ${why}`);
  }
  if (!(await tf.setBackend('webgpu'))) throw new RuntimeUserError("backend 'webgpu' is not available: tfjs could not initialise it");
  await tf.ready();
  const product = tf.tidy(() => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 0, 0, 1], [2, 2])));
  const r = await product.data();
  product.dispose();
  if (!(r[0] === 1 && r[1] === 2 && r[2] === 3 && r[3] === 4)) throw new RuntimeUserError("backend 'webgpu' computed a wrong result in its self-test");
  return { ...adapter.info, software: adapter.software };
}

/** An adapter's name as people know it: vendor, architecture, description. */
export function adapterName(info: AdapterInfo): string {
  return [info.vendor, info.architecture, info.description].filter((x) => x).join(' ') || 'unnamed adapter';
}

/** The adapter the webgpu backend last started on (for the line that says which backend runs). */
let startedAdapter: (AdapterInfo & { software: boolean }) | undefined;

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
    const message = e instanceof Error ? e.message.split('\n')[0]!.trim() : String(e);
    // tfjs-node installed without its native part (its install step downloads libtensorflow): its message names a path.
    if (name === 'tensorflow' && /native addon module/.test(message)) return "@tensorflow/tfjs-node's native addon is missing: its install step failed or was skipped";
    return message;
  }
}

/** Makes `name` the active backend; a reason for failure, or null. */
async function activate(name: BackendName): Promise<string | null> {
  if (name === 'webgpu') {
    try {
      startedAdapter = await useWebgpu();
      return null;
    } catch (e) {
      return e instanceof RuntimeUserError ? e.message.replace(/^backend 'webgpu' is not available: /, '') : e instanceof Error ? e.message.split('\n')[0]! : String(e);
    }
  }
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
  return new RuntimeUserError(`backend '${name}' is not available: ${why}; try --backend ${name === 'webgpu' ? 'wasm' : 'cpu'}`);
}

/**
 * Selects and activates a backend. With `requested` exactly that one (or a
 * RuntimeUserError); otherwise the first of tensorflow, webgpu (on a GPU,
 * webgpuPassedOver), wasm, cpu that works. `reason` says why, for the CLI
 * to print. `without` names a backend the caller cannot run on (with why):
 * asking for it is a RuntimeUserError, and the automatic choice passes it
 * over. `probe` looks for a GPU (tests give their own).
 */
export async function selectBackend(
  requested?: string,
  without?: { readonly name: BackendName; readonly why: string },
  probe: GpuProbe = MACHINE,
): Promise<{ name: BackendName; reason: string }> {
  if (requested !== undefined) {
    if (!isBackendName(requested)) {
      throw new RuntimeUserError(`unknown backend '${requested}' (valid: ${BACKEND_NAMES.join(', ')})`);
    }
    if (without?.name === requested) throw new RuntimeUserError(`backend '${requested}' cannot run this: ${without.why}; use --backend wasm or cpu`);
    const why = await activate(requested);
    if (why !== null) throw requestedError(requested, why);
    return { name: requested, reason: requested === 'webgpu' ? `requested; adapter ${adapterName(startedAdapter!)}${startedAdapter!.software ? ', a software one' : ''}` : 'requested' };
  }
  const skipped: string[] = [];
  for (const name of AUTOMATIC) {
    if (name === without?.name) {
      skipped.push(`${name} passed over (${without.why})`);
      continue;
    }
    const why = name === 'webgpu' ? ((await webgpuPassedOver(probe)) ?? (await activate(name))) : await activate(name);
    if (why === null) {
      if (name === 'webgpu') skipped.push(`adapter ${adapterName(startedAdapter!)}`);
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
