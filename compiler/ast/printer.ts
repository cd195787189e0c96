// printAst: a deterministic, indented S-expression dump of the AST, for golden
// files (test/cases/parse/*.ast.txt) and for reading what the parser built.
//
// Every node is `(head @line:col children...)` with the start of its span.
// A node goes on one line when that line stays short, otherwise its children
// go on their own lines, indented by two spaces. Dimension expressions and
// time indices are printed inline in source form, fully parenthesised
// (`(2 * H) + 1`, `h[t-1]`), under the span of the node that holds them.
// The output depends only on the AST, never on iteration order of maps/sets.
import type {
  Arg,
  Binding,
  CellItem,
  DimExpr,
  DimItem,
  ElemType,
  Expr,
  ModelItem,
  Program,
  Shape,
  TimeIndex,
  TopItem,
  TrainSetting,
  TypedName,
  ValueType,
} from './ast.js';
import type { Span } from '../diagnostics/span.js';

interface Tree {
  readonly head: string;
  readonly children: readonly Tree[];
}

const MAX_LINE = 100;

function node(head: string, span: Span, children: readonly Tree[] = []): Tree {
  return { head: `${head} @${span.line}:${span.column}`, children };
}

function flat(t: Tree): string {
  return t.children.length === 0 ? `(${t.head})` : `(${t.head} ${t.children.map(flat).join(' ')})`;
}

function render(t: Tree, indent: string, out: string[]): void {
  const oneLine = indent + flat(t);
  if (t.children.length === 0 || oneLine.length <= MAX_LINE) {
    out.push(oneLine);
    return;
  }
  out.push(`${indent}(${t.head}`);
  for (const c of t.children) render(c, `${indent}  `, out);
  out[out.length - 1] += ')';
}

// ---------------------------------------------------------------- inline forms

export function dimText(d: DimExpr, nested = false): string {
  switch (d.kind) {
    case 'DimNum':
      return String(d.value);
    case 'DimName':
      return d.name;
    case 'DimBin': {
      const s = `${dimText(d.left, true)} ${d.op} ${dimText(d.right, true)}`;
      return nested ? `(${s})` : s;
    }
  }
}

function shapeText(s: Shape): string {
  return `[${s.dims.map((d) => dimText(d)).join(', ')}]`;
}

function indexText(i: TimeIndex | undefined): string {
  if (i === undefined) return '';
  if (i.offset === 0) return `[${i.variable.name}]`;
  return `[${i.variable.name}${i.offset > 0 ? '+' : '-'}${Math.abs(i.offset)}]`;
}

function elemText(e: ElemType): string {
  return e.kind === 'TokenType' ? `token[${dimText(e.vocab)}]` : shapeText(e.shape);
}

function typeText(t: ValueType): string {
  return t.seq ? `seq<${elemText(t.elem)}>` : elemText(t.elem);
}

// ---------------------------------------------------------------- trees

function exprTree(e: Expr): Tree {
  switch (e.kind) {
    case 'NumberLit':
      return node(`num ${e.text}`, e.span);
    case 'StringLit':
      return node(`str ${JSON.stringify(e.value)}`, e.span);
    case 'NameRef':
      return node(`ref ${e.name.name}${indexText(e.index)}`, e.span);
    case 'Call':
      return node(`call ${e.callee.name}`, e.span, e.args.map(argTree));
    case 'Binary':
      return node(`bin ${e.op}`, e.span, [exprTree(e.left), exprTree(e.right)]);
    case 'Unary':
      return node(`unary ${e.op}`, e.span, [exprTree(e.operand)]);
  }
}

function argTree(a: Arg): Tree {
  // A positional argument is its expression (same span); a keyword one is labelled.
  return a.name === undefined ? exprTree(a.value) : node(`${a.name.name} =`, a.span, [exprTree(a.value)]);
}

function bindingTree(b: Binding): Tree {
  return node(`bind ${b.name.name}`, b.span, b.value === undefined ? [] : [exprTree(b.value)]);
}

function dimItemTree(d: DimItem): Tree {
  return node(d.value === undefined ? d.name.name : `${d.name.name} = ${dimText(d.value)}`, d.span);
}

function typedNameTree(role: string, t: TypedName): Tree {
  return node(`${role} ${t.name.name}: ${t.token ? `token${shapeText(t.shape)}` : shapeText(t.shape)}`, t.span);
}

function bodyItemTree(item: CellItem | ModelItem): Tree {
  switch (item.kind) {
    case 'DimDecl':
      return node('dim', item.span, item.dims.map(dimItemTree));
    case 'ParamDecl':
      return node(
        `param ${item.names.map((n) => n.name).join(', ')}: ${shapeText(item.shape)}`,
        item.span,
        item.init === undefined ? [] : [exprTree(item.init)],
      );
    case 'OptionDecl':
      return node(`option ${item.name.name}`, item.span, [exprTree(item.value)]);
    case 'Equation': {
      const children = [exprTree(item.value)];
      if (item.bindings.length > 0) children.push({ head: 'with', children: item.bindings.map(bindingTree) });
      return node(`eq ${item.target.name}${indexText(item.index)}`, item.span, children);
    }
    case 'IoDecl':
      return node(`${item.role} ${item.name.name}: ${typeText(item.type)}`, item.span);
  }
}

function settingTree(s: TrainSetting): Tree {
  const head = s.mode === undefined ? `set ${s.key.name}` : `set ${s.key.name} ${s.mode.name}`;
  return node(head, s.span, [exprTree(s.value)]);
}

function topItemTree(item: TopItem): Tree {
  switch (item.kind) {
    case 'DimDecl':
      return bodyItemTree(item);
    case 'CellDecl':
      return node(`cell ${item.name.name}`, item.span, [
        ...item.inputs.map((t) => typedNameTree('in', t)),
        ...item.outputs.map((t) => typedNameTree('out', t)),
        ...item.body.map(bodyItemTree),
      ]);
    case 'ModelDecl':
      return node(`model ${item.name.name}`, item.span, item.items.map(bodyItemTree));
    case 'TrainDecl':
      return node(`train ${item.model.name}`, item.span, item.settings.map(settingTree));
  }
}

/** The dump of a whole program, ending with a newline. */
export function printAst(program: Program): string {
  const out: string[] = [];
  // Items are always on their own lines, however short the program.
  out.push(`(program ${JSON.stringify(program.file)} @${program.span.line}:${program.span.column}`);
  for (const item of program.items) render(topItemTree(item), '  ', out);
  out[out.length - 1] += ')';
  return `${out.join('\n')}\n`;
}
