// Deterministic text form of the IR (`rnnc ir`, golden files). Values print
// as %N with their source name when they have one; scan bodies print nested;
// a fused group's body prints after its operands, one `tK = op(args)` per
// instruction (iK: the node's input K), then the temps it returns.
import { dimToString } from './shape.js';
import type { AttrValue, FusedArg, FusedBody, Graph, ValueId } from './types.js';

export function printGraph(g: Graph, title = 'graph'): string {
  return printAt(g, title, '');
}

function printAt(g: Graph, title: string, indent: string): string {
  const lines: string[] = [];
  const ref = (v: ValueId): string => {
    const name = g.values[v]?.name;
    return name !== undefined ? `%${v}:${name}` : `%${v}`;
  };
  const typeOf = (v: ValueId): string => {
    const t = g.values[v]!.type;
    return `${t.dtype}[${t.shape.map(dimToString).join(', ')}]`;
  };
  lines.push(`${indent}${title} {`);
  for (const inp of g.inputs) {
    lines.push(`${indent}  in ${inp.role} ${ref(inp.value)} : ${typeOf(inp.value)}`);
  }
  for (const node of g.nodes) {
    const outs = node.outputs.map((o) => `${ref(o)} : ${typeOf(o)}`).join(', ');
    const attrs = Object.keys(node.attrs)
      .filter((k) => !(node.op === 'fused' && k === 'body'))
      .sort()
      .map((k) => `${k}=${printAttr(node.attrs[k]!)}`);
    const attrText = attrs.length > 0 ? `[${attrs.join(', ')}]` : '';
    const src = node.source !== undefined ? `  # ${node.source}` : '';
    const fused = node.op === 'fused' ? ` ${printFusedBody(node.attrs['body'] as FusedBody)}` : '';
    lines.push(`${indent}  ${outs} = ${node.op}${attrText}(${node.inputs.map(ref).join(', ')})${fused}${src}`);
    if (node.body) lines.push(printAt(node.body, 'body', `${indent}    `));
  }
  for (const out of g.outputs) {
    lines.push(`${indent}  out ${out.role} ${out.name} = ${ref(out.value)}`);
  }
  lines.push(`${indent}}`);
  return lines.join('\n');
}

function printAttr(a: AttrValue): string {
  if (Array.isArray(a)) return `[${a.map((d) => dimToString(d)).join(', ')}]`;
  if (typeof a === 'object') return printFusedBody(a as FusedBody);
  return String(a);
}

/** `{ t0 = add(i0, i1); t1 = tanh(t0) } -> [t1]`; a unary op's attribute is its last argument. */
export function printFusedBody(body: FusedBody): string {
  const arg = (a: FusedArg): string => ('in' in a ? `i${a.in}` : 'tmp' in a ? `t${a.tmp}` : String(a.num));
  const instrs = body.instrs.map(({ op, args, attr }, k) => `t${k} = ${op}(${[...args.map(arg), ...(attr !== undefined ? [String(attr)] : [])].join(', ')})`);
  return `{ ${instrs.join('; ')} } -> [${body.outputs.map((k) => `t${k}`).join(', ')}]`;
}
