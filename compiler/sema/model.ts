// Models: from a `model` declaration to the forward IR graph with its loss.
//
// Runs after cell analysis. Resolves names, checks shapes (with symbolic
// dimensions when the data has not fixed them, so `rnnc check` works without
// data), applies cells over sequences as scans, and normalises the loss over
// the positions a batch marks as real.
//
// The graph's data inputs are the model's inputs and targets, then the batch
// tensors every model gets: `mask` [T, B] (1 on real steps), `weight`
// [T, B] (which positions count in the loss: the mask, restricted to a
// truncated-BPTT window), `last` [T, B] (1 at each sequence's last step that
// counts). Outputs: `loss`, the prediction (`output`), final states.
import type { Call, DimExpr, Equation, Expr, IoDecl, ModelDecl } from '../ast/ast.js';
import type { DiagnosticCollector } from '../diagnostics/collector.js';
import { Abort, recover } from '../diagnostics/collector.js';
import type { Span } from '../diagnostics/span.js';
import { GraphBuilder } from '../ir/builder.js';
import { dimToString } from '../ir/shape.js';
import type { Dim, Graph, ValueId } from '../ir/types.js';
import { applyCell, type CellInfo, type FeedMode, type ParamSpec } from './cell.js';
import { evalDim } from './dims.js';
import { didYouMean } from './suggest.js';
import { checkBuiltinArgs, ELEMENTWISE, numberOf, showShape, userShape, ValueOps, type Val } from './values.js';

export type IoType =
  | { readonly kind: 'tokens'; readonly vocab: Dim }
  | { readonly kind: 'vectors'; readonly dims: readonly Dim[] }
  | { readonly kind: 'token'; readonly vocab: Dim }
  | { readonly kind: 'vector'; readonly dims: readonly Dim[] };

export interface IoSpec {
  readonly name: string;
  readonly type: IoType;
  /** The dimension name the type's vocabulary/size is declared with (`V` in token[V]), to bind from data. */
  readonly dimNames: readonly (string | undefined)[];
  readonly span: Span;
}

export interface LoweredModel {
  readonly name: string;
  readonly graph: Graph;
  readonly params: readonly ParamSpec[];
  readonly inputs: readonly IoSpec[];
  readonly targets: readonly IoSpec[];
  readonly dims: ReadonlyMap<string, Dim>;
  readonly loss: 'cross_entropy' | 'mse';
  /** 'step': the loss averages over time steps (weighted by `weight`); 'example': one term per sequence (at `last`). */
  readonly lossPer: 'step' | 'example';
  /** The name of the prediction output (the loss's first argument). */
  readonly output: string;
  /** The declared target the loss compares the prediction with (absent: another value, such as an input an autoencoder rebuilds). */
  readonly lossTarget?: string;
  /**
   * The target a decoder writes over steps of its own (axis `U`, with the
   * `target_mask` input), when the decoder reads no per-step input: an
   * output of any length (docs/language.md, "Decoders").
   */
  readonly targetAxis?: string;
  /**
   * Why a step of the model depends on later steps of its input, when it
   * does: a recurrence running backwards, or attention over a whole sequence.
   * Such a model needs each sequence whole: no truncated BPTT, no streaming,
   * no generation one token at a time.
   */
  readonly readsAhead: string | undefined;
  /** The instances of decoders (cells that read back their own token output), in order of application. */
  readonly decoders: readonly string[];
  /** What the decoders read back in this lowering. */
  readonly feed: FeedMode;
  /** The `dropout(x, p)` calls, by instance; with a `dropout:<instance>` data input when lowered for training. */
  readonly dropouts: readonly { readonly name: string; readonly p: number }[];
  readonly span: Span;
}

/**
 * What lowering learns about a model's names, for tools (hover in `rnnc
 * lsp`): its dimensions, and the type of each input, target and statement as
 * a user writes it (`seq<[64]>`, `token[K]`: dimensions the program or the
 * data binds are numbers, others stay names).
 */
export interface ModelObserver {
  dims?(model: string, dims: ReadonlyMap<string, Dim>): void;
  value?(model: string, name: string, type: string): void;
}

export const MODEL_FUNCTIONS = ['embed', 'one_hot', 'dense', 'conv2d', 'max_pool', 'avg_pool', 'flatten', 'last', 'mean', 'concat', 'softmax', 'layer_norm', 'dropout', 'cross_entropy', 'mse'];



export function lowerModel(
  decl: ModelDecl,
  cells: ReadonlyMap<string, CellInfo>,
  brokenCells: ReadonlySet<string>,
  topDims: ReadonlyMap<string, Dim>,
  dimValues: Readonly<Record<string, number>>,
  diags: DiagnosticCollector,
  source: (span: Span) => string,
  feed: FeedMode = { kind: 'teacher' },
  /** Also output the weights of every `attend` (sema/cell.ts CellApplication.attention). */
  attention = false,
  /** Training: `dropout(x, p)` drops values (a data input of uniform draws per call); otherwise it is the identity. */
  dropout = false,
  observe: ModelObserver = {},
): LoweredModel | undefined {
  const before = diags.list.length;
  const b = new GraphBuilder();
  const ops = new ValueOps(b, diags);
  const dims = new Map<string, Dim>(topDims);
  for (const [k, v] of Object.entries(dimValues)) if (dims.has(k) && typeof dims.get(k) === 'string') dims.set(k, v);

  for (const item of decl.items) {
    if (item.kind !== 'DimDecl') continue;
    for (const d of item.dims) {
      const name = d.name.name;
      if (d.value) {
        // A wrong size (RNN3006) leaves the dimension symbolic: no second report as an unknown dimension.
        const v = recover(() => evalDim(d.value!, dims, diags));
        dims.set(name, v ?? name);
      } else {
        dims.set(name, dimValues[name] ?? name);
      }
    }
  }
  observe.dims?.(decl.name.name, dims);
  const typeText = (val: Val): string => {
    const elem = val.vocab !== undefined ? `token[${dimToString(val.vocab)}]` : showShape(userShape(b, val));
    return val.layout === 'seq' ? `seq<${elem}>` : elem;
  };

  const params: ParamSpec[] = [];
  const paramValues = new Map<string, ValueId>();
  const makeParam = (spec: ParamSpec): ValueId => {
    if (paramValues.has(spec.name)) {
      diags.fail('RNN2002', spec.span, `parameter \`${spec.name}\` would be created twice`, {
        hint: 'give each layer its own name',
      });
    }
    params.push(spec);
    const v = b.input({ shape: spec.shape, dtype: 'f32' }, 'param', spec.name);
    paramValues.set(spec.name, v);
    return v;
  };

  // A decoder reads back the true tokens of the target its scores are compared with: `loss = cross_entropy(dec, target)`.
  const teacherOf = new Map<string, string>();
  for (const item of decl.items) {
    if (item.kind !== 'Equation' || item.target.name !== 'loss' || item.value.kind !== 'Call' || item.value.callee.name !== 'cross_entropy') continue;
    const [p, y] = item.value.args.map((a) => a.value);
    if (p?.kind === 'NameRef' && y?.kind === 'NameRef') teacherOf.set(p.name.name, y.name.name);
  }
  // A decoder that reads no per-step input writes its target over the target's own steps (axis U).
  let targetAxis: string | undefined;
  for (const item of decl.items) {
    if (item.kind !== 'Equation' || item.value.kind !== 'Call') continue;
    const info = cells.get(item.value.callee.name);
    const tgt = teacherOf.get(item.target.name);
    if (info?.feedback && tgt !== undefined && info.decl.inputs.every((i) => info.constInputs.has(i.name.name))) targetAxis ??= tgt;
  }

  const env = new Map<string, Val>();
  const declaredAt = new Map<string, Span>();
  const inputs: IoSpec[] = [];
  const targets: IoSpec[] = [];
  for (const item of decl.items) {
    if (item.kind !== 'IoDecl') continue;
    const spec = recover(() => ioSpec(item, dims, diags));
    if (!spec) continue;
    const prev = declaredAt.get(spec.name);
    if (prev) {
      diags.report('RNN2002', item.name.span, `\`${spec.name}\` is declared twice`, { notes: [{ message: 'first declared here', span: prev }] });
      continue;
    }
    declaredAt.set(spec.name, item.name.span);
    (item.role === 'input' ? inputs : targets).push(spec);
    const t = spec.type;
    const seq = t.kind === 'tokens' || t.kind === 'vectors';
    const shape: Dim[] = [...(seq ? [spec.name === targetAxis ? 'U' : 'T', 'B'] : ['B']), ...(t.kind === 'vectors' || t.kind === 'vector' ? t.dims : [])];
    const dtype = t.kind === 'tokens' || t.kind === 'token' ? 'i32' : 'f32';
    const v = b.input({ shape, dtype }, 'data', spec.name);
    env.set(spec.name, {
      v,
      layout: seq ? 'seq' : 'example',
      origin: item.type.span,
      what: `${item.role} \`${spec.name}\``,
      ...(t.kind === 'tokens' || t.kind === 'token' ? { vocab: t.vocab } : {}),
    });
    observe.value?.(decl.name.name, spec.name, typeText(env.get(spec.name)!));
  }
  const mask = b.input({ shape: ['T', 'B'], dtype: 'f32' }, 'data', 'mask');
  // With a target of its own length: its [U, B] mask, and the loss over its steps.
  const targetMask = targetAxis !== undefined ? b.input({ shape: ['U', 'B'], dtype: 'f32' }, 'data', 'target_mask') : undefined;
  const weight = b.input({ shape: [targetAxis !== undefined ? 'U' : 'T', 'B'], dtype: 'f32' }, 'data', 'weight');
  const last = b.input({ shape: ['T', 'B'], dtype: 'f32' }, 'data', 'last');
  const mask3 = b.op('expand_last', [mask]);
  // What decoders read back (sema/cell.ts FeedMode): scheduled sampling's coins and the draws of sampled tokens, [T, B].
  const feedInputs = {
    mode: feed,
    ...(feed.kind === 'scheduled' ? { coin: b.input({ shape: [targetAxis !== undefined ? 'U' : 'T', 'B'], dtype: 'f32' }, 'data', 'feed_coin') } : {}),
    ...(feed.kind !== 'teacher' && feed.draw === 'sample' ? { draws: b.input({ shape: [targetAxis !== undefined ? 'U' : 'T', 'B'], dtype: 'f32' }, 'data', 'feed_draws') } : {}),
  };

  let readsAhead: string | undefined;
  const dropouts: { name: string; p: number }[] = [];
  const decoders: string[] = [];

  const failed = new Set<string>();
  let lossSeen: Span | undefined;
  let lossInfo: { v: ValueId; kind: 'cross_entropy' | 'mse'; output: string; per: 'step' | 'example'; target?: string } | undefined;

  const lowerStatement = (eq: Equation): void => {
    const target = eq.target.name;
    if (eq.index && (eq.index.variable.name !== 't' || eq.index.offset !== 0)) {
      diags.fail('RNN4003', eq.index.span, 'a model statement is over whole sequences: write `y[t] = ...` or `y = ...`', {
        hint: 'shifts in time ([t-1]) belong inside a cell',
      });
    }
    // The statement's own layer is named after its target (`fw` -> `fw.W_g`);
    // layers nested inside it are `<target>.<kind>`, numbered from the second
    // (`h.embed.table`, `loss.dense.W`, `y.dense2.W`): dots keep them apart
    // from every name a user can write.
    const used = new Map<string, number>();
    let appliedCell = false;
    const instanceName = (kind: string, call: Expr): string => {
      if (call === topLevel) return target;
      const k = (used.get(kind) ?? 0) + 1;
      used.set(kind, k);
      return `${target}.${kind}${k === 1 ? '' : k}`;
    };
    const topLevel: Expr = eq.value.kind === 'Unary' && eq.value.op === 'bidir' ? eq.value.operand : eq.value;

    /** A decoder's output over its target's own steps goes only to the loss (or through element-wise steps and dense to it). */
    const notOnTargetSteps = (v: Val, span: Span, where: string): void => {
      if (v.layout === 'seq' && b.type(v.v).shape[0] === 'U') {
        diags.fail('RNN3001', span, `${v.what} runs over the steps of a target a decoder writes, which ${where} cannot read`, {
          hint: "a decoder's scores go to the loss, `loss = cross_entropy(y, target)`; other layers run over the source's steps",
        });
      }
    };
    const lowerExpr = (e: Expr, argOf?: string): Val => {
      switch (e.kind) {
        case 'NumberLit':
          return ops.number(e.value, e.span);
        case 'StringLit':
          return diags.fail('RNN2005', e.span, 'a string is not a value in a model');
        case 'NameRef': {
          const n = e.name.name;
          const v = env.get(n);
          if (!v && failed.has(n)) throw new Abort(); // its statement already reported an error
          if (!v) {
            const hint = didYouMean(n, env.keys());
            return diags.fail('RNN2001', e.name.span, `unknown name \`${n}\``, hint ? { hint } : { hint: 'define it with a statement before this one' });
          }
          if (e.index && (e.index.variable.name !== 't' || e.index.offset !== 0)) {
            diags.fail('RNN4003', e.index.span, 'a model reads whole sequences at [t]; shifts in time belong inside a cell');
          }
          if (e.index && v.layout !== 'seq') diags.fail('RNN4003', e.index.span, `\`${n}\` is not a sequence, so it has no [t]`);
          // The origin stays where `n` was defined: shape notes point there.
          return { ...v, what: `\`${n}\`` };
        }
        case 'Unary':
          if (e.op === '-') return ops.negate(lowerExpr(e.operand), e.span);
          if (e.op === 'bidir') {
            if (e.operand.kind !== 'Call' || !cells.has(e.operand.callee.name)) {
              return diags.fail('RNN2005', e.span, '`bidir` applies to a cell: `bidir lstm(e) with H`');
            }
            // The argument is lowered once and read by both directions.
            const lowered = cellArgs(e.operand);
            const fw = applyCall(e.operand, false, `${target}.fw`, lowered);
            const bw = applyCall(e.operand, true, `${target}.bw`, lowered);
            return ops.concat([fw, bw], e.span);
          }
          return diags.fail('RNN2005', e.span, '`reverse` marks the input of a cell: `lstm(reverse e)`', {
            ...(argOf ? {} : { hint: 'the cell then runs from the last step to the first; its outputs stay aligned with the input' }),
          });
        case 'Binary': {
          const l = lowerExpr(e.left);
          const r = lowerExpr(e.right);
          return e.op === '@' ? ops.matmul(l, r, e.span) : ops.binary(e.op, l, r, e.span);
        }
        case 'Call':
          return lowerCall(e);
      }
    };

    /** The sequences a cell is applied to, and whether `reverse` marks them. */
    const cellArgs = (call: Call): { args: Val[]; reversed: boolean; spans: Span[] } => {
      const info = cells.get(call.callee.name)!;
      let reversed = false;
      // The sizes `with` binds: the dimension names of the cell's outputs (`H` of `-> h: [H]`).
      const sizeNames = [...new Set(info.decl.outputs.flatMap((o) => o.shape.dims.flatMap((d) => (d.kind === 'DimName' ? [d.name] : []))))];
      const args = call.args.map((a, k) => {
        let ex = a.value;
        // A size given as an argument (`lstm(e, 64)`, `lstm(e, H = 64)`): sizes go in `with`.
        const n = numberOf(ex);
        if (a.name !== undefined || n !== undefined) {
          const size = a.name ? `${a.name.name} = ${n ?? '...'}` : `${sizeNames[0] ?? 'H'} = ${n}`;
          diags.fail('RNN2005', a.span, `cell \`${info.decl.name.name}\` takes sequences as arguments; sizes and options go after \`with\``, {
            hint: `write \`${info.decl.name.name}(...) with ${size}\` (its dimensions: ${sizeNames.join(', ') || 'none'})`,
          });
        }
        if (ex.kind === 'Unary' && ex.op === 'reverse') {
          reversed = true;
          ex = ex.operand;
        }
        const v = lowerExpr(ex, call.callee.name);
        notOnTargetSteps(v, a.span, `cell \`${info.decl.name.name}\``);
        const inp = info.decl.inputs[k];
        // An input the cell reads without [t] takes one value per example (sema/cell.ts argumentOf checks it).
        if (v.layout !== 'seq' && !(inp && info.constInputs.has(inp.name.name))) {
          diags.fail('RNN3005', a.span, `cell \`${info.decl.name.name}\` runs over a sequence, but ${v.what} is not one`);
        }
        if (v.vocab !== undefined) {
          diags.fail('RNN3001', a.span, `${v.what} holds token ids; a cell needs vectors`, {
            hint: `use embed(${exprName(ex)}, E) or one_hot(${exprName(ex)})`,
          });
        }
        return v;
      });
      return { args, reversed, spans: call.args.map((a) => a.span) };
    };

    const applyCall = (call: Call, flip: boolean, instance: string, lowered = cellArgs(call)): Val => {
      const info = cells.get(call.callee.name)!;
      const reversed = lowered.reversed !== flip;
      appliedCell = true;
      // The teacher of a decoder: the target its statement is scored against (only when the statement is the application itself).
      const teacherName = info.feedback && call === eq.value ? teacherOf.get(target) : undefined;
      const teacherVal = teacherName === undefined ? undefined : env.get(teacherName);
      const teacher = teacherVal && targets.some((t) => t.name === teacherName) && teacherVal.layout === 'seq' && teacherVal.vocab !== undefined ? teacherVal : undefined;
      const applied = applyCell(
        b,
        diags,
        { info, instance, inputs: lowered.args, argSpans: lowered.spans, bindings: eq.bindings, modelDims: dims, flip: reversed, span: call.span, mask: teacher && targetMask !== undefined && teacherName === targetAxis ? b.op('expand_last', [targetMask]) : mask3, sourceMask: mask3, ...(teacher ? { teacher } : {}), feed: feedInputs, attention, dropout },
        makeParam,
        source,
      );
      dropouts.push(...applied.dropouts);
      if (info.feedback) decoders.push(instance);
      if (info.feedback && teacherName !== undefined && teacherName === targetAxis) readsAhead ??= `decoder \`${info.decl.name.name}\` writes its target over the target's own steps`;
      if ((info.direction === 1) !== reversed) readsAhead ??= `it runs cell \`${info.decl.name.name}\` backwards in time`;
      const whole = lowered.args.filter((_, k) => info.constInputs.has(info.decl.inputs[k]!.name.name));
      if (whole.some((a) => a.layout === 'seq')) readsAhead ??= `cell \`${info.decl.name.name}\` attends over a whole sequence`;
      // A per-example value computed from a sequence (last(enc), mean(...)) is known only at the sequence's end.
      if (whole.some((a) => a.layout === 'example' && b.dependsOn(a.v, (v) => b.type(v).shape[0] === 'T'))) {
        readsAhead ??= `cell \`${info.decl.name.name}\` reads a summary of a whole sequence`;
      }
      return applied.output;
    };

    const lowerCall = (call: Call): Val => {
      const fn = call.callee.name;
      const span = call.span;
      if (brokenCells.has(fn)) throw new Abort(); // its own errors are already reported
      if (cells.has(fn)) return applyCall(call, false, instanceName(fn, call));
      const arg = (i: number, what: string): Expr => {
        const a = call.args.filter((x) => x.name === undefined)[i];
        if (!a) diags.fail('RNN2005', span, `\`${fn}\` needs ${what} as argument ${i + 1}`);
        return a.value;
      };
      const sizeArg = (i: number, what: string): Dim => {
        const e = arg(i, what);
        const n = numberOf(e);
        if (n !== undefined) return recover(() => evalDim({ kind: 'DimNum', value: n, span: e.span }, dims, diags)) ?? n;
        if (e.kind === 'NameRef' && !e.index) return evalDim({ kind: 'DimName', name: e.name.name, span: e.span }, dims, diags);
        return diags.fail('RNN3006', e.span, `${what} must be a size: a number or a dimension name`);
      };
      /** A per-example image [Hgt, Wid, C] of floats. */
      const image = (e: Expr): Val => {
        const x = lowerExpr(e);
        ops.requireFloat(x, fn);
        const shape = userShape(b, x);
        if (x.layout !== 'example' || shape.length !== 3) {
          diags.fail('RNN3001', e.span, `${fn} needs one image [Hgt, Wid, C] per example, but ${x.what} is ${x.layout === 'seq' ? 'a sequence of ' : ''}${showShape(shape)}`, {
            notes: [ops.noteFor(x)],
            hint: 'an image input is declared `input img: [Hgt, Wid, C]` (C = 1 for grey levels)',
          });
        }
        return x;
      };
      /** A named number argument (`size = 3`, or a dimension with a value), or its default. */
      const namedNumber = (name: string, fallback: number, ok: (v: number) => boolean, what: string): number => {
        const a = call.args.find((x) => x.name?.name === name);
        if (!a) return fallback;
        const d = a.value.kind === 'NameRef' && !a.value.index ? dims.get(a.value.name.name) : undefined;
        const v = typeof d === 'number' ? d : numberOf(a.value);
        if (v === undefined || !ok(v)) diags.fail('RNN3006', a.value.span, `\`${name}\` of \`${fn}\` must be ${what}`);
        return v;
      };
      checkBuiltinArgs(call, diags);
      switch (fn) {
        case 'embed': {
          const ids = lowerExpr(arg(0, 'token ids'));
          if (ids.vocab === undefined) diags.fail('RNN3001', ids.origin, `embed needs token ids, but ${ids.what} holds vectors`);
          const width = sizeArg(1, 'the embedding size');
          const table = makeParam({
            name: `${instanceName('embed', call)}.table`,
            shape: [ids.vocab, width],
            init: { kind: 'normal', args: { mean: 0, std: 0.1 }, positional: [] },
            span,
          });
          return { v: b.op('gather', [table, ids.v]), layout: ids.layout, origin: span, what: 'embed(...)' };
        }
        case 'one_hot': {
          const ids = lowerExpr(arg(0, 'token ids'));
          if (ids.vocab === undefined) diags.fail('RNN3001', ids.origin, `one_hot needs token ids, but ${ids.what} holds vectors`);
          return { v: b.op('one_hot', [ids.v], { depth: ids.vocab }), layout: ids.layout, origin: span, what: 'one_hot(...)' };
        }
        case 'dense': {
          const x = lowerExpr(arg(0, 'a vector or sequence of vectors'));
          ops.requireFloat(x, 'dense');
          const xs = userShape(b, x);
          if (xs.length !== 1) diags.fail('RNN3001', x.origin, `dense needs vectors, but ${x.what} has shape ${showShape(xs)}`);
          const out = sizeArg(1, 'the output size');
          const inst = instanceName('dense', call);
          const W = makeParam({ name: `${inst}.W`, shape: [out, xs[0]!], init: { kind: 'glorot', args: {}, positional: [] }, span });
          const bias = makeParam({ name: `${inst}.b`, shape: [out], init: { kind: 'zeros', args: {}, positional: [] }, span });
          return { v: b.op('add', [b.op('linear', [x.v, W]), bias]), layout: x.layout, origin: span, what: 'dense(...)' };
        }
        case 'conv2d': {
          const x = image(arg(0, 'an image [Hgt, Wid, C]'));
          const [, , channels] = userShape(b, x) as [Dim, Dim, Dim];
          const filters = sizeArg(1, 'the number of filters');
          const k = namedNumber('size', 3, (v) => Number.isInteger(v) && v >= 1 && v <= 15 && v % 2 === 1, 'an odd whole number from 1 to 15 (the window is centred on each pixel)');
          const inst = instanceName('conv2d', call);
          const width = typeof channels === 'number' ? k * k * channels : `${k * k}*${channels}`;
          const W = makeParam({ name: `${inst}.W`, shape: [filters, width], init: { kind: 'glorot', args: {}, positional: [] }, span });
          const bias = makeParam({ name: `${inst}.b`, shape: [filters], init: { kind: 'zeros', args: {}, positional: [] }, span });
          const v = b.op('add', [b.op('linear', [b.op('patches', [x.v], { size: k }), W]), bias]);
          return { v, layout: 'example', origin: span, what: 'conv2d(...)' };
        }
        case 'max_pool':
        case 'avg_pool': {
          const x = image(arg(0, 'an image [Hgt, Wid, C]'));
          const k = namedNumber('size', 2, (v) => Number.isInteger(v) && v >= 1, 'a whole number of at least 1');
          const [h, w] = userShape(b, x) as [Dim, Dim, Dim];
          if (typeof h !== 'number' || typeof w !== 'number') {
            diags.fail('RNN3006', arg(0, 'an image').span, `${fn} needs the image's height and width as numbers, but ${x.what} is ${showShape(userShape(b, x))}`, {
              notes: [ops.noteFor(x)],
              hint: 'give the image input numeric sizes (`input img: [28, 84, 1]`) or give its dimensions values (`dim Hgt = 28`)',
            });
          }
          if (h < k || w < k) diags.fail('RNN3006', span, `${fn}: ${/^[8]|^1[18]\b/.test(String(h)) ? 'an' : 'a'} ${h} x ${w} image is smaller than one ${k} x ${k} block`);
          return { v: b.op(fn, [x.v], { size: k }), layout: 'example', origin: span, what: `${fn}(...)` };
        }
        case 'flatten': {
          const x = image(arg(0, 'an image [Hgt, Wid, C]'));
          return { v: b.op('merge_axes', [x.v], { axis: 1 }), layout: 'example', origin: span, what: 'flatten(...)' };
        }
        case 'last':
        case 'mean': {
          const x = lowerExpr(arg(0, 'a sequence'));
          const rows = userShape(b, x);
          if (fn === 'mean' && x.layout === 'example' && rows.length === 2) {
            // The mean of a matrix's rows: a feature map's locations (global average pooling).
            ops.requireFloat(x, fn);
            const summed = b.op('drop_axis', [b.op('sum_to', [x.v], { shape: ['B', 1, rows[1]!] })], { axis: 1 });
            const count = typeof rows[0] === 'number' ? b.constant(rows[0]) : undefined;
            if (count === undefined) {
              diags.fail('RNN3006', span, `mean of a matrix needs its number of rows as a number, but ${x.what} is ${showShape(rows)}`, {
                notes: [ops.noteFor(x)],
                hint: 'give the image numeric sizes (`input img: [28, 84, 1]`, or `dim Hgt = 28`), or pool it to numeric sizes first',
              });
            }
            return { v: b.op('div', [summed, count]), layout: 'example', origin: span, what: 'mean(...)' };
          }
          if (x.layout !== 'seq') {
            diags.fail('RNN3005', span, `${fn} needs a sequence${fn === 'mean' ? ' or a matrix [L, D] (the locations of a feature map)' : ''}, but ${x.what} is ${x.layout === 'example' ? `one value per example ${showShape(rows)}` : 'not one'}`, {
              notes: [ops.noteFor(x)],
              ...(fn === 'mean' && rows.length === 3 ? { hint: `the mean over an image's locations is mean(flatten(${exprName(arg(0, 'a sequence'))}))` } : {}),
            });
          }
          notOnTargetSteps(x, call.span, `\`${fn}\``);
          ops.requireFloat(x, fn);
          const shape = ['B', ...userShape(b, x)];
          const weights = fn === 'last' ? b.op('expand_last', [last]) : mask3;
          const summed = b.op('sum_to', [b.op('mul', [x.v, weights])], { shape });
          const v = fn === 'last' ? summed : b.op('div', [summed, b.op('sum_to', [mask3], { shape: ['B', 1] })]);
          return { v, layout: 'example', origin: span, what: `${fn}(...)` };
        }
        case 'concat':
          return ops.concat(call.args.map((a) => lowerExpr(a.value)), span);
        case 'softmax':
          return ops.softmax(lowerExpr(arg(0, 'a value')), span);
        case 'dropout': {
          const x = lowerExpr(arg(0, 'a value'));
          ops.requireFloat(x, 'dropout');
          const pe = arg(1, 'the probability of dropping a value');
          const pv = numberOf(pe);
          if (pv === undefined || !(pv >= 0 && pv < 1)) diags.fail('RNN3006', pe.span, '`dropout(x, p)`: p is the probability of dropping a value, a number in [0, 1)');
          const inst = instanceName('dropout', call);
          dropouts.push({ name: inst, p: pv });
          if (!dropout || pv === 0) return { ...x, origin: span, what: 'dropout(...)' };
          // Inverted dropout: kept values are divided by 1 - p, so inference (the identity) sees the same scale.
          const u = b.input(b.type(x.v), 'data', `dropout:${inst}`);
          const keep = b.op('step', [b.op('sub', [u, b.constant(pv)])]);
          return { v: b.op('mul', [x.v, b.op('mul', [keep, b.constant(1 / (1 - pv))])]), layout: x.layout, origin: span, what: 'dropout(...)' };
        }
        case 'layer_norm': {
          // Normalised, then scaled and shifted by a learned gain and bias per feature (as Keras and PyTorch do).
          const x = lowerExpr(arg(0, 'a vector or sequence of vectors'));
          const eps = namedNumber('eps', 1e-5, (v) => v > 0, 'a positive number');
          const n = ops.layerNorm(x, eps, span);
          const width = userShape(b, x).at(-1)!;
          const inst = instanceName('layer_norm', call);
          const g = makeParam({ name: `${inst}.g`, shape: [width], init: { kind: 'ones', args: {}, positional: [] }, span });
          const bias = makeParam({ name: `${inst}.b`, shape: [width], init: { kind: 'zeros', args: {}, positional: [] }, span });
          return { ...n, v: b.op('add', [b.op('mul', [n.v, g]), bias]) };
        }
        case 'cross_entropy':
        case 'mse':
          return diags.fail('RNN5007', span, `\`${fn}\` is a loss: write \`loss = ${fn}(...)\``);
        default: {
          if (ELEMENTWISE.has(fn)) {
            const extra = call.args.slice(1).map((a) => numberOf(a.value) ?? diags.fail('RNN2005', a.span, `extra arguments of \`${fn}\` must be numbers`));
            return ops.elementwise(fn, lowerExpr(arg(0, 'a value')), extra, span);
          }
          const hint = didYouMean(fn, [...cells.keys(), ...MODEL_FUNCTIONS, ...ELEMENTWISE.keys()]);
          return diags.fail('RNN2004', call.callee.span, `unknown function or cell \`${fn}\``, hint ? { hint } : {});
        }
      }
    };

    if (target === 'loss') {
      if (lossSeen) diags.fail('RNN2008', eq.target.span, 'the model has two losses', { notes: [{ message: 'the first is here', span: lossSeen }] });
      lossSeen = eq.target.span;
      lossInfo = lowerLoss(eq.value, lowerExpr);
      return;
    }
    if (env.has(target)) {
      diags.fail('RNN2008', eq.target.span, `\`${target}\` is already defined`, {
        notes: declaredAt.has(target) ? [{ message: 'first defined here', span: declaredAt.get(target)! }] : [],
      });
    }
    b.source = source(eq.span);
    const v = lowerExpr(eq.value);
    b.source = undefined;
    if (eq.bindings.length > 0 && !appliedCell) {
      diags.fail('RNN2007', eq.bindings[0]!.span, '`with` binds the dimensions and options of a cell, but this statement applies no cell', {
        hint: 'remove the `with` part, or apply a cell: `h = lstm(x) with H`',
      });
    }
    b.rename(v.v, target);
    env.set(target, { ...v, origin: eq.target.span, what: `\`${target}\`` });
    declaredAt.set(target, eq.target.span);
    observe.value?.(decl.name.name, target, typeText(v));
  };

  const lowerLoss = (e: Expr, lowerExpr: (e: Expr) => Val): { v: ValueId; kind: 'cross_entropy' | 'mse'; output: string; per: 'step' | 'example'; target?: string } => {
    if (e.kind !== 'Call' || (e.callee.name !== 'cross_entropy' && e.callee.name !== 'mse')) {
      return diags.fail('RNN5007', e.span, 'the loss must be `cross_entropy(logits, target)` or `mse(prediction, target)`');
    }
    const kind = e.callee.name;
    if (e.args.length !== 2) diags.fail('RNN2005', e.span, `\`${kind}\` takes two arguments: the prediction and the target`);
    const pred = lowerExpr(e.args[0]!.value);
    const tgt = lowerExpr(e.args[1]!.value);
    ops.requireFloat(pred, kind);
    const ps = userShape(b, pred);
    const perExample = pred.layout === 'example';
    // Which positions count: `weight` for sequences, `last` summed over time for per-example values.
    const w = perExample ? b.op('sum_to', [last], { shape: ['B'] }) : weight;
    const mismatch = (why: string): never =>
      diags.fail('RNN3001', e.span, `${kind}: ${why}`, { notes: [ops.noteFor(pred), ops.noteFor(tgt)] });
    if (pred.layout !== 'seq' && pred.layout !== 'example') mismatch('the prediction must come from the data (a sequence or one value per example)');
    if ((pred.layout === 'seq') !== (tgt.layout === 'seq')) {
      mismatch(`the prediction is ${pred.layout === 'seq' ? 'a sequence' : 'one value per example'} but the target is ${tgt.layout === 'seq' ? 'a sequence' : 'one value per example'}`);
    }
    let loss: ValueId;
    if (kind === 'cross_entropy') {
      if (tgt.vocab === undefined) mismatch('the target must be tokens (token[K] or seq<token[K]>)');
      if (ps.length !== 1 || ps[0] !== tgt.vocab) mismatch(`logits ${showShape(ps)} do not match ${tgt.vocab} classes`);
      const nll = b.op('xent', [pred.v, tgt.v]);
      loss = b.op('div', [b.op('sum_all', [b.op('mul', [nll, w])]), b.op('sum_all', [w])]);
    } else {
      ops.requireFloat(tgt, 'mse');
      const ts = userShape(b, tgt);
      if (ps.length !== ts.length || ps.some((d, i) => d !== ts[i])) mismatch(`shapes ${showShape(ps)} and ${showShape(ts)} differ`);
      const sq = b.op('square', [b.op('sub', [pred.v, tgt.v])]);
      // The weight of each position, over every axis of a value (a vector, a matrix, an image).
      let w3 = w;
      for (let k = 0; k < Math.max(1, ps.length); k++) w3 = b.op('expand_last', [w3]);
      loss = b.op('div', [b.op('sum_all', [b.op('mul', [sq, w3])]), b.op('sum_all', [b.op('broadcast_like', [w3, sq])])]);
    }
    const output = e.args[0]!.value.kind === 'NameRef' ? (e.args[0]!.value as { name: { name: string } }).name.name : 'prediction';
    b.output(pred.v, 'output', output);
    const t = e.args[1]!.value;
    const target = t.kind === 'NameRef' && targets.some((x) => x.name === t.name.name) ? t.name.name : undefined;
    return { v: loss, kind, output, per: perExample ? 'example' : 'step', ...(target ? { target } : {}) };
  };

  for (const item of decl.items) {
    if (item.kind === 'Equation' && recover(() => lowerStatement(item) ?? true) === undefined) failed.add(item.target.name);
  }
  const writesLoss = decl.items.some((i) => i.kind === 'Equation' && i.target.name === 'loss');
  if (!lossInfo && !writesLoss && !diags.list.slice(before).some((d) => d.severity === 'error')) {
    diags.report('RNN5001', decl.name.span, `model \`${decl.name.name}\` has no loss`, {
      hint: 'add a line such as `loss = cross_entropy(y, target)` or `loss = mse(y, target)`',
    });
  }
  if (!lossInfo || diags.list.slice(before).some((d) => d.severity === 'error')) return undefined;
  b.output(lossInfo.v, 'loss', 'loss');
  return {
    name: decl.name.name,
    graph: b.build(),
    params,
    inputs,
    targets,
    dims,
    loss: lossInfo.kind,
    lossPer: lossInfo.per,
    output: lossInfo.output,
    ...(lossInfo.target ? { lossTarget: lossInfo.target } : {}),
    ...(targetAxis !== undefined ? { targetAxis } : {}),
    readsAhead,
    decoders,
    feed,
    dropouts,
    span: decl.span,
  };
}

function exprName(e: Expr): string {
  return e.kind === 'NameRef' ? e.name.name : 'x';
}

function ioSpec(item: IoDecl, dims: ReadonlyMap<string, Dim>, diags: DiagnosticCollector): IoSpec {
  const t = item.type;
  const nameOf = (d: DimExpr): string | undefined => (d.kind === 'DimName' ? d.name : undefined);
  if (t.elem.kind === 'TokenType') {
    const vocab = evalDim(t.elem.vocab, dims, diags);
    return {
      name: item.name.name,
      type: t.seq ? { kind: 'tokens', vocab } : { kind: 'token', vocab },
      dimNames: [nameOf(t.elem.vocab)],
      span: item.span,
    };
  }
  const shapeDims = t.elem.shape.dims.map((d) => evalDim(d, dims, diags));
  if (t.seq && shapeDims.length !== 1) {
    diags.fail('RNN3001', t.span, `a sequence of vectors is seq<[D]>, got ${showShape(shapeDims)} per step`);
  }
  return {
    name: item.name.name,
    type: t.seq ? { kind: 'vectors', dims: shapeDims } : { kind: 'vector', dims: shapeDims },
    dimNames: t.elem.shape.dims.map(nameOf),
    span: item.span,
  };
}
