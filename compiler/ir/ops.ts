// The op registry: one entry per op, with its shape rule and its VJP rule
// (reverse-mode derivative, written as IR). The executable halves of each op
// live in the runtime, keyed by the same names and checked for completeness
// by the type system (runtime/reference/kernels.ts, runtime/tfjs/kernels.ts)
// and by test/ir/registry.test.ts, which gradient-checks every entry.
//
// Conventions: `W @ x` with a batched x is `linear(x, W)` = x W^T; shapes
// broadcast like numpy over trailing axes; sums that undo a broadcast are
// `sum_to` with the target shape as an attribute.
import { InternalError } from '../diagnostics/diagnostic.js';
import type { GraphBuilder } from './builder.js';
import { addDims, broadcastShapes, dimToString, sameShape, shapeToString, ShapeError } from './shape.js';
import { ELEMENTWISE_OPS, elementwiseOp, sumTo, type ElementwiseOp, type VjpRule } from './elementwise.js';
import { fusedBody, type Attrs, type Dim, type FusedArg, type FusedBody, type FusedInstr, type Graph, type Node, type Shape, type ValueId, type ValueType } from './types.js';

export type { VjpRule } from './elementwise.js';

export interface OpDef {
  readonly name: string;
  /** Number of inputs, or 'variadic'. */
  readonly arity: number | 'variadic';
  readonly doc: string;
  infer(inputs: readonly ValueType[], attrs: Attrs, body?: Graph): ValueType[];
  /**
   * 'none': the op has no derivative (integer or piecewise-constant results);
   * 'structural': handled by the autodiff itself (scan);
   * else the rule.
   */
  readonly vjp: VjpRule | 'none' | 'structural';
  /** Ops whose VJP is only needed for first-order gradients (no rule for their own derivative). */
  readonly firstOrderOnly?: boolean;
}

const f32 = (shape: Shape): ValueType => ({ shape, dtype: 'f32' });

function expectArity(name: string, inputs: readonly ValueType[], n: number): void {
  if (inputs.length !== n) throw new ShapeError(`${name} takes ${n} inputs, got ${inputs.length}`);
}
function expectFloat(name: string, t: ValueType): void {
  if (t.dtype !== 'f32') throw new ShapeError(`${name} needs a float input, got ${t.dtype}`);
}
function expectInt(name: string, t: ValueType, what = 'ids'): void {
  if (t.dtype !== 'i32') throw new ShapeError(`${name} needs integer ${what}, got ${t.dtype}`);
}
function expectFloats(name: string, inputs: readonly ValueType[]): void {
  for (const t of inputs) expectFloat(name, t);
}

/** A number attribute, checked: present, finite, and (with `int`) a whole number of at least `min`. */
function numberAttr(name: string, attrs: Attrs, key: string, o: { int?: boolean; min?: number } = {}): number {
  const v = attrs[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ShapeError(`${name} needs a finite number attribute ${key}, got ${String(v)}`);
  if (o.int && !Number.isInteger(v)) throw new ShapeError(`${name}: attribute ${key} must be a whole number, got ${v}`);
  if (o.min !== undefined && v < o.min) throw new ShapeError(`${name}: attribute ${key} must be at least ${o.min}, got ${v}`);
  return v;
}

/** A dimension attribute: a positive whole number or a dimension name. */
function dimAttr(name: string, attrs: Attrs, key: string): Dim {
  const v = attrs[key];
  if (typeof v === 'string' && v !== '') return v;
  return numberAttr(name, attrs, key, { int: true, min: 1 });
}

/** A shape attribute: an array of positive whole numbers and dimension names. */
function shapeAttr(name: string, attrs: Attrs, key: string): Shape {
  const v = attrs[key];
  if (!Array.isArray(v) || v.some((d) => !(typeof d === 'string' ? d !== '' : Number.isInteger(d) && (d as number) >= 0))) {
    throw new ShapeError(`${name} needs a shape attribute ${key}`);
  }
  return v as Shape;
}

// ------------------------------------------------------------------ helpers used by VJP rules


const ins = (node: Node, i: number): ValueId => node.inputs[i]!;

/** lead_last applied k times. */
function leadLastTimes(b: GraphBuilder, v: ValueId, k: number): ValueId {
  let out = v;
  for (let i = 0; i < k; i++) out = b.op('lead_last', [out]);
  return out;
}
const outOf = (node: Node): ValueId => node.outputs[0]!;

function unary(name: string, doc: string, vjp: OpDef['vjp']): OpDef {
  return {
    name,
    arity: 1,
    doc,
    infer(inputs) {
      expectArity(name, inputs, 1);
      expectFloat(name, inputs[0]!);
      return [f32(inputs[0]!.shape)];
    },
    vjp,
  };
}

function binary(name: string, doc: string, vjp: VjpRule): OpDef {
  return {
    name,
    arity: 2,
    doc,
    infer(inputs) {
      expectArity(name, inputs, 2);
      expectFloat(name, inputs[0]!);
      expectFloat(name, inputs[1]!);
      return [f32(broadcastShapes(inputs[0]!.shape, inputs[1]!.shape))];
    },
    vjp,
  };
}

/** The registry's view of an element-wise entry (elementwise.ts): its shape rule and its VJP. */
function elementwiseDef(e: ElementwiseOp): OpDef {
  const def = e.arity === 1 ? unary(e.name, e.doc, e.vjp) : binary(e.name, e.doc, e.vjp as VjpRule);
  if (!e.attr) return def;
  const attr = e.attr.name;
  return {
    ...def,
    infer(inputs, attrs) {
      if (typeof attrs[attr] !== 'number') throw new ShapeError(`${e.name} needs a number attribute ${attr}`);
      return def.infer(inputs, attrs);
    },
  };
}

// ------------------------------------------------------------------ image shapes

/** An image [..., H, W, C]: at least three axes. */
function imageShape(name: string, s: Shape): Shape {
  if (s.length < 3) throw new ShapeError(`${name} needs an image [..., H, W, C], got ${shapeToString(s)}`);
  return s;
}

/** The `size` attribute of patches/unpatches: an odd whole number (the neighbourhood is centred). */
function oddSize(name: string, attrs: Attrs): number {
  const k = numberAttr(name, attrs, 'size', { int: true, min: 1 });
  if (k % 2 !== 1) throw new ShapeError(`${name}: size must be odd, got ${k}`);
  return k;
}

/** [..., H, W, C] pooled by blocks of `size`: H and W must be numbers (the pooled sizes are floor(H / size), floor(W / size) >= 1). */
function pooledShape(name: string, shape: Shape, attrs: Attrs): Shape {
  const s = imageShape(name, shape);
  const k = numberAttr(name, attrs, 'size', { int: true, min: 1 });
  const [h, w] = [s.at(-3)!, s.at(-2)!];
  if (typeof h !== 'number' || typeof w !== 'number') throw new ShapeError(`${name}: the image's height and width must be known numbers, got ${shapeToString(s)}`);
  if (h < k || w < k) throw new ShapeError(`${name}: a ${h} x ${w} image is smaller than one ${k} x ${k} block`);
  return [...s.slice(0, -3), Math.floor(h / k), Math.floor(w / k), s.at(-1)!];
}

/** a * b: a number when both are, else the symbolic product `a*b` (split_axis reads it back). */
function mulDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (a === 1) return b;
  if (b === 1) return a;
  return `${dimToString(a)}*${dimToString(b)}`;
}

/** A symbolic `k*C` divided by k: C. */
function divDim(d: Dim, k: number): Dim {
  const prefix = `${k}*`;
  if (typeof d === 'string' && d.startsWith(prefix)) return d.slice(prefix.length);
  throw new ShapeError(`cannot divide ${dimToString(d)} by ${k}`);
}

// ------------------------------------------------------------------ the registry

const defs: OpDef[] = [
  {
    name: 'constant',
    arity: 0,
    doc: 'a scalar constant (attr value)',
    infer(inputs, attrs) {
      expectArity('constant', inputs, 0);
      if (typeof attrs['value'] !== 'number') throw new ShapeError(`constant needs a number attribute value, got ${String(attrs['value'])}`);
      return [f32([])];
    },
    vjp: 'none',
  },
  {
    name: 'zeros_like',
    arity: 1,
    doc: 'zeros of the shape of its input',
    infer(inputs) {
      expectArity('zeros_like', inputs, 1);
      return [f32(inputs[0]!.shape)];
    },
    vjp: 'none',
  },
  ...ELEMENTWISE_OPS.map(elementwiseDef),
  unary('stop_gradient', 'identity whose derivative is zero', 'none'),
  {
    name: 'grad_gate',
    arity: 2,
    doc: 'identity in x; its cotangent is multiplied by the scalar g (truncated BPTT cuts paths with g = 0)',
    infer(inputs) {
      expectArity('grad_gate', inputs, 2);
      expectFloats('grad_gate', inputs);
      if (inputs[1]!.shape.length !== 0) throw new ShapeError('grad_gate needs a scalar gate');
      return [inputs[0]!];
    },
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('mul', [ct, ins(n, 1)]), undefined],
  },
  {
    name: 'sum_to',
    arity: 1,
    doc: 'sums leading axes and axes where attr shape has a 1 (undoes a broadcast)',
    infer(inputs, attrs) {
      expectArity('sum_to', inputs, 1);
      expectFloat('sum_to', inputs[0]!);
      const shape = shapeAttr('sum_to', attrs, 'shape');
      const from = inputs[0]!.shape;
      // The target must broadcast back to the input: each of its axes a 1 or the input's trailing axis.
      const lead = from.length - shape.length;
      if (lead < 0 || shape.some((d, i) => d !== 1 && d !== from[lead + i])) {
        throw new ShapeError(`sum_to ${shapeToString(shape)} from ${shapeToString(from)}: not a shape that broadcasts to it`);
      }
      return [f32(shape)];
    },
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('broadcast_like', [ct, ins(n, 0)])],
  },
  {
    name: 'broadcast_like',
    arity: 2,
    doc: 'broadcasts x to the shape of like (like only gives the shape)',
    infer(inputs) {
      expectArity('broadcast_like', inputs, 2);
      expectFloat('broadcast_like', inputs[0]!);
      const [x, like] = [inputs[0]!.shape, inputs[1]!.shape];
      if (!sameShape(broadcastShapes(x, like), like)) throw new ShapeError(`broadcast_like: ${shapeToString(x)} does not broadcast to ${shapeToString(like)}`);
      return [f32(like)];
    },
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : sumTo(b, ct, b.type(ins(n, 0)).shape), undefined],
  },
  {
    name: 'sum_all',
    arity: 1,
    doc: 'sum of every element, a scalar',
    infer(inputs) {
      expectArity('sum_all', inputs, 1);
      expectFloat('sum_all', inputs[0]!);
      return [f32([])];
    },
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('broadcast_like', [ct, ins(n, 0)])],
  },
  {
    name: 'linear',
    arity: 2,
    doc: 'x W^T: x [..., X], W [H, X] -> [..., H] (the `W @ x` of the language)',
    infer(inputs) {
      expectArity('linear', inputs, 2);
      expectFloats('linear', inputs);
      const [x, w] = [inputs[0]!.shape, inputs[1]!.shape];
      if (w.length !== 2 || x.length < 1 || x[x.length - 1] !== w[1]) {
        throw new ShapeError(`linear: ${shapeToString(w)} @ ${shapeToString(x)}`);
      }
      return [f32([...x.slice(0, -1), w[0]!])];
    },
    vjp: (b, n, [ct]) =>
      ct === undefined ? [undefined, undefined] : [b.op('mm', [ct, ins(n, 1)]), b.op('outer', [ct, ins(n, 0)])],
  },
  {
    name: 'mm',
    arity: 2,
    doc: 'x W: x [..., K], W [K, N] -> [..., N]',
    infer(inputs) {
      expectArity('mm', inputs, 2);
      expectFloats('mm', inputs);
      const [x, w] = [inputs[0]!.shape, inputs[1]!.shape];
      if (w.length !== 2 || x.length < 1 || x[x.length - 1] !== w[0]) {
        throw new ShapeError(`mm: ${shapeToString(x)} x ${shapeToString(w)}`);
      }
      return [f32([...x.slice(0, -1), w[1]!])];
    },
    vjp: (b, n, [ct]) =>
      ct === undefined ? [undefined, undefined] : [b.op('linear', [ct, ins(n, 1)]), b.op('outer', [ins(n, 0), ct])],
  },
  {
    name: 'outer',
    arity: 2,
    doc: 'a^T b summed over all leading axes: a [..., M], b [..., N] -> [M, N]',
    infer(inputs) {
      expectArity('outer', inputs, 2);
      expectFloats('outer', inputs);
      const [a, c] = [inputs[0]!.shape, inputs[1]!.shape];
      if (a.length !== c.length || !sameShape(a.slice(0, -1), c.slice(0, -1))) {
        throw new ShapeError(`outer: ${shapeToString(a)} with ${shapeToString(c)}`);
      }
      return [f32([a[a.length - 1]!, c[c.length - 1]!])];
    },
    vjp: (b, n, [ct]) =>
      ct === undefined ? [undefined, undefined] : [b.op('linear', [ins(n, 1), ct]), b.op('mm', [ins(n, 0), ct])],
  },
  {
    name: 'lead_last',
    arity: 1,
    doc: 'moves the last axis to the front: x [..., N] -> [N, ...] (a matrix: its transpose)',
    infer(inputs) {
      expectArity('lead_last', inputs, 1);
      expectFloat('lead_last', inputs[0]!);
      const s = inputs[0]!.shape;
      if (s.length < 2) throw new ShapeError(`lead_last needs rank >= 2, got ${shapeToString(s)}`);
      return [f32([s[s.length - 1]!, ...s.slice(0, -1)])];
    },
    // Rank r: moving the last axis to the front r times is the identity, so the inverse is r - 1 more moves.
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : leadLastTimes(b, ct, b.type(ins(n, 0)).shape.length - 1)],
  },
  {
    name: 'outer_lt',
    arity: 2,
    doc: 'outer(a, b) = a^T b with a given as lead_last(a): at [M, ...], b [..., N] -> [M, N] (a plain matMul)',
    infer(inputs) {
      expectArity('outer_lt', inputs, 2);
      expectFloats('outer_lt', inputs);
      const [at, c] = [inputs[0]!.shape, inputs[1]!.shape];
      if (at.length !== c.length || !sameShape(at.slice(1), c.slice(0, -1))) {
        throw new ShapeError(`outer_lt: ${shapeToString(at)} with ${shapeToString(c)}`);
      }
      return [f32([at[0]!, c[c.length - 1]!])];
    },
    vjp: (b, n, [ct]) => {
      if (ct === undefined) return [undefined, undefined];
      const at = ins(n, 0);
      const a = leadLastTimes(b, at, b.type(at).shape.length - 1);
      return [b.op('lead_last', [b.op('linear', [ins(n, 1), ct])]), b.op('mm', [a, ct])];
    },
  },
  {
    name: 'transpose',
    arity: 1,
    doc: 'the transpose of a matrix [M, N] -> [N, M]',
    infer(inputs) {
      expectArity('transpose', inputs, 1);
      expectFloat('transpose', inputs[0]!);
      const s = inputs[0]!.shape;
      if (s.length !== 2) throw new ShapeError(`transpose needs a matrix, got ${shapeToString(s)}`);
      return [f32([s[1]!, s[0]!])];
    },
    vjp: (b, _n, [ct]) => [ct === undefined ? undefined : b.op('transpose', [ct])],
  },
  {
    name: 'concat',
    arity: 'variadic',
    doc: 'concatenation along the last axis',
    infer(inputs) {
      if (inputs.length < 1) throw new ShapeError('concat needs at least one input');
      const lead = inputs[0]!.shape.slice(0, -1);
      let last: Dim = 0;
      for (const t of inputs) {
        expectFloat('concat', t);
        const s = t.shape;
        if (s.length !== lead.length + 1 || !sameShape(s.slice(0, -1), lead)) {
          throw new ShapeError(`concat: ${inputs.map((i) => shapeToString(i.shape)).join(', ')}`);
        }
        last = addDims(last, s[s.length - 1]!);
      }
      return [f32([...lead, last])];
    },
    vjp: (b, n, [ct]) => {
      if (ct === undefined) return n.inputs.map(() => undefined);
      let offset = 0;
      return n.inputs.map((v) => {
        const size = b.type(v).shape.at(-1)!;
        if (typeof size !== 'number') throw new InternalError('concat gradient needs numeric sizes');
        const piece = b.op('slice_last', [ct], { begin: offset, size });
        offset += size;
        return piece;
      });
    },
  },
  {
    name: 'slice_last',
    arity: 1,
    doc: 'x[..., begin:begin+size]',
    infer(inputs, attrs) {
      expectArity('slice_last', inputs, 1);
      expectFloat('slice_last', inputs[0]!);
      const s = inputs[0]!.shape;
      const begin = numberAttr('slice_last', attrs, 'begin', { int: true, min: 0 });
      const size = numberAttr('slice_last', attrs, 'size', { int: true, min: 1 });
      const last = s.at(-1);
      if (last === undefined) throw new ShapeError('slice_last needs rank >= 1');
      if (typeof last === 'number' && begin + size > last) throw new ShapeError(`slice_last [${begin}, ${begin + size}) is outside ${shapeToString(s)}`);
      return [f32([...s.slice(0, -1), size])];
    },
    vjp: (b, n, [ct]) => {
      if (ct === undefined) return [undefined];
      const total = b.type(ins(n, 0)).shape.at(-1)!;
      if (typeof total !== 'number') throw new InternalError('slice gradient needs a numeric size');
      const begin = n.attrs['begin'] as number;
      const size = n.attrs['size'] as number;
      return [b.op('pad_last', [ct], { before: begin, after: total - begin - size })];
    },
  },
  {
    name: 'pad_last',
    arity: 1,
    doc: 'zero padding of the last axis',
    infer(inputs, attrs) {
      expectArity('pad_last', inputs, 1);
      expectFloat('pad_last', inputs[0]!);
      const s = inputs[0]!.shape;
      if (s.length === 0) throw new ShapeError('pad_last needs rank >= 1');
      const before = numberAttr('pad_last', attrs, 'before', { int: true, min: 0 });
      const after = numberAttr('pad_last', attrs, 'after', { int: true, min: 0 });
      const d = addDims(addDims(before, s.at(-1)!), after);
      return [f32([...s.slice(0, -1), d])];
    },
    vjp: (b, n, [ct]) => {
      if (ct === undefined) return [undefined];
      const size = b.type(ins(n, 0)).shape.at(-1)!;
      if (typeof size !== 'number') throw new InternalError('pad gradient needs a numeric size');
      return [b.op('slice_last', [ct], { begin: n.attrs['before'] as number, size })];
    },
  },
  {
    name: 'expand_last',
    arity: 1,
    doc: 'adds a trailing axis of size 1',
    infer(inputs) {
      expectArity('expand_last', inputs, 1);
      return [{ shape: [...inputs[0]!.shape, 1], dtype: inputs[0]!.dtype }];
    },
    vjp: (b, _n, [ct]) => [ct === undefined ? undefined : b.op('squeeze_last', [ct])],
  },
  {
    name: 'squeeze_last',
    arity: 1,
    doc: 'removes a trailing axis of size 1',
    infer(inputs) {
      expectArity('squeeze_last', inputs, 1);
      const s = inputs[0]!.shape;
      if (s.at(-1) !== 1) throw new ShapeError(`squeeze_last of ${shapeToString(s)}`);
      return [{ shape: s.slice(0, -1), dtype: inputs[0]!.dtype }];
    },
    vjp: (b, _n, [ct]) => [ct === undefined ? undefined : b.op('expand_last', [ct])],
  },
  {
    name: 'insert_axis',
    arity: 1,
    doc: 'adds an axis of size 1 before axis `axis` ([B, D] -> [B, 1, D] with axis 1)',
    infer(inputs, attrs) {
      expectArity('insert_axis', inputs, 1);
      const s = inputs[0]!.shape;
      const axis = numberAttr('insert_axis', attrs, 'axis', { int: true, min: 0 });
      if (axis > s.length) throw new ShapeError(`insert_axis ${axis} of ${shapeToString(s)}`);
      return [{ shape: [...s.slice(0, axis), 1, ...s.slice(axis)], dtype: inputs[0]!.dtype }];
    },
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('drop_axis', [ct], { axis: n.attrs['axis'] as number })],
  },
  {
    name: 'drop_axis',
    arity: 1,
    doc: 'removes the axis `axis` of size 1 ([B, 1, D] -> [B, D] with axis 1)',
    infer(inputs, attrs) {
      expectArity('drop_axis', inputs, 1);
      const s = inputs[0]!.shape;
      const axis = numberAttr('drop_axis', attrs, 'axis', { int: true, min: 0 });
      if (axis >= s.length || s[axis] !== 1) throw new ShapeError(`drop_axis ${axis} of ${shapeToString(s)} (needs an axis of size 1)`);
      return [{ shape: [...s.slice(0, axis), ...s.slice(axis + 1)], dtype: inputs[0]!.dtype }];
    },
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('insert_axis', [ct], { axis: n.attrs['axis'] as number })],
  },
  {
    name: 'swap_lead',
    arity: 1,
    doc: 'swaps the first two axes: time-major [T, B, ...] <-> batch-major [B, T, ...]',
    infer(inputs) {
      expectArity('swap_lead', inputs, 1);
      const s = inputs[0]!.shape;
      if (s.length < 2) throw new ShapeError(`swap_lead needs rank >= 2, got ${shapeToString(s)}`);
      return [{ shape: [s[1]!, s[0]!, ...s.slice(2)], dtype: inputs[0]!.dtype }];
    },
    vjp: (b, _n, [ct]) => [ct === undefined ? undefined : b.op('swap_lead', [ct])],
  },
  // ---- images [..., H, W, C] (docs/language.md section 10: conv2d, max_pool, avg_pool, flatten)
  {
    name: 'patches',
    arity: 1,
    doc: 'the size x size neighbourhood of every pixel, zero-padded, side by side: [..., H, W, C] -> [..., H, W, size*size*C], channel (di*size + dj)*C + c (a convolution is patches then linear)',
    infer(inputs, attrs) {
      expectArity('patches', inputs, 1);
      expectFloat('patches', inputs[0]!);
      const s = imageShape('patches', inputs[0]!.shape);
      const k = oddSize('patches', attrs);
      return [f32([...s.slice(0, -1), mulDims(k * k, s.at(-1)!)])];
    },
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('unpatches', [ct], { size: n.attrs['size'] as number })],
  },
  {
    name: 'unpatches',
    arity: 1,
    doc: 'the transpose of patches: sums each neighbourhood value back onto its pixel: [..., H, W, size*size*C] -> [..., H, W, C]',
    infer(inputs, attrs) {
      expectArity('unpatches', inputs, 1);
      expectFloat('unpatches', inputs[0]!);
      const s = imageShape('unpatches', inputs[0]!.shape);
      const k = oddSize('unpatches', attrs);
      const width = s.at(-1)!;
      if (typeof width === 'number' && width % (k * k) !== 0) throw new ShapeError(`unpatches: ${width} channels is not a multiple of ${k * k}`);
      return [f32([...s.slice(0, -1), typeof width === 'number' ? width / (k * k) : divDim(width, k * k)])];
    },
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('patches', [ct], { size: n.attrs['size'] as number })],
  },
  {
    name: 'max_pool',
    arity: 1,
    doc: 'the largest value of each size x size block (rows and columns past the last whole block are dropped): [..., H, W, C] -> [..., H/size, W/size, C]',
    infer(inputs, attrs) {
      expectArity('max_pool', inputs, 1);
      expectFloat('max_pool', inputs[0]!);
      return [f32(pooledShape('max_pool', inputs[0]!.shape, attrs))];
    },
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('max_pool_grad', [ins(n, 0), ct], { size: n.attrs['size'] as number })],
  },
  {
    name: 'max_pool_grad',
    arity: 2,
    doc: 'the derivative of max_pool: x [..., H, W, C] and ct [..., H/size, W/size, C] -> ct at the first largest value of each block (row-major), 0 elsewhere',
    infer(inputs, attrs) {
      expectArity('max_pool_grad', inputs, 2);
      expectFloats('max_pool_grad', inputs);
      const [x, ct] = inputs as [ValueType, ValueType];
      const pooled = pooledShape('max_pool_grad', x.shape, attrs);
      if (!sameShape(pooled, ct.shape)) throw new ShapeError(`max_pool_grad: ct ${shapeToString(ct.shape)} for x ${shapeToString(x.shape)} pooled to ${shapeToString(pooled)}`);
      return [f32(x.shape)];
    },
    vjp: 'none',
    firstOrderOnly: true,
  },
  {
    name: 'avg_pool',
    arity: 1,
    doc: 'the mean of each size x size block (rows and columns past the last whole block are dropped): [..., H, W, C] -> [..., H/size, W/size, C]',
    infer(inputs, attrs) {
      expectArity('avg_pool', inputs, 1);
      expectFloat('avg_pool', inputs[0]!);
      return [f32(pooledShape('avg_pool', inputs[0]!.shape, attrs))];
    },
    vjp: (b, n, [ct]) => {
      if (ct === undefined) return [undefined];
      const s = b.type(ins(n, 0)).shape;
      return [b.op('unpool_avg', [ct], { size: n.attrs['size'] as number, height: s.at(-3)!, width: s.at(-2)! })];
    },
  },
  {
    name: 'unpool_avg',
    arity: 1,
    doc: 'the transpose of avg_pool: each value divided by size^2 over its block of a height x width image, 0 past the last whole block: [..., H/size, W/size, C] -> [..., height, width, C]',
    infer(inputs, attrs) {
      expectArity('unpool_avg', inputs, 1);
      expectFloat('unpool_avg', inputs[0]!);
      const s = imageShape('unpool_avg', inputs[0]!.shape);
      const k = numberAttr('unpool_avg', attrs, 'size', { int: true, min: 1 });
      const [h, w] = [numberAttr('unpool_avg', attrs, 'height', { int: true, min: 1 }), numberAttr('unpool_avg', attrs, 'width', { int: true, min: 1 })];
      if (s.at(-3) !== Math.floor(h / k) || s.at(-2) !== Math.floor(w / k)) {
        throw new ShapeError(`unpool_avg: ${shapeToString(s)} is not a ${h} x ${w} image pooled by ${k}`);
      }
      return [f32([...s.slice(0, -3), h, w, s.at(-1)!])];
    },
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('avg_pool', [ct], { size: n.attrs['size'] as number })],
  },
  {
    name: 'merge_axes',
    arity: 1,
    doc: 'joins axis `axis` and the next into one, row-major ([B, H, W, C] -> [B, H*W, C] with axis 1: an image as locations)',
    infer(inputs, attrs) {
      expectArity('merge_axes', inputs, 1);
      const s = inputs[0]!.shape;
      const axis = numberAttr('merge_axes', attrs, 'axis', { int: true, min: 0 });
      if (axis + 1 >= s.length) throw new ShapeError(`merge_axes ${axis} of ${shapeToString(s)}`);
      return [{ shape: [...s.slice(0, axis), mulDims(s[axis]!, s[axis + 1]!), ...s.slice(axis + 2)], dtype: inputs[0]!.dtype }];
    },
    vjp: (b, n, [ct]) => {
      if (ct === undefined) return [undefined];
      const axis = n.attrs['axis'] as number;
      return [b.op('split_axis', [ct], { axis, size: b.type(ins(n, 0)).shape[axis]! })];
    },
  },
  {
    name: 'split_axis',
    arity: 1,
    doc: 'splits axis `axis` into [size, rest], row-major (the inverse of merge_axes)',
    infer(inputs, attrs) {
      expectArity('split_axis', inputs, 1);
      const s = inputs[0]!.shape;
      const axis = numberAttr('split_axis', attrs, 'axis', { int: true, min: 0 });
      const size = dimAttr('split_axis', attrs, 'size');
      if (axis >= s.length) throw new ShapeError(`split_axis ${axis} of ${shapeToString(s)}`);
      const d = s[axis]!;
      let rest: Dim;
      if (typeof d === 'number' && typeof size === 'number') {
        if (d % size !== 0) throw new ShapeError(`split_axis: ${d} is not a multiple of ${size}`);
        rest = d / size;
      } else {
        const prefix = `${dimToString(size)}*`;
        if (typeof d !== 'string' || !d.startsWith(prefix)) throw new ShapeError(`split_axis: cannot split ${dimToString(d)} by ${dimToString(size)}`);
        rest = d.slice(prefix.length);
      }
      return [{ shape: [...s.slice(0, axis), size, rest, ...s.slice(axis + 1)], dtype: inputs[0]!.dtype }];
    },
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('merge_axes', [ct], { axis: n.attrs['axis'] as number })],
  },
  {
    name: 'gather',
    arity: 2,
    doc: 'rows of a table: table [V, E], ids int [...] -> [..., E] (embedding lookup)',
    infer(inputs) {
      expectArity('gather', inputs, 2);
      const [table, ids] = inputs as [ValueType, ValueType];
      if (table.shape.length !== 2 || ids.dtype !== 'i32') throw new ShapeError('gather needs a [V, E] table and integer ids');
      expectFloat('gather', table);
      return [f32([...ids.shape, table.shape[1]!])];
    },
    vjp: (b, n, [ct]) => {
      if (ct === undefined) return [undefined, undefined];
      const rows = b.type(ins(n, 0)).shape[0]!;
      return [b.op('scatter_add', [ins(n, 1), ct], { rows }), undefined];
    },
  },
  {
    name: 'scatter_add',
    arity: 2,
    doc: 'sums rows of values into a [rows, E] table at ids (the transpose of gather)',
    infer(inputs, attrs) {
      expectArity('scatter_add', inputs, 2);
      const [ids, vals] = inputs as [ValueType, ValueType];
      expectInt('scatter_add', ids);
      expectFloat('scatter_add', vals);
      if (vals.shape.length !== ids.shape.length + 1 || !sameShape(vals.shape.slice(0, -1), ids.shape)) {
        throw new ShapeError(`scatter_add: values ${shapeToString(vals.shape)} for ids ${shapeToString(ids.shape)} (values must be ids' shape plus one axis)`);
      }
      return [f32([dimAttr('scatter_add', attrs, 'rows'), vals.shape.at(-1)!])];
    },
    vjp: (b, n, [ct]) => [undefined, ct === undefined ? undefined : b.op('gather', [ct, ins(n, 0)])],
  },
  {
    name: 'softmax',
    arity: 1,
    doc: 'softmax over the last axis: e^x / sum(e^x), stable (the maximum subtracted first)',
    infer(inputs) {
      expectArity('softmax', inputs, 1);
      expectFloat('softmax', inputs[0]!);
      if (inputs[0]!.shape.length < 1) throw new ShapeError('softmax needs rank >= 1 (it normalises the last axis)');
      return [f32(inputs[0]!.shape)];
    },
    // y = softmax(x): dx = y * (ct - sum(ct * y) over the last axis).
    vjp: (b, n, [ct]) => {
      if (ct === undefined) return [undefined];
      const y = outOf(n);
      const shape = b.type(y).shape;
      const dot = b.op('sum_to', [b.op('mul', [ct, y])], { shape: [...shape.slice(0, -1), 1] });
      return [b.op('mul', [y, b.op('sub', [ct, dot])])];
    },
  },
  {
    name: 'one_hot',
    arity: 1,
    doc: 'integer ids [...] -> [..., depth] of 0/1',
    infer(inputs, attrs) {
      expectArity('one_hot', inputs, 1);
      expectInt('one_hot', inputs[0]!);
      return [f32([...inputs[0]!.shape, dimAttr('one_hot', attrs, 'depth')])];
    },
    vjp: 'none',
  },
  {
    name: 'shift_time',
    arity: 1,
    doc: 'token ids one step later: out[0] = fill, out[t] = x[t-1] (x [T, ...] int; a decoder\'s previous tokens)',
    infer(inputs, attrs) {
      expectArity('shift_time', inputs, 1);
      expectInt('shift_time', inputs[0]!, 'tokens');
      if (inputs[0]!.shape.length < 1) throw new ShapeError('shift_time needs a time axis');
      numberAttr('shift_time', attrs, 'fill', { int: true, min: 0 });
      return [{ shape: inputs[0]!.shape, dtype: 'i32' }];
    },
    vjp: 'none',
  },
  {
    name: 'argmax',
    arity: 1,
    doc: 'the index of the largest entry of the last axis, the first on ties: [..., K] -> int [...] (greedy decoding)',
    infer(inputs) {
      expectArity('argmax', inputs, 1);
      expectFloat('argmax', inputs[0]!);
      if (inputs[0]!.shape.length < 1) throw new ShapeError('argmax needs rank >= 1');
      return [{ shape: inputs[0]!.shape.slice(0, -1), dtype: 'i32' }];
    },
    vjp: 'none',
  },
  {
    name: 'sample_ids',
    arity: 2,
    doc: 'a token drawn from softmax(logits) by inverse transform of a uniform u in [0, 1): logits [..., K], u [...] -> int [...]',
    infer(inputs) {
      expectArity('sample_ids', inputs, 2);
      expectFloats('sample_ids', inputs);
      const [l, u] = [inputs[0]!.shape, inputs[1]!.shape];
      if (l.length < 1 || !sameShape(l.slice(0, -1), u)) throw new ShapeError(`sample_ids: logits ${shapeToString(l)} with draws ${shapeToString(u)}`);
      return [{ shape: u, dtype: 'i32' }];
    },
    vjp: 'none',
  },
  {
    name: 'xent',
    arity: 2,
    doc: 'per-position cross-entropy of logits [..., K] against integer labels [...]',
    infer(inputs) {
      expectArity('xent', inputs, 2);
      const [logits, labels] = inputs as [ValueType, ValueType];
      expectFloat('xent', logits);
      if (labels.dtype !== 'i32' || logits.shape.length !== labels.shape.length + 1 || !sameShape(logits.shape.slice(0, -1), labels.shape)) {
        throw new ShapeError(`cross_entropy: logits ${shapeToString(logits.shape)} against labels ${shapeToString(labels.shape)}`);
      }
      return [f32(labels.shape)];
    },
    vjp: (b, n, [ct]) =>
      ct === undefined ? [undefined, undefined] : [b.op('xent_grad', [ins(n, 0), ins(n, 1), ct]), undefined],
  },
  {
    name: 'xent_grad',
    arity: 3,
    doc: '(softmax(logits) - one_hot(labels)) * ct: the derivative of xent',
    infer(inputs) {
      expectArity('xent_grad', inputs, 3);
      const [logits, labels, ct] = inputs as [ValueType, ValueType, ValueType];
      expectFloat('xent_grad', logits);
      expectInt('xent_grad', labels, 'labels');
      expectFloat('xent_grad', ct);
      if (logits.shape.length !== labels.shape.length + 1 || !sameShape(logits.shape.slice(0, -1), labels.shape) || !sameShape(ct.shape, labels.shape)) {
        throw new ShapeError(`xent_grad: logits ${shapeToString(logits.shape)}, labels ${shapeToString(labels.shape)}, ct ${shapeToString(ct.shape)}`);
      }
      return [f32(logits.shape)];
    },
    vjp: 'none',
    firstOrderOnly: true,
  },
  {
    name: 'time_index',
    arity: 1,
    doc: 'x[index] along the leading (time) axis: [T, ...] -> [...] (unrolled loops)',
    infer(inputs, attrs) {
      expectArity('time_index', inputs, 1);
      const s = inputs[0]!.shape;
      if (s.length < 1) throw new ShapeError('time_index needs a leading axis');
      const i = numberAttr('time_index', attrs, 'index', { int: true, min: 0 });
      if (typeof s[0] === 'number' && (i < 0 || i >= s[0])) throw new ShapeError(`time_index ${i} outside [0, ${s[0]})`);
      return [{ shape: s.slice(1), dtype: inputs[0]!.dtype }];
    },
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('time_place', [ct, ins(n, 0)], { index: n.attrs['index'] as number })],
  },
  {
    name: 'time_place',
    arity: 2,
    doc: 'zeros shaped like `like` [T, ...] with x [...] at the given time index (the transpose of time_index)',
    infer(inputs, _attrs) {
      expectArity('time_place', inputs, 2);
      expectFloats('time_place', inputs);
      const i = numberAttr('time_place', _attrs, 'index', { int: true, min: 0 });
      const t = inputs[1]!.shape[0];
      if (typeof t === 'number' && i >= t) throw new ShapeError(`time_place ${i} outside [0, ${t})`);
      if (!sameShape(inputs[1]!.shape.slice(1), inputs[0]!.shape)) {
        throw new ShapeError(`time_place: ${shapeToString(inputs[0]!.shape)} into ${shapeToString(inputs[1]!.shape)}`);
      }
      return [f32(inputs[1]!.shape)];
    },
    vjp: (b, n, [ct]) => [ct === undefined ? undefined : b.op('time_index', [ct], { index: n.attrs['index'] as number }), undefined],
  },
  {
    name: 'time_stack',
    arity: 'variadic',
    doc: 'stacks equal-shaped values along a new leading (time) axis',
    infer(inputs) {
      if (inputs.length < 1) throw new ShapeError('time_stack needs at least one input');
      for (const t of inputs) {
        if (!sameShape(t.shape, inputs[0]!.shape) || t.dtype !== inputs[0]!.dtype) throw new ShapeError('time_stack needs equal shapes');
      }
      return [{ shape: [inputs.length, ...inputs[0]!.shape], dtype: inputs[0]!.dtype }];
    },
    vjp: (b, n, [ct]) => (ct === undefined ? n.inputs.map(() => undefined) : n.inputs.map((_, i) => b.op('time_index', [ct], { index: i }))),
  },
  {
    name: 'scan',
    arity: 'variadic',
    doc: 'a loop over time: carries, per-step slices xs [T, ...], constants; body gives new carries and ys',
    infer(inputs, attrs, body) {
      if (!body) throw new ShapeError('scan needs a body');
      const nCarry = numberAttr('scan', attrs, 'nCarry', { int: true, min: 0 });
      const nXs = numberAttr('scan', attrs, 'nXs', { int: true, min: 0 });
      if (typeof attrs['reverse'] !== 'boolean') throw new ShapeError('scan needs a boolean attribute reverse');
      if (nCarry + nXs > inputs.length) throw new ShapeError(`scan: ${nCarry} carries and ${nXs} xs, but ${inputs.length} inputs`);
      if (body.inputs.length !== inputs.length) throw new ShapeError(`scan: the body takes ${body.inputs.length} inputs, the scan gives ${inputs.length}`);
      if (body.outputs.length < nCarry) throw new ShapeError(`scan: the body returns ${body.outputs.length} values for ${nCarry} carries`);
      const bodyIn = (k: number): ValueType => body.values[body.inputs[k]!.value]!.type;
      const bodyOut = (k: number): ValueType => body.values[body.outputs[k]!.value]!.type;
      const same = (a: ValueType, b: ValueType): boolean => a.dtype === b.dtype && sameShape(a.shape, b.shape);
      const show = (t: ValueType): string => `${t.dtype} ${shapeToString(t.shape)}`;
      for (let k = 0; k < nCarry; k++) {
        if (!same(inputs[k]!, bodyIn(k)) || !same(bodyIn(k), bodyOut(k))) {
          throw new ShapeError(`scan: carry ${k} enters as ${show(inputs[k]!)}, the body takes ${show(bodyIn(k))} and returns ${show(bodyOut(k))}`);
        }
      }
      const time: Dim = nXs > 0 ? (inputs[nCarry]!.shape[0] ?? 'T') : 'T';
      for (let j = 0; j < nXs; j++) {
        const x = inputs[nCarry + j]!;
        if (x.shape.length < 1 || x.shape[0] !== time) throw new ShapeError(`scan: xs ${j} is ${show(x)}, every xs must lead with the time axis ${String(time)}`);
        if (!same({ shape: x.shape.slice(1), dtype: x.dtype }, bodyIn(nCarry + j))) throw new ShapeError(`scan: the body reads a step of xs ${j} (${show(x)}) as ${show(bodyIn(nCarry + j))}`);
      }
      for (let k = nCarry + nXs; k < inputs.length; k++) {
        if (!same(inputs[k]!, bodyIn(k))) throw new ShapeError(`scan: constant ${k - nCarry - nXs} is ${show(inputs[k]!)}, the body takes ${show(bodyIn(k))}`);
      }
      const outs: ValueType[] = [];
      body.outputs.forEach((o, i) => {
        const t = body.values[o.value]!.type;
        outs.push(i < nCarry ? t : { shape: [time, ...t.shape], dtype: t.dtype });
      });
      return outs;
    },
    vjp: 'structural',
  },
  {
    name: 'fused',
    arity: 'variadic',
    doc: 'a group of elementwise ops run as one (passes/fuse-elementwise.ts): body = { instrs, outputs } (types.ts FusedBody), optional windows = [begin, size] of the last axis read per input ([-1, -1]: all)',
    infer(inputs, attrs) {
      const body = attrs['body'];
      checkFusedBody(body, inputs.length);
      const windows = attrs['windows'];
      if (windows !== undefined && (!Array.isArray(windows) || windows.length !== 2 * inputs.length)) {
        throw new ShapeError(`fused: windows ${JSON.stringify(windows)} must be [begin, size] for each of ${inputs.length} inputs`);
      }
      let shape: Shape = [];
      inputs.forEach((t, k) => {
        expectFloat('fused', t);
        shape = broadcastShapes(shape, windowedShape(t.shape, attrs, k));
      });
      return body.outputs.map(() => f32(shape));
    },
    vjp: fusedVjp,
  },
];

/**
 * The derivative of a fused group: its ops are emitted again one by one
 * (the group's outputs reused, the rest recomputed) and their own rules run
 * backwards over the body. Fusion runs after differentiation, so this is
 * for graphs differentiated once more (tests, higher derivatives).
 */
function fusedVjp(b: GraphBuilder, node: Node, cts: readonly (ValueId | undefined)[]): (ValueId | undefined)[] {
  const { instrs, outputs } = fusedBody(node);
  const steps: Node[] = [];
  // What the body reads of each input: the input, or the slice of its last axis that its window names.
  const windowOf = (k: number): { begin: number; size: number } | undefined => {
    const w = node.attrs['windows'] as readonly number[] | undefined;
    return w !== undefined && w[2 * k]! >= 0 ? { begin: w[2 * k]!, size: w[2 * k + 1]! } : undefined;
  };
  const read = node.inputs.map((v, k) => {
    const w = windowOf(k);
    return w === undefined ? v : b.op('slice_last', [v], w);
  });
  const inputIndex = new Map(read.map((v, k) => [v, k] as const));
  const valueOf = (a: FusedArg): ValueId => ('in' in a ? read[a.in]! : 'tmp' in a ? steps[a.tmp]!.outputs[0]! : b.constant(a.num));
  instrs.forEach(({ op, args, attr }, k) => {
    const name = elementwiseOp(op)?.attr?.name;
    const attrs: Attrs = name !== undefined ? { [name]: attr! } : {};
    const inputs = args.map(valueOf);
    const j = outputs.indexOf(k);
    const out = j >= 0 ? node.outputs[j]! : b.op(op, inputs, attrs);
    steps.push({ op, inputs, outputs: [out], attrs });
  });
  const stepCt = new Map<number, ValueId>();
  const inputCt = new Map<number, ValueId>();
  const add = (m: Map<number, ValueId>, key: number, c: ValueId): void => {
    const prev = m.get(key);
    m.set(key, prev === undefined ? c : b.op('add', [prev, c]));
  };
  outputs.forEach((k, j) => {
    if (cts[j] !== undefined) add(stepCt, k, cts[j]!);
  });
  for (let k = steps.length - 1; k >= 0; k--) {
    const ct = stepCt.get(k);
    if (ct === undefined) continue;
    const step = steps[k]!;
    const rule = getOp(step.op).vjp;
    if (typeof rule !== 'function') continue; // step: zero almost everywhere
    rule(b, step, [ct]).forEach((c, a) => {
      if (c === undefined) return;
      const c2 = sumTo(b, c, b.type(step.inputs[a]!).shape);
      const producer = steps.findIndex((s) => s.outputs[0] === step.inputs[a]);
      if (producer >= 0) add(stepCt, producer, c2);
      else if (inputIndex.has(step.inputs[a]!)) add(inputCt, inputIndex.get(step.inputs[a]!)!, c2);
    });
  }
  return node.inputs.map((v, k) => {
    const ct = inputCt.get(k);
    const w = windowOf(k);
    if (ct === undefined || w === undefined) return ct;
    return (getOp('slice_last').vjp as VjpRule)(b, { op: 'slice_last', inputs: [v], outputs: [read[k]!], attrs: w }, [ct])[0];
  });
}

/** The shape a fused body reads of input k: its own, or with the last axis cut to the input's window. */
function windowedShape(shape: Shape, attrs: Attrs, k: number): Shape {
  const w = attrs['windows'] as readonly number[] | undefined;
  if (w === undefined || w[2 * k]! < 0) return shape;
  const [begin, size] = [w[2 * k]!, w[2 * k + 1]!];
  const last = shape.at(-1);
  if (typeof last !== 'number' || begin + size > last) throw new ShapeError(`fused: window [${begin}, ${begin + size}) of input ${k} is outside ${shapeToString(shape)}`);
  return [...shape.slice(0, -1), size];
}

const isIndex = (v: unknown, below: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < below;

/**
 * Checks a fused body against the node's input count: every instruction is an
 * element-wise op with its arguments (and its attribute, for an op that has
 * one), every argument an input, an earlier result or a finite number, and the
 * outputs name results of the body.
 */
function checkFusedBody(body: unknown, nInputs: number): asserts body is FusedBody {
  const b = body as Partial<FusedBody> | undefined;
  if (typeof b !== 'object' || b === null || !Array.isArray(b.instrs) || !Array.isArray(b.outputs)) {
    throw new ShapeError('fused needs a body attribute { instrs, outputs }');
  }
  if (b.instrs.length === 0) throw new ShapeError('fused: the body has no instructions');
  b.instrs.forEach((instr: FusedInstr, k) => {
    const e = typeof instr?.op === 'string' ? elementwiseOp(instr.op) : undefined;
    const at = `fused: instruction t${k} (${String(instr?.op)})`;
    if (e === undefined) throw new ShapeError(`${at} is not an element-wise op (compiler/ir/elementwise.ts)`);
    if (!Array.isArray(instr.args) || instr.args.length !== e.arity) throw new ShapeError(`${at} takes ${e.arity} arguments, not ${Array.isArray(instr.args) ? instr.args.length : 'none'}`);
    if (e.attr !== undefined ? typeof instr.attr !== 'number' || !Number.isFinite(instr.attr) : instr.attr !== undefined) {
      throw new ShapeError(e.attr !== undefined ? `${at} needs its attribute ${e.attr.name} as a number` : `${at} takes no attribute`);
    }
    if (instr.source !== undefined && typeof instr.source !== 'string') throw new ShapeError(`${at} has a source that is not text`);
    instr.args.forEach((a: FusedArg, j) => {
      const keys = typeof a === 'object' && a !== null ? Object.keys(a) : [];
      const ok =
        keys.length === 1 &&
        ('in' in a ? isIndex(a.in, nInputs) : 'tmp' in a ? isIndex(a.tmp, k) : 'num' in a ? typeof a.num === 'number' && Number.isFinite(a.num) : false);
      if (!ok) throw new ShapeError(`${at} argument ${j} reads ${JSON.stringify(a)}, which is not one of the ${nInputs} inputs, an earlier result or a finite number`);
    });
  });
  const count = b.instrs.length;
  if (b.outputs.length === 0 || b.outputs.some((k) => !isIndex(k, count))) {
    throw new ShapeError(`fused: outputs ${JSON.stringify(b.outputs)} must name results of the body's ${count} instructions`);
  }
}

const registry = new Map<string, OpDef>(defs.map((d) => [d.name, d]));

/** The registry's entry of an op, or undefined for a name it does not hold. */
export function findOp(name: string): OpDef | undefined {
  return registry.get(name);
}

export function getOp(name: string): OpDef {
  const d = registry.get(name);
  if (!d) throw new InternalError(`unknown op ${name}`);
  return d;
}

/** Every op, in registry order (tests iterate this). */
export function allOps(): readonly OpDef[] {
  return defs;
}

/** The ops that are not element-wise: each backend and the code generator implement these one by one. */
export const OWN_KERNEL_OPS = [
  'constant', 'zeros_like', 'stop_gradient', 'grad_gate', 'sum_to', 'broadcast_like',
  'sum_all', 'linear', 'mm', 'outer', 'lead_last', 'outer_lt', 'transpose', 'concat', 'slice_last', 'pad_last', 'expand_last',
  'squeeze_last', 'insert_axis', 'drop_axis', 'swap_lead', 'patches', 'unpatches', 'max_pool', 'max_pool_grad', 'avg_pool', 'unpool_avg', 'merge_axes', 'split_axis', 'gather', 'scatter_add', 'softmax', 'one_hot', 'shift_time', 'argmax', 'sample_ids', 'xent', 'xent_grad', 'time_index', 'time_place',
  'time_stack', 'scan', 'fused',
] as const;
/** Every op: the element-wise entries (elementwise.ts), then the rest. */
export const OP_NAMES: readonly string[] = [...ELEMENTWISE_OPS.map((e) => e.name), ...OWN_KERNEL_OPS];
/** The names every backend must implement; runtime kernel tables are typed against this. */
export type OpName = (typeof OWN_KERNEL_OPS)[number];
/** Ops that kernel tables do not hold: the runtimes and the code generator handle them themselves. */
export type StructuralOp = 'scan' | 'fused';
/** The ops every kernel table implements by hand (element-wise kernels come from their entries). */
export type KernelOp = Exclude<OpName, StructuralOp>;
