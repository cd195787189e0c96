// A model as a chain of standard layers, the shape other frameworks know:
// token ids or vectors -> [embed | one_hot] -> standard cells (rnn, lstm,
// gru, gru_ra; `bidir` too) -> dense -> element-wise activations, with
// `last(h)` taking a recurrent layer's final step and `dropout` (the identity
// when predicting). The plan is what the TensorFlow.js Layers export and
// PyTorch's names (docs/weights.md) are made from: each layer with its
// rnnc parameter prefix and sizes.
//
// It is read from the model's statements, from the loss's prediction back
// to the input, and checked against the lowered model: every parameter of
// the model belongs to exactly one layer of the plan, with the shape the
// layer expects, so a statement the walk did not understand cannot slip
// through. Whatever does not fit (a cell of the user's, `reverse`, `concat`,
// attention, decoders, convolutions, two inputs...) is refused with the
// statement's position and the reason.
import type { Binding, Call, Equation, Expr, ModelDecl } from '../../compiler/ast/ast.js';
import type { Span } from '../../compiler/diagnostics/span.js';
import type { CellInfo } from '../../compiler/sema/cell.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import { RuntimeUserError } from '../io.js';

export type CellKind = 'rnn' | 'lstm' | 'gru' | 'gru_ra';
export type Activation = 'linear' | 'tanh' | 'sigmoid' | 'relu' | 'softmax' | 'softplus';

export type PlanLayer =
  | { readonly kind: 'embedding'; readonly name: string; readonly vocab: number; readonly size: number; readonly oneHot: boolean }
  | {
      readonly kind: 'recurrent';
      readonly cell: CellKind;
      /** The parameters' prefix: `fw` of `fw.W_g`; a `bidir` layer's are `<name>.fw.*` and `<name>.bw.*`. */
      readonly name: string;
      readonly input: number;
      readonly units: number;
      /** rnn's activation (`with act = relu`); the others' are fixed. */
      readonly act: 'tanh' | 'relu';
      readonly bidir: boolean;
      /** false when only the last step is read (`last(h)`). */
      returnSequences: boolean;
      /** The cell's application, for messages. */
      readonly span: Span;
    }
  | { readonly kind: 'dense'; readonly name: string; readonly input: number; readonly units: number; activation: Activation }
  | { readonly kind: 'activation'; readonly activation: Activation }
  | { readonly kind: 'dropout'; readonly rate: number };

export interface LayerPlan {
  readonly model: string;
  readonly input: { readonly name: string; readonly kind: 'tokens'; readonly vocab: number } | { readonly name: string; readonly kind: 'vectors'; readonly size: number };
  readonly layers: readonly PlanLayer[];
  /** Whether the prediction has a value per step (else one per sequence). */
  readonly perStep: boolean;
}

/** The parameter names of each standard cell, as compiler/stdlib/cells.rnn declares them. */
export const CELL_PARAMS: Readonly<Record<CellKind, readonly string[]>> = {
  rnn: ['U', 'W', 'b'],
  lstm: ['W_g', 'W_i', 'W_f', 'W_o', 'W_gh', 'W_ih', 'W_fh', 'W_oh', 'b_g', 'b_i', 'b_o', 'b_f'],
  gru: ['W_z', 'W_r', 'W_n', 'U_z', 'U_r', 'U_n', 'b_z', 'b_r', 'b_n'],
  gru_ra: ['W_z', 'W_r', 'W_n', 'U_z', 'U_r', 'U_n', 'b_z', 'b_r', 'b_n', 'b_hn'],
};

const ACTIVATIONS: readonly string[] = ['tanh', 'sigmoid', 'relu', 'softmax', 'softplus'];

/** The rnnc parameters of a layer: name -> shape. */
export function layerParams(layer: PlanLayer): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (layer.kind === 'embedding') {
    if (!layer.oneHot) out.set(`${layer.name}.table`, [layer.vocab, layer.size]);
  } else if (layer.kind === 'dense') {
    out.set(`${layer.name}.W`, [layer.units, layer.input]);
    out.set(`${layer.name}.b`, [layer.units]);
  } else if (layer.kind === 'recurrent') {
    for (const prefix of directions(layer)) {
      for (const p of CELL_PARAMS[layer.cell]) out.set(`${prefix}.${p}`, cellParamShape(p, layer.units, layer.input));
    }
  }
  return out;
}

/** The parameter prefixes of a recurrent layer: itself, or its two directions. */
export function directions(layer: { readonly name: string; readonly bidir: boolean }): string[] {
  return layer.bidir ? [`${layer.name}.fw`, `${layer.name}.bw`] : [layer.name];
}

function cellParamShape(p: string, H: number, X: number): number[] {
  if (p.startsWith('b')) return [H];
  // Input products: U of rnn, W_* of the others without an `h`; recurrent ones: W of rnn, U_* and W_*h.
  const input = p === 'U' || (p.startsWith('W_') && !p.endsWith('h'));
  return input ? [H, X] : [H, H];
}

interface Statement {
  readonly target: string;
  /** The statement's own layer (named after the target); others are `<target>.<kind>N`. */
  readonly top: Expr;
  readonly used: Map<string, number>;
  readonly bindings: readonly Binding[];
}

interface Walk {
  readonly layers: PlanLayer[];
  input?: string;
  perStep: boolean;
}

export interface PlanContext {
  readonly decl: ModelDecl;
  readonly cells: ReadonlyMap<string, CellInfo>;
  /** The file name the standard cells were read from (a user's cell of the same name is not standard). */
  readonly stdlibFile: string;
  /** The model lowered with every dimension bound. */
  readonly model: LoweredModel;
  /** For messages: "... which has no <target> equivalent". */
  readonly target: string;
  /** Refuse `gru_ra` (TensorFlow.js Layers cannot run a GRU that resets after its product). */
  readonly noResetAfter?: boolean;
}

export const at = (span: Span): string => `${span.file}:${span.line}:${span.column}`;

/** The model as a chain of layers, or a RuntimeUserError naming the statement that is not one. */
export function planLayers(ctx: PlanContext): LayerPlan {
  const { decl, model } = ctx;
  const refuse = (span: Span, what: string, hint?: string): never => {
    throw new RuntimeUserError(`${at(span)}: ${what}, which has no ${ctx.target} equivalent; export takes a chain of embed or one_hot, the standard cells rnn, lstm, gru${ctx.noResetAfter ? '' : ', gru_ra'} (also bidir), dense, last, dropout and element-wise activations (docs/weights.md)${hint ? `: ${hint}` : ''}`);
  };
  const statements = new Map<string, Equation>();
  for (const item of decl.items) if (item.kind === 'Equation') statements.set(item.target.name, item);
  const loss = statements.get('loss');
  if (!loss || loss.value.kind !== 'Call' || loss.value.args.length < 1) throw new RuntimeUserError(`model ${model.name} has no loss statement to find its prediction by`);
  if (model.inputs.length !== 1) {
    refuse(decl.name.span, `model ${model.name} reads ${model.inputs.length} inputs (${model.inputs.map((s) => s.name).join(', ')})`, 'a chain reads one input');
  }
  const walk: Walk = { layers: [], perStep: true };
  const visiting = new Set<string>();
  const numberArg = (call: Call, i: number): number | undefined => {
    const e = call.args.filter((a) => !a.name)[i]?.value;
    return e?.kind === 'NumberLit' ? e.value : undefined;
  };
  const paramShape = (name: string): readonly number[] => {
    const p = model.params.find((q) => q.name === name);
    if (!p) throw new Error(`internal: no parameter ${name} in model ${model.name}`);
    return p.shape as number[];
  };

  /** Walks `e` of statement `st`; layers are pushed input first. */
  const visit = (e: Expr, st: Statement): void => {
    const instance = (kind: string, call: Expr): string => {
      if (call === st.top) return st.target;
      const k = (st.used.get(kind) ?? 0) + 1;
      st.used.set(kind, k);
      return `${st.target}.${kind}${k === 1 ? '' : k}`;
    };
    switch (e.kind) {
      case 'NameRef': {
        const n = e.name.name;
        if (model.inputs.some((s) => s.name === n)) {
          walk.input = n;
          return;
        }
        const stmt = statements.get(n);
        if (!stmt) return refuse(e.span, `\`${n}\` is not an input or a statement of the model`);
        if (visiting.has(n)) return refuse(e.span, `\`${n}\` is read twice`, 'a chain reads each value once');
        visiting.add(n);
        visit(stmt.value, statementOf(stmt));
        return;
      }
      case 'Unary': {
        if (e.op !== 'bidir') return refuse(e.span, e.op === 'reverse' ? 'a cell run backwards (`reverse`)' : 'a negation', e.op === 'reverse' ? 'use `bidir`' : undefined);
        if (e.operand.kind !== 'Call') return refuse(e.span, '`bidir` of something other than a cell');
        return visitCell(e.operand, st.target, true, st);
      }
      case 'Call': {
        const fn = e.callee.name;
        if (ctx.cells.has(fn)) return visitCell(e, instance(fn, e), false, st);
        const arg0 = e.args.filter((a) => !a.name)[0]?.value;
        if (!arg0) return refuse(e.span, `\`${fn}\` without an argument`);
        switch (fn) {
          case 'embed': {
            visit(arg0, st);
            const name = instance('embed', e);
            const [vocab, size] = paramShape(`${name}.table`) as [number, number];
            walk.layers.push({ kind: 'embedding', name, vocab, size, oneHot: false });
            return;
          }
          case 'one_hot': {
            visit(arg0, st);
            const t = model.inputs[0]!.type;
            const vocab = t.kind === 'tokens' ? (t.vocab as number) : 0;
            walk.layers.push({ kind: 'embedding', name: `${st.target}.one_hot`, vocab, size: vocab, oneHot: true });
            return;
          }
          case 'dense': {
            visit(arg0, st);
            const name = instance('dense', e);
            const [units, input] = paramShape(`${name}.W`) as [number, number];
            walk.layers.push({ kind: 'dense', name, input, units, activation: 'linear' });
            return;
          }
          case 'last': {
            visit(arg0, st);
            const prev = walk.layers.at(-1);
            if (prev?.kind !== 'recurrent' || !walk.perStep) return refuse(e.span, '`last` of something other than a recurrent layer', 'apply `last` to the output of a cell');
            if (prev.bidir) return refuse(e.span, '`last` of a `bidir` layer', "rnnc's last step of the backward run is its output at the last position, where other frameworks take the backward run's final state");
            prev.returnSequences = false;
            walk.perStep = false;
            return;
          }
          case 'dropout': {
            visit(arg0, st);
            walk.layers.push({ kind: 'dropout', rate: numberArg(e, 1) ?? 0 });
            return;
          }
          default:
            if (ACTIVATIONS.includes(fn)) {
              visit(arg0, st);
              const prev = walk.layers.at(-1);
              if (prev?.kind === 'dense' && prev.activation === 'linear') prev.activation = fn as Activation;
              else walk.layers.push({ kind: 'activation', activation: fn as Activation });
              return;
            }
            return refuse(e.span, `\`${fn}(...)\``);
        }
      }
      case 'Binary':
        return refuse(e.span, `arithmetic (\`${e.op}\`)`);
      default:
        return refuse(e.span, 'a number or a string');
    }
  };

  /** A standard cell over its one argument (walked first: its layers come before). */
  const visitCell = (call: Call, name: string, bidir: boolean, st: Statement): void => {
    const fn = call.callee.name;
    const info = ctx.cells.get(fn)!;
    const stdlib = info.decl.span.file === ctx.stdlibFile;
    if (!stdlib || !(fn === 'rnn' || fn === 'lstm' || fn === 'gru' || fn === 'gru_ra')) {
      return refuse(call.span, `the cell \`${fn}\` (${stdlib ? 'a standard cell without an equivalent layer' : 'a cell of your own'})`);
    }
    if (ctx.noResetAfter && fn === 'gru_ra') {
      return refuse(call.span, 'the cell `gru_ra`', "tfjs-layers' GRU has no reset_after (use `gru`, or export gru_ra with --to safetensors --names torch: torch.nn.GRU resets after)");
    }
    const args = call.args.filter((a) => !a.name);
    if (args.length !== 1) return refuse(call.span, `\`${fn}\` with ${args.length} arguments`);
    let act: 'tanh' | 'relu' = 'tanh';
    // `with` applies to every cell application of its statement.
    for (const b of st.bindings) {
      if (b.name.name !== 'act' && b.name.name !== 'alpha') continue;
      const v = b.value;
      if (b.name.name === 'act' && v?.kind === 'NameRef' && (v.name.name === 'tanh' || v.name.name === 'relu')) act = v.name.name;
      else if (b.name.name === 'act') return refuse(b.span, `\`${fn}\` with \`act = ${v?.kind === 'NameRef' ? v.name.name : '...'}\``, 'rnn exports with act = tanh or relu');
    }
    const arg = args[0]!.value;
    if (arg.kind === 'Unary' && arg.op === 'reverse') return refuse(arg.span, 'a cell run backwards (`reverse`)', 'use `bidir`');
    visit(arg, st);
    if (!walk.perStep) return refuse(call.span, `\`${fn}\` over a value that is not a sequence`);
    const first = bidir ? `${name}.fw` : name;
    const [units, input] = paramShape(`${first}.${fn === 'rnn' ? 'U' : fn === 'lstm' ? 'W_g' : 'W_z'}`) as [number, number];
    walk.layers.push({ kind: 'recurrent', cell: fn, name, input, units, act, bidir, returnSequences: true, span: call.span });
  };

  const statementOf = (s: Equation): Statement => ({
    target: s.target.name,
    top: s.value.kind === 'Unary' && s.value.op === 'bidir' ? s.value.operand : s.value,
    used: new Map(),
    bindings: s.bindings,
  });

  const prediction = loss.value.args[0]!.value;
  visit(prediction, statementOf(loss));
  const input = model.inputs[0]!;
  if (walk.input === undefined) refuse(loss.span, 'a prediction that reads no input');
  const plan: LayerPlan = {
    model: model.name,
    input: input.type.kind === 'tokens' ? { name: input.name, kind: 'tokens', vocab: input.type.vocab as number } : input.type.kind === 'vectors' && input.type.dims.length === 1 ? { name: input.name, kind: 'vectors', size: input.type.dims[0] as number } : refuse(input.span, `the input \`${input.name}\` (not a sequence of tokens or of vectors)`),
    layers: walk.layers,
    perStep: walk.perStep,
  };
  if (plan.input.kind === 'vectors' && plan.layers[0]?.kind === 'embedding') refuse(input.span, 'an embedding of vectors');
  checkAgainstModel(plan, model, refuse);
  return plan;
}

/** Every model parameter in exactly one layer, with the layer's shape. */
function checkAgainstModel(plan: LayerPlan, model: LoweredModel, refuse: (span: Span, what: string, hint?: string) => never): void {
  const expected = new Map<string, number[]>();
  for (const layer of plan.layers) for (const [k, v] of layerParams(layer)) expected.set(k, v);
  for (const p of model.params) {
    const want = expected.get(p.name);
    if (!want) refuse(p.span, `the parameter \`${p.name}\`, which the prediction does not use`, 'a chain computes the prediction from the input alone');
    if (want.join(',') !== p.shape.join(',')) throw new Error(`internal: parameter ${p.name} has shape [${p.shape.join(', ')}], the plan expected [${want.join(', ')}]`);
    expected.delete(p.name);
  }
  if (expected.size > 0) throw new Error(`internal: the plan has parameters the model does not: ${[...expected.keys()].join(', ')}`);
}
