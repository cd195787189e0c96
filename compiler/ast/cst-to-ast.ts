// CST -> AST: walks Chevrotain's concrete syntax tree (built by
// grammar/parser.ts, children LABELled by role) and builds the readonly AST of
// ast.ts, giving every node the span of the source text it came from.
//
// Runs after parsing, also when there were syntax errors. Error recovery may
// leave rules half-parsed (`recoveredNode`) or insert virtual tokens (no
// position, empty image). The walk is therefore total: every builder returns
// `undefined` when a required piece is missing, and the enclosing list simply
// drops that element, so the result is the best-effort AST of whatever
// parsed. Such a partial AST may break invariants sema relies on (a cell with
// no outputs, ...): sema must only run when parsing reported no errors.
//
// Spans of composite nodes cover the first to the last real token of their
// CST node, so a binary expression's span includes parentheses around its
// operands while a parenthesised expression itself keeps the span of what is
// inside the parentheses (the AST has no node for parentheses).
import type { CstElement, CstNode, IToken } from 'chevrotain';
import { joinSpans, type Span } from '../diagnostics/span.js';
import { isRealToken, tokenSpan } from '../diagnostics/syntax-errors.js';
import type {
  Arg,
  Binding,
  Binary,
  Call,
  CellDecl,
  CellItem,
  DimDecl,
  DimExpr,
  DimItem,
  ElemType,
  Equation,
  Expr,
  Ident,
  IoDecl,
  ModelDecl,
  ModelItem,
  OptionDecl,
  ParamDecl,
  Program,
  Shape,
  TimeIndex,
  TopItem,
  TrainDecl,
  TrainSetting,
  TypedName,
  ValueType,
} from './ast.js';

// ---------------------------------------------------------------- CST access

function isToken(el: CstElement): el is IToken {
  return 'tokenType' in el;
}

/** The real (not recovery-inserted) tokens under `label`. */
function tokens(node: CstNode, label: string): IToken[] {
  const out: IToken[] = [];
  for (const el of node.children[label] ?? []) if (isToken(el) && isRealToken(el)) out.push(el);
  return out;
}

function token(node: CstNode, label: string): IToken | undefined {
  return tokens(node, label)[0];
}

function nodes(node: CstNode, label: string): CstNode[] {
  const out: CstNode[] = [];
  for (const el of node.children[label] ?? []) if (!isToken(el)) out.push(el);
  return out;
}

function child(node: CstNode, label: string): CstNode | undefined {
  return nodes(node, label)[0];
}

function present<T>(items: readonly (T | undefined)[]): T[] {
  return items.filter((x): x is T => x !== undefined);
}

/** Drops the list if any element is missing: for operands, which are all needed. */
function all<T>(items: readonly (T | undefined)[]): T[] | undefined {
  const kept = present(items);
  return kept.length === items.length ? kept : undefined;
}

// ---------------------------------------------------------------- the converter

class Converter {
  constructor(private readonly file: string) {}

  private tokSpan(tok: IToken): Span {
    return tokenSpan(tok, this.file);
  }

  /** The span from the first to the last real token under `node`; undefined if it has none. */
  private span(node: CstNode): Span | undefined {
    let first: IToken | undefined;
    let last: IToken | undefined;
    const visit = (n: CstNode): void => {
      for (const list of Object.values(n.children)) {
        for (const el of list) {
          if (!isToken(el)) {
            visit(el);
          } else if (isRealToken(el)) {
            if (first === undefined || el.startOffset < first.startOffset) first = el;
            if (last === undefined || el.startOffset > last.startOffset) last = el;
          }
        }
      }
    };
    visit(node);
    if (first === undefined || last === undefined) return undefined;
    return joinSpans(this.tokSpan(first), this.tokSpan(last));
  }

  private ident(tok: IToken | undefined): Ident | undefined {
    if (tok === undefined) return undefined;
    return { kind: 'Ident', name: tok.image, span: this.tokSpan(tok) };
  }

  // ------------------------------------------------------------ program and dims

  program(cst: CstNode, span: Span): Program {
    const items: TopItem[] = [];
    for (const n of nodes(cst, 'items')) {
      const item = this.topItem(n);
      if (item !== undefined) items.push(item);
    }
    return { kind: 'Program', file: this.file, items, span };
  }

  private topItem(n: CstNode): TopItem | undefined {
    switch (n.name) {
      case 'dimDecl':
        return this.dimDecl(n);
      case 'cellDecl':
        return this.cellDecl(n);
      case 'modelDecl':
        return this.modelDecl(n);
      case 'trainDecl':
        return this.trainDecl(n);
      default:
        return undefined;
    }
  }

  private dimDecl(n: CstNode): DimDecl | undefined {
    const dims = present(nodes(n, 'dims').map((d) => this.dimItem(d)));
    const span = this.span(n);
    if (dims.length === 0 || span === undefined) return undefined;
    return { kind: 'DimDecl', dims, span };
  }

  private dimItem(n: CstNode): DimItem | undefined {
    const name = this.ident(token(n, 'name'));
    const span = this.span(n);
    if (name === undefined || span === undefined) return undefined;
    const valueNode = child(n, 'value');
    if (valueNode === undefined) return { name, span };
    const value = this.dimExpr(valueNode);
    if (value === undefined) return undefined;
    return { name, value, span };
  }

  /** dimExpr and dimTerm: a left-associative chain of operands and operators. */
  private dimChain(n: CstNode, operand: (c: CstNode) => DimExpr | undefined): DimExpr | undefined {
    const operandNodes = nodes(n, 'operands');
    const ops = tokens(n, 'ops');
    const operands = all(operandNodes.map(operand));
    if (operands === undefined || operands.length !== ops.length + 1) return undefined;
    let acc = operands[0]!;
    let accSpan = this.span(operandNodes[0]!) ?? acc.span;
    for (let i = 0; i < ops.length; i++) {
      const right = operands[i + 1]!;
      accSpan = joinSpans(accSpan, this.span(operandNodes[i + 1]!) ?? right.span);
      const op = ops[i]!.image;
      if (op !== '+' && op !== '-' && op !== '*') return undefined;
      acc = { kind: 'DimBin', op, left: acc, right, span: accSpan };
    }
    return acc;
  }

  private dimExpr(n: CstNode): DimExpr | undefined {
    return this.dimChain(n, (c) => this.dimChain(c, (a) => this.dimAtom(a)));
  }

  private dimAtom(n: CstNode): DimExpr | undefined {
    const num = token(n, 'number');
    if (num !== undefined) return { kind: 'DimNum', value: Number(num.image), span: this.tokSpan(num) };
    const name = token(n, 'name');
    if (name !== undefined) return { kind: 'DimName', name: name.image, span: this.tokSpan(name) };
    const inner = child(n, 'inner');
    return inner === undefined ? undefined : this.dimExpr(inner);
  }

  private shape(n: CstNode | undefined): Shape | undefined {
    if (n === undefined) return undefined;
    const dims = all(nodes(n, 'dims').map((d) => this.dimExpr(d)));
    const span = this.span(n);
    if (dims === undefined || span === undefined) return undefined;
    return { kind: 'Shape', dims, span };
  }

  // ------------------------------------------------------------ cells

  private cellDecl(n: CstNode): CellDecl | undefined {
    const name = this.ident(token(n, 'name'));
    const span = this.span(n);
    if (name === undefined || span === undefined) return undefined;
    const inputs = present(nodes(n, 'inputs').map((c) => this.typedName(c)));
    const outputs = present(nodes(n, 'outputs').map((c) => this.typedName(c)));
    const body = present(nodes(n, 'body').map((c) => this.cellItem(c)));
    return { kind: 'CellDecl', name, inputs, outputs, body, span };
  }

  private typedName(n: CstNode): TypedName | undefined {
    const name = this.ident(token(n, 'name'));
    const typeNode = child(n, 'type');
    const type = typeNode === undefined ? undefined : this.elemType(typeNode);
    const span = this.span(n);
    if (name === undefined || type === undefined || span === undefined) return undefined;
    // A token output `y: token[K]` is computed as its K scores (logits): shape [K].
    if (type.kind === 'TokenType') return { kind: 'TypedName', name, shape: { kind: 'Shape', dims: [type.vocab], span: type.span }, token: true, span };
    return { kind: 'TypedName', name, shape: type.shape, span };
  }

  private cellItem(n: CstNode): CellItem | undefined {
    switch (n.name) {
      case 'paramDecl':
        return this.paramDecl(n);
      case 'optionDecl':
        return this.optionDecl(n);
      case 'equation':
        return this.equation(n);
      case 'dimDecl':
        return this.dimDecl(n);
      default:
        return undefined;
    }
  }

  private paramDecl(n: CstNode): ParamDecl | undefined {
    const names = present(tokens(n, 'names').map((t) => this.ident(t)));
    const shape = this.shape(child(n, 'shape'));
    const span = this.span(n);
    if (names.length === 0 || shape === undefined || span === undefined) return undefined;
    const initNode = child(n, 'init');
    if (initNode === undefined) return { kind: 'ParamDecl', names, shape, span };
    const init = this.callLike(initNode);
    if (init === undefined) return undefined;
    return { kind: 'ParamDecl', names, shape, init, span };
  }

  private optionDecl(n: CstNode): OptionDecl | undefined {
    const name = this.ident(token(n, 'name'));
    const value = this.exprOf(child(n, 'value'));
    const span = this.span(n);
    if (name === undefined || value === undefined || span === undefined) return undefined;
    return { kind: 'OptionDecl', name, value, span };
  }

  private equation(n: CstNode): Equation | undefined {
    const target = this.ident(token(n, 'target'));
    const value = this.exprOf(child(n, 'value'));
    const span = this.span(n);
    if (target === undefined || value === undefined || span === undefined) return undefined;
    const bindings = present(nodes(n, 'bindings').map((b) => this.binding(b)));
    const indexNode = child(n, 'index');
    if (indexNode === undefined) return { kind: 'Equation', target, value, bindings, span };
    const index = this.timeIndex(indexNode);
    if (index === undefined) return undefined;
    return { kind: 'Equation', target, index, value, bindings, span };
  }

  private binding(n: CstNode): Binding | undefined {
    const name = this.ident(token(n, 'name'));
    const span = this.span(n);
    if (name === undefined || span === undefined) return undefined;
    const valueNode = child(n, 'value');
    if (valueNode === undefined) return { kind: 'Binding', name, span };
    const value = this.exprOf(valueNode);
    if (value === undefined) return undefined;
    return { kind: 'Binding', name, value, span };
  }

  private timeIndex(n: CstNode): TimeIndex | undefined {
    const span = this.span(n);
    const stepTok = token(n, 'step');
    if (stepTok !== undefined && span !== undefined) {
      const variable = this.ident(stepTok);
      return variable === undefined ? undefined : { kind: 'TimeIndex', variable, offset: 0, step: Number(stepTok.image), span };
    }
    const variable = this.ident(token(n, 'variable'));
    if (variable === undefined || span === undefined) return undefined;
    const sign = token(n, 'sign');
    const offsetTok = token(n, 'offset');
    let offset = 0;
    if (sign !== undefined || offsetTok !== undefined) {
      if (sign === undefined || offsetTok === undefined) return undefined;
      // A malformed number (`t-1x`) gives NaN; the lexer stage reported it.
      offset = (sign.image === '-' ? -1 : 1) * Number(offsetTok.image);
    }
    return { kind: 'TimeIndex', variable, offset, span };
  }

  // ------------------------------------------------------------ models

  private modelDecl(n: CstNode): ModelDecl | undefined {
    const name = this.ident(token(n, 'name'));
    const span = this.span(n);
    if (name === undefined || span === undefined) return undefined;
    const items = present(nodes(n, 'items').map((c) => this.modelItem(c)));
    return { kind: 'ModelDecl', name, items, span };
  }

  private modelItem(n: CstNode): ModelItem | undefined {
    switch (n.name) {
      case 'dimDecl':
        return this.dimDecl(n);
      case 'ioDecl':
        return this.ioDecl(n);
      case 'equation':
        return this.equation(n);
      default:
        return undefined;
    }
  }

  private ioDecl(n: CstNode): IoDecl | undefined {
    const roleTok = token(n, 'role');
    const name = this.ident(token(n, 'name'));
    const typeNode = child(n, 'type');
    const type = typeNode === undefined ? undefined : this.valueType(typeNode);
    const span = this.span(n);
    if (roleTok === undefined || name === undefined || type === undefined || span === undefined) return undefined;
    const role = roleTok.image === 'input' ? 'input' : 'target';
    return { kind: 'IoDecl', role, name, type, span };
  }

  private valueType(n: CstNode): ValueType | undefined {
    const elemNode = child(n, 'elem');
    const elem = elemNode === undefined ? undefined : this.elemType(elemNode);
    const span = this.span(n);
    if (elem === undefined || span === undefined) return undefined;
    // `seq` is the only keyword token a valueType node holds directly.
    const seq = Object.values(n.children).some((list) =>
      list.some((el) => isToken(el) && isRealToken(el) && el.image === 'seq'),
    );
    return { kind: 'ValueType', seq, elem, span };
  }

  private elemType(n: CstNode): ElemType | undefined {
    const span = this.span(n);
    if (span === undefined) return undefined;
    const vocabNode = child(n, 'vocab');
    if (vocabNode !== undefined) {
      const vocab = this.dimExpr(vocabNode);
      return vocab === undefined ? undefined : { kind: 'TokenType', vocab, span };
    }
    const shape = this.shape(child(n, 'shape'));
    return shape === undefined ? undefined : { kind: 'TensorType', shape, span };
  }

  // ------------------------------------------------------------ training

  private trainDecl(n: CstNode): TrainDecl | undefined {
    const model = this.ident(token(n, 'model'));
    const span = this.span(n);
    if (model === undefined || span === undefined) return undefined;
    const settings = present(nodes(n, 'settings').map((c) => this.trainSetting(c)));
    return { kind: 'TrainDecl', model, settings, span };
  }

  private trainSetting(n: CstNode): TrainSetting | undefined {
    const key = this.ident(token(n, 'key'));
    const value = this.exprOf(child(n, 'value'));
    const span = this.span(n);
    if (key === undefined || value === undefined || span === undefined) return undefined;
    const mode = this.ident(token(n, 'mode'));
    if (mode === undefined) return { kind: 'TrainSetting', key, value, span };
    return { kind: 'TrainSetting', key, mode, value, span };
  }

  // ------------------------------------------------------------ expressions

  private exprOf(n: CstNode | undefined): Expr | undefined {
    return n === undefined ? undefined : this.expr(n);
  }

  private expr(n: CstNode): Expr | undefined {
    const inner = child(n, 'inner');
    return inner === undefined ? undefined : this.chain(inner);
  }

  /** addExpr, mulExpr, mmExpr: left-associative chains; unary below them. */
  private chain(n: CstNode): Expr | undefined {
    if (n.name === 'unary') return this.unary(n);
    const operandNodes = nodes(n, 'operands');
    const ops = tokens(n, 'ops');
    const operands = all(operandNodes.map((c) => this.chain(c)));
    if (operands === undefined || operands.length !== ops.length + 1) return undefined;
    let acc = operands[0]!;
    let accSpan = this.span(operandNodes[0]!) ?? acc.span;
    for (let i = 0; i < ops.length; i++) {
      const right = operands[i + 1]!;
      accSpan = joinSpans(accSpan, this.span(operandNodes[i + 1]!) ?? right.span);
      const op = ops[i]!.image;
      if (op !== '+' && op !== '-' && op !== '*' && op !== '/' && op !== '@') return undefined;
      const bin: Binary = { kind: 'Binary', op, left: acc, right, span: accSpan };
      acc = bin;
    }
    return acc;
  }

  private unary(n: CstNode): Expr | undefined {
    const primary = child(n, 'primary');
    if (primary !== undefined) return this.primary(primary);
    const opTok = token(n, 'op');
    const operand = this.exprOrUnary(child(n, 'operand'));
    const span = this.span(n);
    if (opTok === undefined || operand === undefined || span === undefined) return undefined;
    const op = opTok.image;
    if (op !== '-' && op !== 'reverse' && op !== 'bidir') return undefined;
    return { kind: 'Unary', op, operand, span };
  }

  private exprOrUnary(n: CstNode | undefined): Expr | undefined {
    return n === undefined ? undefined : this.unary(n);
  }

  private primary(n: CstNode): Expr | undefined {
    const num = token(n, 'number');
    if (num !== undefined) {
      // Malformed numbers (`2H`) become NaN; the lexer stage reported them.
      return { kind: 'NumberLit', value: Number(num.image), text: num.image, span: this.tokSpan(num) };
    }
    const str = token(n, 'string');
    if (str !== undefined) {
      const closed = str.image.length >= 2 && str.image.endsWith('"');
      const value = closed ? str.image.slice(1, -1) : str.image.slice(1);
      return { kind: 'StringLit', value, span: this.tokSpan(str) };
    }
    const call = child(n, 'call');
    if (call !== undefined) return this.callLike(call);
    const nameRef = child(n, 'nameRef');
    if (nameRef !== undefined) {
      const name = this.ident(token(nameRef, 'name'));
      const span = this.span(nameRef);
      if (name === undefined || span === undefined) return undefined;
      const indexNode = child(nameRef, 'index');
      if (indexNode === undefined) return { kind: 'NameRef', name, span };
      const index = this.timeIndex(indexNode);
      return index === undefined ? undefined : { kind: 'NameRef', name, index, span };
    }
    return this.exprOf(child(n, 'inner'));
  }

  /** `call` and `initCall` (whose parentheses are optional) share a shape. */
  private callLike(n: CstNode): Call | undefined {
    const callee = this.ident(token(n, 'callee'));
    const span = this.span(n);
    if (callee === undefined || span === undefined) return undefined;
    const argsNode = child(n, 'args');
    const args = argsNode === undefined ? [] : all(nodes(argsNode, 'items').map((a) => this.arg(a)));
    if (args === undefined) return undefined;
    return { kind: 'Call', callee, args, span };
  }

  private arg(n: CstNode): Arg | undefined {
    const value = this.exprOf(child(n, 'value'));
    const span = this.span(n);
    if (value === undefined || span === undefined) return undefined;
    const name = this.ident(token(n, 'name'));
    if (name === undefined) return { kind: 'Arg', value, span };
    return { kind: 'Arg', name, value, span };
  }
}

/**
 * Builds the AST of a parsed file. `programSpan` is the span of the whole
 * text (see wholeTextSpan), which the CST alone does not know (trivia and
 * comments are not in it).
 */
export function cstToAst(cst: CstNode, file: string, programSpan: Span): Program {
  return new Converter(file).program(cst, programSpan);
}
