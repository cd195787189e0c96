// Micro-benchmark behind the per-backend lowering choice of issue 4: on the
// current backend, a matMul [m, k] @ [k, n] computed four ways:
//   plain        a @ b, both stored as used;
//   transposeA   a stored [k, m], matMul(a, b, true, false);
//   transposeB   b stored [n, k], matMul(a, b, false, true);
//   explicit     the stored-transposed operand transposed by tf.transpose,
//                then a plain matMul (the transpose is inside the timing;
//                for a weight it is paid once per batch, not per step).
// Shapes are the matMuls of one LSTM step at sizes S, M, L: the forward
// recurrent product, the backward's dh = dz @ W^T, a per-step weight
// gradient h^T @ dz, and the weight gradient over all steps at once.
import * as tf from '@tensorflow/tfjs-core';
import { performance } from 'node:perf_hooks';
import { gflops, SIZES } from './config.js';
import { median } from './measure.js';

export type Variant = 'plain' | 'transposeA' | 'transposeB' | 'explicitA' | 'explicitB';
export const VARIANTS: readonly Variant[] = ['plain', 'transposeA', 'transposeB', 'explicitA', 'explicitB'];

export interface MicroCase {
  readonly label: string;
  readonly m: number;
  readonly k: number;
  readonly n: number;
}

export interface MicroResult extends MicroCase {
  /** Median ms per variant. */
  readonly ms: Readonly<Record<Variant, number>>;
  readonly gflops: Readonly<Record<Variant, number>>;
}

export function microCases(sizes: readonly string[]): MicroCase[] {
  const out: MicroCase[] = [];
  for (const name of sizes) {
    const s = SIZES[name];
    if (!s) continue;
    const G = 4;
    out.push(
      { label: `${name} fwd h@Wh`, m: s.B, k: s.H, n: G * s.H },
      { label: `${name} bwd dz@Wh^T`, m: s.B, k: G * s.H, n: s.H },
      { label: `${name} step h^T@dz`, m: s.H, k: s.B, n: G * s.H },
      { label: `${name} all-steps H^T@dZ`, m: s.H, k: s.T * s.B, n: G * s.H },
    );
  }
  return out;
}

function timeIt(f: () => tf.Tensor, reps: number): number {
  f().dispose(); // warm-up (packing, first-use costs)
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const r = f();
    r.dataSync();
    ms.push(performance.now() - t0);
    r.dispose();
  }
  return median(ms);
}

export function runMicro(cases: readonly MicroCase[], reps: number, log: (line: string) => void = () => {}): MicroResult[] {
  return cases.map((c) => {
    const a = tf.randomUniform([c.m, c.k]) as tf.Tensor2D;
    const b = tf.randomUniform([c.k, c.n]) as tf.Tensor2D;
    const aT = tf.transpose(a) as tf.Tensor2D;
    const bT = tf.transpose(b) as tf.Tensor2D;
    const fns: Record<Variant, () => tf.Tensor> = {
      plain: () => tf.matMul(a, b),
      transposeA: () => tf.matMul(aT, b, true, false),
      transposeB: () => tf.matMul(a, bT, false, true),
      explicitA: () => tf.tidy(() => tf.matMul(tf.transpose(aT) as tf.Tensor2D, b)),
      explicitB: () => tf.tidy(() => tf.matMul(a, tf.transpose(bT) as tf.Tensor2D)),
    };
    const ms = {} as Record<Variant, number>;
    const gf = {} as Record<Variant, number>;
    for (const v of VARIANTS) {
      ms[v] = timeIt(fns[v], reps);
      gf[v] = gflops(2 * c.m * c.k * c.n, ms[v]);
    }
    tf.dispose([a, b, aT, bT]);
    log(`  ${c.label} [${c.m}x${c.k}]@[${c.k}x${c.n}]: ${VARIANTS.map((v) => `${v} ${ms[v].toFixed(2)} ms`).join(', ')}`);
    return { ...c, ms, gflops: gf };
  });
}

export function microTable(results: readonly MicroResult[]): string {
  const head = `| matMul | m x k x n | ${VARIANTS.map((v) => `${v} ms / GFLOP/s`).join(' | ')} |`;
  const sep = `|---|---|${VARIANTS.map(() => '---').join('|')}|`;
  const rows = results.map((r) => `| ${r.label} | ${r.m}x${r.k}x${r.n} | ${VARIANTS.map((v) => `${r.ms[v].toFixed(2)} / ${r.gflops[v].toFixed(1)}`).join(' | ')} |`);
  return [head, sep, ...rows].join('\n');
}
