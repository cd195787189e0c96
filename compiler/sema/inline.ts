// Cells calling cells: an equation of a cell whose right-hand side applies
// another cell (`s[t] = lstm(x[t]) with H = M`) runs that cell's step inside
// this one. It is expanded here, on the AST, before the cell is analysed:
// the inner cell's parameters, equations and states become the outer
// cell's, renamed under the equation's name (`s.W_i`, `s.c`), its first
// output becomes the equation's own variable (`s`, so `s[t-1]` reads it),
// its inputs are replaced by the arguments, its options by their bindings
// or defaults, and its dimensions by their bindings (docs/language.md
// section 4, "Cells calling cells"). Everything after sees one ordinary
// cell: the same lowering, derivatives and optimisations.
import type { Binding, CellDecl, CellItem, DimExpr, Equation, Expr, Ident, ParamDecl, Shape } from '../ast/ast.js';
import type { DiagnosticCollector } from '../diagnostics/collector.js';
import type { Span } from '../diagnostics/span.js';
import { ELEMENTWISE } from './values.js';
import { didYouMean } from './suggest.js';

/** What a cell's equation may call besides cells (sema/cell.ts reports the rest). */
const KNOWN_FUNCTIONS = new Set([...ELEMENTWISE.keys(), 'concat', 'softmax', 'layer_norm', 'attend', 'one_hot']);

/**
 * The cell with every equation that applies a cell expanded (the called
 * cells expanded first). Reports RNN2005 for a call it cannot expand (a
 * cell calling itself, a decoder inside a cell, a call inside an
 * expression) and RNN3002 for an input size it cannot tell; those
 * equations are dropped, so later checks do not report them again.
 */
export function expandCellCalls(decl: CellDecl, cells: ReadonlyMap<string, CellDecl>, diags: DiagnosticCollector, stack: readonly string[] = []): { decl: CellDecl; failed: boolean } {
  const calls = (e: Expr): boolean => e.kind === 'Call' && cells.has(e.callee.name);
  if (!decl.body.some((i) => i.kind === 'Equation' && (calls(i.value) || containsCall(i.value, calls) || i.bindings.length > 0))) return { decl, failed: false };
  const before = diags.list.length;
  const body: CellItem[] = [];
  const own = new Set([...decl.inputs.map((i) => i.name.name), ...decl.body.flatMap((i) => (i.kind === 'ParamDecl' ? i.names.map((n) => n.name) : i.kind === 'OptionDecl' ? [i.name.name] : []))]);
  for (const item of decl.body) {
    if (item.kind !== 'Equation') {
      body.push(item);
      continue;
    }
    if (!calls(item.value)) {
      if (item.bindings.length > 0 && item.value.kind === 'Call' && !KNOWN_FUNCTIONS.has(item.value.callee.name)) {
        const hint = didYouMean(item.value.callee.name, [...cells.keys(), ...KNOWN_FUNCTIONS]);
        diags.report('RNN2004', item.value.callee.span, `unknown cell \`${item.value.callee.name}\``, hint ? { hint } : { hint: `the cells: ${[...cells.keys()].join(', ')}` });
        continue;
      }
      if (item.bindings.length > 0) {
        diags.report('RNN2007', item.bindings[0]!.span, '`with` binds the dimensions and options of a cell, but this equation applies no cell', {
          hint: 'in a cell, `with` follows an equation that calls another cell: `s[t] = gru(x[t]) with H = M`',
        });
        continue;
      }
      const nested = findCall(item.value, calls);
      if (nested) {
        diags.report('RNN2005', nested.span, `cell \`${nested.callee.name}\` is applied inside an expression; a cell called by a cell is the whole right-hand side of its equation`, {
          hint: `write \`${item.target.name}_${nested.callee.name}[t] = ${nested.callee.name}(...)\` on a line of its own and use \`${item.target.name}_${nested.callee.name}[t]\``,
        });
        continue;
      }
      body.push(item);
      continue;
    }
    const call = item.value as Extract<Expr, { kind: 'Call' }>;
    const name = call.callee.name;
    if (own.has(item.target.name)) {
      diags.report('RNN2002', item.target.span, `\`${item.target.name}\` is already an input, parameter or option of this cell`, { hint: 'name the cell\'s output something else' });
      continue;
    }
    if (name === decl.name.name || stack.includes(name)) {
      diags.report('RNN2005', call.callee.span, `cell \`${name}\` would call itself (${[...stack, decl.name.name, name].join(' -> ')})`, { hint: 'a cell can call other cells, not itself' });
      continue;
    }
    const inner = expandCellCalls(cells.get(name)!, cells, diags, [...stack, decl.name.name]);
    if (inner.failed) continue;
    const expanded = inlineCall(decl, item, call, inner.decl, diags);
    if (expanded) body.push(...expanded);
  }
  return { decl: { ...decl, body }, failed: diags.list.length > before };
}

function containsCall(e: Expr, is: (e: Expr) => boolean): boolean {
  return findCall(e, is) !== undefined;
}

function findCall(e: Expr, is: (e: Expr) => boolean): Extract<Expr, { kind: 'Call' }> | undefined {
  if (e.kind === 'Call') {
    if (is(e)) return e;
    for (const a of e.args) {
      const f = findCall(a.value, is);
      if (f) return f;
    }
    return undefined;
  }
  if (e.kind === 'Binary') return findCall(e.left, is) ?? findCall(e.right, is);
  if (e.kind === 'Unary') return findCall(e.operand, is);
  return undefined;
}

/** The items that replace `target[t] = inner(args) with ...` in `outer`; undefined after an error. */
function inlineCall(outer: CellDecl, eq: Equation, call: Extract<Expr, { kind: 'Call' }>, inner: CellDecl, diags: DiagnosticCollector): CellItem[] | undefined {
  const target = eq.target.name;
  const innerName = inner.name.name;
  if (!eq.index || eq.index.step !== undefined || eq.index.offset !== 0) return [eq]; // analyzeCell reports the index
  if (inner.outputs.some((o) => o.token)) {
    diags.report('RNN2005', call.callee.span, `cell \`${innerName}\` is a decoder (its output is a token); a cell can call cells whose outputs are vectors`);
    return undefined;
  }
  if (call.args.length !== inner.inputs.length || call.args.some((a) => a.name !== undefined)) {
    diags.report('RNN2005', call.span, `cell \`${innerName}\` takes ${inner.inputs.length} input${inner.inputs.length === 1 ? '' : 's'} (${inner.inputs.map((i) => i.name.name).join(', ')}), given in order; sizes and options go after \`with\``);
    return undefined;
  }
  const prefix = `${target}.`;
  const first = inner.outputs[0]!.name.name;
  const options = new Map(inner.body.flatMap((i) => (i.kind === 'OptionDecl' ? [[i.name.name, i] as const] : [])));
  const localDims = new Set(inner.body.flatMap((i) => (i.kind === 'DimDecl' ? i.dims.map((d) => d.name.name) : [])));
  // Names the inner cell defines: renamed under the equation (its first output becomes the equation's variable).
  const defined = new Set<string>([
    ...inner.outputs.map((o) => o.name.name),
    ...inner.body.flatMap((i) => (i.kind === 'Equation' ? [i.target.name] : i.kind === 'ParamDecl' ? i.names.map((n) => n.name) : [])),
  ]);
  const rename = (n: string): string => (n === first ? target : `${prefix}${n}`);

  // `with`: the inner cell's dimensions (as sizes of this cell) and options.
  const dimBinding = new Map<string, DimExpr>();
  const optionBinding = new Map<string, Expr>();
  const innerDims = dimNames(inner);
  const given = new Set<string>();
  for (const b of eq.bindings) {
    const n = b.name.name;
    if (given.has(n)) {
      diags.report('RNN2007', b.name.span, `\`${n}\` is given twice`);
      return undefined;
    }
    given.add(n);
    if (!options.has(n) && !innerDims.has(n)) {
      diags.report('RNN2007', b.name.span, `cell \`${innerName}\` has no dimension or option \`${n}\``, {
        hint: didYouMean(n, [...innerDims, ...options.keys()]) ?? `its dimensions: ${[...innerDims].join(', ') || 'none'}${options.size > 0 ? `; its options: ${[...options.keys()].join(', ')}` : ''}`,
      });
      return undefined;
    }
    if (options.has(n) && b.value !== undefined && b.value.kind !== 'NameRef' && b.value.kind !== 'NumberLit' && !(b.value.kind === 'Unary' && b.value.operand.kind === 'NumberLit')) {
      diags.report('RNN2005', b.value.span, `option \`${n}\` of cell \`${innerName}\` takes a function name or a number`);
      return undefined;
    }
    if (options.has(n)) {
      optionBinding.set(n, b.value ?? { kind: 'NameRef', name: b.name, span: b.span });
      continue;
    }
    const d = b.value === undefined ? ({ kind: 'DimName', name: n, span: b.name.span } as const) : dimOf(b.value);
    if (d === undefined) {
      diags.report('RNN3006', b.value!.span, `\`${n}\` of cell \`${innerName}\` must be a size: a number, a dimension of cell \`${outer.name.name}\` or a sum or product of them`);
      return undefined;
    }
    dimBinding.set(n, d);
  }
  // An inner input's sizes, when its argument is an input of the outer cell: the outer input's declared sizes.
  const outerInputs = new Map(outer.inputs.map((i) => [i.name.name, i]));
  // An input of this cell passed without [t] where the called cell reads its argument per step.
  for (const [k, inp] of inner.inputs.entries()) {
    const arg = call.args[k]!.value;
    if (arg.kind === 'NameRef' && !arg.index && outerInputs.has(arg.name.name) && readsPerStep(inner, inp.name.name)) {
      diags.report('RNN3005', arg.span, `cell \`${innerName}\` reads its input \`${inp.name.name}\` per step, but \`${arg.name.name}\` is given whole`, { hint: `write \`${arg.name.name}[t]\`` });
      return undefined;
    }
  }
  inner.inputs.forEach((inp, k) => {
    const arg = call.args[k]!.value;
    const from = arg.kind === 'NameRef' ? outerInputs.get(arg.name.name) : undefined;
    if (!from || from.shape.dims.length !== inp.shape.dims.length) return;
    inp.shape.dims.forEach((d, j) => {
      if (d.kind === 'DimName' && !dimBinding.has(d.name)) dimBinding.set(d.name, from.shape.dims[j]!);
    });
  });
  // Any other dimension keeps its name: the outer cell's (or its application's) of the same name. But an input's
  // size must be said: an expression's size is not known here, and a size of the outer cell that happens to have
  // the same name may be another one.
  for (const inp of inner.inputs) {
    for (const d of inp.shape.dims) {
      if (d.kind === 'DimName' && !dimBinding.has(d.name)) {
        diags.report('RNN3002', call.span, `the size ${d.name} of input \`${inp.name.name}\` of cell \`${innerName}\` is not known here`, {
          hint: `give it after \`with\`: \`${eq.target.name}[t] = ${innerName}(...) with ${d.name} = ...\` (the size of the argument; an input of this cell passed as it is gives its own)`,
        });
        return undefined;
      }
    }
  }
  const dim = (d: DimExpr): DimExpr => {
    if (d.kind === 'DimName') return localDims.has(d.name) ? { ...d, name: `${prefix}${d.name}` } : (dimBinding.get(d.name) ?? d);
    if (d.kind === 'DimBin') return { ...d, left: dim(d.left), right: dim(d.right) };
    return d;
  };
  const shape = (s: Shape): Shape => ({ ...s, dims: s.dims.map(dim) });

  // Expressions: inputs -> arguments, options -> bindings, names -> renamed. An argument that is an expression is
  // computed once per step, as an equation of its own (`s.x[t] = ...`), which the inner cell's equations read.
  const argEquations: Equation[] = [];
  const args = new Map(
    inner.inputs.map((inp, k) => {
      const a = call.args[k]!.value;
      if (a.kind === 'NameRef' || a.kind === 'NumberLit') return [inp.name.name, a] as const;
      const local = ident(inp.name, `${prefix}${inp.name.name}`);
      argEquations.push({ kind: 'Equation', target: local, index: eq.index, value: a, bindings: [], span: a.span });
      return [inp.name.name, { kind: 'NameRef', name: local, index: eq.index, span: a.span } as Expr] as const;
    }),
  );
  const expr = (e: Expr): Expr => {
    switch (e.kind) {
      case 'NumberLit':
      case 'StringLit':
        return e;
      case 'NameRef': {
        const n = e.name.name;
        const arg = args.get(n);
        // The inner cell reads its inputs at [t] (or whole): the argument is that value.
        if (arg !== undefined) return arg;
        const opt = options.get(n);
        if (opt) return optionBinding.get(n) ?? opt.value;
        if (defined.has(n)) return { ...e, name: ident(e.name, rename(n)) };
        return e;
      }
      case 'Unary':
        return { ...e, operand: expr(e.operand) };
      case 'Binary':
        return { ...e, left: expr(e.left), right: expr(e.right) };
      case 'Call': {
        const opt = options.get(e.callee.name);
        // `act(...)` with `option act = tanh`: the function bound (or the default).
        const fn = opt ? (optionBinding.get(e.callee.name) ?? opt.value) : undefined;
        const callee = fn && fn.kind === 'NameRef' ? ident(e.callee, fn.name.name) : e.callee;
        const args = e.args.map((a) => ({ ...a, value: expr(a.value) }));
        // A function's attribute not written takes the called cell's option of that name (`leaky_relu` and `alpha`),
        // as it would in the called cell itself: made explicit, so that the calling cell's own options do not apply.
        const attr = ELEMENTWISE.get(callee.name)?.attr?.name;
        const attrOption = attr !== undefined ? options.get(attr) : undefined;
        if (attr !== undefined && attrOption && args.length === 1) {
          args.push({ kind: 'Arg', value: optionBinding.get(attr) ?? attrOption.value, span: e.span } as (typeof args)[number]);
        }
        return { ...e, callee, args };
      }
    }
  };

  const out: CellItem[] = [...argEquations];
  for (const item of inner.body) {
    if (item.kind === 'OptionDecl') continue;
    if (item.kind === 'DimDecl') {
      out.push({ ...item, dims: item.dims.map((d) => ({ ...d, name: ident(d.name, `${prefix}${d.name.name}`), ...(d.value ? { value: dim(d.value) } : {}) })) });
    } else if (item.kind === 'ParamDecl') {
      const p: ParamDecl = { ...item, names: item.names.map((n) => ident(n, rename(n.name))), shape: shape(item.shape) };
      out.push(p);
    } else {
      out.push({ ...item, target: ident(item.target, rename(item.target.name)), value: expr(item.value), bindings: [] as Binding[], span: item.span });
    }
  }
  // A cell from another file (the standard cells) has its mistakes reported at the call, where the user can act.
  return inner.span.file === outer.span.file ? out : out.map((i) => atCall(i, outer.span.file, eq.span));
}

/** An AST with every span outside `file` replaced by `span`. */
function atCall<T>(x: T, file: string, span: Span): T {
  if (Array.isArray(x)) return x.map((v: unknown) => atCall(v, file, span)) as T;
  if (typeof x !== 'object' || x === null) return x;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x as Record<string, unknown>)) {
    out[k] = k === 'span' && typeof v === 'object' && v !== null && 'file' in v ? ((v as Span).file === file ? v : span) : atCall(v, file, span);
  }
  return out as T;
}

function ident(base: Ident, name: string): Ident {
  return { ...base, name };
}

/** An expression given for a dimension (`with H = M + D`) as a size. */
function dimOf(e: Expr): DimExpr | undefined {
  if (e.kind === 'NumberLit') return { kind: 'DimNum', value: e.value, span: e.span };
  if (e.kind === 'NameRef' && !e.index) return { kind: 'DimName', name: e.name.name, span: e.span };
  if (e.kind === 'Binary' && (e.op === '+' || e.op === '-' || e.op === '*')) {
    const [l, r] = [dimOf(e.left), dimOf(e.right)];
    return l && r ? { kind: 'DimBin', op: e.op, left: l, right: r, span: e.span } : undefined;
  }
  return undefined;
}

/** The dimension names a cell mentions: in its inputs, outputs, parameters and `dim` lines. */
function dimNames(c: CellDecl): Set<string> {
  const out = new Set<string>();
  const walk = (d: DimExpr): void => {
    if (d.kind === 'DimName') out.add(d.name);
    else if (d.kind === 'DimBin') {
      walk(d.left);
      walk(d.right);
    }
  };
  for (const t of [...c.inputs, ...c.outputs]) t.shape.dims.forEach(walk);
  for (const i of c.body) {
    if (i.kind === 'ParamDecl') i.shape.dims.forEach(walk);
    if (i.kind === 'DimDecl') i.dims.forEach((d) => out.add(d.name.name));
  }
  return out;
}

/** Whether a cell reads input `name` at [t] anywhere. */
function readsPerStep(c: CellDecl, name: string): boolean {
  let found = false;
  const walk = (e: Expr): void => {
    if (found) return;
    if (e.kind === 'NameRef') found = e.name.name === name && e.index !== undefined;
    else if (e.kind === 'Unary') walk(e.operand);
    else if (e.kind === 'Binary') {
      walk(e.left);
      walk(e.right);
    } else if (e.kind === 'Call') e.args.forEach((a) => walk(a.value));
  };
  for (const i of c.body) if (i.kind === 'Equation') walk(i.value);
  return found;
}
