// A Node program that ships a trained rnnc model: it imports the module
// `rnnc compile` wrote (./model.ts, through ./lm.ts), loads a checkpoint
// trained by `rnnc run`, and prints text sampled from it, one character at a
// time. It needs tfjs-core and a backend, not rnnc. See README.md here.
//
//   node examples/consumer/dist/sample.js --ckpt runs/charlm_rnn/checkpoint.json --prime "The " --temperature 0.7
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadLanguageModel, sampleChars } from './lm.js';
import { registerWebgpuBackend } from './model.js';

const USAGE = 'usage: node sample.js --ckpt CHECKPOINT.json [--prime TEXT] [--temperature T] [--length N] [--seed S] [--backend wasm|cpu|webgpu]';

function number(name: string, text: string, ok: (n: number) => boolean): number {
  const n = Number(text);
  if (!ok(n)) throw new Error(`--${name}: ${JSON.stringify(text)} is not valid\n${USAGE}`);
  return n;
}

/**
 * WebGPU in Node.js: Dawn (the package `webgpu`, prebuilt) provides
 * navigator.gpu, then the compiled module registers tfjs's webgpu backend
 * (registerWebgpuBackend: a device with the adapter's storage-buffer limit,
 * which its fused kernels need). Both packages are loaded only when asked
 * for (non-literal specifiers: they are optional here).
 */
async function startWebgpu(): Promise<void> {
  const dawnName: string = 'webgpu';
  const dawn = (await import(dawnName)) as { create(flags: string[]): unknown; globals: object };
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]) as { requestAdapter(): Promise<unknown> };
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  if ((await gpu.requestAdapter()) === null) throw new Error('--backend webgpu: no WebGPU adapter here (no GPU with Vulkan, Metal or Direct3D 12 drivers, and no software Vulkan such as Mesa\'s lavapipe); use --backend wasm');
  const backendName: string = '@tensorflow/tfjs-backend-webgpu';
  const { WebGPUBackend } = (await import(backendName)) as { WebGPUBackend: unknown };
  registerWebgpuBackend(WebGPUBackend);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ckpt: { type: 'string' },
      prime: { type: 'string', default: '' },
      temperature: { type: 'string', default: '1' },
      length: { type: 'string', default: '200' },
      seed: { type: 'string', default: '0' },
      backend: { type: 'string', default: 'wasm' },
    },
  });
  if (values.ckpt === undefined) throw new Error(USAGE);
  const temperature = number('temperature', values.temperature, (n) => n > 0 && Number.isFinite(n));
  const length = number('length', values.length, (n) => Number.isInteger(n) && n >= 1);
  const seed = number('seed', values.seed, (n) => Number.isInteger(n) && n >= 0);
  if (values.backend !== 'wasm' && values.backend !== 'cpu' && values.backend !== 'webgpu') throw new Error(`--backend must be wasm, cpu or webgpu\n${USAGE}`);

  tf.env().set('PROD', true);
  if (values.backend === 'webgpu') await startWebgpu();
  if (!(await tf.setBackend(values.backend))) throw new Error(`the ${values.backend} backend did not start`);
  await tf.ready();
  process.stderr.write(`backend: ${tf.getBackend()}\n`);

  const lm = loadLanguageModel(JSON.parse(readFileSync(values.ckpt, 'utf8')));
  try {
    process.stdout.write(values.prime);
    for await (const ch of sampleChars(lm, { prime: values.prime, length, temperature, seed })) process.stdout.write(ch);
    process.stdout.write('\n');
  } finally {
    lm.dispose();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
