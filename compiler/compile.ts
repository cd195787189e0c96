// The compiler driver: source text -> diagnostics, cells, models and train
// configurations; and a model -> its forward and training IR graphs.
// Pure: callers (src/) read files and pass their text.
import type { CellDecl, ModelDecl, Program } from './ast/ast.js';
import { parseProgram } from './ast/index.js';
import { differentiate } from './autodiff/vjp.js';
import { DiagnosticCollector, recover } from './diagnostics/collector.js';
import { InternalError, type Diagnostic } from './diagnostics/diagnostic.js';
import type { Span } from './diagnostics/span.js';
import type { Dim, Graph } from './ir/types.js';
import { verifyGraph } from './ir/verify.js';
import { analyzeCell, type CellInfo, type FeedMode } from './sema/cell.js';
import { expandCellCalls } from './sema/inline.js';
import { evalDim } from './sema/dims.js';
import { lowerModel, type LoweredModel, type ModelObserver } from './sema/model.js';
import { didYouMean } from './sema/suggest.js';
import { checkTrain, type TrainConfig } from './sema/train.js';
import { truncateScans } from './autodiff/truncate.js';
import { assumeFullMask } from './passes/assume-full-mask.js';
import { eliminateDeadCode } from './passes/dead-code.js';
import { liftParamTransposes } from './passes/lift-param-transposes.js';
import { FORWARD_PIPELINE, PASSES, PRE_AUTODIFF_PIPELINE, PREDICT_PIPELINE, runPipeline, TRAINING_PIPELINE, withJoinedGates, type Pass, type PipelineOptions } from './passes/pipeline.js';

export interface SourceText {
  readonly file: string;
  readonly text: string;
}

export interface Analysis {
  readonly diagnostics: readonly Diagnostic[];
  readonly cells: ReadonlyMap<string, CellInfo>;
  /** Cells with errors (already reported): applying one reports nothing more. */
  readonly brokenCells: ReadonlySet<string>;
  readonly models: ReadonlyMap<string, ModelDecl>;
  readonly trains: ReadonlyMap<string, TrainConfig>;
  readonly topDims: ReadonlyMap<string, Dim>;
  readonly program?: Program;
}

const baseName = (file: string): string => file.split(/[\\/]/).pop() ?? file;
export const sourceOf = (span: Span): string => `${baseName(span.file)}:${span.line}`;

/** Parses and checks a program (with the standard cells available). */
export function analyze(user: SourceText, stdlib: SourceText): Analysis {
  const diags = new DiagnosticCollector();
  const std = parseProgram(stdlib.text, stdlib.file);
  const parsed = parseProgram(user.text, user.file);
  diags.list.push(...std.diagnostics, ...parsed.diagnostics);
  const empty = { cells: new Map(), brokenCells: new Set<string>(), models: new Map(), trains: new Map(), topDims: new Map() };
  if (diags.hasErrors()) return { diagnostics: diags.list, ...empty, program: parsed.program };

  const cellDecls = new Map<string, CellDecl>();
  for (const item of std.program.items) if (item.kind === 'CellDecl') cellDecls.set(item.name.name, item);
  const userCells = new Map<string, CellDecl>();
  const models = new Map<string, ModelDecl>();
  const topDims = new Map<string, Dim>();
  const firstDecl = new Map<string, Span>();
  const declare = (name: string, span: Span, what: string): boolean => {
    const prev = firstDecl.get(name);
    if (prev) {
      diags.report('RNN2002', span, `${what} \`${name}\` is declared twice`, { notes: [{ message: 'first declared here', span: prev }] });
      return false;
    }
    firstDecl.set(name, span);
    return true;
  };
  for (const item of parsed.program.items) {
    if (item.kind === 'CellDecl') {
      // A user's cell may shadow a standard one of the same name.
      if (declare(item.name.name, item.name.span, 'cell')) userCells.set(item.name.name, item);
    } else if (item.kind === 'ModelDecl') {
      if (declare(item.name.name, item.name.span, 'model')) models.set(item.name.name, item);
    } else if (item.kind === 'DimDecl') {
      for (const d of item.dims) {
        if (!declare(d.name.name, d.name.span, 'dimension')) continue;
        // A size that is wrong (RNN3006) leaves the dimension symbolic, as if the data fixed it: its uses are
        // checked as usual, and none is reported again as an unknown dimension.
        const v = d.value ? recover(() => evalDim(d.value!, topDims, diags)) : d.name.name;
        topDims.set(d.name.name, v ?? d.name.name);
      }
    }
  }
  for (const [k, v] of userCells) cellDecls.set(k, v);

  const cells = new Map<string, CellInfo>();
  const brokenCells = new Set<string>();
  for (const [name, decl] of cellDecls) {
    // Equations that apply another cell run its step inside this one (sema/inline.ts). A cell whose calls could
    // not be expanded is not analysed further: its other errors would follow from the missing equations.
    const expanded = expandCellCalls(decl, cellDecls, diags);
    const info = expanded.failed ? undefined : analyzeCell(expanded.decl, diags);
    if (info) cells.set(name, info);
    else brokenCells.add(name);
  }

  const trains = new Map<string, TrainConfig>();
  for (const item of parsed.program.items) {
    if (item.kind !== 'TrainDecl') continue;
    if (!models.has(item.model.name)) {
      const hint = didYouMean(item.model.name, models.keys());
      diags.report('RNN2006', item.model.span, `there is no model \`${item.model.name}\` to train`, hint ? { hint } : {});
      continue;
    }
    if (trains.has(item.model.name)) {
      diags.report('RNN2002', item.model.span, `model \`${item.model.name}\` has two train blocks`);
      continue;
    }
    trains.set(item.model.name, checkTrain(item, diags));
  }
  return { diagnostics: diags.list, cells, brokenCells, models, trains, topDims, program: parsed.program };
}

export interface BuiltModel {
  readonly diagnostics: readonly Diagnostic[];
  readonly model?: LoweredModel;
}

/**
 * Lowers one model. `dimValues` fixes dimensions the data determines
 * (V, K...); without them those stay symbolic (enough for checking and
 * printing, not for running).
 */
export function buildModel(a: Analysis, modelName: string, dimValues: Readonly<Record<string, number>> = {}, feed?: FeedMode, o: { attention?: boolean; dropout?: boolean; observe?: ModelObserver } = {}): BuiltModel {
  const diags = new DiagnosticCollector();
  const decl = a.models.get(modelName);
  if (!decl) throw new Error(`no model ${modelName}`);
  const model = lowerModel(decl, a.cells, a.brokenCells, a.topDims, dimValues, diags, sourceOf, feed, o.attention ?? false, o.dropout ?? false, o.observe);
  const train = a.trains.get(modelName);
  if (model && train?.bptt.kind === 'truncated' && model.readsAhead) {
    diags.report('RNN5006', train.span, 'truncated BPTT cannot train a model whose steps read later steps', {
      notes: [{ message: `in model \`${modelName}\`, ${model.readsAhead}`, span: model.span }],
      hint: 'use `bptt full` for bidirectional models and models with attention over a sequence',
    });
  }
  if (model && train?.feed && model.decoders.length === 0) {
    diags.report('RNN5008', train.feed.span, `\`feed\` chooses what a decoder reads back, but model \`${modelName}\` has no decoder`, {
      hint: 'a decoder is a cell whose first output is a token (`-> y: token[K]`) and that reads `y[t-1]`',
    });
  }
  if (model && train?.earlyStop?.on === 'val_accuracy' && model.loss !== 'cross_entropy') {
    diags.report('RNN5002', train.earlyStop.span, `early_stop val_accuracy needs a model scored by accuracy (a cross_entropy loss); model \`${modelName}\` has an mse loss`, {
      hint: 'use `early_stop val_loss(...)`',
    });
  }
  if (model) checkParamSizes(model, decl, diags);
  if (model) verifyGraph(model.graph, `lowering of ${modelName}`);
  return { diagnostics: diags.list, ...(model && !diags.hasErrors() ? { model } : {}) };
}

/**
 * The most numbers one parameter may hold: 2^28 (1 GiB as float32, and the
 * optimizer keeps one or two more of the same size). Checked where the sizes
 * are known, before anything is allocated: a backend asked for more fails
 * with an error about memory, not about the program.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/** RNN3007 for each parameter whose sizes are known and whose number of elements is past MAX_TENSOR_ELEMENTS. */
function checkParamSizes(model: LoweredModel, decl: ModelDecl, diags: DiagnosticCollector): void {
  // Reported where the model applies the cell (`h = rnn(x) with H`), the parameter's declaration as a note.
  const applications = new Map(decl.items.flatMap((i) => (i.kind === 'Equation' ? [[i.target.name, i.span] as const] : [])));
  for (const p of model.params) {
    const sizes = p.shape.map((d) => (typeof d === 'number' ? d : model.dims.get(d)));
    if (!sizes.every((d): d is number => typeof d === 'number')) continue;
    const n = sizes.reduce((a, b) => a * b, 1);
    if (n <= MAX_TENSOR_ELEMENTS) continue;
    const at = applications.get(p.name.split('.')[0]!) ?? p.span;
    diags.report('RNN3007', at, `parameter ${p.name} would be [${sizes.join(', ')}]: ${n.toExponential(2)} numbers, ${formatBytes(n * 4)} as float32`, {
      notes: [{ message: `${p.name} is declared here`, span: p.span }],
      hint: `one parameter may hold at most 2^28 numbers (${formatBytes(MAX_TENSOR_ELEMENTS * 4)}); use smaller dimensions`,
    });
  }
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/** Every diagnostic of a program: parsing, names, shapes (symbolically), training settings. */
export function checkProgram(
  user: SourceText,
  stdlib: SourceText,
  /** Checks of train settings owned by the caller's runtime (data sources, optimizers). */
  extra: (a: Analysis) => readonly Diagnostic[] = () => [],
): Diagnostic[] {
  return inspectProgram(user, stdlib, extra).diagnostics;
}

/**
 * As checkProgram, and also the analysis, with what lowering each model
 * learnt about its names passed to `observe`: for tools that answer
 * questions about a program being edited (`rnnc lsp`).
 */
export function inspectProgram(
  user: SourceText,
  stdlib: SourceText,
  extra: (a: Analysis) => readonly Diagnostic[] = () => [],
  observe?: ModelObserver,
): { readonly analysis: Analysis; readonly diagnostics: Diagnostic[] } {
  const a = analyze(user, stdlib);
  const out = [...a.diagnostics];
  if (a.diagnostics.some((d) => d.severity === 'error' && d.code.startsWith('RNN1'))) return { analysis: a, diagnostics: out };
  for (const name of a.models.keys()) out.push(...buildModel(a, name, {}, undefined, observe ? { observe } : {}).diagnostics);
  out.push(...extra(a));
  return { analysis: a, diagnostics: out };
}

export interface TrainingGraphs {
  /** Forward: loss, prediction and final states (with a `gate` input under truncated BPTT). */
  readonly forward: Graph;
  /** The untruncated forward graph, for evaluation. */
  readonly inference: Graph;
  /** The untruncated forward graph without its loss: sampling and streaming. */
  readonly predict: Graph;
  /** Forward plus `d_<param>` for every parameter. */
  readonly training: Graph;
}

export interface GraphOptions {
  /** Run the optimisation pipeline (default true); off, the graphs are as autodiff made them. */
  readonly optimize?: boolean;
  readonly after?: PipelineOptions['after'];
  /** Recompute each step in the reverse loops instead of saving its intermediates (less memory, more work). */
  readonly remat?: boolean;
  /**
   * Lift parameter transposes into `derived` inputs that the runtime keeps
   * between calls (passes/lift-param-transposes.ts): for the tfjs session,
   * not for emitted code.
   */
  readonly liftParamTransposes?: boolean;
  /**
   * Specialise to batches without padding (every mask entry 1): the loops'
   * keep-state-on-padding updates are dropped (passes/assume-full-mask.ts).
   */
  readonly assumeFullMask?: boolean;
  /** Fuse elementwise ops into `fused` groups (passes/fuse-elementwise.ts; default true). */
  readonly fuse?: boolean;
  /**
   * Join each cell's gate products in the training and forward graphs too
   * (passes/pipeline.ts withJoinedGates; the predict graph always has them):
   * for the webgpu backend, where each product is a dispatch.
   */
  readonly joinGates?: boolean;
}

/** The graphs a run needs. With truncated BPTT the forward scans gain a gradient gate per step. */
export function trainingGraphs(model: LoweredModel, truncated: boolean, opts: GraphOptions = {}): TrainingGraphs {
  const pipeline = opts.after ? { after: opts.after } : {};
  const source = opts.assumeFullMask ? assumeFullMask(model.graph) : model.graph;
  const base = opts.optimize === false ? source : runPipeline(source, PRE_AUTODIFF_PIPELINE, pipeline);
  const forward = truncated ? truncateScans(base) : base;
  verifyGraph(forward, 'truncation');
  const training = differentiate(forward, 'loss', opts.remat ? { remat: true } : {});
  verifyGraph(training, 'differentiation');
  const withoutLoss = (g: Graph): Graph => eliminateDeadCode({ ...g, outputs: g.outputs.filter((o) => o.role !== 'loss') });
  if (opts.optimize === false) return { forward, inference: source, predict: withoutLoss(source), training };
  const joined = (passes: readonly Pass[]): readonly Pass[] => (opts.joinGates && !passes.includes(PASSES.fuseGateProducts) ? withJoinedGates(passes) : passes);
  const unfused = (passes: readonly Pass[]): readonly Pass[] => (opts.fuse === false ? joined(passes).filter((p) => p !== PASSES.fuseElementwise) : joined(passes));
  const optimizedForward = runPipeline(forward, unfused(FORWARD_PIPELINE), pipeline);
  const graphs = {
    forward: optimizedForward,
    inference: truncated ? runPipeline(base, unfused(FORWARD_PIPELINE)) : optimizedForward,
    training: runPipeline(training, unfused(TRAINING_PIPELINE), pipeline),
  };
  const lift = opts.liftParamTransposes ? liftParamTransposes : (g: Graph) => g;
  return {
    forward: lift(graphs.forward),
    inference: lift(graphs.inference),
    predict: lift(runPipeline(withoutLoss(base), unfused(PREDICT_PIPELINE), pipeline)),
    training: lift(graphs.training),
  };
}

/** A numeric option (`end`, `start`) of the decoder a model applies, with the statement's `with` binding first. */
export function decoderOption(a: Analysis, model: LoweredModel, name: string): number | undefined {
  const decl = a.models.get(model.name);
  const stmt = decl?.items.find((i) => i.kind === 'Equation' && i.target.name === model.decoders[0]);
  if (!stmt || stmt.kind !== 'Equation' || stmt.value.kind !== 'Call') return undefined;
  const bound = stmt.bindings.find((b) => b.name.name === name)?.value;
  const option = a.cells.get(stmt.value.callee.name)?.options.get(name)?.value;
  const e = bound ?? option;
  return e?.kind === 'NumberLit' ? e.value : undefined;
}

/**
 * What a compiled module needs to decode greedily, for a model whose decoder
 * writes a target of its own length: the same model lowered with its
 * decoders reading back their own most likely token (and the weights of
 * every `attend` as outputs), and the decoder's end token. Undefined for
 * other models.
 */
export function decodingFor(a: Analysis, model: LoweredModel): { model: LoweredModel; end?: number } | undefined {
  if (model.targetAxis === undefined || model.decoders.length === 0) return undefined;
  const dims: Record<string, number> = Object.create(null);
  for (const [k, v] of model.dims) if (typeof v === 'number') dims[k] = v;
  const built = buildModel(a, model.name, dims, { kind: 'own', draw: 'argmax' }, { attention: true });
  if (!built.model) throw new InternalError(`model ${model.name} lowered for teacher forcing but not for greedy decoding`);
  const end = decoderOption(a, model, 'end');
  return { model: built.model, ...(end !== undefined ? { end } : {}) };
}
