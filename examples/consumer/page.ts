// What both web pages of examples/consumer share (web/main.ts samples text,
// translate-web/main.ts translates dates): finding their elements and form
// fields, marking their progress on <body data-state>, and starting the
// backend of TensorFlow.js the address asks for (?backend=webgpu|wasm|cpu;
// WebAssembly by default, the CPU backend if it does not start).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`the page has no #${id}`);
  return e;
}

export function field(form: HTMLFormElement, name: string): HTMLInputElement {
  const e = form.elements.namedItem(name);
  if (!(e instanceof HTMLInputElement)) throw new Error(`the form has no field ${name}`);
  return e;
}

/** Marks the page's progress (tests wait on it) and says it in the status line. */
export function setState(status: HTMLElement, state: string, message: string): void {
  document.body.dataset['state'] = state;
  status.textContent = message;
}

/**
 * The backend the address asks for (`?backend=webgpu|wasm|cpu`, wasm by
 * default), started; the CPU backend when it does not start. Returns the
 * backend that runs, and why it is not the one asked for, if it is not.
 * WebGPU needs a browser that offers an adapter (Chrome and Edge do; a page
 * from http://localhost or https), and is registered through the compiled
 * module's `registerWebgpuBackend` (a device with the adapter's
 * storage-buffer limit, which its fused kernels need); wasm fetches its
 * .wasm files from next to the page.
 */
export async function startBackend(registerWebgpuBackend: (WebGPUBackend: unknown) => void): Promise<{ name: string; note?: string }> {
  const asked = new URLSearchParams(location.search).get('backend') ?? 'wasm';
  if (!['webgpu', 'wasm', 'cpu'].includes(asked)) return { ...(await useCpu()), note: `unknown backend ${JSON.stringify(asked)} (webgpu, wasm or cpu)` };
  let why = '';
  try {
    if (asked === 'webgpu') {
      const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      if (gpu === undefined) why = 'this browser offers no WebGPU (navigator.gpu)';
      else if ((await gpu.requestAdapter()) === null) why = 'this browser found no WebGPU adapter';
      else {
        const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
        registerWebgpuBackend(WebGPUBackend);
        if (await tf.setBackend('webgpu')) {
          await tf.ready();
          return { name: 'webgpu' };
        }
        why = 'the webgpu backend did not start';
      }
    } else if (asked === 'wasm') {
      setWasmPaths(new URL('./', location.href).href);
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return { name: 'wasm' };
      }
      why = 'the wasm backend did not start';
    }
  } catch (e) {
    why = `the ${asked} backend did not start: ${e instanceof Error ? e.message : String(e)}`;
  }
  return asked === 'cpu' ? useCpu() : { ...(await useCpu()), note: why };
}

async function useCpu(): Promise<{ name: string }> {
  await tf.setBackend('cpu');
  await tf.ready();
  return { name: 'cpu' };
}
