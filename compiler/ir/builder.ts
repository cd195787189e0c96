// GraphBuilder: the one way IR graphs are made. It infers each node's output
// types from the op registry as nodes are emitted, so a graph that was built
// is well typed by construction (the verifier re-checks after passes).
import { InternalError } from '../diagnostics/diagnostic.js';
import { getOp } from './ops.js';
import type {
  Attrs,
  Graph,
  GraphInput,
  GraphOutput,
  InputRole,
  Node,
  OutputRole,
  ValueId,
  ValueInfo,
  ValueType,
} from './types.js';

export interface EmitOptions {
  readonly body?: Graph;
  readonly name?: string;
  readonly source?: string;
}

export class GraphBuilder {
  private readonly values: ValueInfo[] = [];
  private readonly nodes: Node[] = [];
  private readonly inputs: GraphInput[] = [];
  private readonly outputs: GraphOutput[] = [];
  /** The source location stamped on emitted nodes (set while lowering an equation). */
  source: string | undefined;

  input(type: ValueType, role: InputRole, name: string): ValueId {
    const id = this.newValue(type, name);
    this.inputs.push({ value: id, role, name });
    return id;
  }

  output(value: ValueId, role: OutputRole, name: string): void {
    this.outputs.push({ value, role, name });
  }

  type(v: ValueId): ValueType {
    const info = this.values[v];
    if (!info) throw new InternalError(`unknown value %${v}`);
    return info.type;
  }

  /** Whether v, or any value it is computed from, satisfies `test` (a walk back over the nodes built so far). */
  dependsOn(v: ValueId, test: (v: ValueId) => boolean): boolean {
    const producer = new Map<ValueId, Node>();
    for (const n of this.nodes) for (const o of n.outputs) producer.set(o, n);
    const seen = new Set<ValueId>();
    const stack = [v];
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      if (test(x)) return true;
      stack.push(...(producer.get(x)?.inputs ?? []));
    }
    return false;
  }

  nameOf(v: ValueId): string | undefined {
    return this.values[v]?.name;
  }

  /** Emits a node and returns its output values. */
  emit(op: string, inputs: readonly ValueId[], attrs: Attrs = {}, opts: EmitOptions = {}): ValueId[] {
    const def = getOp(op);
    const inTypes = inputs.map((v) => this.type(v));
    const outTypes = def.infer(inTypes, attrs, opts.body);
    const outputs = outTypes.map((t, i) =>
      this.newValue(t, opts.name !== undefined ? (outTypes.length === 1 ? opts.name : `${opts.name}.${i}`) : undefined),
    );
    const source = opts.source ?? this.source;
    this.nodes.push({
      op,
      inputs: [...inputs],
      outputs,
      attrs,
      ...(opts.body ? { body: opts.body } : {}),
      ...(source !== undefined ? { source } : {}),
    });
    return outputs;
  }

  /** Emits a single-output node. */
  op(op: string, inputs: readonly ValueId[], attrs: Attrs = {}, opts: EmitOptions = {}): ValueId {
    const outs = this.emit(op, inputs, attrs, opts);
    if (outs.length !== 1) throw new InternalError(`op ${op} has ${outs.length} outputs, expected 1`);
    return outs[0]!;
  }

  /** Gives an existing value a source name (when a later binding names it). */
  rename(v: ValueId, name: string): void {
    const info = this.values[v];
    if (info && info.name === undefined) this.values[v] = { ...info, name };
  }

  constant(value: number): ValueId {
    return this.op('constant', [], { value });
  }

  build(): Graph {
    return {
      values: [...this.values],
      nodes: [...this.nodes],
      inputs: [...this.inputs],
      outputs: [...this.outputs],
    };
  }

  private newValue(type: ValueType, name: string | undefined): ValueId {
    this.values.push(name !== undefined ? { type, name } : { type });
    return this.values.length - 1;
  }
}

/**
 * Copies `graph`'s nodes into `b`, with the graph's inputs bound to `args`
 * (in input order); returns the values of its outputs (in output order).
 */
export function inlineGraph(b: GraphBuilder, graph: Graph, args: readonly ValueId[]): ValueId[] {
  if (args.length !== graph.inputs.length) {
    throw new InternalError(`inlining a graph of ${graph.inputs.length} inputs with ${args.length} arguments`);
  }
  const map = new Map<ValueId, ValueId>();
  graph.inputs.forEach((inp, i) => map.set(inp.value, args[i]!));
  const get = (v: ValueId): ValueId => {
    const m = map.get(v);
    if (m === undefined) throw new InternalError(`value %${v} used before it is defined`);
    return m;
  };
  for (const node of graph.nodes) {
    const outs = b.emit(
      node.op,
      node.inputs.map(get),
      node.attrs,
      node.body ? { body: node.body, ...(node.source ? { source: node.source } : {}) } : node.source ? { source: node.source } : {},
    );
    node.outputs.forEach((o, i) => {
      map.set(o, outs[i]!);
      const name = graph.values[o]?.name;
      if (name !== undefined) b.rename(outs[i]!, name);
    });
  }
  return graph.outputs.map((o) => get(o.value));
}

export interface RebuildContext {
  readonly b: GraphBuilder;
  /** The new value of an old value. */
  readonly get: (v: ValueId) => ValueId;
  /** Emit options that keep the node's source location. */
  readonly src: EmitOptions;
  /** The inputs `extraInputs` asked for, after the graph's own. */
  readonly extra: readonly ValueId[];
}

/**
 * Copies `g` node by node into a new graph. For each node `rewrite` may
 * return its replacement outputs (emitting nodes through ctx.b), or
 * undefined to copy it as it is. Names, sources, inputs and outputs carry
 * over. The shared skeleton of the passes that rewrite a few nodes.
 */
export function rebuildGraph(
  g: Graph,
  rewrite: (node: Node, ctx: RebuildContext) => ValueId[] | undefined,
  extraInputs: readonly { readonly type: ValueType; readonly role: InputRole; readonly name: string }[] = [],
): Graph {
  const b = new GraphBuilder();
  const map = new Map<ValueId, ValueId>();
  g.inputs.forEach((inp) => map.set(inp.value, b.input(g.values[inp.value]!.type, inp.role, inp.name)));
  const extra = extraInputs.map((x) => b.input(x.type, x.role, x.name));
  const get = (v: ValueId): ValueId => {
    const m = map.get(v);
    if (m === undefined) throw new InternalError(`rebuild: %${v} used before definition`);
    return m;
  };
  for (const node of g.nodes) {
    const src: EmitOptions = node.source !== undefined ? { source: node.source } : {};
    const outs =
      rewrite(node, { b, get, src, extra }) ?? b.emit(node.op, node.inputs.map(get), node.attrs, node.body ? { ...src, body: node.body } : src);
    node.outputs.forEach((o, k) => {
      map.set(o, outs[k]!);
      const name = g.values[o]?.name;
      if (name !== undefined) b.rename(outs[k]!, name);
    });
  }
  g.outputs.forEach((o) => b.output(get(o.value), o.role, o.name));
  return b.build();
}
