// A lowered model -> the text of a standalone TypeScript module that depends
// only on @tensorflow/tfjs-core: typed parameters, inputs, state and outputs,
// initParams / loadParams / saveParams, forward (streaming), and with the
// `train` target loss / gradients / initOptimizer / trainStep, the symbolic
// backward emitted as code (reverse loops, truncated-BPTT windows).
//
// Built as ts-morph structures (imports, interfaces with doc comments,
// functions with typed parameters and return types); statement bodies are
// code text inside those structures. Pure: no fs, no process; formatting is
// format.ts. The runtime semantics it reproduces: runtime/tfjs (ops),
// runtime/train/session.ts (feeds, windows, updates), runtime/init.ts (init).
import { Project, StructureKind, VariableDeclarationKind } from 'ts-morph';
import type { StatementStructures } from 'ts-morph';
import { trainingGraphs } from '../compile.js';
import { liftParamTransposes } from '../passes/lift-param-transposes.js';
import { InternalError } from '../diagnostics/diagnostic.js';
import { concreteShape } from '../ir/shape.js';
import type { Graph } from '../ir/types.js';
import { eliminateDeadCode } from '../passes/dead-code.js';
import { unrollScans } from '../passes/unroll-scans.js';
import type { IoSpec, LoweredModel } from '../sema/model.js';
import type { TrainConfig } from '../sema/train.js';
import { bindInit, bindOptimizer, bindSchedule, CodegenError, defaultLr, OPTIMIZER_SLOTS } from './bind.js';
import { elementwiseCodeDeclaration, numberLiteral } from './emit-ops.js';
import { assertInert, commentText, propertyKey } from './escape.js';
import { dimResolver, GraphEmitter, quote, sourceLine, type CodegenContext, type GraphArg, type TopLevelFunction } from './emit-graph.js';
import { DECODE, INITS, OP_HELPERS, PRELUDE_NAMES, RNG, SCOPE_HELPERS, WINDOWS } from './prelude.js';

export { CodegenError } from './bind.js';

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

type Statement = string | StatementStructures;

const rawBaseName = (file: string): string => file.split(/[\\/]/).pop() ?? file;
/** A file's base name, escaped for a comment (escape.ts): file names may hold any character. */
const baseName = (file: string): string => commentText(file.split(/[\\/]/).pop() ?? file);
const isSeq = (s: IoSpec): boolean => s.type.kind === 'tokens' || s.type.kind === 'vectors';
const isTokens = (s: IoSpec): boolean => s.type.kind === 'tokens' || s.type.kind === 'token';

/** Emits the module's text (unformatted; see format.ts). Throws CodegenError for what cannot be compiled. */
export function emitModule(o: EmitOptions): string {
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

  const statements: Statement[] = [];
  const add = (...s: Statement[]): void => {
    statements.push(...s);
  };
  const fn = (name: string, doc: string | undefined, parameters: { name: string; type: string }[], returnType: string, body: string, isExported = false): StatementStructures => ({
    kind: StructureKind.Function,
    name,
    isExported,
    ...(doc !== undefined ? { docs: [doc] } : {}),
    parameters,
    returnType,
    statements: body,
  });

  // ------------------------------------------------------------ header and types
  add({ kind: StructureKind.ImportDeclaration, moduleSpecifier: '@tensorflow/tfjs-core', namespaceImport: 'tf' });
  add({
    kind: StructureKind.VariableStatement,
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ['The sizes this module was compiled for.'],
    declarations: [{ name: 'DIMS', initializer: `{ ${[...dims].map(([k, v]) => `${propertyKey(k, true)}: ${v as number}`).join(', ')} } as const` }],
  });
  add({
    kind: StructureKind.Interface,
    name: 'Params',
    isExported: true,
    docs: ['The trainable parameters, by full name (`<instance>.<param>`). The caller owns these tensors.'],
    properties: params.map(({ spec, shape }) => {
      const loc = `${baseName(spec.span.file)}:${spec.span.line}`;
      const line = sourceLine(ctx, `${rawBaseName(spec.span.file)}:${spec.span.line}`);
      const init = [spec.init.kind, ...spec.init.positional.map(numberLiteral), ...Object.entries(spec.init.args).map(([k, v]) => `${k} = ${numberLiteral(v)}`)];
      return {
        name: quote(spec.name),
        type: 'tf.Tensor',
        isReadonly: true,
        docs: [`float32 [${shape.join(', ')}], initialised by ${init[0]}${init.length > 1 ? `(${init.slice(1).join(', ')})` : ''}; ${loc}${line ? `: \`${line}\`` : ''}`],
      };
    }),
  });
  add(
    `/** The name of a parameter. */\nexport type ParamName = keyof Params;`,
    `/** Every parameter, in the order rnnc creates (and initialises) them. */\nexport const PARAM_NAMES: readonly ParamName[] = [${params.map((p) => quote(p.spec.name)).join(', ')}];`,
    `/** The shape of each parameter. */\nexport const PARAM_SHAPES: Readonly<Record<ParamName, readonly number[]>> = { ${params.map((p) => `${propertyKey(p.spec.name)}: [${p.shape.join(', ')}]`).join(', ')} };`,
    `/** Parameters as JSON (the format of \`rnnc params\`): name -> {shape, data} in row-major order. */\nexport type ParamsJson = Record<string, { shape: number[]; data: number[] }>;`,
  );
  const lengthsDoc = own
    ? `The real length of each target sequence (1..U, \`${own}\` holds U steps); the steps after it are padding. Default: all U.`
    : 'The real length of each sequence (1..T); the steps after it are padding. Default: all T.';
  const ioInterface = (name: string, doc: string, specs: readonly IoSpec[], lengths: string | undefined): StatementStructures => ({
    kind: StructureKind.Interface,
    name,
    isExported: true,
    docs: [doc],
    properties: [
      ...specs.map((s) => ({ name: quote(s.name), type: 'tf.Tensor', isReadonly: true, docs: [fieldDoc(s)] })),
      ...(lengths !== undefined ? [{ name: 'lengths', type: 'readonly number[]', isReadonly: true, hasQuestionToken: true, docs: [lengths] }] : []),
    ],
  });
  const inputsHaveSeq = model.inputs.some(isSeq);
  add(ioInterface('Inputs', 'The inputs of a batch, batch-major. The caller owns these tensors.', model.inputs, (own ? inputsHaveSeq : hasSeq) ? 'The real length of each sequence (1..T); the steps after it are padding. Default: all T.' : undefined));
  if (labelled) add(ioInterface('Targets', `The targets of a batch, batch-major${own ? `; \`${own}\` runs over steps of its own (U), not the inputs' T` : ''}. The caller owns these tensors.`, model.targets, own ? lengthsDoc : undefined));
  add({
    kind: StructureKind.Interface,
    name: 'State',
    isExported: true,
    docs: ['The recurrent state, `<instance>.<variable>` -> [B, ...]: pass the state `forward` returned to continue the sequences.'],
    properties: states.map((s) => ({ name: quote(s.name), type: 'tf.Tensor', isReadonly: true, docs: [`float32 [B, ${s.shape.join(', ')}]`] })),
  });
  add(
    `/** The name of a recurrent state. */\nexport type StateName = keyof State;`,
    `const STATE_NAMES: readonly StateName[] = [${states.map((s) => quote(s.name)).join(', ')}];`,
    `const STATE_SHAPES: Readonly<Record<StateName, readonly number[]>> = { ${states.map((s) => `${propertyKey(s.name)}: [${s.shape.join(', ')}]`).join(', ')} };`,
  );
  add({
    kind: StructureKind.Interface,
    name: 'Outputs',
    isExported: true,
    docs: ['What `forward` predicts, batch-major.'],
    properties: [{ name: quote(model.output), type: 'tf.Tensor', isReadonly: true, docs: [`float32 [B, ${outIsSeq ? `${outShape[0]}, ` : ''}${outTail.join(', ')}]${model.loss === 'cross_entropy' ? ' (logits)' : ''}`] }],
  });
  const tensorsInterface = (name: string, specs: readonly IoSpec[]): string =>
    `/** ${name === 'InputTensors' ? 'Inputs' : 'Targets'} as the graphs read them: sequences time-major [T, B, ...]. */\ninterface ${name} { ${specs.map((s) => `readonly ${quote(s.name)}: tf.Tensor;`).join(' ')} }`;
  add(
    tensorsInterface('InputTensors', model.inputs),
    `/** A batch as the graphs read it; mask and last are host [T, B] marks (1 on real steps; 1 at each sequence's last step). */\ninterface Batch { readonly steps: number; readonly batchSize: number; readonly inputs: InputTensors; readonly mask: Float32Array; readonly last: Float32Array; }`,
  );
  if (own) add(`/** The steps of a target of its own length: U, and the host [U, B] mask of its real steps. */\ninterface TargetSteps { readonly targetSteps: number; readonly targetMask: Float32Array; }`);
  if (labelled) add(tensorsInterface('TargetTensors', model.targets), `interface LabelledBatch extends Batch${own ? ', TargetSteps' : ''} { readonly targets: TargetTensors; }`);

  // ------------------------------------------------------------ helpers
  add(elementwiseCodeDeclaration(), OP_HELPERS, SCOPE_HELPERS);
  if (liftsTransposes) {
    add(
      `/** Weight transposes forward() made, per Params object (Params are never changed in place); disposeParams frees them. */\nconst TRANSPOSES = new WeakMap<Params, Map<string, tf.Tensor>>();`,
      fn('transposed', 'The transposes of parameters side by side (one parameter: its transpose), made once per Params object and kept (outside any scope) until disposeParams.', [{ name: 'p', type: 'Params' }, { name: 'names', type: 'readonly ParamName[]' }], 'tf.Tensor',
        `let kept = TRANSPOSES.get(p);\nif (kept === undefined) {\n  kept = new Map();\n  TRANSPOSES.set(p, kept);\n}\nconst key = names.join('+');\nlet t = kept.get(key);\nif (t === undefined) {\n  t = tf.keep(joinedTranspose(names.map((name) => p[name])));\n  kept.set(key, t);\n}\nreturn t;`),
    );
  }
  add(
    fn('mapParams', 'Builds a Params from a function of the parameter name.', [{ name: 'f', type: '(name: ParamName) => tf.Tensor' }], 'Params',
      perParam(`const out = {} as Record<ParamName, tf.Tensor>;\nfor (const name of PARAM_NAMES) out[name] = f(name);\nreturn out;`, '// This model has no parameters.\nvoid f;\nreturn {};')),
    fn('mapState', 'Builds a State from a function of the state name.', [{ name: 'f', type: '(name: StateName) => tf.Tensor' }], 'State',
      perState(`const out = {} as Record<StateName, tf.Tensor>;\nfor (const name of STATE_NAMES) out[name] = f(name);\nreturn out;`, '// This model has no recurrent state.\nvoid f;\nreturn {};')),
    fn('disposeParams', 'Disposes every tensor of a Params (parameters, or gradients), and the transposes forward() kept for it.', [{ name: 'p', type: 'Params' }], 'void', `${perParam('for (const name of PARAM_NAMES) p[name].dispose();', '// This model has no parameters.\nvoid p;')}${liftsTransposes ? '\nTRANSPOSES.get(p)?.forEach((t) => t.dispose());\nTRANSPOSES.delete(p);' : ''}`, true),
    fn('disposeState', 'Disposes every tensor of a State.', [{ name: 's', type: 'State' }], 'void', perState('for (const name of STATE_NAMES) s[name].dispose();', '// This model has no recurrent state.\nvoid s;'), true),
    fn('zeroState', 'The state at the start of a sequence: zeros.', [{ name: 'batchSize', type: 'number' }], 'State', `return mapState((name) => tf.zeros([batchSize, ...STATE_SHAPES[name]]));`),
  );

  // initParams
  const initKinds = new Set<string>();
  const initExprs = params.map(({ spec, shape }) => {
    const a = bindInit(spec.init.kind, spec.init.args, spec.init.positional);
    const n = shape.reduce((x, y) => x * y, 1);
    const rng = 'rng.fork()';
    const lit = numberLiteral;
    let e: string;
    switch (spec.init.kind) {
      case 'zeros':
      case 'ones':
      case 'constant':
        initKinds.add('fill');
        e = `initFill(${n}, ${spec.init.kind === 'zeros' ? 0 : spec.init.kind === 'ones' ? 1 : lit(a['value']!)})`;
        // The runtime forks a generator for every parameter, used or not.
        e = `(${rng}, ${e})`;
        break;
      case 'identity':
        if (shape.length !== 2 || shape[0] !== shape[1]) throw new CodegenError(`initialiser identity of ${spec.name} needs a square 2-D shape, got [${shape.join(', ')}]`);
        initKinds.add('identity');
        e = `(${rng}, initIdentity(${shape[0]}, ${lit(a['gain']!)}))`;
        break;
      case 'orthogonal':
        if (shape.length !== 2) throw new CodegenError(`initialiser orthogonal of ${spec.name} needs a 2-D shape, got [${shape.join(', ')}]`);
        initKinds.add('orthogonal');
        e = `initOrthogonal(${shape[0]}, ${shape[1]}, ${lit(a['gain']!)}, ${rng})`;
        break;
      case 'uniform':
        initKinds.add('uniform');
        e = `initUniform(${n}, ${lit(a['lo']!)}, ${lit(a['hi']!)}, ${rng})`;
        break;
      case 'normal':
        initKinds.add('normal');
        e = `initNormal(${n}, ${lit(a['mean']!)}, ${lit(a['std']!)}, ${rng})`;
        break;
      case 'glorot':
      case 'xavier':
        initKinds.add('glorot');
        e = `initGlorot([${shape.join(', ')}], ${lit(a['gain']!)}, ${rng})`;
        break;
      case 'he':
        initKinds.add('he');
        e = `initHe([${shape.join(', ')}], ${lit(a['gain']!)}, ${rng})`;
        break;
      default:
        throw new CodegenError(`unknown initialiser '${spec.init.kind}'`);
    }
    return `${propertyKey(spec.name)}: ${e},`;
  });
  add(RNG, ...[...initKinds].sort().map((k) => INITS[k]!));
  // The generator is exported: a consumer samples with the same stream as `rnnc sample`.
  add('export { Rng };');
  add(
    fn('initParams', 'Fresh parameters from their initialisers, seeded: the same values as `rnnc run` with `seed` (the caller owns them).', [{ name: 'seed', type: 'number' }], 'Params',
      `const rng = new Rng(seed);\n${perParam(`// One generator per parameter, forked in this order.\nconst values: Record<ParamName, Float64Array> = {\n${initExprs.join('\n')}\n};\nreturn mapParams((name) => tf.tensor(Float32Array.from(values[name]), [...PARAM_SHAPES[name]], 'float32'));`, '// This model has no parameters.\nvoid rng;\nreturn {};')}`, true),
    fn('loadParams', 'Parameters from JSON (`rnnc params` output), checking names and shapes (the caller owns the result).', [{ name: 'json', type: 'ParamsJson' }], 'Params',
      `if (typeof json !== 'object' || json === null) throw new Error('loadParams: expected an object mapping parameter names to {shape, data}');
for (const key of Object.keys(json)) {
  if (!(PARAM_NAMES as readonly string[]).includes(key)) throw new Error(\`loadParams: the model has no parameter \${key} (it has \${PARAM_NAMES.join(', ')})\`);
}
${perParam(`for (const name of PARAM_NAMES) {
  const entry = json[name];
  if (entry === undefined) throw new Error(\`loadParams: parameter \${name} is missing\`);
  if (!Array.isArray(entry.shape) || !sameShape(entry.shape, PARAM_SHAPES[name])) {
    throw new Error(\`loadParams: parameter \${name} has shape \${Array.isArray(entry.shape) ? shapeText(entry.shape) : String(entry.shape)}, the model needs \${shapeText(PARAM_SHAPES[name])}\`);
  }
  const size = PARAM_SHAPES[name].reduce((a, b) => a * b, 1);
  if (!Array.isArray(entry.data) || entry.data.length !== size || entry.data.some((x) => typeof x !== 'number')) {
    throw new Error(\`loadParams: parameter \${name} needs \${size} numbers in "data"\`);
  }
}
return mapParams((name) => tf.tensor(Float32Array.from(json[name]!.data), [...PARAM_SHAPES[name]], 'float32'));`, '// This model has no parameters.\nreturn {};')}`, true),
    fn('saveParams', 'Parameters as JSON (the format of `rnnc params`). Reads the tensors back synchronously.', [{ name: 'p', type: 'Params' }], 'ParamsJson',
      `const out: ParamsJson = {};\n${perParam('for (const name of PARAM_NAMES) out[name] = { shape: [...p[name].shape], data: Array.from(p[name].dataSync()) };', '// This model has no parameters.\nvoid p;')}\nreturn out;`, true),
    fn('checkParams', undefined, [{ name: 'p', type: 'Params' }], 'void',
      perParam(`for (const name of PARAM_NAMES) {
  const t = p[name];
  if (t === undefined || t === null) throw new Error(\`parameter \${name} is missing\`);
  if (!sameShape(t.shape, PARAM_SHAPES[name])) throw new Error(\`parameter \${name} has shape \${shapeText(t.shape)}, the model needs \${shapeText(PARAM_SHAPES[name])}\`);
}`, "if (typeof p !== 'object' || p === null) throw new Error('parameters must be an object');")),
  );

  // ------------------------------------------------------------ entry checks
  const checkLines = (specs: readonly IoSpec[], obj: string, what: string): string =>
    specs
      .map((s) => {
        const vocab = s.type.kind === 'tokens' || s.type.kind === 'token' ? String(ctx.dim(s.type.vocab)) : 'null';
        return `checkField(${obj}[${quote(s.name)}], ${quote(`${what}.${s.name}`)}, ${isTokens(s) ? "'int32'" : "'float32'"}, ${isSeq(s)}, [${fieldShape(s).join(', ')}], ${vocab}, sizes${own ? `, ${s.name === own}` : ''});`;
      })
      .join('\n');
  add(
    `/** The batch size and sequence length of a batch, and which field fixed them (for error messages)${own ? '; targetSteps: the steps of the target of its own length' : ''}. */\ninterface Sizes { batchSize: number; steps: number; batchFrom: string; stepsFrom: string;${own ? ' targetSteps: number;' : ''} }`,
    fn('checkField', 'Checks one input or target tensor: dtype, rank, sizes, token ids.', [
      { name: 't', type: 'tf.Tensor | undefined' }, { name: 'what', type: 'string' }, { name: 'dtype', type: "'int32' | 'float32'" }, { name: 'seq', type: 'boolean' },
      { name: 'inner', type: 'readonly number[]' }, { name: 'vocab', type: 'number | null' }, { name: 'sizes', type: 'Sizes' },
      ...(own ? [{ name: 'ownSteps', type: 'boolean' }] : []),
    ], 'void',
      `const layout = \`[B\${seq ? ', T' : ''}\${inner.map((d) => \`, \${d}\`).join('')}]\`;
if (t === undefined || t === null || !Array.isArray(t.shape)) throw new Error(\`\${what} is missing: expected a tensor \${dtype} \${layout}\`);
if (t.dtype !== dtype) throw new Error(\`\${what} must be \${dtype} \${layout}, got \${t.dtype} \${shapeText(t.shape)}\`);
const lead = seq ? 2 : 1;
if (t.rank !== lead + inner.length || !sameShape(t.shape.slice(lead), inner)) throw new Error(\`\${what} must have shape \${layout}, got \${shapeText(t.shape)}\`);
const b = t.shape[0]!;
if (sizes.batchSize < 0) {
  sizes.batchSize = b;
  sizes.batchFrom = what;
} else if (b !== sizes.batchSize) throw new Error(\`\${what} has batch size \${b} but \${sizes.batchFrom} has \${sizes.batchSize}\`);
${own ? `if (seq && ownSteps) {
  // A target of its own length: its steps are U, not the inputs' T.
  const steps = t.shape[1]!;
  if (steps < 1) throw new Error(\`\${what} has no time steps\`);
  sizes.targetSteps = steps;
} else ` : ''}if (seq) {
  const steps = t.shape[1]!;
  if (steps < 1) throw new Error(\`\${what} has no time steps\`);
  if (sizes.steps < 0) {
    sizes.steps = steps;
    sizes.stepsFrom = what;
  } else if (steps !== sizes.steps) throw new Error(\`\${what} has \${steps} steps but \${sizes.stepsFrom} has \${sizes.steps}\`);
}
if (vocab !== null) {
  const ids = t.dataSync();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    // The position as people index a batch, in the words of the runtime's check (runtime/train/feeds.ts).
    const where = seq ? \`example \${Math.floor(i / t.shape[1]!)}, step \${i % t.shape[1]!}\` : \`example \${i}\`;
    if (!(id >= 0 && id < vocab)) throw new Error(\`\${what}: token id \${id} (\${where}) is outside [0, \${vocab})\`);
  }
}`),
    fn('checkInputs', 'Checks the inputs at the entry; returns the batch size and the number of steps.', [{ name: 'inputs', type: 'Inputs' }], 'Sizes',
      `if (typeof inputs !== 'object' || inputs === null) throw new Error(${quote(`inputs must be an object: ${model.inputs.map((s) => s.name).join(', ')}`)});
const sizes: Sizes = { batchSize: -1, steps: -1, batchFrom: '', stepsFrom: ''${own ? ', targetSteps: -1' : ''} };
${checkLines(model.inputs, 'inputs', 'inputs')}
${(own ? false : hasSeq) && !model.inputs.some(isSeq) ? '' : `if (sizes.steps < 0) sizes.steps = 1;`}
${o.unroll !== undefined ? `if (sizes.steps !== ${o.unroll}) throw new Error(\`this module was compiled with --unroll ${o.unroll}: sequences must have exactly ${o.unroll} steps, got \${sizes.steps}\`);` : ''}
${(own ? inputsHaveSeq : hasSeq) ? `if (inputs.lengths !== undefined) {
  const l = inputs.lengths;
  if (!Array.isArray(l) || l.length !== sizes.batchSize || l.some((x) => !Number.isInteger(x) || x < 1 || x > sizes.steps)) {
    throw new Error(\`inputs.lengths must be \${sizes.batchSize} whole numbers between 1 and \${sizes.steps}\`);
  }
}` : ''}
return sizes;`),
  );
  if (labelled) {
    add(fn('checkTargets', 'Checks the targets against the inputs\' batch size and steps.', [{ name: 'targets', type: 'Targets' }, { name: 'sizes', type: 'Sizes' }], 'void',
      `if (typeof targets !== 'object' || targets === null) throw new Error(${quote(`targets must be an object: ${model.targets.map((s) => s.name).join(', ')}`)});
${checkLines(model.targets, 'targets', 'targets')}
if (sizes.steps < 0) sizes.steps = 1;${own ? `
if (targets.lengths !== undefined) {
  const l = targets.lengths;
  if (!Array.isArray(l) || l.length !== sizes.batchSize || l.some((x) => !Number.isInteger(x) || x < 1 || x > sizes.targetSteps)) {
    throw new Error(\`targets.lengths must be \${sizes.batchSize} whole numbers between 1 and \${sizes.targetSteps}\`);
  }
}` : ''}
${o.unroll !== undefined ? `if (sizes.steps !== ${o.unroll}) throw new Error(\`this module was compiled with --unroll ${o.unroll}: sequences must have exactly ${o.unroll} steps, got \${sizes.steps}\`);` : ''}`));
  }
  add(fn('checkState', 'Checks a state passed in to continue sequences.', [{ name: 'state', type: 'State' }, { name: 'batchSize', type: 'number' }], 'void',
    `if (typeof state !== 'object' || state === null) throw new Error('state must be an object returned by forward');
${perState(`for (const name of STATE_NAMES) {
  const t = state[name];
  const shape = [batchSize, ...STATE_SHAPES[name]];
  if (t === undefined || t === null) throw new Error(\`state \${name} is missing\`);
  if (!sameShape(t.shape, shape)) throw new Error(\`state \${name} has shape \${shapeText(t.shape)}, expected \${shapeText(shape)}\`);
}`, '// This model has no recurrent state.\nvoid batchSize;')}`));

  // ------------------------------------------------------------ batches
  const tensorsOf = (specs: readonly IoSpec[], obj: string): string =>
    `{ ${specs.map((s) => `${propertyKey(s.name)}: ${isSeq(s) ? `timeMajor(${obj}[${quote(s.name)}])` : `${obj}[${quote(s.name)}]`}`).join(', ')} }`;
  add(fn('prepareInputs', 'The inputs as the graphs read them, with the padding marks from `lengths`.', [{ name: 'inputs', type: 'Inputs' }, { name: 'sizes', type: 'Sizes' }], 'Batch',
    `const { batchSize, steps } = sizes;
const lengths: readonly number[] = ${(own ? inputsHaveSeq : hasSeq) ? 'inputs.lengths ?? ' : ''}new Array<number>(batchSize).fill(steps);
const mask = new Float32Array(steps * batchSize);
const last = new Float32Array(steps * batchSize);
for (let b = 0; b < batchSize; b++) {
  for (let t = 0; t < lengths[b]!; t++) mask[t * batchSize + b] = 1;
  last[(lengths[b]! - 1) * batchSize + b] = 1;
}
return { steps, batchSize, mask, last, inputs: ${tensorsOf(model.inputs, 'inputs')} };`));
  if (labelled) {
    add(
      fn('prepareBatch', undefined, [{ name: 'inputs', type: 'Inputs' }, { name: 'targets', type: 'Targets' }, { name: 'sizes', type: 'Sizes' }], 'LabelledBatch',
        own
          ? `return { ...prepareInputs(inputs, sizes), ...targetSteps(sizes.batchSize, sizes.targetSteps, targets.lengths), targets: ${tensorsOf(model.targets, 'targets')} };`
          : `return { ...prepareInputs(inputs, sizes), targets: ${tensorsOf(model.targets, 'targets')} };`),
    );
  }
  if (own) {
    add(fn('targetSteps', 'U steps of a target of its own length, and the [U, B] mask of the real ones from `lengths` (default: all U).', [{ name: 'batchSize', type: 'number' }, { name: 'steps', type: 'number' }, { name: 'lengths', type: 'readonly number[] | undefined' }], 'TargetSteps',
      `const targetMask = new Float32Array(steps * batchSize);
for (let b = 0; b < batchSize; b++) for (let t = 0; t < (lengths?.[b] ?? steps); t++) targetMask[t * batchSize + b] = 1;
return { targetSteps: steps, targetMask };`));
  }
  if (train) {
    add(
      fn('lossCount', `How many ${model.lossPer === 'example' ? 'sequences' : 'positions'} count in the loss from step lossFrom on.`, [{ name: 'batch', type: own ? 'LabelledBatch' : 'Batch' }, { name: 'lossFrom', type: 'number' }], 'number',
        own
          ? `// The loss counts the real steps of the target of its own length (lossFrom is 0: such a model trains on whole sequences).\nvoid lossFrom;\nlet n = 0;\nfor (const m of batch.targetMask) n += m;\nreturn n;`
          : `const marks = batch.${model.lossPer === 'example' ? 'last' : 'mask'};\nlet n = 0;\nfor (let i = Math.min(lossFrom, batch.steps) * batch.batchSize; i < marks.length; i++) n += marks[i]!;\nreturn n;`),
    );
    if (truncated) {
      const slice = (specs: readonly IoSpec[], obj: string): string =>
        `{ ${specs.map((s) => `${propertyKey(s.name)}: ${isSeq(s) ? `sliceTime(${obj}[${quote(s.name)}], t0, t1)` : `${obj}[${quote(s.name)}]`}`).join(', ')} }`;
      add(WINDOWS, fn('sliceBatch', 'Steps [t0, t1) of a batch (a truncated-BPTT window); per-example fields stay whole.', [{ name: 'batch', type: 'LabelledBatch' }, { name: 't0', type: 'number' }, { name: 't1', type: 'number' }], 'LabelledBatch',
        `const B = batch.batchSize;
return {
  steps: t1 - t0,
  batchSize: B,
  mask: batch.mask.subarray(t0 * B, t1 * B),
  last: batch.last.subarray(t0 * B, t1 * B),
  inputs: ${slice(model.inputs, 'batch.inputs')},
  targets: ${slice(model.targets, 'batch.targets')},
};`));
    }
  }

  // ------------------------------------------------------------ graph functions
  const bodyFunctions = emitter.bodyFunctions();
  add(...emitter.fusedDeclarations());
  add(...bodyFunctions.map((s) => s as StatementStructures));
  for (const f of [predictFn, predictFullFn, lossFn, lossFullFn, trainingFn, trainingFullFn, greedyFn]) if (f) add(f.structure as StatementStructures);

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

  add(fn('forward', `Runs the model on a batch of inputs${taught ? ' and the targets its decoder reads back (teacher forcing: step t reads the target of step t-1)' : ''}. Without \`state\` the sequences start from zeros; pass the returned state to continue them (streaming). Returns new tensors that the caller owns (dispose outputs and state when done); nothing passed in is disposed.`,
    [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, ...(taught ? [{ name: 'targets', type: 'Targets' }] : []), { name: 'state?', type: 'State' }], '{ outputs: Outputs; state: State }',
    `checkParams(p);
const sizes = checkInputs(inputs);${taught ? '\ncheckTargets(targets, sizes);' : ''}
if (state !== undefined) checkState(state, sizes.batchSize);
return scoped(() => {
  const batch = ${taught ? 'prepareBatch(inputs, targets, sizes)' : 'prepareInputs(inputs, sizes)'};
  const r = ${callEither(predictFn, predictFullFn, 'batch', 'state ?? zeroState(sizes.batchSize)', '0', '')};
  return { outputs: { ${quote(model.output)}: tf.keep(${outIsSeq ? 'batchMajor(r.output)' : 'r.output'}) }, state: ${keepState(predictFn, 'r')} };
});`, true));

  if (greedyFn && own) {
    const end = o.decoding?.end;
    const greedyStates = greedy!.inputs.filter((i) => i.role === 'state').map((i) => ({ name: i.name, shape: shapeOf(greedy!.values[i.value]!.type.shape.slice(1)) }));
    const K = outTail[0]!;
    const inputSeq = model.inputs.find(isSeq);
    add(
      `/** The decoder's end token: decoding stops when it is the most likely${end === undefined ? ' (this decoder has none: it writes maxLen tokens)' : ''}. */\nexport const END_TOKEN: number | null = ${end === undefined ? 'null' : numberLiteral(end)};`,
      `/** Options of decode: the longest output (default ${end === undefined && inputSeq ? "each input's length: this decoder has no end token" : '100'}), and whether to return the attention weights. */\nexport interface DecodeOptions { readonly maxLen?: number; readonly attention?: boolean; }`,
      `/** One decoded output: its tokens (without the end token), their log-probability (natural log), and on request the weights of each \`attend\` ([output step][${inputSeq ? 'input position' : 'location'}]). */\nexport interface Decoded { readonly tokens: number[]; readonly logProb: number; readonly attention?: Record<string, number[][]>; }`,
      `/** Options of beamSearch: hypotheses kept per input (default 4), the longest output (default 100), GNMT's length normalisation ((5 + n) / 6)^alpha (default 0: none). */\nexport interface BeamOptions { readonly width?: number; readonly maxLen?: number; readonly alpha?: number; }`,
      DECODE,
    );
    add(fn('decode', `Greedy decoding (as \`rnnc translate\`): for each example, the decoder writes its most likely token at each step, reading it back at the next, until ${end === undefined ? 'maxLen tokens' : 'the end token (or maxLen tokens)'}. Returns plain arrays; nothing passed in is disposed.`,
      [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, { name: 'options', type: 'DecodeOptions = {}' }], 'Decoded[]',
      `checkParams(p);
const sizes = checkInputs(inputs);
if (options.maxLen !== undefined && (!Number.isInteger(options.maxLen) || options.maxLen < 1)) throw new Error(\`decode: maxLen must be a whole number of at least 1, got \${String(options.maxLen)}\`);
${end === undefined && inputSeq ? `// Without an end token an output has its input's length (as rnnc translate), unless maxLen says otherwise.
const limitOf = (b: number): number => options.maxLen ?? (inputs.lengths ?? new Array<number>(sizes.batchSize).fill(sizes.steps))[b]!;` : 'const limitOf = (_b: number): number => options.maxLen ?? 100;'}
const maxLen = Math.max(...Array.from({ length: sizes.batchSize }, (_, b) => limitOf(b)));
return scoped(() => {
  const batch = { ...prepareInputs(inputs, sizes), ...targetSteps(sizes.batchSize, maxLen, undefined) };
  // Its states start from zeros: the model's, and the one-hot token each decoder reads back.
  const B0 = sizes.batchSize;
  const start: Record<string, tf.Tensor> = { ${greedyStates.map((g) => `${propertyKey(g.name)}: tf.zeros([B0, ${g.shape.join(', ')}])`).join(', ')} };
  const r = ${callGraph(greedyFn, 'batch', 'start', '0', '')};
  const scores = r.output.dataSync();
  const B = sizes.batchSize;
  const K = ${K};
  const lp = logSoftmaxRows(scores, K);
  const lengths: readonly number[] = ${inputSeq ? 'inputs.lengths ?? new Array<number>(B).fill(sizes.steps)' : 'new Array<number>(B).fill(1)'};
  return Array.from({ length: B }, (_, b): Decoded => {
    const tokens: number[] = [];
    let logProb = 0;
    for (let t = 0; t < limitOf(b); t++) {
      const at = (t * B + b) * K;
      // The first largest score, as the graph's own choice (tf.argMax).
      let best = 0;
      for (let k = 1; k < K; k++) if (scores[at + k]! > scores[at + best]!) best = k;
      logProb += lp[at + best]!;
      if (best === END_TOKEN) break;
      tokens.push(best);
    }
    if (!options.attention) return { tokens, logProb };
    const attention: Record<string, number[][]> = {};
    ${greedyFn.returns.includes('results') ? `for (const [name, w] of Object.entries(r.results)) {
      const [, , L] = w.shape as [number, number, number];
      const data = w.dataSync();
      ${inputSeq ? '// Padded source positions are left out.\n      const n = lengths[b]!;' : 'const n = L;'}
      attention[name] = tokens.map((_, t) => Array.from(data.subarray((t * B + b) * L, (t * B + b) * L + n)));
    }` : '// This model has no attention.\n    void lengths;'}
    return { tokens, logProb, attention };
  });
});`, true));
    const pick = (spec: IoSpec): string => `${propertyKey(spec.name)}: tf.gather(inputs[${quote(spec.name)}], picked)`;
    const targetOf = (spec: IoSpec): string =>
      spec.name === own
        ? `${propertyKey(spec.name)}: tf.tensor2d(tokens, [rows.length, U], 'int32')`
        : `${propertyKey(spec.name)}: tf.zeros([rows.length${isSeq(spec) ? ', U' : ''}${fieldShape(spec).map((d) => `, ${d}`).join('')}], ${isTokens(spec) ? "'int32'" : "'float32'"})`;
    add(fn('decoderStep', `One decoder step for custom decoding (sampling, constraints): for each row, the scores (logits) of the token that follows its prefix, the decoder reading back the prefix's tokens (teacher forcing) over example \`source\` of the inputs. Rows may have prefixes of different lengths; all run in one batch. Nothing passed in is disposed.`,
      [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, { name: 'rows', type: 'readonly { readonly source: number; readonly tokens: readonly number[] }[]' }], 'Float32Array[]',
      `checkParams(p);
const sizes = checkInputs(inputs);
if (rows.length === 0) return [];
for (const r of rows) {
  if (!Number.isInteger(r.source) || r.source < 0 || r.source >= sizes.batchSize) throw new Error(\`decoderStep: source \${String(r.source)} is not an example of the inputs (0 to \${sizes.batchSize - 1})\`);
  if (!r.tokens.every((id) => Number.isInteger(id) && id >= 0 && id < ${K})) throw new Error(\`decoderStep: a prefix holds a token outside [0, ${K})\`);
}
${inputSeq ? 'const lengths: readonly number[] = inputs.lengths ?? new Array<number>(sizes.batchSize).fill(sizes.steps);' : ''}
const U = Math.max(...rows.map((r) => r.tokens.length)) + 1;
return scoped(() => {
  const picked = tf.tensor1d(rows.map((r) => r.source), 'int32');
  const tokens = new Int32Array(rows.length * U);
  rows.forEach((r, i) => tokens.set(r.tokens, i * U));
  const chosen: Inputs = { ${[...model.inputs.map(pick), ...(inputSeq ? ['lengths: rows.map((r) => lengths[r.source]!)'] : [])].join(', ')} };
  const out = forward(p, chosen, { ${model.targets.map(targetOf).join(', ')}, lengths: rows.map((r) => r.tokens.length + 1) });
  disposeState(out.state);
  const scores = out.outputs[${quote(model.output)}]!;
  const data = scores.dataSync() as Float32Array;
  scores.dispose();
  // Row i's scores at its own next step, [B, U, K] batch-major.
  return rows.map((r, i) => data.slice((i * U + r.tokens.length) * ${K}, (i * U + r.tokens.length + 1) * ${K}));
});`, true));
    add(fn('beamSearch', `Beam search (as \`rnnc translate --beam\`): for each example the \`width\` most likely outputs are extended one token at a time${end === undefined ? '' : ', a hypothesis ending at the end token'}, scores divided by the length penalty; the best is returned. Each step is one decoderStep over all examples' hypotheses. Nothing passed in is disposed.`,
      [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, { name: 'options', type: 'BeamOptions = {}' }], 'Decoded[]',
      `checkParams(p);
const sizes = checkInputs(inputs);
const width = options.width ?? 4;
const alpha = options.alpha ?? 0;
if (!Number.isInteger(width) || width < 1) throw new Error(\`beamSearch: width must be a whole number of at least 1, got \${String(width)}\`);
if (options.maxLen !== undefined && (!Number.isInteger(options.maxLen) || options.maxLen < 1)) throw new Error(\`beamSearch: maxLen must be a whole number of at least 1, got \${String(options.maxLen)}\`);
if (!(alpha >= 0)) throw new Error(\`beamSearch: alpha must be a number of at least 0, got \${String(alpha)}\`);
${end === undefined && inputSeq ? `// Without an end token an output has its input's length (as rnnc translate), unless maxLen says otherwise.
const inputLengths: readonly number[] = inputs.lengths ?? new Array<number>(sizes.batchSize).fill(sizes.steps);
const lengths = inputLengths.map((n) => options.maxLen ?? n);` : 'const lengths = new Array<number>(sizes.batchSize).fill(options.maxLen ?? 100);'}
const limits = { lengths, alpha${end === undefined ? '' : `, end: ${numberLiteral(end)}`} };
return beamSearchWith(sizes.batchSize, width, limits, (rows) => {
  const scores = decoderStep(p, inputs, rows);
  const data = new Float32Array(rows.length * ${K});
  scores.forEach((s, i) => data.set(s, i * ${K}));
  return { data, k: ${K} };
});`, true));
  }

  if (train && lossFn && trainingFn) {
    add(fn('loss', `The mean loss of a batch (${model.loss}, per ${model.lossPer === 'example' ? 'sequence' : 'position'}), over the whole sequences.`,
      [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, { name: 'targets', type: 'Targets' }], 'number',
      `checkParams(p);
const sizes = checkInputs(inputs);
checkTargets(targets, sizes);
return scoped(() => {
  const batch = prepareBatch(inputs, targets, sizes);
  return ${callEither(lossFn, lossFullFn!, 'batch', 'zeroState(sizes.batchSize)', '0', '')}.loss.dataSync()[0]!;
});`, true));
    const gateParam = truncated ? [{ name: 'gate', type: 'Float32Array' }] : [];
    add(fn('differentiate', 'The training graph on a batch or window: the loss, and gradients and final states that the caller owns.',
      [{ name: 'p', type: 'Params' }, { name: 'batch', type: 'LabelledBatch' }, { name: 's', type: 'State' }, { name: 'lossFrom', type: 'number' }, ...gateParam], '{ loss: number; grads: Params; state: State }',
      `return scoped(() => {
  const r = ${callEither(trainingFn, trainingFullFn!, 'batch', 's', 'lossFrom', 'gate')};
  return { loss: r.loss.dataSync()[0]!, grads: ${trainingFn.returns.includes('grads') ? 'mapParams((name) => tf.keep(r.grads[name]))' : 'mapParams(() => tf.zeros([]))'}, state: ${keepState(trainingFn, 'r')} };
});`));
    if (truncated) {
      add(fn('advance', 'Runs the forward graph over a part of a batch only to move the states on (the caller owns the result).',
        [{ name: 'p', type: 'Params' }, { name: 'batch', type: 'Batch' }, { name: 's', type: 'State' }], 'State',
        `return scoped(() => {\n  const r = ${callEither(predictFn, predictFullFn, 'batch', 's', '0', '')};\n  return ${keepState(predictFn, 'r')};\n});`));
    }

    // gradients
    const bptt = train.bptt;
    if (bptt.kind === 'full') {
      add(fn('gradients', 'The loss and d(loss)/d(param) of a batch (full BPTT), parameters held fixed. The caller owns (and disposes) the gradients.',
        [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, { name: 'targets', type: 'Targets' }], '{ loss: number; grads: Params }',
        `checkParams(p);
const sizes = checkInputs(inputs);
checkTargets(targets, sizes);
return scoped(() => {
  const r = differentiate(p, prepareBatch(inputs, targets, sizes), zeroState(sizes.batchSize), 0);
  disposeState(r.state);
  return { loss: r.loss, grads: r.grads };
});`, true));
    } else {
      add(fn('gradients', `The loss and gradients of each truncated-BPTT window (k1 = ${bptt.k1}, k2 = ${bptt.k2}) that has loss positions, parameters held fixed, states carried from window to window. The caller owns (and disposes) the gradients.`,
        [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, { name: 'targets', type: 'Targets' }], '{ windows: { loss: number; grads: Params }[] }',
        `checkParams(p);
const sizes = checkInputs(inputs);
checkTargets(targets, sizes);
return scoped(() => {
  const windows: { loss: number; grads: Params }[] = [];
  walkWindows(prepareBatch(inputs, targets, sizes), (part, s, gate, lossFrom) => {
    const r = differentiate(p, part, s, lossFrom, gate);
    windows.push({ loss: r.loss, grads: r.grads });
    return r;
  }, () => p);
  return { windows };
});`, true));
      add(fn('walkWindows', 'Walks the truncated-BPTT windows of a batch (as rnnc\'s runtime/train/window-runner.ts), carrying the states from window to window; `run` differentiates one window (and may update the parameters, which `params` then returns). Returns each window\'s loss and loss count.',
        [{ name: 'batch', type: 'LabelledBatch' }, { name: 'run', type: '(part: LabelledBatch, s: State, gate: Float32Array, lossFrom: number) => { loss: number; state: State }' }, { name: 'params', type: '() => Params' }],
        '{ losses: number[]; counts: number[] }',
        `const losses: number[] = [];
const counts: number[] = [];
let states: State = zeroState(batch.batchSize);
let statePos = 0;
const windows = planWindows(batch.steps, ${bptt.k1}, ${bptt.k2});
for (let wi = 0; wi < windows.length; wi++) {
  const w = windows[wi]!;
  if (statePos < w.start) {
    const next = advance(params(), sliceBatch(batch, statePos, w.start), states);
    disposeState(states);
    states = next;
    statePos = w.start;
  }
  const part = sliceBatch(batch, w.start, w.end);
  const lossFrom = w.lossFrom - w.start;
  const n = lossCount(part, lossFrom);
  if (n === 0) continue;
  const r = run(part, states, windowGate(w), lossFrom);
  losses.push(r.loss);
  counts.push(n);
  const stop = !Number.isFinite(r.loss);
  if (!stop && windows[wi + 1]?.start === w.end) {
    // The next window starts where this one ends (k2 <= k1): keep its states.
    disposeState(states);
    states = r.state;
    statePos = w.end;
  } else disposeState(r.state);
  if (stop) break;
}
disposeState(states);
return { losses, counts };`));
    }

    // optimizer
    const opt = train.optimizer;
    const h = bindOptimizer(opt.name, opt.args);
    const slots = OPTIMIZER_SLOTS[opt.name]!;
    const lit = numberLiteral;
    const baseLr = typeof opt.args['lr'] === 'number' ? opt.args['lr'] : defaultLr(opt.name);
    let lrBody: string;
    let lrDoc: string;
    if (train.schedule) {
      const s = bindSchedule(train.schedule.name, train.schedule.args);
      const lr = lit(baseLr);
      const decay = ((): string => {
        switch (train.schedule.name) {
          case 'constant':
            return `${lr}`;
          case 'step':
            return `${lr} * Math.pow(${lit(s['gamma']!)}, Math.floor(s / ${lit(s['every']!)}))`;
          case 'exponential':
            return `${lr} * Math.pow(${lit(s['gamma']!)}, s / ${lit(s['decay_steps']!)})`;
          case 'cosine':
            return `${lit(s['min_lr']!)} + ((${lr} - ${lit(s['min_lr']!)}) * (1 + Math.cos((Math.PI * Math.min(s, ${lit(s['steps']!)})) / ${lit(s['steps']!)}))) / 2`;
          default:
            throw new CodegenError(`unknown learning-rate schedule '${train.schedule.name}'`);
        }
      })();
      const warm = s['warmup']!;
      lrBody = `${warm > 0 ? `if (step < ${warm}) return (${lr} * (step + 1)) / ${warm};\n` : ''}const s = step - ${warm};\nreturn ${decay};`;
      lrDoc = `The learning rate of update number \`step\` (0 for the first): schedule ${train.schedule.name}(${Object.entries(train.schedule.args).map(([k, v]) => `${k} = ${v}`).join(', ')}) from lr = ${baseLr}.`;
    } else {
      lrBody = `return ${lit(h['lr']!)};`;
      lrDoc = `The learning rate (constant).`;
    }
    add(fn('learningRate', lrDoc, [{ name: 'step', type: 'number' }], 'number', lrBody));
    const slotInit = opt.name === 'adagrad' ? lit(h['initial']!) : '0';
    add({
      kind: StructureKind.Interface,
      name: 'OptimizerState',
      isExported: true,
      docs: [`The state of the ${opt.name} optimizer: the number of updates made and its slots per parameter. trainStep takes ownership of it.`],
      properties: [
        { name: 'step', type: 'number', isReadonly: true },
        ...slots.map((s) => ({ name: s, type: 'Params', isReadonly: true })),
      ],
    });
    add(
      fn('initOptimizer', `A fresh optimizer state for these parameters (slots start at ${slotInit}).`, [{ name: 'p', type: 'Params' }], 'OptimizerState',
        `checkParams(p);\nreturn { step: 0${slots.map((s) => `, ${s}: mapParams((name) => tf.fill([...PARAM_SHAPES[name]], ${slotInit}))`).join('')} };`, true),
      fn('disposeOptimizer', 'Disposes the tensors of an optimizer state.', [{ name: 'state', type: 'OptimizerState' }], 'void',
        slots.length === 0 ? 'void state;' : slots.map((s) => `disposeParams(state.${s});`).join('\n'), true),
    );
    const clip = train.clip;
    // Clipping and the update are the interpreter's own functions (clipGlobalNorm, clipValues and
    // optimizerUpdate of runtime/tfjs/portable-ops.ts, carried in the prelude), given this model's settings.
    const clipBody = !clip
      ? 'return grads;'
      : `const clipped = ${clip.mode === 'norm' ? 'clipGlobalNorm' : 'clipValues'}(PARAM_NAMES.map((name) => grads[name]), ${lit(clip.value)})${clip.mode === 'norm' ? '.slice(1)' : ''};
return mapParams((name) => clipped[PARAM_NAMES.indexOf(name)]!);`;
    add(fn('clipGradients', clip ? `Gradient clipping: clip ${clip.mode} ${clip.value}.` : 'No clipping is configured.', [{ name: 'grads', type: 'Params' }], 'Params', clipBody));
    const hyper = `{ ${Object.entries(h).map(([k, v]) => `${k}: ${lit(v)}`).join(', ')} }`;
    const update = `const r = optimizerUpdate(${quote(opt.name)}, p[name], g, { ${slots.map((sl) => `${sl}: state.${sl}[name]`).join(', ')} }, HYPER, lr, t);
params[name] = r.p;${slots.map((sl) => `\n${sl}[name] = r.slots[${quote(sl)}]!;`).join('')}`;
    const rule: Record<string, string> = {
      sgd: 'p -= lr g',
      momentum: h['nesterov'] === 1 ? 'v = mu v - lr g; p += mu v - lr g (Nesterov)' : 'v = mu v - lr g; p += v',
      rmsprop: 's = rho s + (1 - rho) g^2; p -= lr g / (sqrt(s) + eps)',
      adam: 'm = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr m^ / (sqrt(v^) + eps), with the bias corrections of step t',
      adagrad: 'a = a + g^2; p -= lr g / (sqrt(a) + eps)',
    };
    add(`/** The ${opt.name} optimizer's settings (defaults filled in). */\nconst HYPER: Readonly<Record<string, number>> = ${hyper};`);
    add(fn('applyUpdate', `One ${opt.name} update (${rule[opt.name]}${clip ? `, after clip ${clip.mode} ${clip.value}` : ''}). Returns new parameters and state that the caller owns; disposes nothing.`,
      [{ name: 'p', type: 'Params' }, { name: 'state', type: 'OptimizerState' }, { name: 'grads', type: 'Params' }], '{ params: Params; optimizer: OptimizerState }',
      `const lr = learningRate(state.step);
if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(\`learning rate at step \${state.step} is \${lr}; it must be a finite number >= 0\`);
const t = state.step + 1;
return scoped(() => {
  const clipped = clipGradients(grads);
  const params = {} as Record<ParamName, tf.Tensor>;
${slots.map((s) => `  const ${s} = {} as Record<ParamName, tf.Tensor>;`).join('\n')}
  ${perParam(`for (const name of PARAM_NAMES) {
    const g = clipped[name];
    ${update.split('\n').join('\n    ')}
  }`, `// This model has no parameters.\n  void state;\n  void clipped;`)}
  return { params: mapParams((name) => tf.keep(params[name])), optimizer: { step: t${slots.map((s) => `, ${s}: mapParams((name) => tf.keep(${s}[name]))`).join('')} } };
});`));
    add(`/** What trainStep returns: the parameters and optimizer state to use next, and the batch's mean loss. */\nexport interface TrainStepResult { readonly params: Params; readonly optimizer: OptimizerState; readonly loss: number; }`);
    const trainDoc = `One training step on a batch: ${bptt.kind === 'full' ? 'the gradients of the whole sequences (full BPTT), then one update' : `one update per truncated-BPTT window (k1 = ${bptt.k1}, k2 = ${bptt.k2})`}. Ownership: trainStep takes \`p\` and \`optimizer\` and disposes them once it has made their successors; use only the returned ones. A non-finite loss makes no update (the returned params are then the ones passed in). The loss is the batch's mean${bptt.kind === 'full' ? '' : ' over the windows'}.`;
    const commit = `const next = applyUpdate(params, optimizer, r.grads);
disposeParams(params);
disposeOptimizer(optimizer);
params = next.params;
optimizer = next.optimizer;`;
    add(fn('trainStep', trainDoc,
      [{ name: 'p', type: 'Params' }, { name: 'optimizer', type: 'OptimizerState' }, { name: 'inputs', type: 'Inputs' }, { name: 'targets', type: 'Targets' }], 'TrainStepResult',
      bptt.kind === 'full'
        ? `checkParams(p);
const sizes = checkInputs(inputs);
checkTargets(targets, sizes);
return scoped(() => {
  let params = p;
  const r = differentiate(p, prepareBatch(inputs, targets, sizes), zeroState(sizes.batchSize), 0);
  disposeState(r.state);
  if (Number.isFinite(r.loss)) {
    ${commit.split('\n').join('\n    ')}
  }
  disposeParams(r.grads);
  return { params, optimizer, loss: r.loss };
});`
        : `checkParams(p);
const sizes = checkInputs(inputs);
checkTargets(targets, sizes);
return scoped(() => {
  let params = p;
  const { losses, counts } = walkWindows(prepareBatch(inputs, targets, sizes), (part, s, gate, lossFrom) => {
    const r = differentiate(params, part, s, lossFrom, gate);
    if (Number.isFinite(r.loss)) {
      ${commit.split('\n').join('\n      ')}
    }
    disposeParams(r.grads);
    return r;
  }, () => params);
  const bad = losses.find((l) => !Number.isFinite(l));
  const total = counts.reduce((a, b) => a + b, 0);
  const loss = bad !== undefined ? bad : total > 0 ? losses.reduce((acc, l, i) => acc + l * counts[i]!, 0) / total : 0;
  return { params, optimizer, loss };
});`, true));
  }

  // ------------------------------------------------------------ the file
  const header = moduleHeader(o, truncated, train);
  const project = new Project({ useInMemoryFileSystem: true });
  const file = project.createSourceFile('model.ts', { statements: [header, ...statements] });
  const text = file.getFullText();
  assertInert(text);
  return text;
}

function moduleHeader(o: EmitOptions, truncated: boolean, train: TrainConfig | undefined): string {
  const m = o.model;
  const lines = [
    `Model \`${m.name}\` of ${baseName(o.file)}, compiled by rnnc (target ${o.target}${o.unroll !== undefined ? `, unrolled ${o.unroll} steps` : ''}).`,
    'Generated code: edit the .rnn file and compile again rather than editing this file.',
    '',
    'It depends only on @tensorflow/tfjs-core, versions 4.22.x (a peer dependency): register a backend',
    'first (tfjs-node, wasm, webgl or cpu).',
    'Inputs are batch-major as people write data; inside, sequences are time-major [T, B, ...]',
    'and each recurrence is a loop over time whose step is one function below.',
    '',
    ...(train
      ? [
          'Tensor ownership: nothing passed in is disposed, except by trainStep, which takes the',
          'parameters and optimizer state it is given and returns their successors. Every tensor a',
          'function returns belongs to the caller (dispose it, or use disposeParams / disposeState /',
          'disposeOptimizer); every other tensor is released before the function returns, so',
          'tf.memory().numTensors stays flat over a training loop.',
        ]
      : [
          'Tensor ownership: nothing passed in is disposed. Every tensor a function returns belongs',
          'to the caller (dispose it, or use disposeParams / disposeState); every other tensor is',
          'released before the function returns.',
        ]),
  ];
  if (train) {
    lines.push(
      '',
      `Training: ${train.optimizer.name}${train.schedule ? ` with schedule ${train.schedule.name}` : ''}${train.clip ? `, clip ${train.clip.mode} ${train.clip.value}` : ''}, ${truncated && train.bptt.kind === 'truncated' ? `truncated BPTT (k1 = ${train.bptt.k1}, k2 = ${train.bptt.k2})` : 'full BPTT'}; gradients are the`,
      'symbolic derivative rnnc computes (reverse loops over saved carries), emitted as code.',
    );
  }
  return `/**\n${lines.map((l) => ` *${l ? ` ${l}` : ''}`).join('\n')}\n */`;
}
