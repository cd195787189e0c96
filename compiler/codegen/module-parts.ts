// What every part of an emitted module reads (compiler/codegen/module.ts
// assembles the module from the emitters emit-types.ts, emit-helpers.ts,
// emit-params.ts, emit-checks.ts, emit-batches.ts, emit-graph-functions.ts,
// emit-forward.ts, emit-decode.ts and emit-training.ts): the options, the
// optimised graphs and their emitted functions, the names and shapes of
// parameters, state and outputs, and the small helpers the emitters share.
// Pure: no fs, no process.
import type { FunctionDeclarationStructure, StatementStructures } from 'ts-morph';
import { StructureKind } from 'ts-morph';
import { trainingGraphs } from '../compile.js';
import { InternalError } from '../diagnostics/diagnostic.js';
import { concreteShape } from '../ir/shape.js';
import type { Graph } from '../ir/types.js';
import { eliminateDeadCode } from '../passes/dead-code.js';
import { liftParamTransposes } from '../passes/lift-param-transposes.js';
import { unrollScans } from '../passes/unroll-scans.js';
import type { IoSpec, LoweredModel } from '../sema/model.js';
import type { TrainConfig } from '../sema/train.js';
import { CodegenError } from './bind.js';
import { dimResolver, GraphEmitter, quote, sourceLine, type CodegenContext, type GraphArg, type TopLevelFunction } from './emit-graph.js';
import { commentText } from './escape.js';
import { PRELUDE_NAMES } from './prelude.js';

export interface EmitOptions {
  readonly model: LoweredModel;
  /** The train block; needed for the `train` target. */
  readonly train?: TrainConfig;
  readonly target: 'forward' | 'train';
  /** Unroll every time loop this many steps (the entry then requires T === unroll). */
  readonly unroll?: number;
  /** Source texts by base file name (`model.rnn`, `cells.rnn`), to quote source lines. */
  readonly sources: ReadonlyMap<string, string>;
  /** The .rnn file, for the header. */
  readonly file: string;
  /**
   * Greedy decoding, for a model with decoders: the same model lowered with
   * its decoders reading back their own most likely token (and the weights
   * of every `attend` as outputs), and the decoders' end token.
   */
  readonly decoding?: { readonly model: LoweredModel; readonly end?: number };
}

export type Statement = string | StatementStructures;

export const rawBaseName = (file: string): string => file.split(/[\\/]/).pop() ?? file;
/** A file's base name, escaped for a comment (escape.ts): file names may hold any character. */
export const baseName = (file: string): string => commentText(file.split(/[\\/]/).pop() ?? file);
export const isSeq = (s: IoSpec): boolean => s.type.kind === 'tokens' || s.type.kind === 'vectors';
export const isTokens = (s: IoSpec): boolean => s.type.kind === 'tokens' || s.type.kind === 'token';

/** A function declaration with a doc comment (none: undefined) and a body of statement text. */
export const fn = (name: string, doc: string | undefined, parameters: { name: string; type: string }[], returnType: string, body: string, isExported = false): StatementStructures => ({
  kind: StructureKind.Function,
  name,
  isExported,
  ...(doc !== undefined ? { docs: [doc] } : {}),
  parameters,
  returnType,
  statements: body,
});

/** A generator function that reads tensors back (the prelude's `Reads<returnType>`). */
export const gen = (name: string, doc: string | undefined, parameters: { name: string; type: string }[], returnType: string, body: string): FunctionDeclarationStructure => ({
  kind: StructureKind.Function,
  name,
  isGenerator: true,
  ...(doc !== undefined ? { docs: [doc] } : {}),
  parameters,
  returnType: `Reads<${returnType}>`,
  statements: body,
});

/**
 * A function of the module that reads tensors back to the host (a loss, ids
 * to check, scores to decode): its body, written once as a generator
 * `<name>Reads` that yields each tensor to read (the prelude's `Reads`), and
 * two exported functions that run it: `name` reading synchronously
 * (dataSync) and `nameAsync` reading with `await t.data()`, which runs on
 * every backend, webgpu in Node.js included.
 */
export const readingFns = (name: string, doc: string, parameters: { name: string; type: string }[], returnType: string, body: string): StatementStructures[] => {
  const args = parameters.map((p) => p.name.replace(/\?$/, '')).join(', ');
  return [
    gen(`${name}Reads`, `The body of ${name} and ${name}Async: yields each tensor it reads.`, parameters, returnType, body),
    fn(name, `${doc} Reads tensors back synchronously (dataSync): on the cpu, wasm and tensorflow backends; on webgpu use ${name}Async.`, parameters, returnType, `return readSync(${name}Reads(${args}), ${quote(name)});`, true),
    fn(`${name}Async`, `${name}, reading tensors back with \`await t.data()\`: on every backend, webgpu (in Node.js or a browser) included.`, parameters, `Promise<${returnType}>`, `return readAsync(${name}Reads(${args}));`, true),
  ];
};

/** What the emitters of a module share. */
export type ModuleParts = ReturnType<typeof moduleParts>;

/** The graphs, names and shapes of a module. Throws CodegenError for what cannot be compiled. */
export function moduleParts(o: EmitOptions) {
  const { model } = o;
  const dims = new Map(model.dims);
  const unbound = [...dims].filter(([, v]) => typeof v !== 'number').map(([k]) => k);
  if (unbound.length > 0) throw new CodegenError(`dimension${unbound.length > 1 ? 's' : ''} ${unbound.join(', ')} of model ${model.name} ha${unbound.length > 1 ? 've' : 's'} no value`);
  const bind: Record<string, number> = Object.create(null);
  for (const [k, v] of dims) bind[k] = v as number;
  const shapeOf = (s: readonly (number | string)[]): number[] => concreteShape(s, bind);
  if (o.target === 'train' && !o.train) throw new CodegenError(`model ${model.name} has no train block: compile it with --target forward`);
  // A decoder that writes its target over the target's own steps (axis U, with its own lengths and mask).
  const own = model.targetAxis;
  const train = o.target === 'train' ? o.train! : undefined;
  const truncated = train?.bptt.kind === 'truncated';
  if (o.unroll !== undefined && truncated) {
    throw new CodegenError('--unroll needs `bptt full` for the train target: truncated-BPTT windows vary in length (compile with --target forward to unroll the forward pass)');
  }
  const unroll = (g: Graph): Graph => (o.unroll === undefined ? g : unrollScans(g, o.unroll));

  // ------------------------------------------------------------ the graphs
  // The optimised graphs, as the interpreter runs them (without its runtime-only transpose lifting).
  // Each twice: as they are, and specialised to batches without padding (passes/assume-full-mask.ts), chosen per call as the interpreter does.
  const graphs = trainingGraphs(model, truncated);
  const unpaddedGraphs = trainingGraphs(model, truncated, { assumeFullMask: true });
  const only = (g: Graph, keep: (role: string) => boolean): Graph => eliminateDeadCode({ ...g, outputs: g.outputs.filter((x) => keep(x.role)) });
  // Streaming calls forward() once per step: weight transposes are made once per Params (see `transposed`).
  const predict = unroll(liftParamTransposes(graphs.predict));
  const predictFull = unroll(liftParamTransposes(unpaddedGraphs.predict));
  const liftsTransposes = predict.inputs.some((i) => i.role === 'derived');
  const lossOnly = train ? unroll(only(graphs.inference, (r) => r === 'loss')) : undefined;
  const lossOnlyFull = train ? unroll(only(unpaddedGraphs.inference, (r) => r === 'loss')) : undefined;
  const training = train ? unroll(graphs.training) : undefined;
  const trainingFull = train ? unroll(unpaddedGraphs.training) : undefined;
  if (own && o.unroll !== undefined) throw new CodegenError(`--unroll needs sequences of one length, but the decoder of model ${model.name} writes \`${own}\` over steps of its own`);
  // Greedy decoding: the model whose decoders read back their own most likely token, with the attention weights.
  const greedy = own && o.decoding ? liftParamTransposes(trainingGraphs(o.decoding.model, false).predict) : undefined;

  const moduleNames = new Set<string>([...PRELUDE_NAMES, 'initParams', 'loadParams', 'saveParams', 'disposeParams', 'forward', 'loss', 'gradients', 'initOptimizer', 'disposeOptimizer', 'trainStep', 'OptimizerState', 'predictGraph', 'lossGraph', 'trainingGraph', 'predictGraphUnpadded', 'lossGraphUnpadded', 'trainingGraphUnpadded', 'checkParams', 'checkInputs', 'checkTargets', 'checkState', 'checkField', 'prepareInputs', 'prepareBatch', 'marks', 'zeroState', 'disposeState', 'sliceBatch', 'lossCount', 'differentiate', 'advance', 'applyUpdate', 'clipGradients', 'Sizes', 'TrainStepResult', 'Gradients', 'keepParams', 'transposed', 'TRANSPOSES', 'HYPER', 'decode', 'Decoded', 'DecodeOptions', 'greedyGraph', 'targetSteps', 'TargetSteps', 'END_TOKEN', 'beamSearch', 'BeamOptions', 'decoderStep']);
  const ctx: CodegenContext = { sources: o.sources, dim: dimResolver(dims), moduleNames };
  const emitter = new GraphEmitter(ctx);
  emitter.plan(predict, '');
  if (lossOnly) emitter.plan(lossOnly, '');
  if (training) emitter.plan(training, '_train');
  emitter.plan(predictFull, '_unpadded');
  if (lossOnlyFull) emitter.plan(lossOnlyFull, '_unpadded');
  if (trainingFull) emitter.plan(trainingFull, '_train_unpadded');
  if (greedy) emitter.plan(greedy, '_greedy');
  const UNPADDED = ' This variant runs on batches without padding (every sequence T long): the loops do not read the mask.';
  const predictDoc = 'The forward graph without the loss: the prediction and the final states.';
  const lossDoc = 'The forward graph down to the loss (the mean over the positions that count).';
  const trainingDoc = `The training graph: the forward pass, then the symbolic backward (reverse loops over saved carries) giving d_<param> of the loss${truncated ? '; `gate` [T] cuts the paths back through the recurrence at steps where it is 0' : ''}.`;
  const predictFn = emitter.emitTop(predict, 'predictGraph', predictDoc);
  // A decoder taught with its target (teacher forcing) reads the targets in forward too.
  const taught = predictFn.args.some((a) => a.kind === 'data' && model.targets.some((t) => t.name === a.name));
  const labelled = train || taught;
  const predictFullFn = emitter.emitTop(predictFull, 'predictGraphUnpadded', predictDoc + UNPADDED);
  const lossFn = lossOnly ? emitter.emitTop(lossOnly, 'lossGraph', lossDoc) : undefined;
  const lossFullFn = lossOnlyFull ? emitter.emitTop(lossOnlyFull, 'lossGraphUnpadded', lossDoc + UNPADDED) : undefined;
  const trainingFn = training ? emitter.emitTop(training, 'trainingGraph', trainingDoc) : undefined;
  const trainingFullFn = trainingFull ? emitter.emitTop(trainingFull, 'trainingGraphUnpadded', trainingDoc + UNPADDED) : undefined;
  const greedyFn = greedy
    ? emitter.emitTop(greedy, 'greedyGraph', "The forward graph with the decoders reading back their own most likely token (greedy decoding), over the target's U steps; with the weights of every `attend`.", 'Readonly<Record<string, tf.Tensor>>')
    : undefined;

  // ------------------------------------------------------------ names and shapes
  const params = model.params.map((p) => ({ spec: p, shape: shapeOf(p.shape) }));
  const stateInputs = model.graph.inputs.filter((i) => i.role === 'state');
  const states = stateInputs.map((i) => {
    const s = model.graph.values[i.value]!.type.shape;
    if (s[0] !== 'B') throw new InternalError(`codegen: state ${i.name} is not batch-first`);
    return { name: i.name, shape: shapeOf(s.slice(1)) };
  });
  // A model without recurrent state (only dense layers, or cells that read no [t-1]) has an empty StateName union, one
  // without parameters an empty ParamName union. Indexing a table by an empty union is `never` in TypeScript, and
  // reading a member of `never` or writing to it does not type-check (tsc --strict), so the loops over those names
  // are left out of such modules (test/codegen/emitted.test.ts compiles models of both kinds).
  const perParam = (loop: string, none = '// This model has no parameters.'): string => (params.length > 0 ? loop : none);
  const perState = (loop: string, none = '// This model has no recurrent state.'): string => (states.length > 0 ? loop : none);
  const outputSpec = model.graph.outputs.find((x) => x.role === 'output');
  if (!outputSpec) throw new InternalError('codegen: the model has no output');
  const outShape = model.graph.values[outputSpec.value]!.type.shape;
  const outIsSeq = outShape[0] === 'T' || outShape[0] === 'U';
  const outTail = shapeOf(outShape.slice(outIsSeq ? 2 : 1));
  const fieldDoc = (s: IoSpec): string => {
    const t = s.type;
    const src = (() => {
      const line = sourceLine(ctx, `${rawBaseName(s.span.file)}:${s.span.line}`);
      return line ? ` (${baseName(s.span.file)}:${s.span.line}: \`${line}\`)` : '';
    })();
    const steps = s.name === model.targetAxis ? 'U' : 'T';
    switch (t.kind) {
      case 'tokens':
        return `Token ids, int32 [B, ${steps}], each in [0, ${ctx.dim(t.vocab)})${steps === 'U' ? ', over the target\'s own U steps' : ''}${src}.`;
      case 'token':
        return `One token id per example, int32 [B], in [0, ${ctx.dim(t.vocab)})${src}.`;
      case 'vectors':
        return `A sequence of vectors, float32 [B, ${steps}, ${t.dims.map(ctx.dim).join(', ')}]${src}.`;
      case 'vector':
        return `One vector per example, float32 [B, ${t.dims.map(ctx.dim).join(', ')}]${src}.`;
    }
  };
  const fieldShape = (s: IoSpec): number[] => (s.type.kind === 'tokens' || s.type.kind === 'token' ? [] : s.type.dims.map(ctx.dim));
  const hasSeq = [...model.inputs, ...model.targets].some(isSeq);
  const inputsHaveSeq = model.inputs.some(isSeq);

  const callGraph = (f: TopLevelFunction, batch: string, state: string, lossFrom: string, gate: string): string => {
    const targetNames = new Set(model.targets.map((s) => s.name));
    const markExpr = (name: string): string | undefined =>
      name === 'mask'
        ? `tf.tensor2d(${batch}.mask, [${batch}.steps, ${batch}.batchSize])`
        : name === 'target_mask' || (name === 'weight' && own)
          ? `tf.tensor2d(${batch}.targetMask, [${batch}.targetSteps, ${batch}.batchSize])`
          : name === 'weight'
          ? `tf.tensor2d(restrictFrom(${batch}.mask, ${batch}.batchSize, ${lossFrom}), [${batch}.steps, ${batch}.batchSize])`
          : name === 'last'
            ? `tf.tensor2d(restrictFrom(${batch}.last, ${batch}.batchSize, ${lossFrom}), [${batch}.steps, ${batch}.batchSize])`
            : undefined;
    const args = f.args.map((a: GraphArg) => {
      switch (a.kind) {
        case 'params':
          return 'p';
        case 'state':
          return state;
        case 'control':
          return `tf.tensor1d(${gate})`;
        case 'data':
          return markExpr(a.name) ?? `${batch}.${targetNames.has(a.name) ? 'targets' : 'inputs'}[${quote(a.name)}]`;
      }
    });
    return `${f.structure.name}(${args.join(', ')})`;
  };
  /** Calls the unpadded variant when the batch has no padding, else the general graph. */
  const callEither = (f: TopLevelFunction, full: TopLevelFunction, batch: string, state: string, lossFrom: string, gate: string): string =>
    `(unpadded(${batch}.mask) ? ${callGraph(full, batch, state, lossFrom, gate)} : ${callGraph(f, batch, state, lossFrom, gate)})`;
  const keepState = (f: TopLevelFunction, r: string): string => (f.returns.includes('state') ? `mapState((name) => tf.keep(${r}.state[name]))` : 'mapState(() => tf.zeros([]))');

  return { o, model, dims, bind, shapeOf, own, train, truncated, unroll, graphs, unpaddedGraphs, only, predict, predictFull, liftsTransposes, lossOnly, lossOnlyFull, training, trainingFull, greedy, moduleNames, ctx, emitter, UNPADDED, predictDoc, lossDoc, trainingDoc, predictFn, taught, labelled, predictFullFn, lossFn, lossFullFn, trainingFn, trainingFullFn, greedyFn, params, stateInputs, states, perParam, perState, outputSpec, outShape, outIsSeq, outTail, fieldDoc, fieldShape, hasSeq, inputsHaveSeq, callGraph, callEither, keepState };
}
