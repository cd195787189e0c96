// What both web pages of examples/consumer share (web/main.ts samples text,
// translate-web/main.ts translates dates): finding their elements and form
// fields, marking their progress on <body data-state>, and starting the
// WebAssembly backend of TensorFlow.js (the CPU backend if it does not start).
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

/** WebAssembly, its .wasm files served next to the page; the CPU backend when it does not start. */
export async function startBackend(): Promise<string> {
  setWasmPaths(new URL('./', location.href).href);
  try {
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      return 'wasm';
    }
  } catch (e) {
    console.warn('the wasm backend did not start:', e);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return 'cpu';
}
