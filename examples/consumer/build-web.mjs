#!/usr/bin/env node
// Builds the web page of examples/consumer/web into a static folder:
//   1. compiles the char LM with `rnnc compile` (dims from the checkpoint) into
//      examples/consumer/model.ts, unless --model-ts names an already compiled module;
//   2. bundles web/main.ts, the model and TensorFlow.js with esbuild into main.js;
//   3. copies index.html, the wasm backend's .wasm files and the checkpoint
//      (only what the page reads: model, params, extra) next to it.
//
//   node examples/consumer/build-web.mjs --ckpt runs/charlm_rnn/checkpoint.json [--model charlm_rnn]
//        [--model-ts PATH] [--out examples/consumer/web/dist]
//
// Serve the folder over HTTP (browsers do not fetch .wasm from file:// pages):
//   node examples/consumer/serve.mjs examples/consumer/web/dist
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

const { values } = parseArgs({
  options: {
    ckpt: { type: 'string' },
    model: { type: 'string', default: 'charlm_rnn' },
    'model-ts': { type: 'string' },
    out: { type: 'string', default: join(here, 'web', 'dist') },
  },
});
if (values.ckpt === undefined) {
  console.error('usage: node examples/consumer/build-web.mjs --ckpt CHECKPOINT.json [--model NAME] [--model-ts PATH] [--out DIR]');
  process.exit(2);
}
const out = resolve(values.out);
mkdirSync(out, { recursive: true });

// 1. The compiled model.
let modelTs = values['model-ts'] === undefined ? undefined : resolve(values['model-ts']);
if (modelTs === undefined) {
  modelTs = join(here, 'model.ts');
  const bin = join(repo, 'dist', 'src', 'bin.js');
  if (!existsSync(bin)) throw new Error(`${relative(process.cwd(), bin)} is missing: build rnnc first (npm ci, or npm run build)`);
  const args = ['compile', join(repo, 'examples', 'charlm.rnn'), '--model', values.model, '--ckpt', values.ckpt, '--target', 'forward', '-o', modelTs];
  execFileSync(process.execPath, [bin, ...args], { stdio: 'inherit' });
}

// 2. The bundle. lm.ts imports './model.js': it is the module given (or just compiled).
const model = modelTs;
const modelModule = {
  name: 'compiled-model',
  setup(build) {
    build.onResolve({ filter: /^\.\/model\.js$/ }, (args) => (resolve(args.resolveDir) === here ? { path: model } : undefined));
  },
};
const result = await esbuild.build({
  entryPoints: [join(here, 'web', 'main.ts')],
  outfile: join(out, 'main.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  // tfjs-core's browser build still names Node modules that it only loads under Node.
  external: ['node:*'],
  plugins: [modelModule],
  logLevel: 'warning',
  metafile: true,
});

// 3. The page, the backend's .wasm files and the checkpoint.
copyFileSync(join(here, 'web', 'index.html'), join(out, 'index.html'));
const require = createRequire(import.meta.url);
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm.wasm'));
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) copyFileSync(join(wasmDir, f), join(out, f));
const ckpt = JSON.parse(readFileSync(values.ckpt, 'utf8'));
writeFileSync(join(out, 'checkpoint.json'), JSON.stringify({ model: ckpt.model, params: ckpt.params, extra: ckpt.extra }));

const bytes = result.metafile.outputs[relative(process.cwd(), join(out, 'main.js'))]?.bytes;
console.log(`built ${relative(process.cwd(), out) || '.'}: index.html, main.js${bytes ? ` (${(bytes / 1024).toFixed(0)} KiB)` : ''}, checkpoint.json, 3 .wasm files (model ${relative(process.cwd(), model)})`);
