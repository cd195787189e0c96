// The translating page: a date typed in the box goes through the compiled
// encoder-decoder (../translator.ts over ../dates-model.ts) on the
// WebAssembly backend of TensorFlow.js (the CPU backend if WebAssembly does
// not start), and the page shows the output and, for greedy decoding, the
// attention weights as a table: one row per output character, one column
// per input character, darker where the decoder looked.
// build-web.mjs --page translate bundles it and copies the checkpoint next to it.
//
// The form can be preset from the address: ?text=march%203%201998&beam=4
// The page marks its progress on <body data-state="loading|translating|done|error">.
import * as tf from '@tensorflow/tfjs-core';
import { element, field as formField, setState as markState, startBackend } from '../page.js';
import { loadTranslator, type Translation, type Translator } from '../translator.js';
import { registerWebgpuBackend } from '../dates-model.js';

const form = element('controls', HTMLFormElement);
const output = element('output', HTMLDivElement);
const table = element('attention', HTMLTableElement);
const status = element('status', HTMLParagraphElement);
const backendOut = element('backend', HTMLElement);

function field(name: string): HTMLInputElement {
  return formField(form, name);
}

function setState(state: 'loading' | 'translating' | 'done' | 'error', message: string): void {
  markState(status, state, message);
}

/** The attention weights as a table: output characters down, input characters across, grey levels by weight. */
function showAttention(t: Translation): void {
  table.replaceChildren();
  const weights = t.attention;
  if (!weights || weights.length === 0) return;
  const head = table.insertRow();
  head.insertCell().textContent = '';
  for (const ch of Array.from(t.input)) {
    const th = document.createElement('th');
    th.textContent = ch === ' ' ? '·' : ch;
    head.append(th);
  }
  Array.from(t.output).forEach((ch, step) => {
    const row = table.insertRow();
    const th = document.createElement('th');
    th.textContent = ch;
    row.append(th);
    (weights[step] ?? []).forEach((w) => {
      const cell = row.insertCell();
      const level = Math.round(255 * (1 - Math.min(1, Math.max(0, w))));
      cell.style.background = `rgb(${level}, ${level}, ${level})`;
      cell.title = w.toFixed(3);
      cell.dataset['weight'] = String(w);
    });
  });
}

async function translate(translator: Translator): Promise<void> {
  const text = field('text').value.trim();
  const beam = Number(field('beam').value);
  if (!(Number.isInteger(beam) && beam >= 1)) throw new Error('beam must be a whole number >= 1');
  setState('translating', `translating ${JSON.stringify(text)}…`);
  const t0 = performance.now();
  const [t] = await translator.translate([text], { beam });
  output.textContent = t!.output;
  output.dataset['logprob'] = String(t!.logProb);
  showAttention(t!);
  const ms = performance.now() - t0;
  setState('done', `${beam > 1 ? `beam ${beam}` : 'greedy'}: ${ms.toFixed(0)} ms on ${tf.getBackend()}, log-probability ${t!.logProb.toFixed(3)}`);
}

async function main(): Promise<void> {
  const query = new URLSearchParams(location.search);
  for (const name of ['text', 'beam']) {
    const v = query.get(name);
    if (v !== null) field(name).value = v;
  }
  const backend = await startBackend(registerWebgpuBackend);
  backendOut.textContent = backend.note !== undefined ? `${backend.name} (${backend.note})` : backend.name;
  backendOut.dataset['backend'] = backend.name;
  const response = await fetch(query.get('ckpt') ?? './checkpoint.json');
  if (!response.ok) throw new Error(`fetching the checkpoint: HTTP ${response.status}`);
  const translator = loadTranslator(await response.json());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    translate(translator).catch(showError);
  });
  await translate(translator);
}

function showError(e: unknown): void {
  setState('error', `error: ${e instanceof Error ? e.message : String(e)}`);
}

main().catch(showError);
