// `npm run bench -- --seq2seq`: an encoder-decoder with additive attention
// trained side by side (issue 11): rnnc (the model in the language, its
// symbolic gradients, a TrainingSession, as `rnnc run` trains) against what a
// tfjs user writes by hand (a GRU encoder loop and a per-step attention
// decoder loop, differentiated by tf.variableGrads, Adam from tf.train).
// Both start from the same weights (rnnc's initialisation, copied) and run
// the same maths on the same batch: the first loss must agree. Where
// `python3 -c "import torch"` works, PyTorch runs the same model from the
// same weights (bench/torch_seq2seq.py, threads pinned to --torch-threads).
// Decoding throughput (greedy and beam 4, sentences per second) is rnnc's.
//
// The embedding lookups of the hand-written model are tf.gather with a
// gradient by tf.scatterND (tf.customGrad): wasm has no UnsortedSegmentSum,
// which tf.gather's own gradient needs, and a one-hot product would do more
// work than rnnc's lookup.
import * as tf from '@tensorflow/tfjs-core';
// tf.variableGrads needs the gradient functions, which tfjs-core registers only on request. tfjs-layers
// registers them all when it loads; tfjs-core's own register_all_gradients.js is an ES module with
// extensionless imports, which Node refuses (only bundlers and vitest load it).
import '@tensorflow/tfjs-layers';
import { analyze, buildModel, trainingGraphs } from '../compiler/compile.js';
import type { LoweredModel } from '../compiler/sema/model.js';
import { makeBatches } from '../runtime/data/batching.js';
import type { Batch, Example } from '../runtime/data/types.js';
import { Rng } from '../runtime/rng.js';
import { TrainingSession } from '../runtime/train/session.js';
import { beamSearch, greedy } from '../src/commands/translate.js';
import { sessionGraphs } from '../src/project.js';
import { loadStdlib } from '../src/stdlib.js';
import { median } from './measure.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/stdlib.js';

/** The issue's fixed size: batch, source and target lengths, vocabularies, embedding and hidden sizes. */
export const SEQ2SEQ = { B: 64, S: 24, U: 12, V: 40, K: 16, E: 64, H: 256 } as const;
export type Shape = { -readonly [k in keyof typeof SEQ2SEQ]: number };

// The program is written out here, not shared with test/helpers/programs.ts (attentionSeq2seq): the
// benchmark's figures must not move when a test fixture changes.
export const SEQ2SEQ_PROGRAM = `
cell att_dec(mem: [L, D]) -> y: token[K] {
  option start = 0
  param E: [M, K]
  param W: [H, M]
  param U: [H, H]
  param C: [H, D]
  param b: [H]
  param W_y: [K, H]
  param b_y: [K]
  e[t] = E @ one_hot(y[t-1])
  c[t] = attend(s[t-1], mem, additive)
  s[t] = tanh(W @ e[t] + U @ s[t-1] + C @ c[t] + b)
  y[t] = W_y @ s[t] + b_y
}
model s2s {
  dim V, K, E, H
  input  src: seq<token[V]>
  target tgt: seq<token[K]>
  enc = gru(embed(src, E)) with H
  y   = att_dec(enc) with H, M = E
  loss = cross_entropy(y, tgt)
}
train s2s { optimizer adam(lr = 1e-3); seed 1 }
`;

function compile(s: Shape): { model: LoweredModel; session: TrainingSession } {
  const a = analyze({ file: 'seq2seq.rnn', text: SEQ2SEQ_PROGRAM }, loadStdlib());
  const built = buildModel(a, 's2s', { V: s.V, K: s.K, E: s.E, H: s.H });
  if (!built.model) throw new Error(`seq2seq bench model: ${built.diagnostics.map((d) => d.message).join('; ')}`);
  const config = a.trains.get('s2s')!;
  const session = new TrainingSession(built.model, config, sessionGraphs(built.model, config));
  session.initParams(1);
  return { model: built.model, session };
}

/** A fixed batch of random sources and targets, full length. */
function batchOf(s: Shape): { batch: Batch; src: Int32Array[]; tgt: Int32Array[] } {
  const rng = new Rng(7);
  const src = Array.from({ length: s.B }, () => Int32Array.from({ length: s.S }, () => rng.int(s.V)));
  const tgt = Array.from({ length: s.B }, () => Int32Array.from({ length: s.U }, () => 1 + rng.int(s.K - 1)));
  const examples: Example[] = src.map((x, b) => ({ inputs: [{ kind: 'tokens', ids: x }], targets: [{ kind: 'tokens', ids: tgt[b]! }] }));
  const specs = { inputs: [{ name: 'src', type: { kind: 'tokens' as const, vocab: s.V } }], targets: [{ name: 'tgt', type: { kind: 'tokens' as const, vocab: s.K } }], separateTargets: true };
  return { batch: makeBatches(examples, specs, s.B, null)[0]!, src, tgt };
}

/** Rows of `table` at `ids`, with the gradient a tfjs user registers on wasm: scatterND of the rows' gradients. */
const lookup = tf.customGrad(((table: tf.Tensor, ids: tf.Tensor, save: tf.GradSaveFunc) => {
  save([ids]);
  const rows = table.shape[0]!;
  return {
    value: tf.gather(table, ids as tf.Tensor1D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.scatterND(tf.reshape(saved[0]!, [-1, 1]), dy, [rows, dy.shape[1]!]), tf.zerosLike(saved[0]!)],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (table: tf.Tensor, ids: tf.Tensor) => tf.Tensor2D;

/** The hand-written model: per-step loops, tf.variableGrads, tf.train.adam; weights copied from rnnc's. */
function handModel(s: Shape, init: Record<string, { shape: number[]; data: number[] }>, src: readonly Int32Array[], tgt: readonly Int32Array[]) {
  const v = (name: string) => tf.variable(tf.tensor(init[name]!.data, init[name]!.shape), true, `hand.${name}`);
  const P = Object.fromEntries(Object.keys(init).map((k) => [k, v(k)])) as Record<string, tf.Variable>;
  const T = (x: tf.Tensor) => tf.transpose(x);
  const srcT = Array.from({ length: s.S }, (_, t) => tf.tensor1d(src.map((x) => x[t]!), 'int32'));
  const tgtT = Array.from({ length: s.U }, (_, t) => tf.tensor1d(tgt.map((x) => x[t]!), 'int32'));
  const prevT = [tf.zeros([s.B], 'int32') as tf.Tensor1D, ...tgtT.slice(0, -1)];
  const loss = (): tf.Scalar => {
    const g = (n: string) => P[`enc.${n}`]!;
    let h: tf.Tensor = tf.zeros([s.B, s.H]);
    const outs: tf.Tensor[] = [];
    for (let t = 0; t < s.S; t++) {
      const x = lookup(P['enc.embed.table']!, srcT[t]!);
      const z = tf.sigmoid(tf.add(tf.add(tf.matMul(x, T(g('W_z'))), tf.matMul(h, T(g('U_z')))), g('b_z')));
      const r = tf.sigmoid(tf.add(tf.add(tf.matMul(x, T(g('W_r'))), tf.matMul(h, T(g('U_r')))), g('b_r')));
      const n = tf.tanh(tf.add(tf.add(tf.matMul(x, T(g('W_n'))), tf.matMul(tf.mul(r, h), T(g('U_n')))), g('b_n')));
      h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
      outs.push(h);
    }
    const mem = tf.stack(outs, 1); // [B, S, H]
    const memProj = tf.reshape(tf.matMul(tf.reshape(mem, [s.B * s.S, s.H]), T(P['y.c.W_m']!)), [s.B, s.S, -1]);
    const d = (n: string) => P[`y.${n}`]!;
    const ET = T(d('E'));
    let st: tf.Tensor = tf.zeros([s.B, s.H]);
    let total: tf.Tensor = tf.scalar(0);
    for (let t = 0; t < s.U; t++) {
      const e = lookup(ET, prevT[t]!);
      const hid = tf.tanh(tf.add(memProj, tf.expandDims(tf.matMul(st, T(d('c.W_q'))), 1)));
      const alpha = tf.softmax(tf.sum(tf.mul(hid, d('c.v')), -1));
      const ctx = tf.sum(tf.mul(tf.expandDims(alpha, 2), mem), 1);
      st = tf.tanh(tf.add(tf.add(tf.add(tf.matMul(e, T(d('W'))), tf.matMul(st, T(d('U')))), tf.matMul(ctx, T(d('C')))), d('b')));
      const logits = tf.add(tf.matMul(st, T(d('W_y'))), d('b_y'));
      total = tf.add(total, tf.losses.softmaxCrossEntropy(tf.oneHot(tgtT[t]!, s.K), logits));
    }
    return tf.div(total, s.U) as tf.Scalar;
  };
  const optimizer = tf.train.adam(1e-3);
  return {
    firstLoss: () => tf.tidy(() => loss().dataSync()[0]!),
    step: () => {
      const l = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(loss);
        optimizer.applyGradients(grads as Parameters<typeof optimizer.applyGradients>[0]);
        return value.dataSync()[0]!;
      });
      return l;
    },
    dispose: () => {
      tf.dispose([...Object.values(P), ...srcT, ...tgtT, prevT[0]!]);
      optimizer.dispose();
    },
  };
}

export interface Seq2seqResult {
  readonly shape: Shape;
  readonly firstLoss: { readonly rnnc: number; readonly hand: number };
  /** Median milliseconds per training step (forward, backward, Adam). */
  readonly trainMs: { readonly rnnc: number; readonly hand: number };
  readonly speedup: number;
  /** Sentences per second, rnnc: greedy decoding of the batch, and beam search of width 4. */
  readonly greedyPerSecond: number;
  readonly beam4PerSecond: number;
  /** PyTorch on the same CPU, from the same weights and batch; or why it is left out. */
  readonly torch?: { readonly available: true; readonly version: string; readonly threads: number; readonly blas: unknown; readonly firstLoss: number; readonly trainMs: number } | { readonly available: false; readonly note: string };
}

/** Options of the PyTorch column: its threads (0: PyTorch's default), the interpreter, or none at all. */
export interface Seq2seqTorchOptions {
  readonly torch?: boolean;
  readonly threads?: number;
  readonly python?: string;
}

/** The PyTorch column (bench/torch_seq2seq.py): the same model, weights and batch. */
function torchSeq2seq(s: Shape, init: unknown, src: readonly Int32Array[], tgt: readonly Int32Array[], iters: number, warmup: number, o: Seq2seqTorchOptions, log: (line: string) => void): NonNullable<Seq2seqResult['torch']> {
  const python = o.python ?? process.env['RNNC_PYTHON'] ?? 'python3';
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return { available: false, note: `${python} -c "import torch" failed (${probe.error?.message ?? probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`})` };
  const dir = mkdtempSync(join(tmpdir(), 'rnnc-seq2seq-'));
  try {
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ shape: s, threads: o.threads ?? 0, iters, warmup, params: init, src: src.map((x) => [...x]), tgt: tgt.map((x) => [...x]) }));
    log(`PyTorch column: ${python} bench/torch_seq2seq.py`);
    const run = spawnSync(python, [join(packageRoot(), 'bench', 'torch_seq2seq.py'), config], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 30 * 60 * 1000, maxBuffer: 1 << 24 });
    if (run.error || run.status !== 0) return { available: false, note: `bench/torch_seq2seq.py failed (${run.error?.message ?? `exit ${run.status}`})` };
    const out = JSON.parse(run.stdout) as { torch: string; threads: number; blas: unknown; firstLoss: number; trainMs: number };
    return { available: true, version: out.torch, threads: out.threads, blas: out.blas, firstLoss: out.firstLoss, trainMs: out.trainMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runSeq2seq(iters: number, warmup: number, log: (s: string) => void, shape: Shape = { ...SEQ2SEQ }, torchOptions: Seq2seqTorchOptions = {}): Promise<Seq2seqResult> {
  const s: Shape = { ...shape };
  const { model, session } = compile(s);
  const { batch, src, tgt } = batchOf(s);
  const init = await session.paramsJson();
  const hand = handModel(s, init as unknown as Record<string, { shape: number[]; data: number[] }>, src, tgt);
  const rnncFirst = (await session.evaluate([batch])).loss;
  const handFirst = hand.firstLoss();
  const time = async (f: () => unknown, what: string): Promise<number> => {
    for (let i = 0; i < warmup; i++) await f();
    const ms: number[] = [];
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      await f();
      ms.push(performance.now() - t0);
      log(`  ${what} ${i + 1}/${iters}: ${ms.at(-1)!.toFixed(0)} ms`);
    }
    return median(ms);
  };
  const rnncMs = await time(() => session.trainBatch(batch), 'rnnc');
  const handMs = await time(() => hand.step(), 'hand-written tfjs');
  hand.dispose();
  const own = compileGreedy(model);
  const limits = { lengths: src.map(() => s.U), own: true };
  const greedyMs = await time(() => greedy(session, own, src, limits), 'greedy decoding');
  const beamMs = await time(() => beamSearch(session, src, 4, limits), 'beam 4');
  session.dispose();
  const torch = torchOptions.torch === false ? undefined : torchSeq2seq(s, init, src, tgt, iters, warmup, torchOptions, log);
  return {
    ...(torch ? { torch } : {}),
    shape: s,
    firstLoss: { rnnc: rnncFirst, hand: handFirst },
    trainMs: { rnnc: rnncMs, hand: handMs },
    speedup: handMs / rnncMs,
    greedyPerSecond: (s.B * 1000) / greedyMs,
    beam4PerSecond: (s.B * 1000) / beamMs,
  };
}

function compileGreedy(model: LoweredModel) {
  const a = analyze({ file: 'seq2seq.rnn', text: SEQ2SEQ_PROGRAM }, loadStdlib());
  const dims: Record<string, number> = {};
  for (const [k, v] of model.dims) if (typeof v === 'number') dims[k] = v;
  const own = buildModel(a, 's2s', dims, { kind: 'own', draw: 'argmax' }).model!;
  return trainingGraphs(own, false, { liftParamTransposes: true }).predict;
}

export function seq2seqTable(r: Seq2seqResult, backend: string): string {
  const same = Math.abs(r.firstLoss.rnnc - r.firstLoss.hand) <= 1e-4 * Math.max(1, Math.abs(r.firstLoss.hand));
  return [
    `| implementation | first loss | ms per training step | speed |`,
    `|---|---|---|---|`,
    `| rnnc (${backend}) | ${r.firstLoss.rnnc.toFixed(5)} | ${r.trainMs.rnnc.toFixed(0)} | ${same ? `${r.speedup.toFixed(2)}x` : 'loss mismatch'} |`,
    `| hand-written tfjs, tf.variableGrads | ${r.firstLoss.hand.toFixed(5)} | ${r.trainMs.hand.toFixed(0)} | 1x |`,
    ...(r.torch?.available
      ? [`| PyTorch ${r.torch.version} (${r.torch.threads} thread${r.torch.threads === 1 ? '' : 's'}), autograd | ${r.torch.firstLoss.toFixed(5)} | ${r.torch.trainMs.toFixed(0)} | ${Math.abs(r.torch.firstLoss - r.firstLoss.rnnc) <= 1e-4 * Math.max(1, Math.abs(r.firstLoss.rnnc)) ? `${(r.trainMs.hand / r.torch.trainMs).toFixed(2)}x` : 'loss mismatch'} |`]
      : []),
    '',
    ...(r.torch && !r.torch.available ? [`PyTorch: left out, ${r.torch.note}.`, ''] : []),
    `Decoding with rnnc (batch ${r.shape.B}, ${r.shape.U} output steps): greedy ${r.greedyPerSecond.toFixed(0)} sentences/s, beam 4 ${r.beam4PerSecond.toFixed(0)} sentences/s.`,
  ].join('\n');
}
