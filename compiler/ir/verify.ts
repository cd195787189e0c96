// The IR verifier: every value is defined once before use, every node names
// a registry op, its operands pass the op's rule in full (shapes, dtypes,
// attributes, a scan's carries, steps and constants against its body, a
// fused group's body), node output types agree with the rule, graph
// outputs exist, and scan bodies verify recursively. Run after lowering,
// after differentiation and truncation, after every pass of the pipeline and
// on every graph codegen receives. test/ir/verify.test.ts has a broken graph
// for each rule.
import { InternalError } from '../diagnostics/diagnostic.js';
import { findOp } from './ops.js';
import { sameShape, shapeToString } from './shape.js';
import type { Graph, ValueId } from './types.js';

export function verifyGraph(g: Graph, stage = 'graph'): void {
  const defined = new Set<ValueId>();
  const define = (v: ValueId, what: string): void => {
    if (defined.has(v)) throw new InternalError(`${stage}: %${v} defined twice (${what})`);
    if (!g.values[v]) throw new InternalError(`${stage}: %${v} has no type (${what})`);
    defined.add(v);
  };
  g.inputs.forEach((inp) => define(inp.value, `input ${inp.name}`));
  g.nodes.forEach((node, i) => {
    for (const v of node.inputs) {
      if (!defined.has(v)) throw new InternalError(`${stage}: node ${i} (${node.op}) uses %${v} before definition`);
    }
    const def = findOp(node.op);
    if (def === undefined) throw new InternalError(`${stage}: node ${i}: unknown op ${String(node.op)}`);
    if (def.arity !== 'variadic' && def.arity !== node.inputs.length) {
      throw new InternalError(`${stage}: node ${i} (${node.op}) has ${node.inputs.length} inputs, wants ${def.arity}`);
    }
    let types;
    try {
      types = def.infer(node.inputs.map((v) => g.values[v]!.type), node.attrs, node.body);
    } catch (e) {
      throw new InternalError(`${stage}: node ${i} (${node.op}) is ill-typed: ${(e as Error).message}`);
    }
    if (types.length !== node.outputs.length) {
      throw new InternalError(`${stage}: node ${i} (${node.op}) has ${node.outputs.length} outputs, rule gives ${types.length}`);
    }
    node.outputs.forEach((o, k) => {
      const want = types[k]!;
      const got = g.values[o]?.type;
      if (!got || got.dtype !== want.dtype || !sameShape(got.shape, want.shape)) {
        throw new InternalError(
          `${stage}: node ${i} (${node.op}) output %${o} is ${got ? shapeToString(got.shape) : 'untyped'}, rule gives ${shapeToString(want.shape)}`,
        );
      }
      define(o, `node ${i}`);
    });
    if (node.body) verifyGraph(node.body, `${stage} > scan body of node ${i}`);
  });
  for (const out of g.outputs) {
    if (!defined.has(out.value)) throw new InternalError(`${stage}: output ${out.name} is undefined`);
  }
}
