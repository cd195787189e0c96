// The benchmark harness at a tiny size on cpu: every column runs one step
// from rnnc's initial weights and gives rnnc's first loss (token and dense
// inputs), the hand-written backward of the "best hand-written" column
// equals tf.grads of the same forward (lookups and products), rnnc's FLOPs
// counted from its graph are the products it runs, and the cpu column's
// product kernel equals tfjs's matMul. No timing is asserted, ever: these
// machines are shared.
import * as tf from '@tensorflow/tfjs-core';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CELLS, INPUTS, layerFlops, SIZES, trainingFlops, type CellKind, type InputKind } from '../../bench/config.js';
import { withProductMatMul } from '../../bench/cpu-product-kernel.js';
import { makeBenchData } from '../../bench/data.js';
import { handGradients, handInitValues, handLoss, type HandInputs } from '../../bench/hand-fused.js';
import { checkLoss, matMulCeiling, runRow } from '../../bench/harness.js';
import { IMPL_NAMES, timeTraining } from '../../bench/measure.js';
import { rnncTrainingFlops } from '../../bench/rnnc-interpreted.js';
import { microCases, runMicro } from '../../bench/matmul-transpose.js';
import { checkSameEngine } from '../../bench/tf-layers.js';
import { parseTorchOutput, torchReference } from '../../bench/torch.js';
import { Rng } from '../../runtime/rng.js';
import { startBackend } from '../../src/backend-choice.js';

const TINY = SIZES['TINY']!;

beforeAll(async () => {
  await startBackend('cpu');
});

function oneHots(rng: Rng, T: number, B: number, depth: number): tf.Tensor2D[] {
  return Array.from({ length: T }, () => tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: B }, () => rng.int(depth)), 'int32'), depth), 'float32') as tf.Tensor2D);
}

describe('hand-fused backward', () => {
  it.each(CELLS.flatMap((c) => (['ids', 'dense'] as const).map((k) => [c, k] as const)))('%s, %s input: gradients equal tf.grads of the same forward', (cell: CellKind, kind) => {
    const rng = new Rng(7);
    const names: string[] = [];
    const values: tf.Tensor[] = [];
    for (const [name, v] of handInitValues(cell, TINY, 3)) {
      // Non-zero biases too, so that every gradient path is exercised.
      const data = v.data.map((x) => x + rng.uniform(-0.3, 0.3));
      names.push(name);
      values.push(tf.tensor(data, v.shape));
    }
    // Token ids, repeated within a step (the lookup's gradient must sum them), or real-valued rows.
    const inp: HandInputs =
      kind === 'ids'
        ? { kind, ids: Array.from({ length: TINY.T }, () => tf.tensor1d(Array.from({ length: TINY.B }, () => rng.int(2)), 'int32')) }
        : { kind, xs: Array.from({ length: TINY.T }, () => tf.randomUniform([TINY.B, TINY.X], -1, 1, 'float32', rng.int(1000)) as tf.Tensor2D) };
    const xs: tf.Tensor[] = inp.kind === 'ids' ? inp.ids : inp.xs;
    const ys = oneHots(rng, TINY.T, TINY.B, TINY.O);
    const params = (ts: readonly tf.Tensor[]) => Object.fromEntries(names.map((n, i) => [n, ts[i]!]));
    const manual = tf.tidy(() => handGradients(cell, params(values), inp, ys));
    const reference = tf.grads((...ts: tf.Tensor[]) => handLoss(cell, params(ts), inp, ys))(values);
    const refLoss = handLoss(cell, params(values), inp, ys);
    expect(manual.loss.dataSync()[0]).toBeCloseTo(refLoss.dataSync()[0]!, 5);
    expect(Object.keys(manual.grads).sort()).toEqual([...names].sort());
    names.forEach((name, i) => {
      const got = manual.grads[name]!;
      const want = reference[i]!;
      expect(got.shape, name).toEqual(want.shape);
      const scale = Math.max(1e-3, tf.max(tf.abs(want)).dataSync()[0]!);
      const err = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]!;
      expect(err / scale, `${cell} d${name}`).toBeLessThan(1e-4);
    });
    tf.dispose([manual.loss, ...Object.values(manual.grads), ...reference, refLoss, ...values, ...xs, ...ys]);
  });
});

describe('benchmark harness at a tiny size', () => {
  it('tf.layers runs on the same tfjs-core engine and backend as rnnc', () => {
    expect(checkSameEngine()).toBe('cpu');
  });

  const rows = CELLS.flatMap((c) => INPUTS.map((i) => [c, i] as const));
  it.each(rows)('%s, %s input: every tf.layers column, hand-fused and rnnc train a step from rnnc\'s weights to rnnc\'s first loss and release their tensors', async (cell: CellKind, input: InputKind) => {
    const before = tf.memory().numTensors;
    const impls = IMPL_NAMES.filter((n) => n !== 'rnnc-compiled' && n !== 'rnnc-workers');
    const row = await runRow(cell, 'TINY', TINY, { iters: 1, warmup: 1, inferIters: 1, impls, memory: true, workers: 2, log: () => {} }, input);
    expect([row.input, row.trainingFlops]).toEqual([input, trainingFlops(cell, TINY)]);
    expect(row.results.map((r) => r.impl)).toEqual(impls);
    // simpleRNN has no recurrent activation; dense rows have no one-hot column.
    const na = [...(cell === 'rnn' ? ['tf.layers'] : []), ...(input === 'dense' ? ['tf.layers-onehot'] : [])];
    expect(row.results.filter((r) => !r.available).map((r) => r.impl)).toEqual(na);
    for (const r of row.results.filter((x) => x.available)) {
      // tf.layers' default hardSigmoid is another cell; every other column computes rnnc's loss from rnnc's weights.
      expect(r.check, `${r.impl}: ${r.firstLoss}`).toBe(r.impl === 'tf.layers' ? 'other cell' : 'same');
      expect(Number.isFinite(r.firstLoss), r.impl).toBe(true);
      expect(Number.isFinite(r.lastLoss), r.impl).toBe(true);
      // Untrained, every model predicts about uniformly over O classes.
      expect(Math.abs(r.firstLoss! - Math.log(TINY.O)), r.impl).toBeLessThan(1);
      expect(r.trainMs).toBeGreaterThan(0);
      expect(r.inferMs).toBeGreaterThanOrEqual(0);
      expect(r.peakBytes).toBeGreaterThan(0);
    }
    expect(row.speedup).toBeGreaterThan(0);
    const flopsOf = (n: string) => row.results.find((r) => r.impl === n)!.flops;
    expect(flopsOf('hand-fused')).toBe(layerFlops(cell, TINY, input === 'tokens' ? 'lookup' : 'product'));
    expect(flopsOf('tf.layers-sigmoid')).toBe(layerFlops(cell, TINY, 'product'));
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(CELLS)("%s: rnnc's FLOPs, counted from its training graph, are the products it runs: no input product for tokens, the full one for dense rows", (cell: CellKind) => {
    for (const size of ['TINY', 'M']) {
      const s = SIZES[size]!;
      expect(rnncTrainingFlops(cell, s, 'tokens')).toBe(layerFlops(cell, s, 'lookup'));
      expect(rnncTrainingFlops(cell, s, 'dense')).toBe(layerFlops(cell, s, 'product'));
      expect(layerFlops(cell, s, 'lookup')).toBeLessThan(trainingFlops(cell, s));
    }
  });

  it('the loss check: float32 tolerance, relative', () => {
    expect(checkLoss(4.1589, 4.15891)).toBe('same');
    expect(checkLoss(4.1589, 4.16)).toBe('mismatch');
  });

  it("rnnc's product as the cpu backend's matMul kernels equals tfjs's own (transposes, batches, bias) and is restored after", async () => {
    const rng = new Rng(5);
    const r = (shape: number[]) => tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)), shape);
    const a = r([2, 3, 5]);
    const b = r([2, 5, 4]);
    const bt = r([4, 5]);
    const bias = r([4]);
    const run = () =>
      tf.tidy(() => [tf.matMul(a, b), tf.matMul(a, bt, false, true), tf.matMul(tf.transpose(a, [0, 2, 1]), b, true, false), tf.fused.matMul({ a: tf.reshape(a, [6, 5]), b: tf.transpose(bt), bias })].map((t) => Array.from(t.dataSync())));
    const want = run();
    const kernelBefore = tf.getKernel('BatchMatMul', 'cpu');
    const got = await withProductMatMul(async () => run());
    expect(tf.getKernel('BatchMatMul', 'cpu')).toBe(kernelBefore);
    got.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(want[i]![j]!, 5)));
    tf.dispose([a, b, bt, bias]);
  });

  it('the same fixed batch for every column: seeded ids in range', () => {
    const a = makeBenchData(TINY);
    const b = makeBenchData(TINY);
    expect(Array.from(a.xs)).toEqual(Array.from(b.xs));
    expect(a.xs.every((x) => x >= 0 && x < TINY.X)).toBe(true);
    expect(a.ts.every((x) => x >= 0 && x < TINY.O)).toBe(true);
  });

  it('the matMul ceiling and the transpose micro-benchmark run', async () => {
    const c = await matMulCeiling(8, 8, 8, 'tf.matMul', 10, 2);
    expect(c.gflops).toBeGreaterThan(0);
    const own = await matMulCeiling(8, 8, 8, 'rnnc product', 10, 2);
    expect([own.kernel, own.reps]).toEqual(['rnnc product', 2]);
    const m = runMicro([{ label: 'tiny', m: 3, k: 4, n: 5 }], 1);
    expect(Object.keys(m[0]!.ms).sort()).toEqual(['explicitA', 'explicitB', 'plain', 'transposeA', 'transposeB']);
    expect(microCases(['S']).length).toBe(4);
  });
});

describe('the PyTorch reference driver (bench/torch.ts)', () => {
  const rows = [
    { cell: 'lstm' as const, size: 'TINY', shape: TINY },
    { cell: 'gru' as const, size: 'TINY', shape: TINY },
  ];

  it('says why it is left out where the interpreter or torch is missing', () => {
    const r = torchReference(rows, { iters: 1, warmup: 0, inferIters: 1, python: join(tmpdir(), 'no-such-python-here') });
    expect(r.available).toBe(false);
    if (!r.available) expect(r.note).toMatch(/no-such-python-here -c "import torch" failed/);
  });

  it('runs the script with the rows asked for and reads its figures (a stand-in interpreter answering as the script does)', () => {
    // The stand-in checks the config it is given and answers for each row: 10 ms and 0.5 ms per row index + 1.
    const dir = mkdtempSync(join(tmpdir(), 'rnnc-torch-'));
    const fake = join(dir, 'python');
    writeFileSync(
      fake,
      `#!${process.execPath}
const [flag, arg] = process.argv.slice(2);
if (flag === '-c') process.exit(arg === 'import torch' ? 0 : 3);
if (!flag.endsWith('torch_reference.py')) process.exit(4);
const c = JSON.parse(arg);
if (c.iters !== 3 || c.threads !== 2 || c.rows[1].H !== ${TINY.H}) process.exit(5);
console.log(JSON.stringify({ torch: '9.9', threads: c.threads, rows: c.rows.map((r, i) => ({ cell: r.cell, size: r.size, trainMs: 10 * (i + 1), inferMs: 0.5 * (i + 1) })) }));
`,
    );
    chmodSync(fake, 0o755);
    const r = torchReference(rows, { iters: 3, warmup: 1, inferIters: 2, threads: 2, python: fake });
    rmSync(dir, { recursive: true });
    expect(r.available, JSON.stringify(r)).toBe(true);
    if (!r.available) return;
    expect([r.version, r.threads, r.rows.map((x) => [x.cell, x.trainMs, x.inferMs])]).toEqual(['9.9', 2, [['lstm', 10, 0.5], ['gru', 20, 1]]]);
    expect(r.rows[1]!.gflops).toBeCloseTo(layerFlops('gru', TINY, 'product') / 20e6, 12);
  });

  it('rejects output that is not JSON, of another form, or for other rows', () => {
    const good = { torch: '2.1', threads: 2, rows: [{ cell: 'lstm', size: 'TINY', trainMs: 5, inferMs: 1 }, { cell: 'gru', size: 'TINY', trainMs: 6, inferMs: 1 }] };
    expect(parseTorchOutput(JSON.stringify(good), rows).available).toBe(true);
    expect(parseTorchOutput('Traceback (most recent call last):', rows)).toMatchObject({ available: false, note: expect.stringMatching(/no JSON/) });
    expect(parseTorchOutput(JSON.stringify({ ...good, rows: good.rows.slice(1) }), rows)).toMatchObject({ available: false, note: expect.stringMatching(/another form/) });
    const swapped = { ...good, rows: [good.rows[1], good.rows[0]] };
    expect(parseTorchOutput(JSON.stringify(swapped), rows)).toMatchObject({ available: false, note: expect.stringMatching(/row 0 is not lstm TINY/) });
    // --infer-iters 0: the script reports no streaming time, and the row has none.
    const unmeasured = parseTorchOutput(JSON.stringify({ ...good, rows: good.rows.map((r) => ({ ...r, inferMs: null })) }), rows);
    expect(unmeasured.available && unmeasured.rows.map((r) => r.inferMs)).toEqual([undefined, undefined]);
    const negative = { ...good, rows: [good.rows[0], { ...good.rows[1]!, trainMs: -1 }] };
    expect(parseTorchOutput(JSON.stringify(negative), rows)).toMatchObject({ available: false, note: expect.stringMatching(/row 1/) });
  });
});

describe('timeTraining', () => {
  // A clock the stand-in column advances: the test asserts counts of steps, never a time measured on this machine.
  let now = 0;
  const clock = (): number => now;
  /** A stand-in column whose steps take `ms` on the test's clock; counts its steps. */
  const column = (ms: number) => {
    const c = {
      steps: 0,
      name: 'rnnc' as const,
      async trainStep() {
        c.steps++;
        now += ms;
        return c.steps;
      },
      dispose() {},
    };
    return c;
  };

  it('warms up for the steps asked, and for at least minWarmupMs when given (the workers column)', async () => {
    const plain = column(1);
    const t = await timeTraining(plain, 2, 3, 0, clock);
    expect([plain.steps, t.allMs, t.firstLoss, t.lastLoss]).toEqual([5, [1, 1, 1], 1, 5]);
    const long = column(5);
    await timeTraining(long, 2, 3, 60, clock);
    // 60 ms of 5 ms steps (12) before the 3 timed ones.
    expect(long.steps).toBe(12 + 3);
    const none = column(1);
    await timeTraining(none, 0, 2, 60, clock);
    expect(none.steps).toBe(2);
  });
});
