// Deterministic text form of the IR (`rnnc ir`, golden files). Values print
// as %N with their source name when they have one; scan bodies print nested.
import { dimToString } from './shape.js';
import type { AttrValue, Graph, ValueId } from './types.js';

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
      .sort()
      .map((k) => `${k}=${printAttr(node.attrs[k]!)}`);
    const attrText = attrs.length > 0 ? `[${attrs.join(', ')}]` : '';
    const src = node.source !== undefined ? `  # ${node.source}` : '';
    lines.push(`${indent}  ${outs} = ${node.op}${attrText}(${node.inputs.map(ref).join(', ')})${src}`);
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
  return String(a);
}
