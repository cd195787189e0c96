#!/usr/bin/env node
// Builds a web page of examples/consumer into a static folder:
//   1. compiles the model with `rnnc compile` (dims from the checkpoint): the
//      char LM into examples/consumer/model.ts (--page sample, the default), or
//      the dates encoder-decoder into examples/consumer/dates-model.ts
//      (--page translate); unless --model-ts names an already compiled module;
//   2. bundles the page's main.ts (web/ or translate-web/), the model and
//      TensorFlow.js with esbuild into main.js;
//   3. copies index.html, the wasm backend's .wasm files and the checkpoint
//      (only what the page reads: model, params, extra) next to it.
//
//   node examples/consumer/build-web.mjs --ckpt runs/charlm_rnn/checkpoint.json [--model charlm_rnn]
//        [--model-ts PATH] [--out examples/consumer/web/dist]
//   node examples/consumer/build-web.mjs --page translate --ckpt runs/dates/checkpoint.json
//        [--model-ts PATH] [--out examples/consumer/translate-web/dist]
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
    page: { type: 'string', default: 'sample' },
    model: { type: 'string' },
    'model-ts': { type: 'string' },
    out: { type: 'string' },
  },
});
// Each page: its folder, the example and model it compiles, and the module file its code imports.
const PAGES = {
  sample: { dir: 'web', rnn: 'charlm.rnn', model: 'charlm_rnn', moduleFile: 'model.ts', target: ['--target', 'forward'] },
  translate: { dir: 'translate-web', rnn: 'dates.rnn', model: 'dates', moduleFile: 'dates-model.ts', target: [] },
};
const page = PAGES[values.page];
if (values.ckpt === undefined || page === undefined) {
  console.error('usage: node examples/consumer/build-web.mjs --ckpt CHECKPOINT.json [--page sample|translate] [--model NAME] [--model-ts PATH] [--out DIR]');
  process.exit(2);
}
const out = resolve(values.out ?? join(here, page.dir, 'dist'));
mkdirSync(out, { recursive: true });

// 1. The compiled model.
let modelTs = values['model-ts'] === undefined ? undefined : resolve(values['model-ts']);
if (modelTs === undefined) {
  modelTs = join(here, page.moduleFile);
  const bin = join(repo, 'dist', 'src', 'bin.js');
  if (!existsSync(bin)) throw new Error(`${relative(process.cwd(), bin)} is missing: build rnnc first (npm ci, or npm run build)`);
  const args = ['compile', join(repo, 'examples', page.rnn), '--model', values.model ?? page.model, '--ckpt', values.ckpt, ...page.target, '-o', modelTs];
  execFileSync(process.execPath, [bin, ...args], { stdio: 'inherit' });
}

// 2. The bundle. lm.ts imports './model.js', translator.ts './dates-model.js', the pages' main.ts '../model.js' or
// '../dates-model.js' (for registerWebgpuBackend): it is the module given (or just compiled).
const model = modelTs;
const moduleJs = join(here, page.moduleFile.replace(/\.ts$/, '.js'));
const imported = new RegExp(`(^|/)${page.moduleFile.replace('.ts', '').replace('-', '\\-')}\\.js$`);
const modelModule = {
  name: 'compiled-model',
  setup(build) {
    build.onResolve({ filter: imported }, (args) => (resolve(args.resolveDir, args.path) === moduleJs ? { path: model } : undefined));
  },
};
const result = await esbuild.build({
  entryPoints: [join(here, page.dir, 'main.ts')],
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
copyFileSync(join(here, page.dir, 'index.html'), join(out, 'index.html'));
const require = createRequire(import.meta.url);
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm.wasm'));
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) copyFileSync(join(wasmDir, f), join(out, f));
const ckpt = JSON.parse(readFileSync(values.ckpt, 'utf8'));
writeFileSync(join(out, 'checkpoint.json'), JSON.stringify({ model: ckpt.model, params: ckpt.params, extra: ckpt.extra }));

const bytes = result.metafile.outputs[relative(process.cwd(), join(out, 'main.js'))]?.bytes;
console.log(`built ${relative(process.cwd(), out) || '.'}: index.html, main.js${bytes ? ` (${(bytes / 1024).toFixed(0)} KiB)` : ''}, checkpoint.json, 3 .wasm files (model ${relative(process.cwd(), model)})`);
