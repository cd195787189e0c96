// The web page: the same sampling as sample.ts, in a browser, on the
// WebAssembly backend of TensorFlow.js by default, on WebGPU with
// ?backend=webgpu (the pure-JavaScript CPU backend if the one asked for does
// not start). build-web.mjs bundles this file with the
// compiled model (../model.ts, through ../lm.ts) and copies next to it the
// backend's .wasm files and the checkpoint, which the page fetches.
//
// The form's fields can be preset from the address: ?prime=The%20&temperature=0.7&length=300&seed=0&backend=webgpu
// The page marks its progress on <body data-state="loading|sampling|done|error">.
import * as tf from '@tensorflow/tfjs-core';
import { element, field as formField, setState as markState, startBackend } from '../page.js';
import { loadLanguageModel, sampleChars, type LanguageModel } from '../lm.js';
import { registerWebgpuBackend } from '../model.js';

const form = element('controls', HTMLFormElement);
const sampleOut = element('sample', HTMLPreElement);
const status = element('status', HTMLParagraphElement);
const backendOut = element('backend', HTMLElement);

function field(name: string): HTMLInputElement {
  return formField(form, name);
}

function setState(state: 'loading' | 'sampling' | 'done' | 'error', message: string): void {
  markState(status, state, message);
}

async function sample(lm: LanguageModel): Promise<void> {
  const prime = field('prime').value;
  const temperature = Number(field('temperature').value);
  const length = Number(field('length').value);
  const seed = Number(field('seed').value);
  if (!(temperature > 0) || !(Number.isInteger(length) && length >= 1) || !(Number.isInteger(seed) && seed >= 0)) {
    throw new Error('temperature must be positive, length a whole number >= 1, seed a whole number >= 0');
  }
  setState('sampling', `sampling ${length} characters at temperature ${temperature}, seed ${seed}…`);
  sampleOut.textContent = prime;
  const t0 = performance.now();
  let n = 0;
  for await (const ch of sampleChars(lm, { prime, temperature, length, seed })) {
    sampleOut.textContent += ch;
    // Let the page paint as the characters come.
    if (++n % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const seconds = (performance.now() - t0) / 1000;
  setState('done', `${length} characters in ${seconds.toFixed(2)} s (${(length / seconds).toFixed(0)} per second) on ${tf.getBackend()}`);
}

async function main(): Promise<void> {
  const query = new URLSearchParams(location.search);
  for (const name of ['prime', 'temperature', 'length', 'seed']) {
    const v = query.get(name);
    if (v !== null) field(name).value = v;
  }
  const backend = await startBackend(registerWebgpuBackend);
  backendOut.textContent = backend.note !== undefined ? `${backend.name} (${backend.note})` : backend.name;
  backendOut.dataset['backend'] = backend.name;
  const response = await fetch(query.get('ckpt') ?? './checkpoint.json');
  if (!response.ok) throw new Error(`fetching the checkpoint: HTTP ${response.status}`);
  const lm = loadLanguageModel(await response.json());
  const button = form.querySelector('button');
  const run = async (): Promise<void> => {
    if (button) button.disabled = true;
    try {
      await sample(lm);
    } finally {
      if (button) button.disabled = false;
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run().catch(showError);
  });
  await run();
}

function showError(e: unknown): void {
  setState('error', `error: ${e instanceof Error ? e.message : String(e)}`);
}

main().catch(showError);
