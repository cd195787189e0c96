// `rnnc run FILE`: train per the train block (flags override it), with
// progress, checkpoints (periodic, at the end, on Ctrl-C), a metrics log,
// and evaluation on the validation split at the end.
import { getBackend } from '@tensorflow/tfjs-core';
import { appendFileSync, existsSync, lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Graph } from '../../compiler/ir/types.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from '../../runtime/checkpoint.js';
import { makeBatches, type BatchSpecs } from '../../runtime/data/batching.js';
import type { Dataset } from '../../runtime/data/types.js';
import { parseParamsJson } from '../../runtime/params-json.js';
import { Rng } from '../../runtime/rng.js';
import { feedProbability } from '../../runtime/train/feed-schedule.js';
import { trainLoop, type Position } from '../../runtime/train/loop.js';
import type { EvalResult, TrainingSession } from '../../runtime/train/session.js';
import { EXIT, CliError } from '../errors.js';
import { makeFolders, nodeIO, userError } from '../node-io.js';
import { ProgressReporter } from '../progress.js';
import { heatmapFormat } from '../heatmap.js';
import { checkOutput, heatmapFile } from '../output-file.js';
import { newSession } from '../new-session.js';
import { greedyGraph, loadData, teacherGraph, trainingModel, loadProgram, modelForData, pickModel, readSource, trainConfigFor, type Overrides } from '../project.js';
import { info } from '../terminal.js';
import { startBackend } from '../backend-choice.js';
import { DataParallelTrainer } from '../parallel/trainer.js';
import { observeValidation, watchedValue, type Watch } from '../validation-watch.js';

export interface RunOptions extends Overrides {
  readonly model?: string;
  readonly backend?: string;
  readonly resume?: string;
  readonly out?: string;
  readonly steps?: number;
  readonly checkpointEvery?: number;
  readonly initParams?: string;
  readonly quiet?: boolean;
  readonly remat?: boolean;
  readonly workers?: number;
  /** Draw the run's curves (rnnc plot) into this file at the end (.svg or .html). */
  readonly plot?: string;
  readonly force?: boolean;
  /** Print the final metrics as one JSON object instead of text lines. */
  readonly json?: boolean;
}

export interface CheckpointExtra {
  readonly dims: Record<string, number>;
  readonly vocabs: { readonly inputs: (unknown | null)[]; readonly targets: (unknown | null)[] };
  readonly data: { readonly name: string; readonly args: Readonly<Record<string, number | string>> };
  readonly task: Dataset['task'];
  readonly level: 'char' | 'word';
  /** The .rnn file the run trained (absolute), so that a run of another file does not silently replace it. */
  readonly source?: string;
}

export function textLevel(name: string, args: Readonly<Record<string, number | string>>): 'char' | 'word' {
  return name === 'brown_words' || args['level'] === 'word' ? 'word' : 'char';
}

export function checkpointExtra(model: LoweredModel, data: Dataset, dataSpec: { name: string; args: Readonly<Record<string, number | string>> }): CheckpointExtra {
  const dims: Record<string, number> = Object.create(null);
  for (const [k, v] of model.dims) if (typeof v === 'number') dims[k] = v;
  return {
    dims,
    vocabs: { inputs: data.inputs.map((s) => s.vocab?.toJSON() ?? null), targets: data.targets.map((s) => s.vocab?.toJSON() ?? null) },
    data: dataSpec,
    task: data.task,
    level: textLevel(dataSpec.name, dataSpec.args),
  };
}

export async function runCommand(file: string, opts: RunOptions): Promise<number> {
  const program = loadProgram(file);
  const modelName = pickModel(program, opts.model);
  const config = trainConfigFor(program, modelName, opts);
  if ((opts.workers ?? 1) > 1 && opts.backend === 'webgpu') {
    const asked = process.env['RNNC_BACKEND'] === 'webgpu' ? 'RNNC_BACKEND=webgpu' : '--backend webgpu';
    throw new CliError(`--workers runs replicas on the CPU cores (cpu, wasm or tensorflow); with ${asked} the GPU trains the whole batch: leave --workers out`, EXIT.usage);
  }
  // Replicas train on the CPU cores: the automatic choice passes webgpu over.
  const backend = await startBackend(opts.backend, (opts.workers ?? 1) > 1 ? { name: 'webgpu', why: '--workers runs replicas on the CPU cores' } : undefined);
  info(`backend: ${backend}`);
  const data = loadData(program, config);
  info(`data: ${data.description}`);
  const model = modelForData(program, modelName, data);
  // Decoders that read back their own tokens while training (`feed sampled`, `feed scheduled(...)`) train on that lowering.
  const trainModel = trainingModel(program, model, config);
  const session = newSession(trainModel, config, { remat: opts.remat ?? false });
  try {
    return await train(session, { program, modelName, config, data, model, trainModel, opts });
  } finally {
    session.dispose();
  }
}

interface TrainContext {
  readonly program: ReturnType<typeof loadProgram>;
  readonly modelName: string;
  readonly config: ReturnType<typeof trainConfigFor>;
  readonly data: Dataset;
  /** The model as evaluated (decoders taught with the true tokens). */
  readonly model: LoweredModel;
  /** The model as trained: `model`, or its decoders reading their own tokens (`feed`). */
  readonly trainModel: LoweredModel;
  readonly opts: RunOptions;
}

async function train(session: TrainingSession, ctx: TrainContext): Promise<number> {
  const { modelName, config, data, model, opts } = ctx;
  const outDir = resolve(opts.out ?? join('runs', modelName));
  const ckptPath = join(outDir, 'checkpoint.json');
  const metricsPath = join(outDir, 'metrics.jsonl');
  const bestPath = join(outDir, 'best.json');
  if (data.train.length === 0) {
    throw new CliError(`the data has no training examples (${data.description}); give more examples, or a larger \`split\` (the training share)`);
  }
  if (config.earlyStop && data.valid.length === 0) {
    throw new CliError(`early_stop ${config.earlyStop.on} watches the validation split, but the data has none (${data.description}); give the data source a validation share, or remove early_stop`);
  }
  prepareOutDir(outDir, opts.out !== undefined ? '--out' : 'the default output folder', [ckptPath, metricsPath, bestPath]);
  // --plot: checked before training, so that a bad path does not cost a run.
  if (opts.plot !== undefined) {
    heatmapFormat(opts.plot, '--plot');
    // Its folder is made now: a path the system refuses fails before training, not after.
    makeFolders(dirname(resolve(opts.plot)));
    checkOutput(opts.plot, { inputs: [ctx.program.path, ckptPath, metricsPath], kind: heatmapFile, force: opts.force ?? false, headBytes: 256 });
  }
  const extra: CheckpointExtra = { ...checkpointExtra(model, data, config.data!), source: resolve(ctx.program.path) };
  if (opts.resume === undefined && !(opts.force ?? false)) refuseOtherRun(ckptPath, extra.source!, opts.out !== undefined);
  const rng = new Rng(config.seed);

  let start: Position = { epoch: 0, batchInEpoch: 0 };
  let watch: Watch = { best: null, bestStep: 0, wait: 0 };
  if (opts.resume !== undefined) {
    const ckpt = loadCheckpoint(nodeIO, opts.resume);
    session.restore(ckpt, opts.resume);
    // The validation so far (best value, epochs without improvement): early stopping goes on where it was.
    const saved = ckpt.extra?.['validation'] as Watch | undefined;
    if (saved && typeof saved.wait === 'number' && typeof saved.bestStep === 'number') {
      watch = { best: typeof saved.best === 'number' ? saved.best : null, bestStep: saved.bestStep, wait: saved.wait, mark: typeof saved.mark === 'number' ? saved.mark : null };
    }
    start = { epoch: ckpt.epoch, batchInEpoch: ckpt.batchInEpoch };
    keepMetricsUpTo(metricsPath, ckpt.step);
    info(`resumed from ${opts.resume}: step ${ckpt.step}, epoch ${ckpt.epoch + 1}, batch ${ckpt.batchInEpoch}`);
  } else {
    session.initParams(config.seed);
    if (opts.initParams !== undefined) {
      session.loadParams(parseParamsJson(readSource(opts.initParams), opts.initParams), opts.initParams);
      info(`parameters from ${opts.initParams}`);
    }
    writeMetrics(metricsPath, '');
  }
  const paramCount = model.params.reduce((n, p) => n + p.shape.reduce<number>((a, d) => a * (d as number), 1), 0);
  info(
    `model ${modelName}: ${paramCount.toLocaleString('en-US')} parameters; ` +
      `${config.optimizer.name}, batch ${config.batch}, ${config.epochs} epoch${config.epochs === 1 ? '' : 's'}, ` +
      `bptt ${config.bptt.kind === 'full' ? 'full' : `truncated(k1 = ${config.bptt.k1}, k2 = ${config.bptt.k2})`}` +
      `${config.clip ? `, clip ${config.clip.mode} ${config.clip.value}` : ''}, seed ${config.seed}`,
  );

  const pool = await startWorkers(session, ctx);
  try {
    return await loop(session, pool, ctx, { outDir, ckptPath, metricsPath, bestPath, extra, rng, start, watch });
  } finally {
    await pool?.close();
  }
}

/** `--workers N` (N > 1): replicas of the session in worker threads, started from its parameters and optimizer state. */
async function startWorkers(session: TrainingSession, ctx: TrainContext): Promise<DataParallelTrainer | undefined> {
  const workers = ctx.opts.workers ?? 1;
  if (workers <= 1) return undefined;
  if (workers > ctx.config.batch) {
    throw new CliError(`--workers ${workers} is more than the batch size ${ctx.config.batch}: each worker trains on at least one example of every batch`, EXIT.usage);
  }
  const cores = availableParallelism();
  const pool = await DataParallelTrainer.start({
    workers,
    backend: getBackend(),
    model: ctx.trainModel,
    config: ctx.config,
    remat: ctx.opts.remat ?? false,
    specs: batchSpecs(ctx.model, ctx.data),
    start: await session.snapshot(),
  });
  const per = Math.floor(ctx.config.batch / workers);
  info(
    `data-parallel: ${workers} worker threads (${per}${ctx.config.batch % workers ? `-${per + 1}` : ''} examples of each batch apiece), ` +
      `gradients averaged in shared memory${workers > cores ? `; note: this machine has ${cores} cores, so workers will share them` : ''}`,
  );
  return pool;
}

interface LoopFiles {
  readonly outDir: string;
  readonly ckptPath: string;
  readonly metricsPath: string;
  readonly extra: CheckpointExtra;
  readonly rng: Rng;
  readonly start: Position;
  readonly bestPath: string;
  /** Validation so far, for early stopping and best.json (kept in checkpoints as extra.validation). */
  readonly watch: Watch;
}

async function loop(session: TrainingSession, pool: DataParallelTrainer | undefined, ctx: TrainContext, files: LoopFiles): Promise<number> {
  const { config, data, model, opts } = ctx;
  const { ckptPath, metricsPath, bestPath, extra, rng, start, watch } = files;
  // With workers, the parameters live in the replicas: copy them back before anything reads the session.
  const sync = async (): Promise<void> => {
    if (pool) session.restoreSnapshot(await pool.snapshot(), 'worker 0');
  };
  const save = async (pos: Position): Promise<void> => {
    await sync();
    const ckpt: Checkpoint = await session.checkpoint(pos, rng, { ...(extra as unknown as Record<string, unknown>), validation: { ...watch } });
    saveCheckpoint(nodeIO, ckptPath, ckpt);
  };
  // Validation: the loss (or accuracy) early stopping watches; a better value saves best.json beside the checkpoint.
  const on = config.earlyStop?.on ?? 'val_loss';
  const validate = async (pos: Position, ev: EvalResult): Promise<void> => {
    if (observeValidation(watch, watchedValue(ev, on), on, config.earlyStop?.minDelta ?? 0, session.step)) {
      await sync();
      saveCheckpoint(nodeIO, bestPath, await session.checkpoint(pos, rng, { ...(extra as unknown as Record<string, unknown>), validation: { ...watch } }));
      bestWritten = true;
    }
  };
  let bestWritten = false;
  const hasValidation = data.valid.length > 0;
  // The step of the last validation in metrics.jsonl: the final one is not logged again at the same step (an early stop).
  let loggedEvalStep = -1;
  /** One validation during training (after an epoch, or every `validate` steps): logged, best.json, early stopping. */
  const validation = async (pos: Position, epoch: number | undefined): Promise<boolean> => {
    await sync();
    const ev = await evaluate(session, data, config.batch, model.decoders.length > 0 || model.dropouts.length > 0 ? teacherGraph(model) : undefined);
    appendMetrics(metricsPath, `${JSON.stringify({ kind: 'eval', step: session.step, ...(epoch !== undefined ? { epoch: epoch + 1 } : {}), ...ev })}\n`);
    loggedEvalStep = session.step;
    await validate(pos, ev);
    const when = epoch !== undefined ? `epoch ${epoch + 1}/${config.epochs}` : `step ${session.step}`;
    if (!(opts.quiet ?? false)) info(`${when} ${formatEval(ev, data, extra.level, model, undefined)}`);
    const stop = config.earlyStop !== undefined && watch.wait >= config.earlyStop.patience;
    const unit = config.validateEvery !== undefined ? 'validation' : 'epoch';
    if (stop) info(`early stop: ${on} has not improved for ${watch.wait} ${unit}${watch.wait === 1 ? '' : 's'} (best ${watch.best?.toPrecision(5)} at step ${watch.bestStep}; best.json)`);
    return stop;
  };
  let stopRequested = false;
  const onSigint = (): void => {
    if (stopRequested) process.exit(EXIT.interrupted);
    stopRequested = true;
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  const batchesPerEpoch = Math.ceil(data.train.length / config.batch);
  // Under scheduled sampling: the probability of the true token that the step's update used (updates count from 0).
  const teacherP = config.feed?.decay ? (step: number) => feedProbability(config.feed, Math.max(0, step - 1)) : undefined;
  const progress = new ProgressReporter(process.stderr, config.epochs * batchesPerEpoch, opts.quiet ?? false, model.lossPer === 'step' ? 'tok' : 'seq', teacherP, batchesPerEpoch);
  progress.start(start.epoch * batchesPerEpoch + start.batchInEpoch);
  const startedAt = Date.now();
  // The optimizer steps before the last batch trained: to say when --steps was passed within a batch.
  let stepsBeforeBatch = session.step;
  let stepsAfterBatch = session.step;
  let result;
  try {
    result = await trainLoop({
      session: pool ?? session,
      examples: data.train,
      specs: batchSpecs(model, data),
      batchSize: config.batch,
      epochs: config.epochs,
      seed: config.seed,
      start,
      ...(opts.steps !== undefined ? { maxSteps: opts.steps } : {}),
      checkpointEvery: opts.checkpointEvery ?? config.checkpoint,
      save,
      shouldStop: () => stopRequested,
      // Validation after every epoch but the last (evaluated below): metrics.jsonl, best.json, early stopping.
      ...(hasValidation
        ? {
            onEpochEnd: (epoch: number, pos: Position): Promise<boolean> => validation(pos, epoch),
            ...(config.validateEvery !== undefined ? { validateEvery: config.validateEvery, onValidate: (pos: Position) => validation(pos, undefined) } : {}),
          }
        : {}),
      onStep: (s) => {
        stepsBeforeBatch = stepsAfterBatch;
        stepsAfterBatch = s.step;
        progress.update(s.epoch * s.batchesPerEpoch + s.batchInEpoch, s);
        appendMetrics(
          metricsPath,
          `${JSON.stringify({ kind: 'train', step: s.step, epoch: s.epoch + 1, batch: s.batchInEpoch, loss: s.loss, count: s.count, ...(s.lr !== undefined ? { lr: s.lr } : {}), ...(s.gradNorm !== undefined ? { grad_norm: s.gradNorm } : {}), ...(teacherP ? { teacher_p: teacherP(s.step) } : {}), seconds: (Date.now() - startedAt) / 1000 })}\n`,
        );
      },
    });
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }

  if (result.status === 'nonfinite') {
    await save(result.position);
    throw new CliError(
      `the loss became ${result.lastLoss} at step ${session.step + 1}; training stopped without applying that update. ` +
        `The last good parameters are in ${ckptPath}. Try a smaller learning rate, gradient clipping (\`clip norm 1.0\`), or check the data.`,
    );
  }
  await save(result.position);
  if (result.status === 'stopped') {
    info(`interrupted: checkpoint written to ${ckptPath} (step ${session.step}); continue with --resume ${ckptPath}`);
    return EXIT.interrupted;
  }
  if (result.status === 'max-steps' && opts.steps !== undefined && session.step > opts.steps) {
    // A step is one optimizer update (one window under truncated BPTT), as metrics.jsonl and the checkpoint count
    // them; --steps is checked between batches, since a checkpoint records whole batches (README, options of rnnc run).
    info(
      `--steps ${opts.steps} was reached within the last batch, which took the step count from ${stepsBeforeBatch} to ${session.step}: ` +
        `under truncated BPTT each window of a batch is a step, and a batch's windows are not split`,
    );
  }
  info(`trained ${session.step} step${session.step === 1 ? '' : 's'} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; checkpoint: ${ckptPath}`);
  // With decoders: taught with the true tokens (the model as written), then reading their own greedy choices.
  const ev = await evaluate(session, data, config.batch, model.decoders.length > 0 || model.dropouts.length > 0 ? teacherGraph(model) : undefined);
  if (loggedEvalStep !== session.step) appendMetrics(metricsPath, `${JSON.stringify({ kind: 'eval', step: session.step, ...ev })}\n`);
  if (hasValidation && result.status !== 'early-stop') {
    const before = JSON.stringify(watch);
    await validate(result.position, ev);
    // The checkpoint was written before this validation: it keeps the watch as it is now, so that a --resume
    // compares with the best so far (not an older best, which would let a worse model replace best.json).
    if (JSON.stringify(watch) !== before) await save(result.position);
  }
  if (!opts.json) process.stdout.write(`${formatEval(ev, data, extra.level, model, model.decoders.length > 0 ? 'teacher forcing' : undefined)}\n`);
  let greedy: EvalResult | undefined;
  if (model.decoders.length > 0) {
    // What a decoder does when it is used: read back its own choices (greedy), not the true tokens.
    greedy = await evaluate(session, data, config.batch, greedyGraph(ctx.program, model));
    appendMetrics(metricsPath, `${JSON.stringify({ kind: 'eval', feed: 'greedy', step: session.step, ...greedy })}\n`);
    if (!opts.json) process.stdout.write(`${formatEval(greedy, data, extra.level, model, 'greedy decoding')}\n`);
  }
  if (opts.json) {
    const { evalJson } = await import('./evaluate.js');
    const out = {
      model: model.name,
      step: session.step,
      status: result.status,
      split: hasValidation ? 'validation' : 'train',
      ...evalJson(ev, data, extra.level),
      ...(greedy ? { greedy: evalJson(greedy, data, extra.level) } : {}),
      checkpoint: ckptPath,
      examples: (data.valid.length > 0 ? data.valid : data.train).length,
      ...(hasValidation ? { best: { on, value: watch.best, step: watch.bestStep, ...(bestWritten || existsSync(bestPath) ? { path: bestPath } : {}) } } : {}),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
  if (hasValidation && (bestWritten || existsSync(bestPath))) info(`best ${on} ${watch.best?.toPrecision(5) ?? '-'} at step ${watch.bestStep}: ${bestPath}`);
  if (ctx.opts.plot !== undefined) await (await import('./plot.js')).plotCommand([metricsPath], { output: ctx.opts.plot, force: true });
  return EXIT.ok;
}

/**
 * Makes the run's folder and checks, before any training, that its two
 * files can be written: `--out` must be a folder (or not exist yet, under
 * folders), and checkpoint.json and metrics.jsonl must not be folders. A
 * path the file system refuses (/proc, a read-only mount) fails here, with
 * the path, rather than after the first epoch.
 */
function prepareOutDir(outDir: string, flag: string, files: readonly string[]): void {
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) {
    throw new CliError(`${flag} ${outDir} is a file, not a folder: give a folder for checkpoint.json and metrics.jsonl`);
  }
  makeFolders(outDir);
  for (const f of files) {
    let st;
    try {
      st = lstatSync(f);
    } catch {
      continue;
    }
    if (st.isDirectory()) throw new CliError(`${f} is a folder; rnnc run writes a file of that name there: remove or rename the folder, or choose another --out`);
  }
}

/**
 * A new run writes over the last run in its folder, but not over a run of
 * another .rnn file (two files that name their model alike share
 * runs/<model>): that takes --out or --force.
 */
function refuseOtherRun(ckptPath: string, source: string, outGiven: boolean): void {
  let other: unknown;
  try {
    other = (JSON.parse(readFileSync(ckptPath, 'utf8')) as { extra?: { source?: unknown } }).extra?.source;
  } catch {
    return; // no checkpoint there (or not one rnnc can read: loading it would say so on --resume)
  }
  if (typeof other !== 'string' || other === source) return;
  throw new CliError(
    `${ckptPath} holds a run of ${other}, not of ${source}: ${outGiven ? 'choose another --out' : 'give --out DIR'} to keep both, or --force to replace it`,
  );
}

function writeMetrics(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    userError(e, 'write', path);
  }
}

function appendMetrics(path: string, text: string): void {
  try {
    appendFileSync(path, text);
  } catch (e) {
    userError(e, 'write', path);
  }
}

/**
 * On --resume, drops the lines of metrics.jsonl after the checkpoint's step:
 * a run killed after its last checkpoint had logged steps that the resumed
 * run trains again, and the log should hold each step once, as the
 * uninterrupted run's does. Lines that are not JSON (a line cut by a kill)
 * are dropped too.
 */
function keepMetricsUpTo(path: string, step: number): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return;
  }
  const kept = text.split('\n').filter((line) => {
    if (line.trim() === '') return false;
    try {
      const entry = JSON.parse(line) as { step?: unknown };
      return typeof entry.step === 'number' && entry.step <= step;
    } catch {
      return false;
    }
  });
  writeMetrics(path, kept.map((l) => `${l}\n`).join(''));
}

export function evaluate(session: TrainingSession, data: Dataset, batchSize: number, graph?: Graph): Promise<EvalResult> {
  const examples = data.valid.length > 0 ? data.valid : data.train;
  return session.evaluate(makeBatches(examples, batchSpecs(session.model, data), batchSize, null), graph);
}

/** How a model's batches are laid out: with the targets over their own steps when a decoder writes them (LoweredModel.targetAxis). */
export function batchSpecs(model: LoweredModel, data: Dataset): BatchSpecs {
  return model.targetAxis !== undefined ? { inputs: data.inputs, targets: data.targets, separateTargets: true } : data;
}

/** One line of metrics; `feed` says what a model's decoders read back ("teacher forcing", "greedy decoding"). */
export function formatEval(ev: EvalResult, data: Dataset, level: 'char' | 'word', model: Pick<LoweredModel, 'lossPer' | 'loss'>, feed?: string): string {
  const lossPer = model.lossPer;
  const split = `${data.valid.length > 0 ? 'validation' : 'training (no validation split)'}${feed ? `, ${feed}` : ''}`;
  const parts = [`${split}: loss ${ev.loss.toFixed(4)}`];
  if (data.task === 'lm') {
    parts.push(`perplexity ${Math.exp(ev.loss).toFixed(3)}`);
    if (level === 'char') parts.push(`bits/char ${(ev.loss / Math.LN2).toFixed(4)}`);
  }
  if (model.loss === 'mse') parts.push(`mse ${ev.loss.toFixed(5)}`);
  if (ev.accuracy !== undefined && data.task !== 'lm') parts.push(`accuracy ${(ev.accuracy * 100).toFixed(2)}%`);
  if (ev.exact !== undefined && data.task !== 'lm') parts.push(`exact match ${(ev.exact * 100).toFixed(2)}% of ${ev.sequences!.toLocaleString('en-US')} sequences`);
  const unit = data.task === 'lm' ? (level === 'char' ? 'characters' : 'tokens') : data.task === 'tagging' ? 'tokens' : lossPer === 'step' ? 'time steps' : 'examples';
  parts.push(`(${ev.count.toLocaleString('en-US')} ${ev.count === 1 ? unit.slice(0, -1) : unit})`);
  return parts.join('  ');
}
