// Every name written in a program, with where it stands and what it names at
// the syntax level: for tools that ask "what is at this position" (hover,
// go-to-definition and completion in `rnnc lsp`, src/lsp/).
//
// Resolution stays syntactic: a call's callee is a `call` whether it names a
// cell or a built-in function (the caller knows the cells of an analysis);
// a plain name inside a cell or a model is a `value` of that scope. Pure: the
// AST in, a list out, in source order.
import type { Binding, CellDecl, DimExpr, Expr, ModelDecl, Program, Shape, TrainDecl, TypedName, ValueType } from './ast.js';
import type { Span } from '../diagnostics/span.js';

export type OccurrenceKind =
  /** A cell's name where it is declared. */
  | 'cell'
  /** A model's name where it is declared, or after `train`. */
  | 'model'
  /** The callee of a call: a cell, a built-in function, a data source, an optimizer, an initialiser. */
  | 'call'
  /** A dimension name in a shape, a `dim` declaration or a `with` binding. */
  | 'dim'
  /** A value: an input, target, parameter, option or equation target of a cell or a model, or a read of one. */
  | 'value'
  /** The keyword of a train setting (`data`, `optimizer`, `batch`). */
  | 'setting';

/** Where a name stands: at top level, in a cell, in a model or in a train block. */
export interface Scope {
  readonly kind: 'top' | 'cell' | 'model' | 'train';
  readonly name: string;
}

export interface Occurrence {
  readonly name: string;
  readonly kind: OccurrenceKind;
  readonly span: Span;
  readonly scope: Scope;
  /** A declaration of the name (rather than a use). */
  readonly declares: boolean;
  /** For a `call`: the train setting it is the value of (`data`, `optimizer`, `schedule`), if any. */
  readonly setting?: string;
  /** For a `call`: it names a parameter's initialiser (`= glorot`, `= normal(0, 0.01)`). */
  readonly initialiser?: true;
  /** For a `dim` in a `with` binding: the cell applied (the dimension is that cell's). */
  readonly boundIn?: string;
}

export function occurrences(program: Program): Occurrence[] {
  const out: Occurrence[] = [];
  const top: Scope = { kind: 'top', name: '' };
  for (const item of program.items) {
    switch (item.kind) {
      case 'DimDecl':
        for (const d of item.dims) {
          out.push({ name: d.name.name, kind: 'dim', span: d.name.span, scope: top, declares: true });
          if (d.value) dimExpr(d.value, top, out);
        }
        break;
      case 'CellDecl':
        cell(item, out);
        break;
      case 'ModelDecl':
        model(item, out);
        break;
      case 'TrainDecl':
        train(item, out);
        break;
    }
  }
  return out.sort((a, b) => a.span.start - b.span.start);
}

/** The name at `offset` (0-based, into the program's text): the innermost occurrence whose span holds it or ends at it. */
export function occurrenceAt(list: readonly Occurrence[], offset: number): Occurrence | undefined {
  let best: Occurrence | undefined;
  for (const o of list) {
    if (o.span.start <= offset && offset <= o.span.end && (!best || o.span.end - o.span.start <= best.span.end - best.span.start)) best = o;
  }
  return best;
}

function cell(c: CellDecl, out: Occurrence[]): void {
  const scope: Scope = { kind: 'cell', name: c.name.name };
  out.push({ name: c.name.name, kind: 'cell', span: c.name.span, scope: { kind: 'top', name: '' }, declares: true });
  const typed = (t: TypedName): void => {
    out.push({ name: t.name.name, kind: 'value', span: t.name.span, scope, declares: true });
    shape(t.shape, scope, out);
  };
  c.inputs.forEach(typed);
  c.outputs.forEach(typed);
  for (const item of c.body) {
    switch (item.kind) {
      case 'ParamDecl':
        for (const n of item.names) out.push({ name: n.name, kind: 'value', span: n.span, scope, declares: true });
        shape(item.shape, scope, out);
        if (item.init) {
          out.push({ name: item.init.callee.name, kind: 'call', span: item.init.callee.span, scope, declares: false, initialiser: true });
          for (const a of item.init.args) expr(a.value, scope, out);
        }
        break;
      case 'OptionDecl':
        out.push({ name: item.name.name, kind: 'value', span: item.name.span, scope, declares: true });
        // `option act = tanh`: the value names a function.
        if (item.value.kind === 'NameRef') out.push({ name: item.value.name.name, kind: 'call', span: item.value.name.span, scope, declares: false });
        else expr(item.value, scope, out);
        break;
      case 'Equation':
        out.push({ name: item.target.name, kind: 'value', span: item.target.span, scope, declares: true });
        expr(item.value, scope, out);
        bindings(item.bindings, undefined, scope, out);
        break;
      case 'DimDecl':
        for (const d of item.dims) {
          out.push({ name: d.name.name, kind: 'dim', span: d.name.span, scope, declares: true });
          if (d.value) dimExpr(d.value, scope, out);
        }
        break;
    }
  }
}

function model(m: ModelDecl, out: Occurrence[]): void {
  const scope: Scope = { kind: 'model', name: m.name.name };
  out.push({ name: m.name.name, kind: 'model', span: m.name.span, scope: { kind: 'top', name: '' }, declares: true });
  for (const item of m.items) {
    switch (item.kind) {
      case 'DimDecl':
        for (const d of item.dims) {
          out.push({ name: d.name.name, kind: 'dim', span: d.name.span, scope, declares: true });
          if (d.value) dimExpr(d.value, scope, out);
        }
        break;
      case 'IoDecl':
        out.push({ name: item.name.name, kind: 'value', span: item.name.span, scope, declares: true });
        valueType(item.type, scope, out);
        break;
      case 'Equation': {
        out.push({ name: item.target.name, kind: 'value', span: item.target.span, scope, declares: true });
        expr(item.value, scope, out);
        const applied = appliedCell(item.value);
        bindings(item.bindings, applied, scope, out);
        break;
      }
    }
  }
}

function train(t: TrainDecl, out: Occurrence[]): void {
  const scope: Scope = { kind: 'train', name: t.model.name };
  out.push({ name: t.model.name, kind: 'model', span: t.model.span, scope, declares: false });
  for (const s of t.settings) {
    out.push({ name: s.key.name, kind: 'setting', span: s.key.span, scope, declares: false });
    const v = s.value;
    if (v.kind === 'Call') {
      out.push({ name: v.callee.name, kind: 'call', span: v.callee.span, scope, declares: false, setting: s.key.name });
      for (const a of v.args) expr(a.value, scope, out);
    } else if (v.kind === 'NameRef') {
      // `bptt full`, `feed teacher`, `data brown_chars` without arguments.
      out.push({ name: v.name.name, kind: 'call', span: v.name.span, scope, declares: false, setting: s.key.name });
    }
  }
}

/** The cell a statement applies at its top (`lstm(e)`, `bidir lstm(e)`), whose dimensions `with` binds. */
function appliedCell(e: Expr): string | undefined {
  if (e.kind === 'Call') return e.callee.name;
  if (e.kind === 'Unary' && e.op === 'bidir') return appliedCell(e.operand);
  return undefined;
}

function bindings(list: readonly Binding[], cellName: string | undefined, scope: Scope, out: Occurrence[]): void {
  for (const b of list) {
    out.push({ name: b.name.name, kind: 'dim', span: b.name.span, scope, declares: false, ...(cellName !== undefined ? { boundIn: cellName } : {}) });
    if (b.value) expr(b.value, scope, out);
  }
}

function expr(e: Expr, scope: Scope, out: Occurrence[]): void {
  switch (e.kind) {
    case 'NumberLit':
    case 'StringLit':
      return;
    case 'NameRef':
      out.push({ name: e.name.name, kind: 'value', span: e.name.span, scope, declares: false });
      return;
    case 'Call':
      out.push({ name: e.callee.name, kind: 'call', span: e.callee.span, scope, declares: false });
      for (const a of e.args) expr(a.value, scope, out);
      return;
    case 'Binary':
      expr(e.left, scope, out);
      expr(e.right, scope, out);
      return;
    case 'Unary':
      expr(e.operand, scope, out);
      return;
  }
}

function valueType(t: ValueType, scope: Scope, out: Occurrence[]): void {
  if (t.elem.kind === 'TokenType') dimExpr(t.elem.vocab, scope, out);
  else shape(t.elem.shape, scope, out);
}

function shape(s: Shape, scope: Scope, out: Occurrence[]): void {
  for (const d of s.dims) dimExpr(d, scope, out);
}

function dimExpr(d: DimExpr, scope: Scope, out: Occurrence[]): void {
  if (d.kind === 'DimName') out.push({ name: d.name, kind: 'dim', span: d.span, scope, declares: false });
  else if (d.kind === 'DimBin') {
    dimExpr(d.left, scope, out);
    dimExpr(d.right, scope, out);
  }
}
