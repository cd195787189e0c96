// `npm run bench [-- --backend wasm|cpu --sizes S,M,L --cells rnn,lstm,gru --iters 5]`
// The side-by-side benchmark of issue 4: prints markdown tables to stdout,
// progress to stderr, and writes bench/results/<backend>.json.
// `--micro` runs the matMul transpose micro-benchmark instead
// (bench/results/<backend>-matmul-transpose.json); `--scaling` what N
// threads can gain at all on this machine (bench/scaling.ts,
// bench/results/<backend>-scaling.json); `--startup` the start-up time of
// the CLI against `node -e 0` (bench/startup.ts, bench/results/startup.json);
// `--seq2seq` an encoder-decoder with attention against a hand-written tfjs
// one (bench/seq2seq.ts, bench/results/<backend>-seq2seq.json).
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBackend } from '../src/backend-choice.js';
import { packageRoot } from '../src/stdlib.js';
import { CELLS, DEFAULT_SIZES, INPUTS, SIZES, type CellKind, type InputKind } from './config.js';
import { LOSS_TOLERANCE, matMulCeiling, runRow, type CeilingResult, type ImplResult, type RowResult } from './harness.js';
import { microCases, microTable, runMicro } from './matmul-transpose.js';
import { IMPL_NAMES, REFERENCE_IMPL, type ImplName } from './measure.js';
import { checkSameEngine } from './tf-layers.js';
import { measureScaling, scalingTable, type ScalingResult } from './scaling.js';
import { torchReference, type TorchResult } from './torch.js';
import { measureStartup, startupTable } from './startup.js';

const USAGE = `usage: npm run bench -- [--backend tensorflow|wasm|cpu] [--sizes S,M,L] [--cells rnn,lstm,gru] [--inputs tokens,dense]
                      [--iters 5] [--warmup 2] [--infer-iters 20] [--impls ${IMPL_NAMES.join(',')}]
                      [--workers 2] [--no-memory] [--no-ceiling] [--no-torch] [--torch-threads N] [--out FILE] [--micro] [--scaling] [--startup] [--seq2seq]
The PyTorch-CPU reference runs where \`python3 -c "import torch"\` works (RNNC_PYTHON: another interpreter).`;

function list<T extends string>(value: string | undefined, allowed: readonly T[], fallback: readonly T[], what: string): T[] {
  if (value === undefined) return [...fallback];
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const it of items) if (!(allowed as readonly string[]).includes(it)) throw new Error(`unknown ${what} '${it}' (valid: ${allowed.join(', ')})`);
  return items as T[];
}

function positiveInt(value: string | undefined, fallback: number, what: string, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${what} must be an integer >= ${min}, not '${value}'`);
  return n;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

function machine(backend: string): Record<string, unknown> {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    platform: `${platform()} ${process.arch}`,
    node: process.version,
    backend,
    tfjsCore: tf.version_core,
    wasmThreads: backend === 'wasm' ? tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') : undefined,
    loadAverageAtStart: loadavg().map((x) => +x.toFixed(2)),
    date: new Date().toISOString(),
  };
}

const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const cellOf = (r: ImplResult | undefined, f: (r: ImplResult) => string): string => (!r ? '-' : r.available ? f(r) : r.note?.startsWith('n/a') ? 'n/a' : 'failed');

/** The ceiling a column's GFLOP/s is a share of: on cpu rnnc's products (and the product-kernel column's) are its host loop; elsewhere the backend's matMul. */
export function ceilingOf(impl: ImplName, backend: string, ceiling: readonly CeilingResult[]): number | undefined {
  const own = backend === 'cpu' && (impl.startsWith('rnnc') || impl === 'tf.layers-product');
  const pick = ceiling.filter((c) => c.kernel === (own ? 'rnnc product' : 'tf.matMul'));
  return pick.length > 0 ? Math.max(...pick.map((c) => c.gflops)) : undefined;
}

export function implLabel(n: ImplName, workers: number): string {
  switch (n) {
    case 'tf.layers':
      return 'tf.layers (hardSigmoid)';
    case 'tf.layers-sigmoid':
      return 'tf.layers (sigmoid)';
    case 'tf.layers-onehot':
      return 'extra: tf.layers one-hot (sigmoid)';
    case 'tf.layers-product':
      return "tf.layers (sigmoid) on rnnc's product";
    case 'hand-fused':
      return 'hand-written';
    case 'rnnc':
      return 'rnnc';
    case 'rnnc-compiled':
      return 'rnnc compiled';
    case 'rnnc-workers':
      return `rnnc ${workers} workers`;
  }
}

export function tables(rows: readonly RowResult[], impls: readonly ImplName[], workers: number, backend: string, ceiling: readonly CeilingResult[]): string {
  const get = (row: RowResult, name: ImplName): ImplResult | undefined => row.results.find((r) => r.impl === name);
  const label = (n: ImplName): string => implLabel(n, workers);
  const shown = impls.filter((n) => rows.some((row) => get(row, n)?.available));
  const speedImpls = shown.filter((n) => n !== REFERENCE_IMPL);
  const rowName = (row: RowResult): string => `${row.cell.toUpperCase()} ${row.size} ${row.input}`;
  const pct = (r: ImplResult): string => {
    const c = ceilingOf(r.impl, backend, ceiling);
    return c !== undefined && r.gflops !== undefined ? ` (${((100 * r.gflops) / c).toFixed(0)} %)` : '';
  };
  const speed = (r: ImplResult): string => (r.check === 'mismatch' ? 'mismatch' : r.speedup !== undefined ? `${r.speedup.toFixed(2)}x${r.check === 'other cell' ? ' (other cell)' : ''}` : '-');
  const vsHand = (row: RowResult): string => {
    const h = get(row, 'hand-fused');
    const r = get(row, 'rnnc');
    if (!h?.trainMs || !r?.trainMs) return '-';
    return h.check === 'mismatch' || r.check === 'mismatch' ? 'mismatch' : `${(h.trainMs / r.trainMs).toFixed(2)}x`;
  };
  const checks = (row: RowResult): string =>
    row.results
      .filter((r) => r.available && r.check !== 'same')
      .map((r) => `${label(r.impl)}: ${r.check ?? 'unchecked'}`)
      .join('; ') || 'all same';
  const train = [
    `| | ${shown.map((n) => `${label(n)} ms / GFLOP/s (% of ceiling)`).join(' | ')} | ${speedImpls.map((n) => `speedup ${label(n)}`).join(' | ')} | rnnc vs hand-written | first loss vs rnnc |`,
    `|---|${shown.map(() => '---').join('|')}|${speedImpls.map(() => '---').join('|')}|---|---|`,
    ...rows.map(
      (row) =>
        `| ${rowName(row)} | ${shown.map((n) => cellOf(get(row, n), (r) => `${fmtMs(r.trainMs!)} / ${r.gflops!.toFixed(1)}${pct(r)}`)).join(' | ')} | ${speedImpls.map((n) => cellOf(get(row, n), speed)).join(' | ')} | ${vsHand(row)} | ${checks(row)} |`,
    ),
  ];
  const other = [
    `| | ${shown.map((n) => `${label(n)} step ms`).join(' | ')} | ${shown.map((n) => `${label(n)} peak MiB`).join(' | ')} |`,
    `|---|${shown.map(() => '---').join('|')}|${shown.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${rowName(row)} | ${shown.map((n) => cellOf(get(row, n), (r) => (r.inferMs !== undefined ? fmtMs(r.inferMs) : '-'))).join(' | ')} | ${shown.map((n) => cellOf(get(row, n), (r) => (r.peakBytes !== undefined ? (r.peakBytes / 2 ** 20).toFixed(1) : '-'))).join(' | ')} |`),
  ];
  const notes = rows.flatMap((row) => row.results.filter((r) => !r.available && !r.note?.startsWith('n/a')).map((r) => `- ${rowName(row)} ${r.impl}: ${r.note}`));
  return [
    `### Training: median ms per batch (forward + backward + Adam) / GFLOP/s of the products each column runs (% of the matMul ceiling); speedup = ${label(REFERENCE_IMPL)} ms / ms`,
    '',
    `Every column starts from rnnc's initial weights; "first loss vs rnnc" lists the columns whose first-batch loss differs from rnnc's by more than ${LOSS_TOLERANCE} (relative): "mismatch" replaces their speedup; "other cell" is tf.layers' default hardSigmoid, other maths from the same weights (not checked).`,
    '',
    ...train,
    '',
    '### Streaming inference (one step, batch 1, state carried) and peak memory of a training step',
    '',
    'Peak memory: high-water mark of tf.memory().numBytes, sampled after every kernel (tf.profile peakBytes) in one extra untimed step, minus the bytes live before it.',
    '',
    ...other,
    ...dispatchTable(rows, shown, label),
    ...(notes.length > 0 ? ['', ...[...new Set(notes)]] : []),
  ].join('\n');
}

/** On webgpu: GPU dispatches per training batch of each column, and rnnc's with its fused kernels off (runtime/tfjs/webgpu-fused.ts). */
function dispatchTable(rows: readonly RowResult[], shown: readonly ImplName[], label: (n: ImplName) => string): string[] {
  const counted = rows.some((row) => row.results.some((r) => r.dispatches !== undefined));
  if (!counted) return [];
  const cell = (r: ImplResult | undefined, v: number | undefined): string => (r === undefined || !r.available ? 'n/a' : v !== undefined ? String(v) : '-');
  return [
    '',
    '### GPU dispatches per training batch (compute programs the webgpu backend runs in one step)',
    '',
    `| | ${shown.map(label).join(' | ')} | rnnc op by op (fused kernels off) |`,
    `|---|${shown.map(() => '---').join('|')}|---|`,
    ...rows.map((row) => {
      const rnnc = row.results.find((r) => r.impl === 'rnnc');
      return `| ${row.cell.toUpperCase()} ${row.size} ${row.input} | ${shown.map((n) => { const r = row.results.find((x) => x.impl === n); return cell(r, r?.dispatches); }).join(' | ')} | ${cell(rnnc, rnnc?.dispatchesUnfused)} |`;
    }),
  ];
}

/** PyTorch's figures beside rnnc's (interpreted): the distance left, as torch ms / rnnc ms (above 1: rnnc faster). */
function torchTable(torch: Extract<TorchResult, { available: true }>, rows: readonly RowResult[]): string {
  const rnnc = (row: RowResult): ImplResult | undefined => row.results.find((r) => r.impl === 'rnnc' && r.available);
  return [
    `### PyTorch ${torch.version} on the CPU (${torch.threads} threads): the same rows; ratio = torch ms / rnnc ms`,
    '',
    `BLAS: ${JSON.stringify(torch.blas ?? 'not reported')}. PyTorch starts from its own weights (its GRU is the reset-after form): its losses are not compared.`,
    '',
    '| | torch ms / GFLOP/s | rnnc ms | training ratio | torch step ms | rnnc step ms | streaming ratio |',
    '|---|---|---|---|---|---|---|',
    ...torch.rows.map((t, i) => {
      const r = rnnc(rows[i]!);
      const ratio = (a: number | undefined, b: number | undefined): string => (a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}x` : '-');
      return `| ${t.cell.toUpperCase()} ${t.size} ${t.input} | ${fmtMs(t.trainMs)} / ${t.gflops.toFixed(1)} | ${r?.trainMs !== undefined ? fmtMs(r.trainMs) : '-'} | ${ratio(t.trainMs, r?.trainMs)} | ${t.inferMs !== undefined ? fmtMs(t.inferMs) : '-'} | ${r?.inferMs !== undefined ? fmtMs(r.inferMs) : '-'} | ${ratio(t.inferMs, r?.inferMs)} |`;
    }),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string' },
      sizes: { type: 'string' },
      cells: { type: 'string' },
      inputs: { type: 'string' },
      iters: { type: 'string' },
      warmup: { type: 'string' },
      'infer-iters': { type: 'string' },
      impls: { type: 'string' },
      'no-memory': { type: 'boolean' },
      'no-ceiling': { type: 'boolean' },
      'no-torch': { type: 'boolean' },
      'torch-threads': { type: 'string' },
      out: { type: 'string' },
      micro: { type: 'boolean' },
      scaling: { type: 'boolean' },
      startup: { type: 'boolean' },
      seq2seq: { type: 'boolean' },
      workers: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const sizes = list(values.sizes, Object.keys(SIZES), DEFAULT_SIZES, 'size');
  const cells = list<CellKind>(values.cells, CELLS, CELLS, 'cell');
  const inputs = list<InputKind>(values.inputs, INPUTS, INPUTS, 'input');
  const impls = list<ImplName>(values.impls, IMPL_NAMES, IMPL_NAMES, 'implementation');
  const iters = positiveInt(values.iters, 5, 'iters');
  const warmup = positiveInt(values.warmup, 2, 'warmup', 0);
  const inferIters = positiveInt(values['infer-iters'], 20, 'infer-iters', 0);
  const workers = positiveInt(values.workers, 2, 'workers');
  const torchThreads = positiveInt(values['torch-threads'], 0, 'torch-threads', 0);

  if (values.startup) {
    // Before any backend starts: this measures other processes, and needs none.
    const runs = positiveInt(values.iters, 11, 'iters');
    const root = packageRoot();
    log(`start-up: median of ${runs} runs of each command, in separate processes`);
    const startup = measureStartup(root, runs);
    const info = machine('none');
    console.log(`## rnnc start-up; ${info.cpu}, ${info.cores} cores; median of ${runs}\n\n${startupTable(startup)}`);
    const out = values.out ?? join(root, 'bench', 'results', 'startup.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ machine: info, runs, results: startup }, null, 2)}\n`);
    return;
  }
  const backend = await startBackend(values.backend);
  const backendName = tf.getBackend();
  log(`rnnc bench: backend ${backend}`);
  // On webgpu the words say which adapter (a software one, lavapipe or SwiftShader, is no GPU figure).
  const info: Record<string, unknown> = { ...machine(backendName), ...(backendName === 'webgpu' ? { backendDetail: backend } : {}) };
  const results = join(packageRoot(), 'bench', 'results');

  if (values.seq2seq) {
    const { runSeq2seq, seq2seqTable, SEQ2SEQ } = await import('./seq2seq.js');
    log(`seq2seq: encoder-decoder with additive attention, ${JSON.stringify(SEQ2SEQ)}`);
    const r = await runSeq2seq(Math.max(iters, 3), warmup, log, undefined, { torch: !values['no-torch'], threads: torchThreads });
    console.log(`## Encoder-decoder with attention, training step (${backendName}; ${info.cpu}, ${info.cores} cores; median of ${Math.max(iters, 3)})\n\n${seq2seqTable(r, backendName)}`);
    const out = values.out ?? join(results, `${backendName}-seq2seq.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ machine: info, result: r }, null, 2)}\n`);
    log(`wrote ${out}`);
    return;
  }

  if (values.micro) {
    log('matMul transpose micro-benchmark');
    const micro = runMicro(microCases(sizes), Math.max(iters, 5), log);
    console.log(`## matMul: plain vs transposeA/B vs explicit transpose (${backendName}; ${info.cpu}, ${info.cores} cores)\n\n${microTable(micro)}`);
    const out = values.out ?? join(results, `${backendName}-matmul-transpose.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ machine: info, results: micro }, null, 2)}\n`);
    log(`wrote ${out}`);
    return;
  }

  if (values.scaling) {
    log(`scaling: whole batch, 1/${workers} alone, ${workers} parts at once`);
    const scaling: ScalingResult[] = [];
    for (const size of sizes) {
      for (const cell of cells) {
        log(`${cell} ${size}`);
        scaling.push(await measureScaling(cell, size, SIZES[size]!, workers, warmup, iters));
      }
    }
    console.log(`## rnnc bench --scaling: ${backendName} backend; ${info.cpu}, ${info.cores} cores; median of ${iters} after ${warmup} warm-up\n\n${scalingTable(scaling)}`);
    const out = values.out ?? join(results, `${backendName}-scaling.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ machine: info, options: { sizes, cells, iters, warmup, threads: workers }, results: scaling }, null, 2)}\n`);
    log(`wrote ${out}`);
    return;
  }

  if (impls.includes('tf.layers')) log(`tf.layers runs on tfjs-core backend '${checkSameEngine()}' (the same engine as rnnc)`);
  const ceiling: CeilingResult[] = [];
  if (!values['no-ceiling']) {
    log('matMul ceiling: 2048^3 and 64x512x2048');
    ceiling.push(await matMulCeiling(2048, 2048, 2048), await matMulCeiling(64, 512, 2048));
    // On cpu rnnc's products are its own host loop, not the backend's kernel: its ceiling too.
    if (backendName === 'cpu') ceiling.push(await matMulCeiling(2048, 2048, 2048, 'rnnc product'), await matMulCeiling(64, 512, 2048, 'rnnc product'));
  }
  const rows: RowResult[] = [];
  for (const input of inputs) {
    for (const size of sizes) {
      for (const cell of cells) {
        log(`${cell} ${size} ${input} ${JSON.stringify(SIZES[size])} (load average ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
        rows.push(await runRow(cell, size, SIZES[size]!, { iters, warmup, inferIters, impls, memory: !values['no-memory'], workers, log }, input));
      }
    }
  }

  let torch: TorchResult | undefined;
  if (!values['no-torch']) {
    torch = torchReference(rows, { iters, warmup, inferIters, threads: torchThreads, log });
    if (!torch.available) log(`PyTorch reference left out: ${torch.note}`);
  }

  const header = `## rnnc bench: ${backendName === 'webgpu' ? backend : backendName} backend; ${info.cpu}, ${info.cores} cores, Node ${info.node}; median of ${iters} after ${warmup} warm-up`;
  const ceilingText = ceiling.length > 0 ? `\nmatMul ceiling: ${ceiling.map((c) => `${c.kernel} ${c.shape.join('x')} ${c.gflops.toFixed(1)} GFLOP/s (${fmtMs(c.ms)} ms)`).join('; ')}\n` : '';
  const loadEnd = loadavg().map((x) => +x.toFixed(2));
  console.log(`${header}; load average ${(info.loadAverageAtStart as number[]).join(' ')} at start, ${loadEnd.join(' ')} at the end\n${ceilingText}\n${tables(rows, impls, workers, backendName, ceiling)}${torch?.available ? `\n\n${torchTable(torch, rows)}` : ''}`);
  const out = values.out ?? join(results, `${backendName}.json`);
  mkdirSync(dirname(out), { recursive: true });
  const options = { sizes, cells, inputs, impls, iters, warmup, inferIters, memory: !values['no-memory'], workers };
  const flops = "each result's flops: the matrix products it runs in one training batch (rnnc: counted from its training graph, bench/flops.ts; the others: bench/config.ts layerFlops); a row's trainingFlops: issue 4's formula 3T(2B(X+H)GH + 2BHO), a reference only";
  writeFileSync(out, `${JSON.stringify({ machine: { ...info, loadAverageAtEnd: loadEnd }, options, flops, lossTolerance: LOSS_TOLERANCE, memory: 'peakBytes: tf.profile peakBytes (numBytes high-water mark sampled after every kernel) minus numBytes before the step', ceiling, rows, ...(torch ? { torch } : {}) }, null, 2)}\n`);
  log(`wrote ${out}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    log(`bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
