// From a .rnn path to what the commands need: the checked program, a model
// with its dimensions bound to the data, its train settings, its dataset,
// and the graphs a TrainingSession trains with (src/new-session.ts makes the
// session: this module loads no tfjs, so `rnnc check` does not either). Every
// failure here is a CliError with a clear message (diagnostics are printed
// first).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { analyze, buildModel, trainingGraphs, type Analysis } from '../compiler/compile.js';
export { decoderOption } from '../compiler/compile.js';
import type { Diagnostic } from '../compiler/diagnostics/diagnostic.js';
import type { FeedMode } from '../compiler/sema/cell.js';
import type { Graph } from '../compiler/ir/types.js';
import { syntheticSpan } from '../compiler/diagnostics/span.js';
import type { LoweredModel } from '../compiler/sema/model.js';
import type { BpttSpec, TrainConfig } from '../compiler/sema/train.js';
import { bindDims, fieldsAsDeclared, type DeclaredField } from '../runtime/data/batching.js';
import { loadDataset, placeDataArgs } from '../runtime/data/registry.js';
import type { Dataset } from '../runtime/data/types.js';
import { Rng } from '../runtime/rng.js';
import type { SessionGraphs } from '../runtime/train/session.js';
import { CliError, EXIT } from './errors.js';
import { nodeIO } from './node-io.js';
import { loadStdlib } from './stdlib.js';
import { printDiagnostics } from './terminal.js';
import { trainSettingDiagnostics } from './train-settings.js';

export interface LoadedProgram {
  readonly path: string;
  readonly text: string;
  readonly analysis: Analysis;
  readonly sources: Map<string, string>;
  /** Diagnostics are not printed, only carried by the CliError that errors throw (the API: src/api/). */
  readonly silent?: boolean;
}

export function readSource(path: string): string {
  if (!existsSync(path)) throw new CliError(`file not found: ${path}`);
  if (statSync(path).isDirectory()) throw new CliError(`${path} is a folder, not a .rnn file`);
  return decodeSource(readFileSync(path), path);
}

/**
 * A .rnn file's bytes as text: UTF-8 (a byte-order mark is dropped). A file
 * that is not UTF-8 text is a user error naming the line and column of the
 * first byte that is not: a NUL (a binary file), UTF-16 (by its byte-order
 * mark or its NULs), or a byte sequence that is not UTF-8 (Latin-1, say).
 */
export function decodeSource(buf: Uint8Array, path: string): string {
  if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)) {
    throw new CliError(`${path} is UTF-16 text (it starts with a UTF-16 byte-order mark): save it as UTF-8`);
  }
  const start = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  const bad = firstBadByte(buf, start);
  const nul = buf.indexOf(0, start);
  const at = nul >= 0 && (bad < 0 || nul < bad) ? nul : bad;
  if (at >= 0) {
    const before = new TextDecoder().decode(buf.subarray(start, at));
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    const byte = `0x${buf[at]!.toString(16).padStart(2, '0')}`;
    const what = at === nul ? 'a NUL byte: it looks like a binary or UTF-16 file' : `byte ${byte}, which is not UTF-8 (Latin-1 or another encoding?)`;
    throw new CliError(`${path}:${line}:${column}: ${what}; .rnn files are UTF-8 text`);
  }
  return new TextDecoder().decode(buf.subarray(start));
}

/** The offset of the first byte that does not begin or continue a well-formed UTF-8 sequence, or -1. */
function firstBadByte(buf: Uint8Array, from: number): number {
  for (let i = from; i < buf.length; ) {
    const b = buf[i]!;
    // Lengths and ranges of the second byte from the Unicode standard's table of well-formed sequences.
    const [n, lo, hi] =
      b < 0x80 ? [1, 0, 0] : b >= 0xc2 && b <= 0xdf ? [2, 0x80, 0xbf] : b === 0xe0 ? [3, 0xa0, 0xbf] : b === 0xed ? [3, 0x80, 0x9f]
      : b >= 0xe1 && b <= 0xef ? [3, 0x80, 0xbf] : b === 0xf0 ? [4, 0x90, 0xbf] : b >= 0xf1 && b <= 0xf3 ? [4, 0x80, 0xbf] : b === 0xf4 ? [4, 0x80, 0x8f] : [0, 0, 0];
    if (n === 0) return i;
    if (n > 1) {
      if (i + n > buf.length || buf[i + 1]! < lo || buf[i + 1]! > hi) return i;
      for (let k = 2; k < n; k++) if (buf[i + k]! < 0x80 || buf[i + k]! > 0xbf) return i;
    }
    i += n;
  }
  return -1;
}

/** Reads and checks a program; prints its diagnostics; throws if it has errors. */
export function loadProgram(path: string, opts: { quietWarnings?: boolean } = {}): LoadedProgram {
  const text = readSource(path);
  const std = loadStdlib();
  const analysis = analyze({ file: path, text }, std);
  const sources = new Map([
    [path, text],
    [std.file, std.text],
  ]);
  const syntaxOk = !analysis.diagnostics.some((d) => d.severity === 'error');
  report([...analysis.diagnostics, ...(syntaxOk ? trainSettingDiagnostics(analysis) : [])], sources, opts.quietWarnings);
  return { path, text, analysis, sources };
}

export function report(diags: readonly Diagnostic[], sources: ReadonlyMap<string, string>, quietWarnings = false, silent = false): void {
  const shown = quietWarnings ? diags.filter((d) => d.severity === 'error') : diags;
  if (!silent) printDiagnostics(shown, sources);
  const errors = diags.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new CliError(`${errors.length} error${errors.length === 1 ? '' : 's'}; nothing was run`, EXIT.user, errors);
}

/** The model a command works on: --model, else the one with a train block, else the only one. */
export function pickModel(p: LoadedProgram, requested?: string): string {
  const models = [...p.analysis.models.keys()];
  if (requested !== undefined) {
    if (!models.includes(requested)) {
      throw new CliError(`${p.path} has no model named ${requested} (models: ${models.join(', ') || 'none'})`);
    }
    return requested;
  }
  if (models.length === 0) throw new CliError(`${p.path} declares no model`);
  if (models.length === 1) return models[0]!;
  const trained = models.filter((m) => p.analysis.trains.has(m));
  if (trained.length === 1) return trained[0]!;
  throw new CliError(`${p.path} declares several models (${models.join(', ')}); choose one with --model NAME`);
}

export interface Overrides {
  readonly epochs?: number;
  readonly batch?: number;
  readonly seed?: number;
  readonly dataArgs?: Readonly<Record<string, number | string>>;
  readonly bptt?: BpttSpec;
}

export function trainConfigFor(p: LoadedProgram, model: string, o: Overrides = {}): TrainConfig {
  const base = p.analysis.trains.get(model);
  if (!base) throw new CliError(`model ${model} has no train block: add \`train ${model} { data ...; optimizer adam(lr = 1e-3) }\``);
  return {
    ...base,
    ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
    ...(o.batch !== undefined ? { batch: o.batch } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.bptt !== undefined ? { bptt: o.bptt } : {}),
    ...(o.dataArgs && base.data ? { data: { ...base.data, args: { ...base.data.args, ...o.dataArgs } } } : {}),
  };
}

/**
 * The train block's settings, or without one the defaults (batch 32, full
 * BPTT, adam): enough for the commands that only run a trained model
 * (predict, evaluate), whose checkpoint may come from the TypeScript API.
 */
export function settingsFor(p: LoadedProgram, model: string): TrainConfig {
  return (
    p.analysis.trains.get(model) ?? {
      model,
      optimizer: { name: 'adam', args: {}, positional: [], span: syntheticSpan() },
      bptt: { kind: 'full' },
      batch: 32,
      epochs: 1,
      seed: 0,
      checkpoint: 0,
      span: syntheticSpan(),
    }
  );
}

/** Loads the train block's data source; file paths are relative to the .rnn file. */
export function loadData(p: LoadedProgram, config: TrainConfig): Dataset {
  if (!config.data) throw new CliError(`the train block of ${config.model} names no data: add \`data brown_chars(seq_len = 100)\` or similar`);
  let args: Record<string, number | string>;
  try {
    args = placeDataArgs(config.data.name, config.data.args, config.data.positional);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  if (typeof args['path'] === 'string') args['path'] = resolve(dirname(p.path), args['path']);
  return loadDataset(config.data.name, args, nodeIO, new Rng(config.seed));
}

export function declaredFields(model: LoweredModel): { inputs: DeclaredField[]; targets: DeclaredField[] } {
  const field = (s: LoweredModel['inputs'][number]): DeclaredField => {
    const t = s.type;
    const dims = t.kind === 'tokens' || t.kind === 'token' ? [t.vocab] : t.dims;
    return { name: s.name, kind: t.kind, dims: dims.map((d) => (typeof d === 'number' ? d : d)) };
  };
  return { inputs: model.inputs.map(field), targets: model.targets.map(field) };
}

/** Lowers a model with its data dimensions bound to numbers. */
export function bindModel(p: LoadedProgram, model: string, dims: Readonly<Record<string, number>>): LoweredModel {
  checkDims(dims, `the sizes of model ${model}`);
  const built = buildModel(p.analysis, model, dims);
  report(built.diagnostics, p.sources, true, p.silent);
  const m = built.model!;
  const unbound = [...m.dims].filter(([, v]) => typeof v !== 'number').map(([k]) => k);
  if (unbound.length > 0) {
    throw new CliError(`dimension${unbound.length > 1 ? 's' : ''} ${unbound.join(', ')} of model ${model} got no value from the data; give ${unbound.length > 1 ? 'them' : 'it'} one with \`dim ${unbound[0]} = ...\``);
  }
  return m;
}

/** The model bound to a dataset's sizes (symbolic pass first, to learn which names the data must fix). */
export function modelForData(p: LoadedProgram, model: string, data: Dataset): LoweredModel {
  const symbolic = buildModel(p.analysis, model, {});
  report(symbolic.diagnostics, p.sources, false, p.silent);
  const fixed: Record<string, number> = Object.create(null);
  for (const [k, v] of symbolic.model!.dims) if (typeof v === 'number') fixed[k] = v;
  // Whole numbers read as token ids where the model declares values (a target of counts); text labels as classes.
  fieldsAsDeclared(declaredFields(symbolic.model!), data);
  const dims = bindDims(declaredFields(symbolic.model!), data, fixed);
  return bindModel(p, model, dims);
}

/**
 * The model lowered again with its decoders reading back `feed` instead of
 * the true tokens (the same parameters): greedy decoding for evaluation, or
 * the training graphs of `feed sampled` and `feed scheduled`.
 */
export function withFeed(p: LoadedProgram, model: LoweredModel, feed: FeedMode, o: { attention?: boolean; dropout?: boolean } = {}): LoweredModel {
  const dims: Record<string, number> = Object.create(null);
  for (const [k, v] of model.dims) if (typeof v === 'number') dims[k] = v;
  const built = buildModel(p.analysis, model.name, dims, feed, o);
  report(built.diagnostics, p.sources, true, p.silent);
  return built.model!;
}

/**
 * The model as trained: decoders reading what the train block's `feed` says
 * (`feed sampled`, `feed scheduled(...)`), and `dropout` dropping values;
 * `model` itself when neither applies (evaluation always uses `model`).
 */
export function trainingModel(p: LoadedProgram, model: LoweredModel, config: TrainConfig): LoweredModel {
  const feeds = config.feed && config.feed.mode.kind !== 'teacher';
  const drops = model.dropouts.some((d) => d.p > 0);
  return feeds || drops ? withFeed(p, model, feeds ? config.feed!.mode : model.feed, { dropout: drops }) : model;
}

/** The evaluation graph of a model with its decoders taught with the true tokens. */
export function teacherGraph(model: LoweredModel): Graph {
  return trainingGraphs(model, false, { liftParamTransposes: true }).inference;
}

/** The evaluation graph of a model with decoders that read their own greedy choices. */
export function greedyGraph(p: LoadedProgram, model: LoweredModel): Graph {
  return trainingGraphs(withFeed(p, model, { kind: 'own', draw: 'argmax' }), false, { liftParamTransposes: true }).inference;
}

/**
 * As greedyGraph without the loss: it reads no targets (greedy decoding of
 * new inputs); with `attention`, it also outputs the weights of every
 * `attend` (`<instance>.<equation>.alpha`, [T, B, L]).
 */
export function greedyPredictGraph(p: LoadedProgram, model: LoweredModel, o: { attention?: boolean } = {}): Graph {
  return trainingGraphs(withFeed(p, model, { kind: 'own', draw: 'argmax' }, o), false, { liftParamTransposes: true }).predict;
}

/** The optimised graphs a session trains with. */
/**
 * The graphs a TrainingSession runs. `joinGates`: each cell's gate products
 * joined in every graph (for the webgpu backend: src/new-session.ts).
 */
export function sessionGraphs(model: LoweredModel, config: TrainConfig, opts: { remat?: boolean; joinGates?: boolean } = {}): SessionGraphs {
  if (config.bptt.kind === 'truncated' && model.readsAhead) {
    throw new CliError(`model ${model.name} cannot be trained with truncated BPTT (${model.readsAhead}): use --bptt full`);
  }
  const truncated = config.bptt.kind === 'truncated';
  const o = { liftParamTransposes: true, ...(opts.remat ? { remat: true } : {}), ...(opts.joinGates ? { joinGates: true } : {}) };
  return { ...trainingGraphs(model, truncated, o), unpadded: trainingGraphs(model, truncated, { ...o, assumeFullMask: true }) };
}

/** Sizes from a checkpoint or the command line: whole numbers from 1 (a checkpoint edited by hand may hold anything). */
export function checkDims(dims: Readonly<Record<string, unknown>>, what: string): void {
  for (const [k, v] of Object.entries(dims)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) {
      throw new CliError(`${what}: ${k} = ${JSON.stringify(v)} is not a size (a whole number from 1 to 2^31 - 1)`);
    }
  }
}
