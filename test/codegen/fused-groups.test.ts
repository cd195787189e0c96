// Fused groups in emitted modules (compiler/codegen/emit-fused.ts): each
// group is written out as a readable, typed function of one element (one
// statement per instruction, named temps, the source line quoted above the
// statements it came from, through escape.ts) and as the same body over
// tensors; the graphs call them through the op helpers' `fusedGroup`. The
// host loop (cpu) and the op-by-op path (taken while tfjs's autodiff
// records) of the emitted module give the interpreter's numbers.
// test/codegen/emitted.test.ts compares whole modules on cpu.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainingGraphs } from '../../compiler/compile.js';
import { selectBackend } from '../../runtime/backend.js';
import type { TrainConfig } from '../../compiler/sema/train.js';
import { TrainingSession } from '../../runtime/train/session.js';
import { parseBatchJson } from '../../src/batch-json.js';
import { compileText, GENERATED_DIR, typeCheckFolder, type Compiled } from './helpers.js';

// A cell of the user's own: a leaky relu with its slope, constants, a sigmoid gate; a trailing comment (not quoted).
const PROGRAM = `
cell gated(x: [X]) -> h: [H] {
  param U: [H, X] = glorot
  param W: [H, H] = orthogonal
  param b: [H] = zeros
  z[t] = sigmoid(W @ h[t-1] + b)
  h[t] = z[t] * leaky_relu(0.5 * (U @ x[t]), 0.2) + (1 - z[t]) * h[t-1]   # the update
}

model m {
  dim V = 5, H = 3
  input x: seq<token[V]>
  target y: seq<token[V]>
  e = embed(x, 4)
  h = gated(e) with H
  o[t] = dense(h[t], V)
  loss = cross_entropy(o, y)
}
`;

interface Module {
  initParams(seed: number): Readonly<Record<string, tf.Tensor>>;
  forward(p: Readonly<Record<string, tf.Tensor>>, inputs: Record<string, unknown>): { outputs: Readonly<Record<string, tf.Tensor>> };
}

let compiled: Compiled;
let code = '';
let mod: Module;

afterAll(async () => {
  await selectBackend('cpu');
});

beforeAll(async () => {
  await selectBackend('cpu');
  compiled = await compileText(PROGRAM, { target: 'forward', file: 'gated.rnn' });
  code = compiled.code;
  // A folder of its own, so that its type-check reads this module only.
  const dir = join(GENERATED_DIR, 'fused-groups');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'gated.ts');
  writeFileSync(path, code);
  mod = (await import(pathToFileURL(path).href)) as Module;
});

describe('fused groups in emitted modules', () => {
  it('are typed host loops a reader can follow: a statement per instruction, named temps, the source line above them', () => {
    const start = code.indexOf('function h_next_fused_loop(');
    expect(start, code.slice(0, 200)).toBeGreaterThan(0);
    const fn = code.slice(start, code.indexOf('\n}\n', start));
    expect(fn).toMatch(/^function h_next_fused_loop\(\s*ins: readonly ArrayLike<number>\[\],\s*outs: Float32Array\[\],\s*n: number,\s*p: readonly \(readonly number\[\]\)\[\],?\s*\): void \{/);
    // Inputs by their source names where they have one (else by place): whole, one value (a constant), a bias cycling, a [B, 1] mask.
    expect(fn).toContain('const U_x = U_x_in[e]!;');
    expect(fn).toContain('const const_0_5 = const_0_5_in[0]!;');
    expect(fn).toContain('const b = b_in[b_at]!;');
    expect(fn).toContain('const mask_t = mask_t_in[mask_t_at]!;');
    // The source line (through escape.ts, without its `#` comment), then its instructions, one per line.
    expect(fn).toContain('// gated.rnn:6: z[t] = sigmoid(W @ h[t-1] + b)\n    const t0 = i0 + b;\n    const t1 = 1 / (1 + exp_(-t0));');
    expect(fn).toContain('// gated.rnn:7: h[t] = z[t] * leaky_relu(0.5 * (U @ x[t]), 0.2) + (1 - z[t]) * h[t-1]\n    const t2 = const_0_5 * U_x;\n    const t3 = t2 > 0 ? t2 : 0.2 * t2;');
    expect(fn).toContain('h_next_out[e] = t10;');
    // The same body over tensors; the group names both and the modes its loop reads; the graph calls the group, not an op string.
    expect(code).toMatch(/function h_next_fused_tensors\([^)]*\): tf\.Tensor\[\] \{[^}]*const t3 = tf\.leakyRelu\(t2, 0\.2\);/);
    expect(code).toMatch(/const h_next_fused: FusedGroup = \{\s*loop: h_next_fused_loop,\s*modes: 'emsesed',\s*tensors: h_next_fused_tensors,/);
    expect(code).toMatch(/= fusedGroup\(h_next_fused, \[/);
    expect(code).not.toMatch(/fused\('/);
    // And the module type-checks under --strict.
    expect(typeCheckFolder(join(GENERATED_DIR, 'fused-groups'))).toBe('');
  });

  it("give the interpreter's outputs on the host loop and op by op (while tfjs's autodiff records)", async () => {
    // Full-length sequences, batch-major [B, T] token ids.
    const ids = [[1, 2, 0, 4], [3, 3, 1, 0]];
    const json = { x: { shape: [2, 4], data: ids.flat() }, y: { shape: [2, 4], data: ids.flat() }, lengths: [4, 4] };
    const config: TrainConfig = { model: 'm', optimizer: { name: 'sgd', args: {}, positional: [], span: compiled.model.span }, bptt: { kind: 'full' }, batch: 1, epochs: 1, seed: 0, checkpoint: 0, span: compiled.model.span };
    const session = new TrainingSession(compiled.model, config, trainingGraphs(compiled.model, false));
    session.initParams(7);
    const ref = session.forward(parseBatchJson(JSON.stringify(json), 'batch', compiled.model));
    // The interpreter predicts time-major [T, B, V]; the module batch-major [B, T, V].
    const want = tf.transpose(ref.prediction, [1, 0, 2]).dataSync();
    const p = mod.initParams(7);
    const x = tf.tensor2d(ids, [2, 4], 'int32');
    let host = new Float32Array(0);
    const hostKernels = (await tf.profile(() => void (host = mod.forward(p, { x }).outputs['o']!.dataSync() as Float32Array))).kernels.map((k) => k.name);
    let byOps = new Float32Array(0);
    const tapedKernels = (
      await tf.profile(() =>
        tf.grad((d: tf.Tensor) => {
          byOps = mod.forward(p, { x }).outputs['o']!.dataSync() as Float32Array;
          return tf.sum(d);
        })(tf.scalar(1)),
      )
    ).kernels.map((k) => k.name);
    // The group ran as one host kernel, then as its tensors function (a leaky relu kernel of its own).
    expect(hostKernels).toContain('RnncHost');
    expect(hostKernels).not.toContain('LeakyRelu');
    expect(tapedKernels).not.toContain('RnncHost');
    expect(tapedKernels).toContain('LeakyRelu');
    expect(host.length).toBe(want.length);
    expect(byOps.length).toBe(want.length);
    want.forEach((w, i) => {
      expect(Math.abs(host[i]! - w), `host loop, element ${i}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(w)));
      expect(Math.abs(byOps[i]! - w), `op by op, element ${i}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(w)));
    });
    // On wasm too (at this size its host loop).
    await selectBackend('wasm');
    const onWasm = mod.forward(mod.initParams(7), { x: tf.tensor2d(ids, [2, 4], 'int32') }).outputs['o']!.dataSync();
    want.forEach((w, i) => expect(Math.abs(onWasm[i]! - w), `wasm, element ${i}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(w))));
    await selectBackend('cpu');
    session.dispose();
  });
});
