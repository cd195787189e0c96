// The abstract syntax tree of a .rnn program.
//
// Readonly discriminated unions, built from Chevrotain's CST by cst-to-ast.ts
// and printed deterministically by printer.ts. Every node carries the span of
// the source text it came from, so that sema can point at it.
import type { Span } from '../diagnostics/span.js';

export interface Program {
  readonly kind: 'Program';
  readonly file: string;
  readonly items: readonly TopItem[];
  readonly span: Span;
}

export type TopItem = DimDecl | CellDecl | ModelDecl | TrainDecl;

/** `dim V, H = 128` (top level, in a model or in a cell). */
export interface DimDecl {
  readonly kind: 'DimDecl';
  readonly dims: readonly DimItem[];
  readonly span: Span;
}
export interface DimItem {
  readonly name: Ident;
  /** Absent: the value comes from the data (or from `with` at a cell application). */
  readonly value?: DimExpr;
  readonly span: Span;
}

export interface Ident {
  readonly kind: 'Ident';
  readonly name: string;
  readonly span: Span;
}

/** A size expression inside `[...]` shapes: `H`, `128`, `2 * H`, `H + X`. */
export type DimExpr =
  | { readonly kind: 'DimNum'; readonly value: number; readonly span: Span }
  | { readonly kind: 'DimName'; readonly name: string; readonly span: Span }
  | {
      readonly kind: 'DimBin';
      readonly op: '+' | '-' | '*';
      readonly left: DimExpr;
      readonly right: DimExpr;
      readonly span: Span;
    };

/** `[H, X]`; `[]` is a scalar. */
export interface Shape {
  readonly kind: 'Shape';
  readonly dims: readonly DimExpr[];
  readonly span: Span;
}

/** Element types of model inputs/targets. */
export type ElemType =
  | { readonly kind: 'TokenType'; readonly vocab: DimExpr; readonly span: Span } // token[V]
  | { readonly kind: 'TensorType'; readonly shape: Shape; readonly span: Span }; // [D] or [L, D]

/** `seq<token[V]>`, `seq<[D]>`, `token[K]`, `[D]`. */
export interface ValueType {
  readonly kind: 'ValueType';
  readonly seq: boolean;
  readonly elem: ElemType;
  readonly span: Span;
}

// ---------------------------------------------------------------- cells

/** `cell lstm(x: [X]) -> h: [H] { ... }` */
export interface CellDecl {
  readonly kind: 'CellDecl';
  readonly name: Ident;
  readonly inputs: readonly TypedName[];
  /** The first output is the cell's primary output (what applying it yields). */
  readonly outputs: readonly TypedName[];
  readonly body: readonly CellItem[];
  readonly span: Span;
}
export interface TypedName {
  readonly kind: 'TypedName';
  readonly name: Ident;
  /** For a token (`y: token[K]`): [K], the shape of its scores. */
  readonly shape: Shape;
  /** `y: token[K]`: a decoder's output, computed as scores over K tokens; `y[t-1]` reads the previous token. */
  readonly token?: true;
  readonly span: Span;
}

export type CellItem = ParamDecl | OptionDecl | Equation | DimDecl;

/** `param W_g, W_i: [H, X] = orthogonal` */
export interface ParamDecl {
  readonly kind: 'ParamDecl';
  readonly names: readonly Ident[];
  readonly shape: Shape;
  readonly init?: Call; // e.g. ones, identity, uniform(scale = 0.1), normal(0, 0.01)
  readonly span: Span;
}

/** `option act = tanh` / `option alpha = 0.01`: settable with `with act = relu`. */
export interface OptionDecl {
  readonly kind: 'OptionDecl';
  readonly name: Ident;
  readonly value: Expr; // an Ident (a function name) or a NumberLit
  readonly span: Span;
}

/**
 * `h[t] = tanh(...)` in a cell; `e = embed(words, E)`, `y[t] = dense(...)`,
 * `fw = lstm(e) with H` and `loss = cross_entropy(y, tags)` in a model.
 */
export interface Equation {
  readonly kind: 'Equation';
  readonly target: Ident;
  /** Absent for whole-sequence statements in a model (`e = embed(...)`). */
  readonly index?: TimeIndex;
  readonly value: Expr;
  /** `with H, act = relu`: dimension/option bindings for a cell application. */
  readonly bindings: readonly Binding[];
  readonly span: Span;
}

export interface Binding {
  readonly kind: 'Binding';
  readonly name: Ident;
  /** `with H` alone means `with H = H`. */
  readonly value?: Expr;
  readonly span: Span;
}

/**
 * `[t]`, `[t-1]`, `[t+1]`: `offset` is 0, -1, +1 (any integer allowed by the
 * parser). `[0]`: `step` is 0, a state's value before the first step (the
 * variable is then the number's text, so that messages about `t` read well).
 */
export interface TimeIndex {
  readonly kind: 'TimeIndex';
  readonly variable: Ident; // always `t` in valid programs; sema checks
  readonly offset: number;
  /** An index written as a number (`[0]`). */
  readonly step?: number;
  readonly span: Span;
}

// ---------------------------------------------------------------- expressions

export type Expr = NumberLit | StringLit | NameRef | Call | Binary | Unary;

export interface NumberLit {
  readonly kind: 'NumberLit';
  readonly value: number;
  readonly text: string;
  readonly span: Span;
}

/** `"brown.txt"`: file paths and names in data sources (no escapes, no line breaks). */
export interface StringLit {
  readonly kind: 'StringLit';
  /** The text between the quotes. */
  readonly value: string;
  readonly span: Span;
}

/** `x`, `x[t]`, `h[t-1]`. */
export interface NameRef {
  readonly kind: 'NameRef';
  readonly name: Ident;
  readonly index?: TimeIndex;
  readonly span: Span;
}

/** `tanh(a)`, `dense(x, K)`, `uniform(scale = 0.1)`, `lstm(e)`. */
export interface Call {
  readonly kind: 'Call';
  readonly callee: Ident;
  readonly args: readonly Arg[];
  readonly span: Span;
}
export interface Arg {
  readonly kind: 'Arg';
  readonly name?: Ident; // keyword argument
  readonly value: Expr;
  readonly span: Span;
}

export interface Binary {
  readonly kind: 'Binary';
  readonly op: '+' | '-' | '*' | '/' | '@';
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

/** `-x`, `reverse e` (run a cell backwards over e), `bidir lstm(e)`. */
export interface Unary {
  readonly kind: 'Unary';
  readonly op: '-' | 'reverse' | 'bidir';
  readonly operand: Expr;
  readonly span: Span;
}

// ---------------------------------------------------------------- models

export interface ModelDecl {
  readonly kind: 'ModelDecl';
  readonly name: Ident;
  readonly items: readonly ModelItem[];
  readonly span: Span;
}

export type ModelItem = DimDecl | IoDecl | Equation;

/** `input words: seq<token[V]>` / `target tags: seq<token[K]>` */
export interface IoDecl {
  readonly kind: 'IoDecl';
  readonly role: 'input' | 'target';
  readonly name: Ident;
  readonly type: ValueType;
  readonly span: Span;
}

// ---------------------------------------------------------------- training

export interface TrainDecl {
  readonly kind: 'TrainDecl';
  /** The model it trains. */
  readonly model: Ident;
  readonly settings: readonly TrainSetting[];
  readonly span: Span;
}

/**
 * One line of a train block. The parser knows the keywords; values are kept
 * general so that new settings need no grammar change:
 *   data brown_chars(split = 0.9)      -> {key: 'data', value: Call}
 *   optimizer adam(lr = 1e-3)          -> {key: 'optimizer', value: Call}
 *   schedule cosine(steps = 1000)      -> {key: 'schedule', value: Call}
 *   clip norm 5.0 / clip value 1.0     -> {key: 'clip', mode: 'norm'|'value', value: NumberLit}
 *   bptt full / bptt truncated(k1 = 20, k2 = 40) -> {key: 'bptt', value: NameRef|Call}
 *   batch 32; epochs 10; seed 7; checkpoint 100 -> {key, value: NumberLit}
 *   feed teacher / feed scheduled(inverse_sigmoid, k = 20) -> {key: 'feed', value: NameRef|Call}
 */
export interface TrainSetting {
  readonly kind: 'TrainSetting';
  readonly key: Ident;
  readonly mode?: Ident;
  readonly value: Expr;
  readonly span: Span;
}
