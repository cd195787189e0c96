// Cells: analysis of the time structure, and lowering of one application of
// a cell over a sequence to a scan.
//
// Analysis (once per cell): every equation defines one variable at [t];
// a variable read at [t-1] (or [t+1]) is recurrent state; a cell's states all
// run one way (mixing is RNN4002); same-step reads must form no cycle
// (RNN4001), and give the order the body computes equations in.
//
// Lowering (per application): binds the cell's dimensions from `with`
// bindings, then the argument shapes, then the cell's own `dim`
// declarations, then the model's dimensions of the same name; creates the instance's
// parameters (`<instance>.<param>`); builds the scan body (carries = states,
// xs = inputs and the mask, consts = parameters). Padded steps (mask 0) keep
// the carried state unchanged, so padding changes neither outputs nor
// gradients.
import type { Binding, Call, CellDecl, DimExpr, Equation, Expr, NameRef, OptionDecl, ParamDecl, TypedName } from '../ast/ast.js';
import { DiagnosticCollector, recover } from '../diagnostics/collector.js';
import type { Span } from '../diagnostics/span.js';
import { GraphBuilder } from '../ir/builder.js';
import { broadcastShapes } from '../ir/shape.js';
import type { Dim, ValueId } from '../ir/types.js';
import { evalDim } from './dims.js';
import { didYouMean } from './suggest.js';
import { checkBuiltinArgs, ELEMENTWISE, numberOf, showShape, userShape, ValueOps, type Val } from './values.js';

export interface InitSpec {
  readonly kind: string;
  readonly args: Readonly<Record<string, number>>;
  readonly positional: readonly number[];
}

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly Dim[];
  readonly init: InitSpec;
  readonly span: Span;
}

export interface CellInfo {
  readonly decl: CellDecl;
  readonly params: readonly { readonly name: string; readonly decl: ParamDecl; readonly span: Span }[];
  readonly options: ReadonlyMap<string, OptionDecl>;
  readonly equations: ReadonlyMap<string, Equation>;
  /** Equations in the order the body computes them. */
  readonly order: readonly string[];
  /** Recurrent state variables, in order of definition. */
  readonly states: readonly string[];
  /** -1: states read at [t-1] (runs forwards); +1: read at [t+1] (runs backwards); 0: no state. */
  readonly direction: -1 | 0 | 1;
  /**
   * Inputs read without a time index (`mem`, not `x[t]`): one value per
   * example for the whole run, such as an encoder's memory read by `attend`.
   */
  readonly constInputs: ReadonlySet<string>;
  /**
   * A decoder's token output `y: token[K]` (the first output) when the cell
   * reads `y[t-1]`, the token of the previous step: the true one under
   * teacher forcing; `start` (an option) before the first step.
   */
  readonly feedback?: { readonly name: string; readonly read: NameRef };
  /** `s[0] = ...`: the value a state starts from, instead of zeros (inputs read whole, parameters, options). */
  readonly initials: ReadonlyMap<string, Equation>;
}

/**
 * What a decoder's `y[t-1]` reads: the true previous token (`teacher`), its
 * own previous choice (`own`: the most likely token, or one drawn from its
 * distribution with the `feed_draws` input), or per step and sequence one of
 * the two (`scheduled`: the `feed_coin` input, 1 for the true token; Bengio
 * et al. 2015). No gradient flows through a choice of token.
 */
export type FeedMode =
  | { readonly kind: 'teacher' }
  | { readonly kind: 'own' | 'scheduled'; readonly draw: 'argmax' | 'sample' };

/** The scoring functions of `attend` (Bahdanau et al. 2015; Luong et al. 2015). */
export const ATTENTION_KINDS = ['additive', 'dot', 'general'] as const;
/** The functions a cell may call besides the element-wise ones and its options. */
export const CELL_FUNCTIONS = ['concat', 'softmax', 'layer_norm', 'attend', 'one_hot', 'dropout'];

// ------------------------------------------------------------------ analysis

export function analyzeCell(decl: CellDecl, diags: DiagnosticCollector): CellInfo | undefined {
  const before = diags.list.length;
  const inputs = new Map(decl.inputs.map((i) => [i.name.name, i]));
  const params: { name: string; decl: ParamDecl; span: Span }[] = [];
  const options = new Map<string, OptionDecl>();
  const equations = new Map<string, Equation>();
  const initials = new Map<string, Equation>();
  const declared = new Map<string, Span>();
  for (const i of decl.inputs) declared.set(i.name.name, i.name.span);
  const declare = (name: string, span: Span): boolean => {
    const prev = declared.get(name);
    if (prev) {
      diags.report('RNN2002', span, `\`${name}\` is declared twice in cell \`${decl.name.name}\``, {
        notes: [{ message: 'first declared here', span: prev }],
        hint: 'rename one of them',
      });
      return false;
    }
    declared.set(name, span);
    return true;
  };
  for (const item of decl.body) {
    if (item.kind === 'ParamDecl') {
      for (const n of item.names) if (declare(n.name, n.span)) params.push({ name: n.name, decl: item, span: n.span });
    } else if (item.kind === 'OptionDecl') {
      if (declare(item.name.name, item.name.span)) options.set(item.name.name, item);
    } else if (item.kind === 'Equation') {
      const name = item.target.name;
      if (!item.index) {
        diags.report('RNN4005', item.target.span, `equations in a cell are per time step: write \`${name}[t] = ...\``);
        continue;
      }
      if (item.index.step !== undefined) {
        // `s[0] = ...`: the value s[t-1] reads before the first step.
        if (item.index.step !== 0) {
          diags.report('RNN4003', item.index.span, `a number as time index is only [0], a state's value before the first step`);
        } else if (initials.has(name)) {
          diags.report('RNN2008', item.target.span, `\`${name}[0]\` is defined twice`, { notes: [{ message: 'first defined here', span: initials.get(name)!.target.span }] });
        } else initials.set(name, item);
        continue;
      }
      if (item.index.variable.name !== 't' || item.index.offset !== 0) {
        diags.report('RNN4003', item.index.span, `an equation defines its variable at [t], not ${indexText(item.index.variable.name, item.index.offset)}`);
        continue;
      }
      const prev = equations.get(name);
      if (prev) {
        diags.report('RNN2008', item.target.span, `\`${name}[t]\` is defined twice`, {
          notes: [{ message: 'first defined here', span: prev.target.span }],
        });
        continue;
      }
      if (inputs.has(name) || params.some((p) => p.name === name) || options.has(name)) {
        diags.report('RNN2002', item.target.span, `\`${name}\` is already an input, parameter or option of this cell`);
        continue;
      }
      equations.set(name, item);
    }
  }

  // Reads: which names each equation uses at which offsets.
  const known = [...inputs.keys(), ...params.map((p) => p.name), ...options.keys(), ...equations.keys()];
  const stateReads = new Map<string, NameRef>();
  const deps = new Map<string, string[]>();
  const usedParams = new Set<string>();
  // Token outputs (`y: token[K]`): the first output only; `y[t-1]` reads the previous token.
  const tokenOutputs = new Set(decl.outputs.filter((o) => o.token).map((o) => o.name.name));
  let feedbackRead: NameRef | undefined;
  decl.outputs.forEach((o, k) => {
    if (o.token && k > 0) {
      diags.report('RNN4006', o.span, `the token output \`${o.name.name}\` must be the cell's first output`, {
        hint: 'a decoder yields the scores of its tokens: list it first after `->`',
      });
    }
  });
  // How each input is read: per step (`x[t]`) or whole (`mem`); memories ([L, D]) only by `attend`.
  const inputReads = new Map<string, { step?: NameRef; whole?: NameRef }>();
  const memoryReads = new Set<NameRef>();
  for (const [name, eq] of equations) {
    const sameStep: string[] = [];
    walkExpr(eq.value, (e) => {
      if (e.kind === 'Call') {
        const fn = e.callee.name;
        if (!ELEMENTWISE.has(fn) && !CELL_FUNCTIONS.includes(fn) && !options.has(fn)) {
          diags.report('RNN2004', e.callee.span, `unknown function \`${fn}\` in a cell`, {
            hint: didYouMean(fn, [...ELEMENTWISE.keys(), ...CELL_FUNCTIONS, ...options.keys()]) ?? `cells can use ${[...ELEMENTWISE.keys()].join(', ')}, ${CELL_FUNCTIONS.join(', ')}`,
          });
        }
        if (fn === 'attend') {
          const mem = checkAttendCall(e, inputs, diags);
          if (mem) memoryReads.add(mem);
          return 'skip-kind';
        }
        return;
      }
      if (e.kind !== 'NameRef') return;
      const n = e.name.name;
      if (params.some((p) => p.name === n)) {
        usedParams.add(n);
        if (e.index) diags.report('RNN4003', e.index.span, `parameter \`${n}\` has no time index: write \`${n}\``);
        return;
      }
      if (options.has(n)) return;
      if (inputs.has(n)) {
        const reads = inputReads.get(n) ?? {};
        inputReads.set(n, reads);
        if (!e.index) reads.whole ??= e;
        else if (e.index.offset !== 0) diags.report('RNN4003', e.index.span, `inputs can only be read at [t] (per step) or without an index (one value for the whole run)`);
        else reads.step ??= e;
        return;
      }
      if (tokenOutputs.has(n)) {
        if (e.index?.variable.name === 't' && e.index.offset === -1) feedbackRead ??= e;
        else {
          diags.report('RNN4006', e.index?.span ?? e.span, `\`${n}\` is a token output: read \`${n}[t-1]\`, the token of the previous step`, {
            hint: `its equation gives the scores of the next token; \`${n}[t-1]\` is the token that was chosen (or given) one step before`,
          });
        }
        return;
      }
      if (equations.has(n)) {
        if (!e.index) {
          diags.report('RNN4005', e.span, `\`${n}\` changes over time: write \`${n}[t]\` or \`${n}[t-1]\``);
          return;
        }
        if (e.index.variable.name !== 't') {
          diags.report('RNN4003', e.index.span, `time indices use \`t\`, not \`${e.index.variable.name}\``);
          return;
        }
        const off = e.index.offset;
        if (off === 0) sameStep.push(n);
        else if (Math.abs(off) === 1) {
          const first = [...stateReads.values()][0];
          if (first && first.index!.offset !== off) {
            diags.report('RNN4002', e.index.span, `this cell reads both [t-1] and [t+1]: a recurrence runs one way`, {
              notes: [{ message: `${first.name.name}${indexText('t', first.index!.offset)} read here`, span: first.span }],
              hint: 'write the forward and backward recurrences as two cells (or use `bidir`)',
            });
          }
          if (!stateReads.has(n)) stateReads.set(n, e);
        } else {
          diags.report('RNN4003', e.index.span, `only [t], [t-1] and [t+1] are supported, not ${indexText('t', off)}`);
        }
        return;
      }
      const hint = didYouMean(n, known);
      diags.report('RNN2001', e.name.span, `unknown name \`${n}\` in cell \`${decl.name.name}\``, hint ? { hint } : {});
    });
    deps.set(name, sameStep);
  }

  // Initial values: of a state, from what exists before the first step (inputs read whole, parameters, options, numbers).
  for (const [name, eq] of initials) {
    if (!stateReads.has(name)) {
      diags.report('RNN4003', eq.target.span, `\`${name}[0]\` is the value \`${name}[t-1]\` reads at the first step, but \`${name}\` is not read at [t-1]`, {
        hint: equations.has(name) ? `\`${name}\` is no recurrent state: remove \`${name}[0]\`` : `define \`${name}[t] = ...\` and read \`${name}[t-1]\``,
      });
      continue;
    }
    walkExpr(eq.value, (e) => {
      if (e.kind === 'Call') {
        const fn = e.callee.name;
        if (!ELEMENTWISE.has(fn) && fn !== 'concat' && !options.has(fn)) {
          diags.report('RNN2004', e.callee.span, `\`${fn}\` cannot compute an initial value`, { hint: `initial values use ${[...ELEMENTWISE.keys()].join(', ')}, concat` });
        }
        return;
      }
      if (e.kind !== 'NameRef') return;
      const n = e.name.name;
      if (params.some((p) => p.name === n)) {
        usedParams.add(n);
        return;
      }
      if (options.has(n)) return;
      if (inputs.has(n) && !e.index) {
        const reads = inputReads.get(n) ?? {};
        inputReads.set(n, reads);
        reads.whole ??= e;
        return;
      }
      diags.report('RNN4003', e.span, `\`${name}[0]\` is computed before the first step: it can use inputs read whole (without [t]), parameters, options and numbers`, {
        hint: inputs.has(n) ? `read the input whole: \`${n}\`` : 'an encoder\'s summary reaches a decoder as an input read whole, e.g. `z: [Z]` given last(enc)',
      });
    });
  }

  const constInputs = new Set<string>();
  for (const i of decl.inputs) {
    const n = i.name.name;
    const reads = inputReads.get(n);
    if (reads?.step && reads.whole) {
      diags.report('RNN4005', reads.whole.span, `input \`${n}\` is read per step (\`${n}[t]\`) and as a whole (\`${n}\`)`, {
        notes: [{ message: `read at [t] here`, span: reads.step.span }],
        hint: `write \`${n}[t]\` for its value at each step; an input read without [t] is one value per example for the whole run`,
      });
      continue;
    }
    const memory = i.shape.dims.length === 2;
    if (reads?.whole || memory) constInputs.add(n);
    if (memory && reads?.step) {
      diags.report('RNN4003', reads.step.span, `\`${n}\` is a memory [L, D]: it has no [t]; \`attend(query, ${n}, kind)\` reads it`);
    }
    if (memory) {
      const other = [...walkNames(equations, n)].find((r) => !r.index && !memoryReads.has(r));
      if (other) {
        diags.report('RNN2005', other.span, `\`${n}\` is a memory [L, D]: only \`attend(query, ${n}, kind)\` reads it`, {
          hint: 'attend gives one vector per step: the rows of the memory weighted by attention',
        });
      }
    }
  }

  for (const p of params) {
    if (!usedParams.has(p.name)) {
      diags.report('RNN2003', p.span, `parameter \`${p.name}\` is never used`, { hint: 'remove it, or use it in an equation' });
    }
  }
  for (const o of decl.outputs) {
    if (!equations.has(o.name.name)) {
      diags.report('RNN4004', o.name.span, `output \`${o.name.name}\` has no equation`, {
        hint: `add \`${o.name.name}[t] = ...\``,
      });
    }
  }

  if (feedbackRead) {
    const start = options.get('start');
    const v = start ? numberOf(start.value) : undefined;
    if (!start) {
      diags.report('RNN4006', feedbackRead.span, `\`${feedbackRead.name.name}[t-1]\` before the first step is the start token, but cell \`${decl.name.name}\` declares none`, {
        hint: 'add `option start = 0` (the id of the start token in the target vocabulary: `<s>`, id 0, in rnnc\'s data sources; `with start = ...` changes it)',
      });
    } else if (v === undefined || !Number.isInteger(v) || v < 0) {
      diags.report('RNN4006', start.value.span, 'the start token is a token id: a whole number >= 0');
    }
    const backward = [...stateReads.values()].find((r) => r.index!.offset > 0);
    if (backward) {
      diags.report('RNN4006', backward.span, 'a decoder runs forwards: it reads the token it chose at [t-1]', {
        notes: [{ message: `\`${feedbackRead.name.name}[t-1]\` read here`, span: feedbackRead.span }],
      });
    }
  }

  const order = topoOrder(equations, deps, diags);
  if (diags.list.slice(before).some((d) => d.severity === 'error') || !order) return undefined;
  const states = [...equations.keys()].filter((n) => stateReads.has(n));
  const firstState = [...stateReads.values()][0];
  const direction = firstState ? (firstState.index!.offset < 0 ? -1 : 1) : feedbackRead ? -1 : 0;
  const feedback = feedbackRead ? { name: feedbackRead.name.name, read: feedbackRead } : undefined;
  return { decl, params, options, equations, order, states, direction, constInputs, initials, ...(feedback ? { feedback } : {}) };
}

/** Every read of the name `n` in the equations (attend's kind arguments are not reads). */
function* walkNames(equations: ReadonlyMap<string, Equation>, n: string): Generator<NameRef> {
  const found: NameRef[] = [];
  for (const eq of equations.values()) {
    walkExpr(eq.value, (e) => {
      if (e.kind === 'NameRef' && e.name.name === n) found.push(e);
      return e.kind === 'Call' && e.callee.name === 'attend' ? 'skip-kind' : undefined;
    });
  }
  yield* found;
}

/**
 * `attend(query, memory, kind, scaled = 1, size = A)`: the memory must be a
 * cell input of shape [L, D], the kind one of ATTENTION_KINDS. Returns the
 * memory's read.
 */
function checkAttendCall(call: Call, inputs: ReadonlyMap<string, TypedName>, diags: DiagnosticCollector): NameRef | undefined {
  const form = 'attend(query, memory, kind), kind one of additive, dot, general';
  const positional = call.args.filter((a) => !a.name);
  for (const a of call.args) {
    if (a.name && a.name.name !== 'scaled' && a.name.name !== 'size') {
      diags.report('RNN2005', a.span, `\`attend\` has no argument named \`${a.name.name}\``, { hint: `it is called as ${form}, with \`scaled = 1\` or \`size = A\` after` });
    }
  }
  if (positional.length !== 3 || call.args.slice(0, 3).some((a) => a.name)) {
    diags.report('RNN2005', call.span, `\`attend\` takes a query, a memory and a kind, got ${positional.length} argument${positional.length === 1 ? '' : 's'}`, { hint: `write ${form}` });
    return undefined;
  }
  const kind = positional[2]!.value;
  if (kind.kind !== 'NameRef' || kind.index || !(ATTENTION_KINDS as readonly string[]).includes(kind.name.name)) {
    const got = kind.kind === 'NameRef' ? kind.name.name : '';
    diags.report('RNN2005', kind.span, `the kind of attention is one of ${ATTENTION_KINDS.join(', ')}`, {
      ...(got ? { hint: didYouMean(got, ATTENTION_KINDS) ?? `additive is Bahdanau's; dot and general are Luong's` } : {}),
    });
  }
  const mem = positional[1]!.value;
  const memInput = mem.kind === 'NameRef' ? inputs.get(mem.name.name) : undefined;
  if (mem.kind !== 'NameRef' || mem.index || !memInput || memInput.shape.dims.length !== 2) {
    diags.report('RNN2005', mem.span, 'the memory of `attend` is an input of the cell declared [L, D], read without [t]', {
      hint: 'declare it in the cell\'s inputs, e.g. `cell dec(x: [X], mem: [L, D])`, and pass the sequence (or per-example matrix) to attend over',
    });
    return undefined;
  }
  for (const a of call.args) {
    if (a.name?.name === 'scaled' || a.name?.name === 'size') {
      if (numberOf(a.value) === undefined) diags.report('RNN2005', a.value.span, `\`${a.name.name}\` must be a number`);
    }
  }
  return mem;
}

function indexText(v: string, off: number): string {
  return off === 0 ? `[${v}]` : off > 0 ? `[${v}+${off}]` : `[${v}${off}]`;
}

function topoOrder(
  equations: ReadonlyMap<string, Equation>,
  deps: ReadonlyMap<string, readonly string[]>,
  diags: DiagnosticCollector,
): string[] | undefined {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  let ok = true;
  const visit = (n: string, path: string[]): void => {
    const s = state.get(n);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...path.slice(path.indexOf(n)), n];
      const eq = equations.get(n)!;
      diags.report('RNN4001', eq.target.span, `\`${n}[t]\` depends on itself at the same step: ${cycle.map((c) => `${c}[t]`).join(' -> ')}`, {
        hint: 'one of these reads must look at the previous step: write [t-1]',
      });
      ok = false;
      return;
    }
    state.set(n, 'visiting');
    for (const d of deps.get(n) ?? []) if (ok) visit(d, [...path, n]);
    state.set(n, 'done');
    order.push(n);
  };
  for (const n of equations.keys()) if (ok) visit(n, []);
  return ok ? order : undefined;
}

/**
 * Visits e and its parts. `fn` returning 'skip-kind' on a call leaves out its
 * third positional argument (the kind of `attend`, a name that is no value).
 */
export function walkExpr(e: Expr, fn: (e: Expr) => void | 'skip-kind'): void {
  const r = fn(e);
  switch (e.kind) {
    case 'Binary':
      walkExpr(e.left, fn);
      walkExpr(e.right, fn);
      break;
    case 'Unary':
      walkExpr(e.operand, fn);
      break;
    case 'Call': {
      const kindArg = r === 'skip-kind' ? e.args.filter((a) => !a.name)[2] : undefined;
      for (const a of e.args) if (a !== kindArg) walkExpr(a.value, fn);
      break;
    }
    default:
      break;
  }
}

// ------------------------------------------------------------------ application

export interface CellApplication {
  readonly info: CellInfo;
  /** The instance name: parameters are `<instance>.<param>`. */
  readonly instance: string;
  readonly inputs: readonly Val[]; // sequences
  /** Where each argument is written, for errors about it. */
  readonly argSpans?: readonly Span[];
  readonly bindings: readonly Binding[];
  /** The model's dimensions, used for cell dimensions no binding gives. */
  readonly modelDims: ReadonlyMap<string, Dim>;
  /** Run against the cell's own direction (`reverse e`). */
  readonly flip: boolean;
  readonly span: Span;
  /** [T, B, 1] validity of each step the cell runs over. */
  readonly mask: ValueId;
  /** [T, B, 1] validity of the source's steps, for memories made from its sequences (default: `mask`). */
  readonly sourceMask?: ValueId;
  /** A decoder's true tokens [T, B] (the loss's target): what `y[t-1]` reads under teacher forcing. */
  readonly teacher?: Val;
  /** Also return the weights of every `attend` ([T, B, L] outputs `<instance>.<equation>.alpha`): for inspection, not training. */
  readonly attention?: boolean;
  /** What a decoder reads back (default: the teacher's tokens), and the [T, B] coin and draw inputs its mode needs. */
  readonly feed?: { readonly mode: FeedMode; readonly coin?: ValueId; readonly draws?: ValueId };
  /** Training: `dropout(v, p)` drops values (one mask per sequence and call, a `dropout:<instance>.<equation>#k` data input); otherwise the identity. */
  readonly dropout?: boolean;
}

export interface AppliedCell {
  readonly output: Val; // the primary output, a sequence
  readonly params: readonly ParamSpec[];
  /** The `dropout(v, p)` calls of the cell's equations, named `<instance>.<equation>#k`, applied or not. */
  readonly dropouts: readonly { readonly name: string; readonly p: number }[];
}

export function applyCell(
  mb: GraphBuilder,
  diags: DiagnosticCollector,
  app: CellApplication,
  makeParam: (spec: ParamSpec) => ValueId,
  source: (span: Span) => string,
): AppliedCell {
  const { info, instance } = app;
  const decl = info.decl;
  const cellName = decl.name.name;
  if (app.inputs.length !== decl.inputs.length) {
    diags.fail('RNN2005', app.span, `cell \`${cellName}\` takes ${decl.inputs.length} input(s), got ${app.inputs.length}`);
  }

  if (info.feedback) checkDecoderApplication(diags, app, info);
  // What each input receives: a sequence read per step, or one value per
  // example. A memory [L, D] may also be a sequence of [D] vectors: its steps
  // become the L rows (batch-major), and padded steps get no attention.
  const args = decl.inputs.map((inp, k) => argumentOf(mb, diags, app, info, inp, app.inputs[k]!, app.argSpans?.[k] ?? app.span));
  const argShapes = args.map((a) => a.shape);

  // Dimensions: `with` bindings, then unification with the argument shapes, then local `dim`, then the model's.
  const dims = new Map<string, Dim>();
  const options = new Map<string, Expr>();
  for (const [k, o] of info.options) options.set(k, o.value);
  const cellDimNames = new Set<string>();
  const collectNames = (d: import('../ast/ast.js').DimExpr): void => {
    if (d.kind === 'DimName') cellDimNames.add(d.name);
    else if (d.kind === 'DimBin') {
      collectNames(d.left);
      collectNames(d.right);
    }
  };
  for (const t of [...decl.inputs, ...decl.outputs]) t.shape.dims.forEach(collectNames);
  for (const item of decl.body) {
    if (item.kind === 'ParamDecl') item.shape.dims.forEach(collectNames);
    if (item.kind === 'DimDecl') for (const d of item.dims) cellDimNames.add(d.name.name);
  }
  for (const bnd of app.bindings) {
    const name = bnd.name.name;
    if (info.options.has(name)) {
      options.set(name, bnd.value ?? { kind: 'NameRef', name: bnd.name, span: bnd.span });
      continue;
    }
    if (!cellDimNames.has(name)) {
      diags.fail('RNN2007', bnd.name.span, `cell \`${cellName}\` has no dimension or option \`${name}\``, {
        hint: didYouMean(name, [...cellDimNames, ...info.options.keys()]) ?? `its dimensions: ${[...cellDimNames].join(', ')}`,
      });
    }
    const value = bnd.value ?? { kind: 'NameRef' as const, name: bnd.name, span: bnd.span };
    const num = numberOf(value);
    // A size written in `with` is checked as one written in `dim` (RNN3006).
    if (num !== undefined) dims.set(name, evalDim({ kind: 'DimNum', value: num, span: value.span }, new Map(), diags) as number);
    else if (value.kind === 'NameRef' && !value.index) {
      const d = app.modelDims.get(value.name.name);
      if (d === undefined) {
        diags.fail('RNN3002', value.span, `unknown dimension \`${value.name.name}\``, {
          hint: didYouMean(value.name.name, app.modelDims.keys()) ?? `declare \`dim ${value.name.name} = ...\` in the model`,
        });
      }
      dims.set(name, d);
    } else diags.fail('RNN3006', value.span, `\`${name}\` must be a size: a number or a dimension name`);
  }
  decl.inputs.forEach((inp, k) => {
    const arg = app.inputs[k]!;
    const argShape = argShapes[k]!;
    const want = inp.shape.dims;
    if (want.length !== argShape.length) {
      diags.fail('RNN3001', app.span, `cell \`${cellName}\` wants \`${inp.name.name}\` of rank ${want.length}, got ${showShape(argShape)}`, {
        notes: [{ message: `${arg.what} has shape ${showShape(argShape)}`, span: arg.origin }, { message: 'declared here', span: inp.shape.span }],
      });
    }
    want.forEach((d, i) => {
      if (d.kind === 'DimName' && !dims.has(d.name)) dims.set(d.name, argShape[i]!);
    });
  });
  // A decoder's vocabulary comes from the tokens it is taught with.
  const vocabDim = info.feedback ? decl.outputs[0]!.shape.dims[0] : undefined;
  if (vocabDim?.kind === 'DimName' && !dims.has(vocabDim.name) && app.teacher?.vocab !== undefined) dims.set(vocabDim.name, app.teacher.vocab);
  for (const item of decl.body) {
    if (item.kind !== 'DimDecl') continue;
    for (const d of item.dims) if (!dims.has(d.name.name) && d.value) dims.set(d.name.name, evalDim(d.value, dims, diags));
  }
  for (const n of cellDimNames) {
    if (!dims.has(n)) {
      const fromModel = app.modelDims.get(n);
      if (fromModel !== undefined) dims.set(n, fromModel);
      else {
        diags.fail('RNN3003', app.span, `dimension \`${n}\` of cell \`${cellName}\` has no value here`, {
          hint: `give it one: \`... with ${n} = 128\`, or declare \`dim ${n} = ...\` in the model`,
        });
      }
    }
  }
  decl.inputs.forEach((inp, k) => {
    const argShape = argShapes[k]!;
    const want = inp.shape.dims.map((d) => evalDim(d, dims, diags));
    if (want.some((d, i) => d !== argShape[i])) {
      diags.fail('RNN3001', app.span, `shape mismatch: cell \`${cellName}\` wants \`${inp.name.name}\` ${showShape(want)}, got ${showShape(argShape)}`, {
        notes: [
          { message: `${app.inputs[k]!.what} has shape ${showShape(argShape)}`, span: app.inputs[k]!.origin },
          { message: `\`${inp.name.name}\` is declared ${showShape(want)} here`, span: inp.shape.span },
        ],
      });
    }
  });

  // Parameters of this instance.
  const params: ParamSpec[] = info.params.map((p) => ({
    name: `${instance}.${p.name}`,
    shape: p.decl.shape.dims.map((d) => evalDim(d, dims, diags)),
    init: initSpecOf(p.decl, diags),
    span: p.span,
  }));
  const paramValues = params.map(makeParam);

  // State shapes: declared outputs, else inferred from the equations.
  const stateShapes = inferStateShapes(info, dims, params, argShapes, diags);

  // The scan body.
  const bb = new GraphBuilder();
  const carryIn = info.states.map((s) => bb.input({ shape: ['B', ...stateShapes.get(s)!], dtype: 'f32' }, 'arg', s));
  // A decoder that reads its own choices carries the last one, one-hot [B, K] (zeros before the first step).
  const mode: FeedMode = app.feed?.mode ?? { kind: 'teacher' };
  const own = info.feedback !== undefined && mode.kind !== 'teacher';
  const tokenCarry = own ? bb.input({ shape: ['B', evalDim(decl.outputs[0]!.shape.dims[0]!, dims, diags)], dtype: 'f32' }, 'arg', info.feedback!.name) : undefined;
  // With initial values (`s[0] = ...`): a [B, 1] flag, 0 until a sequence's first real step, then 1. A state passed
  // in to continue a sequence (streaming, truncated-BPTT windows) carries its flag, so it is not started again.
  const startedCarry = info.initials.size > 0 ? bb.input({ shape: ['B', 1], dtype: 'f32' }, 'arg', STARTED) : undefined;
  const stepArgs = args.filter((a) => !a.whole);
  const constArgs = args.filter((a) => a.whole);
  const xIn = stepArgs.map((a) => bb.input({ shape: ['B', ...a.shape], dtype: 'f32' }, 'arg', `${a.name}_t`));
  const mIn = bb.input({ shape: ['B', 1], dtype: 'f32' }, 'arg', 'mask_t');
  const fed = info.feedback ? fedTokens(mb, diags, app, info, dims) : undefined;
  const prevIn = fed && mode.kind !== 'own' ? bb.input({ shape: ['B'], dtype: 'i32' }, 'arg', `${fed.name}_prev`) : undefined;
  const coinIn = fed && mode.kind === 'scheduled' ? bb.input({ shape: ['B', 1], dtype: 'f32' }, 'arg', 'feed_coin_t') : undefined;
  const drawIn = fed && mode.kind !== 'teacher' && mode.draw === 'sample' ? bb.input({ shape: ['B'], dtype: 'f32' }, 'arg', 'feed_draw_t') : undefined;
  const cIn = constArgs.map((a) => bb.input({ shape: ['B', ...a.shape], dtype: 'f32' }, 'arg', a.name));
  const maskedArgs = constArgs.filter((a) => a.mask !== undefined);
  const cMaskIn = maskedArgs.map((a) => bb.input({ shape: ['B', a.shape[0]!], dtype: 'f32' }, 'arg', `${a.name}_mask`));
  const pIn = params.map((p, k) => bb.input({ shape: p.shape, dtype: 'f32' }, 'arg', info.params[k]!.name));
  // Parameters a call creates (attend's weights), named <instance>.<equation>.<weight>: body inputs after the declared ones.
  // Dropout masks (training): [B, ...] uniform draws per call, read whole. Both kinds are body inputs in the order
  // they are made, so the scan's operands keep one list of them (`lateValues`).
  const implicitParams: ParamSpec[] = [];
  const lateValues: ValueId[] = [];
  const implicitParam = (eqName: string, short: string, shape: readonly Dim[], init: InitSpec, span: Span): ValueId => {
    const spec: ParamSpec = { name: `${instance}.${eqName}.${short}`, shape, init, span };
    implicitParams.push(spec);
    lateValues.push(makeParam(spec));
    return bb.input({ shape, dtype: 'f32' }, 'arg', `${eqName}.${short}`);
  };
  const dropouts: { name: string; p: number }[] = [];
  let dropoutCalls = 0;
  const memories = new Map<string, { v: ValueId; shape: readonly Dim[]; mask?: ValueId }>();
  const alphas: { v: ValueId; name: string }[] = [];
  const ops = new ValueOps(bb, diags);
  const env = new Map<string, Val>();
  const prev = new Map<string, Val>();
  stepArgs.forEach((a, k) => env.set(a.name, { v: xIn[k]!, layout: 'step', origin: a.origin, what: `input \`${a.name}\`` }));
  constArgs.forEach((a, k) => {
    if (a.shape.length === 2) {
      const m = maskedArgs.indexOf(a);
      memories.set(a.name, { v: cIn[k]!, shape: a.shape, ...(m >= 0 ? { mask: cMaskIn[m]! } : {}) });
    } else env.set(a.name, { v: cIn[k]!, layout: 'step', origin: a.origin, what: `input \`${a.name}\`` });
  });
  let eqName = '';
  info.states.forEach((s, k) => prev.set(s, { v: carryIn[k]!, layout: 'step', origin: info.equations.get(s)!.target.span, what: `\`${s}[t-1]\`` }));
  if (fed) {
    let read: Val = { v: prevIn!, layout: 'step', origin: fed.origin, what: `\`${fed.name}[t-1]\``, vocab: fed.vocab };
    if (tokenCarry !== undefined) {
      // The previous choice, or the start token before the first step (when the carry is still all zeros).
      if (typeof fed.vocab !== 'number') diags.fail('RNN3003', app.span, `a decoder that reads its own tokens needs its vocabulary size known, not \`${fed.vocab}\``);
      const startRow = bb.op('pad_last', [bb.op('expand_last', [bb.constant(1)])], { before: fed.start, after: fed.vocab - 1 - fed.start });
      const first = bb.op('sub', [bb.constant(1), bb.op('sum_to', [tokenCarry], { shape: ['B', 1] })]);
      let chosen = bb.op('add', [tokenCarry, bb.op('mul', [first, startRow])]);
      if (coinIn !== undefined) {
        const truth = bb.op('one_hot', [prevIn!], { depth: fed.vocab });
        chosen = bb.op('add', [bb.op('mul', [coinIn, truth]), bb.op('mul', [bb.op('sub', [bb.constant(1), coinIn]), chosen])]);
      }
      read = { ...read, v: chosen, oneHot: true };
    }
    prev.set(fed.name, read);
  }
  info.params.forEach((p, k) => env.set(p.name, { v: pIn[k]!, layout: 'param', origin: p.decl.shape.span, what: `parameter \`${p.name}\`` }));

  const lowerExpr = (e: Expr): Val => {
    switch (e.kind) {
      case 'NumberLit':
        return ops.number(e.value, e.span);
      case 'StringLit':
        return diags.fail('RNN2005', e.span, 'a string is not a value in an equation');
      case 'NameRef': {
        const n = e.name.name;
        if (e.index && e.index.offset !== 0) return prev.get(n)!;
        const v = env.get(n);
        if (v) return v; // keep the origin: notes point where the shape came from
        const opt = options.get(n);
        const num = opt ? numberOf(opt) : undefined;
        if (num !== undefined) return ops.number(num, e.span);
        return diags.fail('RNN2001', e.span, `\`${n}\` is not a value here`);
      }
      case 'Unary':
        if (e.op === '-') return ops.negate(lowerExpr(e.operand), e.span);
        return diags.fail('RNN2005', e.span, `\`${e.op}\` applies to cell applications in a model, not inside a cell`);
      case 'Binary': {
        const l = lowerExpr(e.left);
        const r = lowerExpr(e.right);
        return e.op === '@' ? ops.matmul(l, r, e.span) : ops.binary(e.op, l, r, e.span);
      }
      case 'Call': {
        let fn = e.callee.name;
        const opt = options.get(fn);
        if (opt) {
          if (opt.kind !== 'NameRef' || !ELEMENTWISE.has(opt.name.name)) {
            diags.fail('RNN2005', opt.span, `option \`${fn}\` must name a function (${[...ELEMENTWISE.keys()].join(', ')})`);
          }
          fn = opt.name.name;
        }
        if (fn === 'attend') return lowerAttend(e);
        if (fn === 'dropout') return lowerDropout(e);
        if (fn === 'one_hot') {
          checkBuiltinArgs(e, diags);
          const ids = lowerExpr(e.args[0]!.value);
          // A decoder reading its own choices has them one-hot already.
          if (ids.oneHot) return { v: ids.v, layout: ids.layout, origin: e.span, what: 'one_hot(...)' };
          if (ids.vocab === undefined) diags.fail('RNN3001', e.args[0]!.span, `one_hot needs token ids, but ${ids.what} holds vectors`);
          return { v: bb.op('one_hot', [ids.v], { depth: ids.vocab }), layout: ids.layout, origin: e.span, what: 'one_hot(...)' };
        }
        checkBuiltinArgs({ ...e, callee: { ...e.callee, name: fn } }, diags);
        if (fn === 'concat') return ops.concat(e.args.map((a) => lowerExpr(a.value)), e.span);
        if (fn === 'softmax') {
          if (e.args.length !== 1) diags.fail('RNN2005', e.span, '`softmax` takes one argument');
          return ops.softmax(lowerExpr(e.args[0]!.value), e.span);
        }
        if (fn === 'layer_norm') {
          // In a cell without parameters of its own: a gain or bias is the cell's `param` (`g * layer_norm(v) + b`).
          const positional = e.args.filter((a) => a.name === undefined);
          const epsArg = e.args.find((a) => a.name?.name === 'eps');
          const eps = epsArg ? numberOf(epsArg.value) : 1e-5;
          if (positional.length !== 1 || eps === undefined || !(eps > 0)) diags.fail('RNN2005', e.span, '`layer_norm` takes one value and optionally `eps = ...` (a positive number)');
          return ops.layerNorm(lowerExpr(positional[0]!.value), eps, e.span);
        }
        const first = e.args[0];
        if (!first) return diags.fail('RNN2005', e.span, `\`${fn}\` needs an argument`);
        const extra = e.args.slice(1).map((a) => {
          const v = numberOf(a.value);
          if (v === undefined) diags.fail('RNN2005', a.span, `extra arguments of \`${fn}\` must be numbers`);
          return v;
        });
        // A function's attribute may come from the cell's option of that name (`with alpha = 0.2`).
        const attr = ELEMENTWISE.get(fn)?.attr;
        const option = attr ? options.get(attr.name) : undefined;
        const optionNum = option ? numberOf(option) : undefined;
        if (extra.length === 0 && optionNum !== undefined) extra.push(optionNum);
        return ops.elementwise(fn, lowerExpr(first.value), extra, e.span);
      }
    }
  };

  /**
   * dropout(v, p) in a cell: variational dropout (Gal and Ghahramani 2016, as
   * Keras's `recurrent_dropout`): one mask per sequence and call, the same at
   * every step, drawn anew at every update; kept values are scaled by
   * 1 / (1 - p). `p` is a number or an option of the cell (`with p = 0.3`).
   */
  const lowerDropout = (e: Call): Val => {
    const positional = e.args.filter((a) => a.name === undefined);
    if (positional.length !== 2 || e.args.length !== 2) diags.fail('RNN2005', e.span, '`dropout` takes a value and the probability of dropping it: `dropout(v, 0.2)`');
    const x = lowerExpr(positional[0]!.value);
    ops.requireFloat(x, 'dropout');
    const pe = positional[1]!.value;
    const opt = pe.kind === 'NameRef' && !pe.index ? options.get(pe.name.name) : undefined;
    const p = numberOf(opt ?? pe);
    if (p === undefined || !(p >= 0 && p < 1)) diags.fail('RNN3006', pe.span, '`dropout(v, p)`: p is the probability of dropping a value, a number in [0, 1) (or an option of the cell holding one)');
    if (x.layout !== 'step') {
      diags.fail('RNN2005', positional[0]!.span, `dropout in a cell drops values of a step (an input, a state, a gate); ${x.what} is the same for every step`, {
        hint: 'drop a parameter\'s product instead, e.g. `dropout(h[t-1], 0.2)` before `U @ ...`',
      });
    }
    const name = `${instance}.${eqName}#${dropoutCalls++}`;
    dropouts.push({ name, p });
    if (!app.dropout || p === 0) return { ...x, origin: e.span, what: 'dropout(...)' };
    const shape = ['B', ...userShape(bb, x)];
    lateValues.push(mb.input({ shape, dtype: 'f32' }, 'data', `dropout:${name}`));
    const u = bb.input({ shape, dtype: 'f32' }, 'arg', `dropout#${dropouts.length - 1}`);
    const keep = bb.op('step', [bb.op('sub', [u, bb.constant(p)])]);
    return { v: bb.op('mul', [x.v, bb.op('mul', [keep, bb.constant(1 / (1 - p))])]), layout: 'step', origin: e.span, what: 'dropout(...)' };
  };

  /**
   * attend(query, mem, kind): scores of the memory rows against the query,
   * softmax over the rows (padded rows get exactly zero weight: their score
   * is lowered by 1e9 first), and the context, the rows weighted by it.
   *   dot      s_l = m_l . q                  (q of the memory's width D)
   *   general  s_l = m_l . (W q)              W: [D, Q]
   *   additive s_l = v . tanh(W_m m_l + W_q q) W_m: [A, D], W_q: [A, Q], v: [A]
   * `scaled = 1` divides dot and general scores by sqrt(D).
   */
  const lowerAttend = (e: Call): Val => {
    const pos = e.args.filter((a) => !a.name);
    const named = (k: string): number | undefined => {
      const a = e.args.find((x) => x.name?.name === k);
      return a ? numberOf(a.value) : undefined;
    };
    const q = lowerExpr(pos[0]!.value);
    ops.requireFloat(q, 'attend');
    const qs = userShape(bb, q);
    if (qs.length !== 1) {
      diags.fail('RNN3001', pos[0]!.span, `the query of \`attend\` is a vector, got ${showShape(qs)}`, { notes: [ops.noteFor(q)] });
    }
    const qv = q.layout === 'step' ? q.v : broadcastTo(bb, q, qs, mIn);
    const memName = (pos[1]!.value as NameRef).name.name;
    const mem = memories.get(memName)!;
    const [L, D] = mem.shape as [Dim, Dim];
    const Q = qs[0]!;
    const kind = (pos[2]!.value as NameRef).name.name;
    const scaled = named('scaled') ?? 0;
    if (scaled !== 0 && scaled !== 1) diags.fail('RNN2005', e.span, '`scaled` is 0 or 1');
    const size = named('size');
    if (size !== undefined && kind !== 'additive') diags.fail('RNN2005', e.span, '`size` is the hidden size of additive attention; dot and general have none');
    if (scaled === 1 && kind === 'additive') diags.fail('RNN2005', e.span, '`scaled` applies to dot and general attention', { hint: 'additive attention learns its own scale (its vector v)' });
    const glorot: InitSpec = { kind: 'glorot', args: {}, positional: [] };
    const rows = (query: ValueId): ValueId =>
      bb.op('squeeze_last', [bb.op('sum_to', [bb.op('mul', [mem.v, bb.op('insert_axis', [query], { axis: 1 })])], { shape: ['B', L, 1] })]);
    let scores: ValueId;
    if (kind === 'dot') {
      if (Q !== D) {
        diags.fail('RNN3001', e.span, `dot attention needs a query as wide as the memory: ${showShape([Q])} against rows of ${showShape([D])}`, {
          notes: [ops.noteFor(q)],
          hint: 'use `general` (a learned [D, Q] product) or `additive` attention for different widths',
        });
      }
      scores = rows(qv);
    } else if (kind === 'general') {
      scores = rows(bb.op('linear', [qv, implicitParam(eqName, 'W', [D, Q], glorot, e.span)]));
    } else {
      const A: Dim = size === undefined ? Q : (evalDim({ kind: 'DimNum', value: size, span: e.span }, new Map(), diags) as number);
      const Wm = implicitParam(eqName, 'W_m', [A, D], glorot, e.span);
      const Wq = implicitParam(eqName, 'W_q', [A, Q], glorot, e.span);
      const v = implicitParam(eqName, 'v', [A], glorot, e.span);
      const hidden = bb.op('tanh', [bb.op('add', [bb.op('linear', [mem.v, Wm]), bb.op('insert_axis', [bb.op('linear', [qv, Wq])], { axis: 1 })])]);
      scores = bb.op('squeeze_last', [bb.op('sum_to', [bb.op('mul', [hidden, v])], { shape: ['B', L, 1] })]);
    }
    if (scaled === 1) {
      if (typeof D !== 'number') diags.fail('RNN3003', e.span, `scaled attention needs the memory's width known here, not \`${D}\``);
      scores = bb.op('mul', [scores, bb.constant(1 / Math.sqrt(D))]);
    }
    if (mem.mask !== undefined) scores = bb.op('sub', [scores, bb.op('mul', [bb.op('sub', [bb.constant(1), mem.mask]), bb.constant(1e9)])]);
    const alpha = bb.op('softmax', [scores]);
    if (app.attention) alphas.push({ v: alpha, name: `${eqName}.alpha` });
    const context = bb.op('drop_axis', [bb.op('sum_to', [bb.op('mul', [bb.op('expand_last', [alpha]), mem.v])], { shape: ['B', 1, D] })], { axis: 1 });
    return { v: context, layout: 'step', origin: e.span, what: 'attend(...)' };
  };

  if (startedCarry !== undefined) {
    const first = bb.op('sub', [bb.constant(1), startedCarry]);
    for (const [name, eq] of info.initials) {
      const k = info.states.indexOf(name);
      bb.source = source(eq.span);
      const val = lowerExpr(eq.value);
      const want = stateShapes.get(name)!;
      const got = userShape(bb, val);
      if (!sameDims(got, want) && !((val.layout === 'scalar' || val.layout === 'param') && broadcastsTo(got, want))) {
        diags.fail('RNN3001', eq.value.span, `shape mismatch: \`${name}\` is ${showShape(want)} but its initial value is ${showShape(got)}`, { notes: [ops.noteFor(val)] });
      }
      const v = val.layout === 'scalar' || val.layout === 'param' ? broadcastTo(bb, val, want, mIn) : val.v;
      const carry = carryIn[k]!;
      prev.set(name, { v: bb.op('add', [carry, bb.op('mul', [first, bb.op('sub', [v, carry])])]), layout: 'step', origin: eq.target.span, what: `\`${name}[t-1]\`` });
    }
    bb.source = undefined;
  }
  for (const name of info.order) {
    const eq = info.equations.get(name)!;
    eqName = name;
    bb.source = source(eq.span);
    const val = lowerExpr(eq.value);
    const got = userShape(bb, val);
    const want = stateShapes.get(name);
    let v = val.v;
    if (want && !sameDims(got, want)) {
      if (val.layout === 'scalar' || val.layout === 'param') {
        v = broadcastTo(bb, val, want, carryIn[0] ?? xIn[0] ?? mIn);
      } else {
        diags.fail('RNN3001', eq.value.span, `shape mismatch: \`${name}[t]\` is ${showShape(want)} but this is ${showShape(got)}`, {
          notes: [ops.noteFor(val), { message: `\`${name}\` is ${showShape(want)} (declared or implied by its use)`, span: eq.target.span }],
        });
      }
    } else if (val.layout === 'scalar' || val.layout === 'param') {
      v = broadcastTo(bb, val, got, carryIn[0] ?? xIn[0] ?? mIn);
    }
    env.set(name, { v, layout: 'step', origin: eq.target.span, what: `\`${name}[t]\`` });
  }
  bb.source = undefined;

  // Carries keep their value on padded steps: s' = s + m * (s_new - s).
  const newCarries = info.states.map((s, k) => {
    const fresh = env.get(s)!.v;
    return bb.op('add', [carryIn[k]!, bb.op('mul', [mIn, bb.op('sub', [fresh, carryIn[k]!])])]);
  });
  if (tokenCarry !== undefined) {
    // The token this step chooses, one-hot: no gradient flows through the choice (argmax and sample_ids have none).
    const logits = env.get(info.feedback!.name)!.v;
    const ids = drawIn !== undefined ? bb.op('sample_ids', [logits, drawIn]) : bb.op('argmax', [logits]);
    newCarries.push(bb.op('one_hot', [ids], { depth: fed!.vocab }));
  }
  if (startedCarry !== undefined) {
    // s + m (1 - s), with 1 as a [B, 1] value: passes that drop the mask (assume-full-mask) keep the carry's shape.
    const ones = bb.op('add', [bb.op('zeros_like', [startedCarry]), bb.constant(1)]);
    newCarries.push(bb.op('add', [startedCarry, bb.op('mul', [mIn, bb.op('sub', [ones, startedCarry])])]));
  }
  const carryNames = [...info.states, ...(tokenCarry !== undefined ? [info.feedback!.name] : []), ...(startedCarry !== undefined ? [STARTED] : [])];
  newCarries.forEach((v, k) => bb.output(v, 'state', carryNames[k]!));
  const outName = decl.outputs[0]!.name.name;
  const outIdx = info.states.indexOf(outName);
  bb.output(outIdx >= 0 ? newCarries[outIdx]! : env.get(outName)!.v, 'result', outName);
  for (const a of alphas) bb.output(a.v, 'result', a.name);
  const body = bb.build();

  const reverse = (info.direction === 1) !== app.flip;
  const init = carryNames.map((s) =>
    mb.input({ shape: ['B', ...(s === STARTED ? [1] : (stateShapes.get(s) ?? [fed!.vocab]))], dtype: 'f32' }, 'state', `${instance}.${s}`),
  );
  const feedXs: ValueId[] = [];
  if (prevIn !== undefined) feedXs.push(fed!.ids);
  if (coinIn !== undefined) feedXs.push(mb.op('expand_last', [app.feed!.coin!]));
  if (drawIn !== undefined) feedXs.push(app.feed!.draws!);
  const outs = mb.emit(
    'scan',
    [...init, ...stepArgs.map((a) => a.v), app.mask, ...feedXs, ...constArgs.map((a) => a.v), ...maskedArgs.map((a) => a.mask!), ...paramValues, ...lateValues],
    { nCarry: init.length, nXs: stepArgs.length + 1 + feedXs.length, reverse },
    { body, source: source(app.span) },
  );
  carryNames.forEach((s, k) => mb.output(outs[k]!, 'state', `${instance}.${s}`));
  const ys = outs[init.length]!;
  mb.rename(ys, instance);
  alphas.forEach((a, k) => mb.output(outs[init.length + 1 + k]!, 'result', `${instance}.${a.name}`));
  return {
    output: { v: ys, layout: 'seq', origin: app.span, what: `\`${instance}\`` },
    params: [...params, ...implicitParams],
    dropouts,
  };
}

interface CellArgument {
  readonly name: string;
  /** What the scan receives: [T, B, ...shape] per step, or [B, ...shape] for the whole run. */
  readonly v: ValueId;
  readonly shape: readonly Dim[];
  readonly whole: boolean;
  /** [B, L]: which rows of a memory made from a sequence are real steps. */
  readonly mask?: ValueId;
  readonly origin: Span;
}

/** An argument as the cell's input `inp` reads it (CellInfo.constInputs: without [t]). */
function argumentOf(mb: GraphBuilder, diags: DiagnosticCollector, app: CellApplication, info: CellInfo, inp: TypedName, arg: Val, at: Span): CellArgument {
  const name = inp.name.name;
  const cellName = info.decl.name.name;
  const shape = userShape(mb, arg);
  if (!info.constInputs.has(name)) {
    if (arg.layout !== 'seq') diags.fail('RNN3005', at, `cell \`${cellName}\` reads \`${name}[t]\` per step, but ${arg.what} is not a sequence`);
    return { name, v: arg.v, shape, whole: false, origin: inp.shape.span };
  }
  const rank = inp.shape.dims.length;
  if (arg.layout === 'example') return { name, v: arg.v, shape, whole: true, origin: inp.shape.span };
  if (arg.layout === 'seq' && rank === 2 && shape.length === 1) {
    // A sequence as a memory: [T, B, D] -> [B, T, D]; its mask [T, B, 1] -> [B, T].
    const mask = mb.op('swap_lead', [mb.op('squeeze_last', [app.sourceMask ?? app.mask])]);
    return { name, v: mb.op('swap_lead', [arg.v]), shape: [mb.type(arg.v).shape[0]!, ...shape], whole: true, mask, origin: inp.shape.span };
  }
  return diags.fail('RNN3005', at, `cell \`${cellName}\` reads \`${name}\` as one value per example (no [t]), but ${arg.what} is ${arg.layout === 'seq' ? 'a sequence' : 'not data'}`, {
    hint: rank === 2 ? `a memory [L, D] takes a sequence of [D] vectors or a per-example [L, D] matrix` : `read it per step as \`${name}[t]\`, or pass a per-example value such as last(h)`,
  });
}

/**
 * What a decoder's `y[t-1]` reads under teacher forcing: the true tokens one
 * step later, the start token first ([T, B] ids).
 */
function fedTokens(
  mb: GraphBuilder,
  diags: DiagnosticCollector,
  app: CellApplication,
  info: CellInfo,
  dims: ReadonlyMap<string, Dim>,
): { name: string; ids: ValueId; vocab: Dim; start: number; origin: Span } {
  const fb = info.feedback!;
  const cellName = info.decl.name.name;
  const out = info.decl.outputs[0]!;
  const vocab = evalDim(out.shape.dims[0]!, dims, diags);
  const teacher = checkDecoderApplication(diags, app, info);
  if (teacher.vocab !== vocab) {
    diags.fail('RNN3001', app.span, `decoder \`${cellName}\` chooses among ${String(vocab)} tokens, but ${teacher.what} has ${String(teacher.vocab)}`, {
      notes: [{ message: `\`${out.name.name}: token[...]\` declared here`, span: out.shape.span }, { message: `${teacher.what} declared here`, span: teacher.origin }],
    });
  }
  const startExpr = info.options.get('start')!.value;
  const bound = app.bindings.find((b) => b.name.name === 'start')?.value ?? startExpr;
  const start = numberOf(bound);
  if (start === undefined || !Number.isInteger(start) || start < 0 || (typeof vocab === 'number' && start >= vocab)) {
    diags.fail('RNN4006', bound.span, `the start token must be a token id from 0 to ${typeof vocab === 'number' ? vocab - 1 : `${vocab} - 1`}`);
  }
  return { name: fb.name, ids: mb.op('shift_time', [teacher.v], { fill: start }), vocab, start, origin: fb.read.span };
}

/** The state of a cell with initial values that says whether a sequence has begun (`#` keeps it apart from a user's names). */
const STARTED = '#started';

function broadcastsTo(from: readonly Dim[], to: readonly Dim[]): boolean {
  try {
    return sameDims(broadcastShapes(from, to), to);
  } catch {
    return false;
  }
}

/** A decoder is taught with a target (the loss's) and runs forwards: RNN5008 otherwise. Returns the target. */
function checkDecoderApplication(diags: DiagnosticCollector, app: CellApplication, info: CellInfo): Val {
  const fb = info.feedback!;
  const cellName = info.decl.name.name;
  if (app.flip) {
    diags.fail('RNN5008', app.span, `decoder \`${cellName}\` runs forwards: it cannot be applied to \`reverse\` or with \`bidir\``, {
      hint: 'a decoder reads the token it chose one step before; give it the source whole (a memory for attend, or last(...)) to read both ways',
    });
  }
  if (!app.teacher) {
    return diags.fail('RNN5008', app.span, `cell \`${cellName}\` is a decoder (it reads \`${fb.name}[t-1]\`), but nothing gives it the true tokens to read`, {
      hint: 'apply it as a whole statement, `y = dec(...)`, and make it the loss\'s prediction: `loss = cross_entropy(y, target)`; the target is fed back (teacher forcing)',
    });
  }
  return app.teacher;
}

function sameDims(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Broadcasts a parameter or number up to a per-step value [B, ...want]. */
function broadcastTo(bb: GraphBuilder, val: Val, want: readonly Dim[], batchRef: ValueId): ValueId {
  // A [B, 1] block of zeros taken from any per-step value gives the batch axis.
  const zerosB1 = bb.op('sum_to', [bb.op('zeros_like', [batchRef])], { shape: ['B', 1] });
  const full = bb.op('add', [zerosB1, val.v]);
  return want.length === 0 ? bb.op('squeeze_last', [full]) : full;
}

function initSpecOf(p: ParamDecl, diags: DiagnosticCollector): InitSpec {
  if (!p.init) {
    const r = p.shape.dims.length;
    return { kind: r === 2 ? 'glorot' : 'zeros', args: {}, positional: [] };
  }
  const args: Record<string, number> = Object.create(null);
  const positional: number[] = [];
  for (const a of p.init.args) {
    const v = numberOf(a.value);
    if (v === undefined) diags.fail('RNN2005', a.span, 'initialiser arguments must be numbers');
    if (a.name) args[a.name.name] = v;
    else positional.push(v);
  }
  return { kind: p.init.callee.name, args, positional };
}

/**
 * The per-step shape of each input, parameter and equation of a cell in the
 * cell's own dimension names (`[H]`, `[2*H]`), as far as its declarations and
 * equations tell, for tools (hover in `rnnc lsp`). Reports nothing: a shape
 * it cannot tell is left out.
 */
export function cellValueShapes(info: CellInfo): ReadonlyMap<string, string> {
  const quiet = new DiagnosticCollector();
  const dims = new Map<string, Dim>();
  const decl = info.decl;
  const name = (d: DimExpr): void => {
    if (d.kind === 'DimName') dims.set(d.name, d.name);
    else if (d.kind === 'DimBin') {
      name(d.left);
      name(d.right);
    }
  };
  for (const t of [...decl.inputs, ...decl.outputs]) t.shape.dims.forEach(name);
  for (const item of decl.body) if (item.kind === 'ParamDecl') item.shape.dims.forEach(name);
  for (const item of decl.body) {
    if (item.kind !== 'DimDecl') continue;
    for (const d of item.dims) dims.set(d.name.name, (d.value && recover(() => evalDim(d.value!, dims, quiet))) ?? d.name.name);
  }
  const shapeOf = (dimExprs: readonly DimExpr[]): readonly Dim[] | undefined => recover(() => dimExprs.map((d) => evalDim(d, dims, quiet)));
  const out = new Map<string, string>();
  const params: ParamSpec[] = [];
  for (const p of info.params) {
    const shape = shapeOf(p.decl.shape.dims);
    if (shape) out.set(p.name, showShape(shape));
    params.push({ name: p.name, shape: shape ?? [], init: { kind: 'zeros', args: {}, positional: [] }, span: p.span });
  }
  const inputShapes = decl.inputs.map((i) => shapeOf(i.shape.dims) ?? []);
  decl.inputs.forEach((i, k) => out.set(i.name.name, showShape(inputShapes[k]!)));
  const states = recover(() => inferStateShapes(info, dims, params, inputShapes, quiet));
  for (const [k, v] of states ?? []) out.set(k, showShape(v));
  return out;
}

/** Per-example shapes of the states: declared outputs first, then a fixed point over the equations. */
function inferStateShapes(
  info: CellInfo,
  dims: ReadonlyMap<string, Dim>,
  params: readonly ParamSpec[],
  inputShapes: readonly (readonly Dim[])[],
  diags: DiagnosticCollector,
): Map<string, readonly Dim[]> {
  const shapes = new Map<string, readonly Dim[]>();
  const paramShape = new Map(info.params.map((p, k) => [p.name, params[k]!.shape]));
  const inputShape = new Map(info.decl.inputs.map((inp, k) => [inp.name.name, inputShapes[k]!]));
  for (const o of info.decl.outputs) {
    const s = recover(() => o.shape.dims.map((d) => evalDim(d, dims, diags)));
    if (s) shapes.set(o.name.name, s);
  }
  type S = readonly Dim[] | null;
  const shapeOf = (e: Expr): S => {
    switch (e.kind) {
      case 'NumberLit':
        return [];
      case 'StringLit':
        return null;
      case 'NameRef':
        return paramShape.get(e.name.name) ?? inputShape.get(e.name.name) ?? shapes.get(e.name.name) ?? (info.options.has(e.name.name) ? [] : null);
      case 'Unary':
        return shapeOf(e.operand);
      case 'Binary': {
        const l = shapeOf(e.left);
        const r = shapeOf(e.right);
        if (e.op === '@') {
          if (l && l.length === 2 && paramShape.has(refName(e.left))) return [l[0]!];
          if (r && r.length === 2 && paramShape.has(refName(e.right))) return [r[1]!];
          return null;
        }
        // A scalar (a literal, an option) says nothing about the shape of
        // the other side: `s[t] = s[t-1] * 2` leaves the shape of s unknown.
        if (!l) return r && r.length > 0 ? r : null;
        if (!r) return l.length > 0 ? l : null;
        try {
          return broadcastShapes(l, r);
        } catch {
          return null;
        }
      }
      case 'Call': {
        const args = e.args.map((a) => shapeOf(a.value));
        if (e.callee.name === 'attend') {
          const mem = e.args.filter((a) => !a.name)[1]?.value;
          const ms = mem?.kind === 'NameRef' ? inputShape.get(mem.name.name) : undefined;
          return ms && ms.length === 2 ? [ms[1]!] : null;
        }
        if (e.callee.name === 'concat') {
          if (args.some((a) => !a || a.length !== 1)) return null;
          let total: Dim = 0;
          for (const a of args) total = typeof total === 'number' && typeof a![0] === 'number' ? total + a![0] : `${total}+${a![0]}`;
          return [total];
        }
        return args[0] ?? null;
      }
    }
  };
  for (let round = 0; round <= info.order.length; round++) {
    let changed = false;
    for (const name of info.order) {
      if (shapes.has(name)) continue;
      const s = shapeOf(info.equations.get(name)!.value);
      if (s) {
        shapes.set(name, s);
        changed = true;
      }
    }
    if (!changed) break;
  }
  for (const s of info.states) {
    if (!shapes.has(s)) {
      diags.fail('RNN3003', info.equations.get(s)!.target.span, `cannot tell the shape of state \`${s}\``, {
        hint: `declare it as a cell output: \`-> ..., ${s}: [H]\``,
      });
    }
  }
  return shapes;
}

function refName(e: Expr): string {
  return e.kind === 'NameRef' ? e.name.name : '';
}
