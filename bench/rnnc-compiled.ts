// rnnc, compiled: the benchmark model emitted as a standalone TypeScript
// module by compiler/codegen (`rnnc compile`), transpiled with the project's
// tsc and imported. The code generator is being written alongside this
// harness, so everything here is discovered at run time: if the codegen
// module, its `compileToTypeScript` export, or the emitted module's
// initParams / initOptimizer / trainStep / forward are missing or fail, the
// column reads "n/a (rnnc compile not available)" with the reason, and the
// other columns are unaffected. This file implements no code generation.
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadStdlib, packageRoot } from '../src/stdlib.js';
import type { CellKind, InputKind } from './config.js';
import { featsBatchMajor, type BenchData } from './data.js';
import type { BenchImpl } from './measure.js';
import { compileBenchModel } from './rnnc-interpreted.js';

export const COMPILED_NA = 'n/a (rnnc compile not available)';

type Tensors = Record<string, tf.Tensor>;
interface EmittedModule {
  initParams(seed: number): Tensors;
  initOptimizer(p: Tensors): unknown;
  trainStep(p: Tensors, optimizer: unknown, inputs: Tensors, targets: Tensors): { params: Tensors; optimizer: unknown; loss: number };
  trainStepAsync(p: Tensors, optimizer: unknown, inputs: Tensors, targets: Tensors): Promise<{ params: Tensors; optimizer: unknown; loss: number }>;
  forward(p: Tensors, inputs: Tensors, state?: Tensors): { outputs: Tensors; state: Tensors };
  forwardAsync(p: Tensors, inputs: Tensors, state?: Tensors): Promise<{ outputs: Tensors; state: Tensors }>;
  disposeParams(p: Tensors): void;
  disposeOptimizer(o: unknown): void;
  disposeState(s: Tensors): void;
}

export type CompiledResult = { ok: true; impl: BenchImpl } | { ok: false; reason: string };

const EXPECTED = ['initParams', 'initOptimizer', 'trainStep', 'trainStepAsync', 'forward', 'forwardAsync', 'disposeParams', 'disposeOptimizer', 'disposeState'];

async function emitAndLoad(cell: CellKind, data: BenchData, tag: string, input: InputKind): Promise<EmittedModule> {
  // A variable specifier: the build must not fail while the code generator does not exist yet.
  const codegenPath: string = '../compiler/codegen/index.js';
  const codegen = (await import(codegenPath)) as { compileToTypeScript?: unknown };
  if (typeof codegen.compileToTypeScript !== 'function') throw new Error('compiler/codegen exports no compileToTypeScript');
  const compile = codegen.compileToTypeScript as (o: unknown) => Promise<string>;
  const { text, model, train } = compileBenchModel(cell, data.shape, 1e-3, input);
  const std = loadStdlib();
  const code = await compile({ model, train, target: 'train', sources: new Map([['bench.rnn', text], [std.file, std.text]]), file: 'bench.rnn' });
  // Under dist/ (ignored by git) so that the module resolves @tensorflow/tfjs-core from the package's node_modules.
  const dir = join(packageRoot(), 'dist', 'bench', 'generated');
  mkdirSync(dir, { recursive: true });
  const ts = join(dir, `${tag}.ts`);
  const js = join(dir, `${tag}.js`);
  writeFileSync(ts, code);
  const tsc = join(packageRoot(), 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '--ignoreConfig', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--skipLibCheck', '--types', 'node', '--outDir', dir, ts], { stdio: 'pipe' });
  } catch (e) {
    // Type errors still emit JavaScript; only a missing output is fatal.
    if (!existsSync(js)) throw new Error(`tsc could not transpile the emitted module: ${String((e as { stdout?: Buffer }).stdout ?? e).slice(0, 300)}`);
  }
  const mod = (await import(`${pathToFileURL(js).href}?t=${Date.now()}`)) as Record<string, unknown>;
  const missing = EXPECTED.filter((k) => typeof mod[k] !== 'function');
  if (missing.length > 0) throw new Error(`the emitted module lacks ${missing.join(', ')}`);
  return mod as unknown as EmittedModule;
}

/** Batch-major int32 [B, T] of time-major ids. */
function batchMajor(ids: Int32Array, B: number, T: number): tf.Tensor {
  const out = new Int32Array(B * T);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) out[b * T + t] = ids[t * B + b]!;
  return tf.tensor2d(out, [B, T], 'int32');
}

/** Batch-major float32 [B, T, X] of the time-major features. */
function featsTensor(data: BenchData): tf.Tensor {
  const { B, T, X } = data.shape;
  return tf.tensor3d(featsBatchMajor(data), [B, T, X]);
}

export async function rnncCompiled(cell: CellKind, data: BenchData, tag: string, opts: { seed?: number; input?: InputKind } = {}): Promise<CompiledResult> {
  const input = opts.input ?? 'tokens';
  let mod: EmittedModule;
  try {
    mod = await emitAndLoad(cell, data, tag, input);
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
  const s = data.shape;
  let params = mod.initParams(opts.seed ?? 1);
  let optimizer = mod.initOptimizer(params);
  const inputs = { x: input === 'tokens' ? batchMajor(data.xs, s.B, s.T) : featsTensor(data) };
  const targets = { t: batchMajor(data.ts, s.B, s.T) };
  const streamParams = mod.initParams(opts.seed ?? 1);
  const stream = Array.from(data.stream, (id, k) => ({ x: input === 'tokens' ? tf.tensor2d([id], [1, 1], 'int32') : tf.tensor3d(data.streamFeats.slice(k * s.X, (k + 1) * s.X), [1, 1, s.X]) }));
  let state: Tensors | undefined;
  let pos = 0;
  const gpu = tf.getBackend() === 'webgpu';
  const impl: BenchImpl = {
    name: 'rnnc-compiled',
    async trainStep() {
      // On webgpu the async twin (Node.js has no synchronous GPU reads); elsewhere the synchronous one, as applications call it.
      const r = gpu ? await mod.trainStepAsync(params, optimizer, inputs, targets) : mod.trainStep(params, optimizer, inputs, targets);
      params = r.params;
      optimizer = r.optimizer;
      return r.loss;
    },
    async inferStep() {
      const r = gpu ? await mod.forwardAsync(streamParams, stream[pos++ % stream.length]!, state) : mod.forward(streamParams, stream[pos++ % stream.length]!, state);
      for (const t of Object.values(r.outputs)) {
        if (gpu) await t.data();
        else t.dataSync();
        t.dispose();
      }
      if (state) mod.disposeState(state);
      state = r.state;
    },
    dispose() {
      if (state) mod.disposeState(state);
      mod.disposeParams(params);
      mod.disposeParams(streamParams);
      mod.disposeOptimizer(optimizer);
      tf.dispose([inputs.x, targets.t, ...stream.map((x) => x.x)]);
    },
  };
  return { ok: true, impl };
}
