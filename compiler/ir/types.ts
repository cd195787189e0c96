// The graph IR: immutable, typed, static shapes with symbolic dimensions.
//
// A Graph is a list of nodes in topological order over numbered values.
// Values are produced either by a node or by the graph's inputs. Every node
// names an op from the registry (ops.ts); the structured ops are `scan`,
// which carries a body Graph: time stays a loop (ARCHITECTURE.md rule 6), and its
// derivative is another scan running the other way (autodiff/vjp.ts); and
// `fused`, whose `body` attribute lists the element-wise instructions of a
// group (FusedBody below).
//
// Shapes are static: each dimension is a number or a symbol. 'B' is the batch
// and 'T' the time length, known only at run time; a model's own dimension
// names (V, H, ...) stay symbolic until the data fixes them. Sequences are
// time-major: [T, B, ...].

export type Dim = number | string;
export type Shape = readonly Dim[];
export type DType = 'f32' | 'i32';

export interface ValueType {
  readonly shape: Shape;
  readonly dtype: DType;
}

export type ValueId = number;

export interface ValueInfo {
  readonly type: ValueType;
  /** The source-level name this value carries, when it has one (`h`, `enc.W_g`). */
  readonly name?: string;
}

export type AttrValue = number | string | boolean | readonly number[] | readonly Dim[] | FusedBody;
export type Attrs = Readonly<Record<string, AttrValue>>;

export interface Node {
  readonly op: string;
  readonly inputs: readonly ValueId[];
  readonly outputs: readonly ValueId[];
  readonly attrs: Attrs;
  /** Only for `scan`. */
  readonly body?: Graph;
  /** Where it came from in the .rnn source, e.g. "cells.rnn:14". */
  readonly source?: string;
}

/**
 * Roles say what the caller feeds and reads:
 * - param: a trainable parameter (`fw.W_g`);
 * - data: an input or target of the model, or the mask/last tensors of a batch;
 * - state: an initial recurrent state (zeros unless the caller streams);
 * - derived: a value the runtime computes from a parameter and keeps while the
 *   parameter is unchanged (`transpose:<param>`, see passes/lift-param-transposes.ts);
 * - control: a run-time switch such as a truncation gate;
 * - arg: a body input of a scan (carry, per-step slice or constant), or a cotangent.
 */
export type InputRole = 'param' | 'derived' | 'data' | 'state' | 'control' | 'arg';
export type OutputRole = 'loss' | 'output' | 'state' | 'grad' | 'result';

export interface GraphInput {
  readonly value: ValueId;
  readonly role: InputRole;
  readonly name: string;
}
export interface GraphOutput {
  readonly value: ValueId;
  readonly role: OutputRole;
  readonly name: string;
}

export interface Graph {
  readonly values: readonly ValueInfo[];
  readonly nodes: readonly Node[];
  readonly inputs: readonly GraphInput[];
  readonly outputs: readonly GraphOutput[];
}

/**
 * What an instruction of a fused group reads: input k of the node (after its
 * window, if it has one), the result of an earlier instruction, or a number.
 */
export type FusedArg = { readonly in: number } | { readonly tmp: number } | { readonly num: number };

/**
 * One element-wise op of a fused group; `attr` is a unary op's attribute
 * (leaky_relu's alpha), `source` the source line of the node it was (as
 * Node.source; emitted code quotes it).
 */
export interface FusedInstr {
  readonly op: string;
  readonly args: readonly FusedArg[];
  readonly attr?: number;
  readonly source?: string;
}

/**
 * The body of a `fused` node (its `body` attribute; passes/fuse-elementwise.ts
 * builds it): instructions in order, instruction k's result is temp k, and
 * `outputs` names the temps the node returns, one per node output.
 */
export interface FusedBody {
  readonly instrs: readonly FusedInstr[];
  readonly outputs: readonly number[];
}

/** The body of a fused node (verified by its shape rule: compiler/ir/ops.ts). */
export function fusedBody(node: Node): FusedBody {
  return node.attrs['body'] as FusedBody;
}

/** Attributes of a scan node (inputs are carries, then xs, then consts). */
export interface ScanAttrs {
  readonly nCarry: number;
  readonly nXs: number;
  readonly reverse: boolean;
}

export function scanAttrs(node: Node): ScanAttrs {
  return {
    nCarry: node.attrs['nCarry'] as number,
    nXs: node.attrs['nXs'] as number,
    reverse: node.attrs['reverse'] as boolean,
  };
}
