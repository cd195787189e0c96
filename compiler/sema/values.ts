// Typed values during lowering, and the element-wise expression rules shared
// by cells and models (arithmetic, `@`, activation functions).
//
// Layouts say where the implicit batch and time axes are:
//   step    [B, ...]    a value at one time step inside a cell
//   example [B, ...]    a per-sequence value in a model (last(h), a label)
//   seq     [T, B, ...] a whole sequence in a model
//   param   [...]       a parameter: no batch
//   scalar  []          a number
// Users never see B and T: messages print the per-example shape.
import type { Call, Expr } from '../ast/ast.js';
import type { DiagnosticCollector } from '../diagnostics/collector.js';
import type { Note } from '../diagnostics/diagnostic.js';
import type { Span } from '../diagnostics/span.js';
import type { GraphBuilder } from '../ir/builder.js';
import { broadcastShapes, dimToString, ShapeError } from '../ir/shape.js';
import { LANGUAGE_FUNCTIONS, type ElementwiseOp } from '../ir/elementwise.js';
import type { Dim, ValueId } from '../ir/types.js';

export type Layout = 'step' | 'example' | 'seq' | 'param' | 'scalar';

export interface Val {
  readonly v: ValueId;
  readonly layout: Layout;
  /** Where this value's shape comes from, for "shape came from" notes. */
  readonly origin: Span;
  readonly what: string;
  /** Integer token ids (seq<token[V]> or token[V]); `vocab` is V. */
  readonly vocab?: Dim;
  /** Token ids held as one-hot float rows [..., V] (a decoder reading its own choices). */
  readonly oneHot?: true;
}

export function leadingAxes(layout: Layout): number {
  return layout === 'seq' ? 2 : layout === 'step' || layout === 'example' ? 1 : 0;
}

/** The shape a user sees: without batch and time. */
export function userShape(b: GraphBuilder, val: Val): Dim[] {
  return b.type(val.v).shape.slice(leadingAxes(val.layout));
}

export function showShape(dims: readonly Dim[]): string {
  return `[${dims.map(dimToString).join(', ')}]`;
}

const rank: Record<Layout, number> = { scalar: 0, param: 1, example: 2, step: 2, seq: 3 };

export function joinLayouts(a: Layout, b: Layout): Layout {
  return rank[a] >= rank[b] ? a : b;
}

/** The element-wise functions a program may call by name (compiler/ir/elementwise.ts). */
export const ELEMENTWISE: ReadonlyMap<string, ElementwiseOp> = LANGUAGE_FUNCTIONS;

export class ValueOps {
  constructor(
    readonly b: GraphBuilder,
    readonly diags: DiagnosticCollector,
  ) {}

  noteFor(val: Val): Note {
    return { message: `${val.what} has shape ${showShape(userShape(this.b, val))}`, span: val.origin };
  }

  binary(op: '+' | '-' | '*' | '/', l: Val, r: Val, span: Span): Val {
    this.requireFloat(l, op);
    this.requireFloat(r, op);
    const irOp = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div' }[op];
    const ls = userShape(this.b, l);
    const rs = userShape(this.b, r);
    try {
      broadcastShapes(ls, rs);
    } catch (e) {
      if (!(e instanceof ShapeError)) throw e;
      this.diags.fail('RNN3001', span, `shape mismatch in \`${op}\`: ${showShape(ls)} and ${showShape(rs)}`, {
        notes: [this.noteFor(l), this.noteFor(r)],
        hint: 'element-wise operators need equal shapes (or a 1 / missing axis to broadcast)',
      });
    }
    this.sameSteps([l, r], span);
    const layout = joinLayouts(l.layout, r.layout);
    // [T,B,..] op [B,..] broadcasts correctly; a param lines up with trailing axes.
    return { v: this.b.op(irOp, [l.v, r.v]), layout, origin: span, what: 'the result' };
  }

  matmul(l: Val, r: Val, span: Span): Val {
    this.requireFloat(l, '@');
    this.requireFloat(r, '@');
    const ls = userShape(this.b, l);
    const rs = userShape(this.b, r);
    const mismatch = (): never =>
      this.diags.fail('RNN3001', span, `shape mismatch in \`@\`: ${showShape(ls)} @ ${showShape(rs)}`, {
        notes: [this.noteFor(l), this.noteFor(r)],
        hint: 'for W @ x, W is [out, in] and x is [in]',
      });
    if (l.layout === 'param' && r.layout !== 'param' && r.layout !== 'scalar') {
      if (ls.length !== 2 || rs.length !== 1) {
        this.diags.fail('RNN3004', span, `\`@\` needs a matrix on the left and a vector on the right, got ${showShape(ls)} @ ${showShape(rs)}`, {
          notes: [this.noteFor(l), this.noteFor(r)],
        });
      }
      if (ls[1] !== rs[0]) mismatch();
      return { v: this.b.op('linear', [r.v, l.v]), layout: r.layout, origin: span, what: 'the product' };
    }
    if (r.layout === 'param' && l.layout !== 'param' && l.layout !== 'scalar') {
      if (rs.length !== 2 || ls.length !== 1) {
        this.diags.fail('RNN3004', span, `\`@\` needs a vector on the left and a matrix on the right, got ${showShape(ls)} @ ${showShape(rs)}`, {
          notes: [this.noteFor(l), this.noteFor(r)],
        });
      }
      if (rs[0] !== ls[0]) mismatch();
      return { v: this.b.op('mm', [l.v, r.v]), layout: l.layout, origin: span, what: 'the product' };
    }
    return this.diags.fail('RNN3004', span, 'this `@` is not a parameter matrix times a vector', {
      notes: [this.noteFor(l), this.noteFor(r)],
      hint: 'write W @ x with W a `param` of shape [out, in]',
    });
  }

  negate(x: Val, span: Span): Val {
    this.requireFloat(x, '-');
    return { v: this.b.op('neg', [x.v]), layout: x.layout, origin: span, what: 'the result' };
  }

  number(value: number, span: Span): Val {
    return { v: this.b.constant(value), layout: 'scalar', origin: span, what: 'the number' };
  }

  /** tanh(x), leaky_relu(x, alpha): an entry of LANGUAGE_FUNCTIONS, its attribute from `extra` or its default. */
  elementwise(fn: string, x: Val, extra: readonly number[], span: Span): Val {
    this.requireFloat(x, fn);
    const e = ELEMENTWISE.get(fn)!;
    const attrs: Record<string, number> = e.attr ? { [e.attr.name]: extra[0] ?? e.attr.default } : {};
    return { v: this.b.op(e.name, [x.v], attrs), layout: x.layout, origin: span, what: `${fn}(...)` };
  }

  /** softmax(v): normalised over the last axis (a per-step or per-example vector, or a sequence of them). */
  softmax(x: Val, span: Span): Val {
    this.requireFloat(x, 'softmax');
    if (userShape(this.b, x).length < 1) {
      this.diags.fail('RNN3001', span, '`softmax` needs a vector: it normalises over the last axis', { notes: [this.noteFor(x)] });
    }
    return { v: this.b.op('softmax', [x.v]), layout: x.layout, origin: span, what: 'softmax(...)' };
  }

  /**
   * layer_norm(v): (v - mean) / sqrt(variance + eps) over the last axis (Ba et
   * al. 2016), made of element-wise ops and sums, so its derivative is theirs.
   * The number of values averaged is counted from the value itself, so sizes
   * the data fixes need no number yet.
   */
  layerNorm(x: Val, eps: number, span: Span): Val {
    this.requireFloat(x, 'layer_norm');
    if (userShape(this.b, x).length < 1) {
      this.diags.fail('RNN3001', span, '`layer_norm` needs a vector: it normalises over the last axis', { notes: [this.noteFor(x)] });
    }
    const b = this.b;
    const shape = b.type(x.v).shape;
    const rows = [...shape.slice(0, -1), 1];
    const count = b.op('sum_to', [b.op('broadcast_like', [b.constant(1), x.v])], { shape: rows });
    const mean = b.op('div', [b.op('sum_to', [x.v], { shape: rows }), count]);
    const centred = b.op('sub', [x.v, mean]);
    const variance = b.op('div', [b.op('sum_to', [b.op('square', [centred])], { shape: rows }), count]);
    const v = b.op('div', [centred, b.op('sqrt', [b.op('add', [variance, b.constant(eps)])])]);
    return { v, layout: x.layout, origin: span, what: 'layer_norm(...)' };
  }

  concat(parts: readonly Val[], span: Span): Val {
    const layout = parts[0]!.layout;
    for (const p of parts) {
      this.requireFloat(p, 'concat');
      if (p.layout !== layout || userShape(this.b, p).length !== 1) {
        this.diags.fail('RNN3001', span, 'concat needs vectors of the same kind (all per step, or all sequences)', {
          notes: parts.map((q) => this.noteFor(q)),
        });
      }
    }
    this.sameSteps(parts, span);
    return { v: this.b.op('concat', parts.map((p) => p.v)), layout, origin: span, what: 'concat(...)' };
  }

  /** Sequences combined step by step must run over the same steps: a decoder's output runs over its target's (axis U), not the source's. */
  sameSteps(parts: readonly Val[], span: Span): void {
    const seqs = parts.filter((p) => p.layout === 'seq');
    const axes = new Set(seqs.map((p) => this.b.type(p.v).shape[0]));
    if (axes.size > 1) {
      this.diags.fail('RNN3001', span, 'these sequences run over different steps: the source\'s and a target\'s that a decoder writes', {
        notes: seqs.map((p) => ({ message: `${p.what} runs over ${this.b.type(p.v).shape[0] === 'U' ? 'the target\'s steps' : 'the source\'s steps'}`, span: p.origin })),
        hint: 'a decoder that reads no per-step input writes a target of any length; pass the source to it whole (a memory for attend, or last(enc))',
      });
    }
  }

  requireFloat(x: Val, where: string): void {
    if (x.vocab !== undefined) {
      this.diags.fail('RNN3001', x.origin, `${x.what} holds token ids, which \`${where}\` cannot use`, {
        hint: 'turn tokens into vectors first: embed(x, E) or one_hot(x)',
      });
    }
  }
}

/** Reads a plain number out of an expression (`0.01`, `-1`). */
export function numberOf(e: Expr): number | undefined {
  if (e.kind === 'NumberLit') return e.value;
  if (e.kind === 'Unary' && e.op === '-') {
    const v = numberOf(e.operand);
    return v === undefined ? undefined : -v;
  }
  return undefined;
}

/** How each built-in function is called: its positional arguments (Infinity: any number) and the form shown in hints. */
const SIGNATURES: ReadonlyMap<string, { readonly args: number; readonly form: string; readonly named?: readonly string[] }> = new Map([
  ['embed', { args: 2, form: 'embed(ids, E)' }],
  ['conv2d', { args: 2, form: 'conv2d(image, F, size = 3)', named: ['size'] }],
  ['max_pool', { args: 1, form: 'max_pool(image, size = 2)', named: ['size'] }],
  ['avg_pool', { args: 1, form: 'avg_pool(image, size = 2)', named: ['size'] }],
  ['flatten', { args: 1, form: 'flatten(image)' }],
  ['one_hot', { args: 1, form: 'one_hot(ids)' }],
  ['dense', { args: 2, form: 'dense(x, K)' }],
  ['last', { args: 1, form: 'last(h)' }],
  ['mean', { args: 1, form: 'mean(h)' }],
  ['concat', { args: Infinity, form: 'concat(a, b, ...)' }],
  ['softmax', { args: 1, form: 'softmax(v)' }],
  ['layer_norm', { args: 1, form: 'layer_norm(v, eps = 1e-5)', named: ['eps'] }],
  ['dropout', { args: 2, form: 'dropout(x, p)' }],
  ...[...ELEMENTWISE.values()].map((e) => [e.name, { args: e.attr ? 2 : 1, form: e.attr ? `${e.name}(x, ${e.attr.name})` : `${e.name}(x)` }] as const),
]);

/**
 * A built-in function called with an argument it does not take (a name such
 * as `activation = relu`, or one argument too many) is RNN2005, never
 * silently ignored. The one name accepted is an element-wise function's
 * attribute (`leaky_relu(v, alpha = 0.2)`).
 */
export function checkBuiltinArgs(call: Call, diags: DiagnosticCollector): void {
  const fn = call.callee.name;
  const sig = SIGNATURES.get(fn);
  if (sig === undefined) return;
  const attr = ELEMENTWISE.get(fn)?.attr?.name;
  const named = new Set([...(attr === undefined ? [] : [attr]), ...(sig.named ?? [])]);
  const seen = new Set<string>();
  for (const a of call.args) {
    if (a.name !== undefined && seen.has(a.name.name)) diags.fail('RNN2005', a.span, `\`${fn}\` is given \`${a.name.name}\` twice`, { hint: `it is called as ${sig.form}` });
    if (a.name !== undefined) seen.add(a.name.name);
    if (a.name !== undefined && !named.has(a.name.name)) {
      diags.fail('RNN2005', a.span, `\`${fn}\` has no argument named \`${a.name.name}\``, { hint: `it is called as ${sig.form}` });
    }
  }
  const positional = call.args.filter((a) => a.name === undefined);
  if (positional.length !== call.args.length && call.args.findIndex((a) => a.name !== undefined) < positional.length) {
    const late = call.args.find((a, k) => a.name === undefined && call.args.slice(0, k).some((b) => b.name !== undefined))!;
    diags.fail('RNN2005', late.span, `\`${fn}\`: a positional argument after a named one`, { hint: `it is called as ${sig.form}` });
  }
  if (positional.length > sig.args) {
    const byName = sig.named && sig.named.length > 0 ? `; ${sig.named.map((n) => `\`${n}\``).join(', ')} ${sig.named.length === 1 ? 'is' : 'are'} given by name` : '';
    diags.fail('RNN2005', positional[sig.args]!.span, `\`${fn}\` takes ${sig.args} argument${sig.args === 1 ? '' : 's'}${byName ? ' in order' : ''}, got ${positional.length}${byName}`, { hint: `it is called as ${sig.form}` });
  }
}
