// Size limits of a program, checked on the AST right after parsing (RNN1006).
//
// Later stages are written for programs of real models: lowering, the
// optimiser and the code generator recurse over expressions and take time
// that grows faster than linearly with the number of equations of a cell or
// layers of a model (measured: a 1000-equation cell 2.4 s for `rnnc ir
// --grad`, a 10,000-equation one over two minutes; a 100,000-term sum
// overflowed the stack). A program past these limits is refused at once with
// the place and the number, instead of a stack overflow or minutes of work.
// The limits sit far above any model in the examples or the notes (their
// largest expression has 12 terms, their largest cell 8 equations).
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { makeDiagnostic } from '../diagnostics/messages.js';
import type { Expr, Program } from './ast.js';

/** Tokens of a file, checked before parsing: the parser and the AST builder take seconds past it. */
export const MAX_TOKENS = 50_000;
/** Operands and operators of one expression (its AST nodes). */
export const MAX_EXPRESSION_NODES = 1024;
/** Equations of one cell. */
export const MAX_CELL_EQUATIONS = 256;
/** Statements (equations, inputs, targets) of one model. */
export const MAX_MODEL_STATEMENTS = 256;

/** The number of nodes of an expression, counted without recursion (a left-nested sum may be deep). */
function expressionNodes(root: Expr, stopAt: number): number {
  const stack: Expr[] = [root];
  let n = 0;
  while (stack.length > 0 && n <= stopAt) {
    const e = stack.pop()!;
    n++;
    switch (e.kind) {
      case 'Binary':
        stack.push(e.left, e.right);
        break;
      case 'Unary':
        stack.push(e.operand);
        break;
      case 'Call':
        for (const a of e.args) stack.push(a.value);
        break;
      default:
        break;
    }
  }
  return n;
}

export function sizeDiagnostics(program: Program): Diagnostic[] {
  const out: Diagnostic[] = [];
  const checkExpr = (e: Expr): void => {
    if (expressionNodes(e, MAX_EXPRESSION_NODES) > MAX_EXPRESSION_NODES) {
      out.push(
        makeDiagnostic('RNN1006', e.span, `this expression has more than ${MAX_EXPRESSION_NODES} terms and operators`, {
          hint: 'split it into several equations, each naming a partial result',
        }),
      );
    }
  };
  for (const item of program.items) {
    if (item.kind === 'CellDecl') {
      const equations = item.body.filter((b) => b.kind === 'Equation');
      if (equations.length > MAX_CELL_EQUATIONS) {
        out.push(
          makeDiagnostic('RNN1006', item.name.span, `cell \`${item.name.name}\` has ${equations.length} equations; the limit is ${MAX_CELL_EQUATIONS}`, {
            hint: 'write the repeated part as a cell of its own and apply it in a model',
          }),
        );
      }
      for (const b of item.body) if (b.kind === 'Equation' || b.kind === 'OptionDecl') checkExpr(b.value);
    } else if (item.kind === 'ModelDecl') {
      if (item.items.length > MAX_MODEL_STATEMENTS) {
        out.push(
          makeDiagnostic('RNN1006', item.name.span, `model \`${item.name.name}\` has ${item.items.length} statements; the limit is ${MAX_MODEL_STATEMENTS}`, {
            hint: 'a model of more layers than this is not something rnnc can train in reasonable time',
          }),
        );
      }
      for (const s of item.items) if (s.kind === 'Equation') checkExpr(s.value);
    } else if (item.kind === 'TrainDecl') {
      for (const s of item.settings) checkExpr(s.value);
    }
  }
  return out;
}
