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

/**
 * The cell with every equation that applies a cell expanded (the called
 * cells expanded first). Reports RNN2005 for a call it cannot expand (a
 * cell calling itself, a decoder inside a cell, a call inside an
 * expression) and RNN3002 for an input size it cannot tell; those
 * equations are dropped, so later checks do not report them again.
 */
export function expandCellCalls(decl: CellDecl, cells: ReadonlyMap<string, CellDecl>, diags: DiagnosticCollector, stack: readonly string[] = []): CellDecl {
  const calls = (e: Expr): boolean => e.kind === 'Call' && cells.has(e.callee.name);
  if (!decl.body.some((i) => i.kind === 'Equation' && (calls(i.value) || containsCall(i.value, calls) || i.bindings.length > 0))) return decl;
  const body: CellItem[] = [];
  for (const item of decl.body) {
    if (item.kind !== 'Equation') {
      body.push(item);
      continue;
    }
    if (!calls(item.value)) {
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
    if (name === decl.name.name || stack.includes(name)) {
      diags.report('RNN2005', call.callee.span, `cell \`${name}\` would call itself (${[...stack, decl.name.name, name].join(' -> ')})`, { hint: 'a cell can call other cells, not itself' });
      continue;
    }
    const inner = expandCellCalls(cells.get(name)!, cells, diags, [...stack, decl.name.name]);
    const expanded = inlineCall(decl, item, call, inner, diags);
    if (expanded) body.push(...expanded);
  }
  return { ...decl, body };
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
  for (const b of eq.bindings) {
    const n = b.name.name;
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
        return { ...e, callee, args: e.args.map((a) => ({ ...a, value: expr(a.value) })) };
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
  return out;
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

