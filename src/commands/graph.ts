// `rnnc graph FILE -o model.dot|svg|html`: a model as a diagram. Each input
// and target is a node with its type; each statement a node with what it
// applies (a cell, a layer, an operation), the shape of its value and the
// number of parameters it creates; an edge runs from every name a
// statement reads to it. `.dot` is Graphviz text; `.svg`/`.png`/`.html` draw the
// same graph with vega-lite (src/heatmap.ts renderChart), nodes in rows by
// their depth from the inputs.
import { basename } from 'node:path';
import type { Expr, ModelDecl } from '../../compiler/ast/ast.js';
import { walkExpr } from '../../compiler/sema/cell.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import { CliError, EXIT } from '../errors.js';
import { renderChart } from '../heatmap.js';
import { writeFileAtomic } from '../node-io.js';
import { checkOutput, isPng, type OutputKind } from '../output-file.js';
import { loadProgram, pickModel } from '../project.js';
import { sizedModel } from '../sized-model.js';
import { info } from '../terminal.js';

export interface GraphNode {
  readonly id: string;
  readonly label: string;
  readonly kind: 'input' | 'target' | 'statement' | 'loss';
  readonly shape: string;
  readonly params: number | null;
}

export interface ModelGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly (readonly [string, string])[];
}

/** The nodes and edges of a model: its inputs, targets and statements, and which names each statement reads. */
export function modelGraph(decl: ModelDecl, model: LoweredModel): ModelGraph {
  const nodes: GraphNode[] = [];
  const edges: [string, string][] = [];
  const shapeOf = (name: string): string => {
    const v = model.graph.values.find((x) => x.name === name);
    if (!v) return '';
    const s = v.type.shape;
    const lead = s[0] === 'T' || s[0] === 'U' ? 2 : s[0] === 'B' ? 1 : 0;
    return `${lead === 2 ? 'seq ' : ''}[${s.slice(lead).join(', ')}]`;
  };
  const countOf = (name: string): number | null => {
    const mine = model.params.filter((p) => p.name === name || p.name.startsWith(`${name}.`));
    let n = 0;
    for (const p of mine) {
      const sizes = p.shape.map((d) => (typeof d === 'number' ? d : model.dims.get(d)));
      if (!sizes.every((d): d is number => typeof d === 'number')) return null;
      n += sizes.reduce((a, b) => a * b, 1);
    }
    return n;
  };
  for (const item of decl.items) {
    if (item.kind === 'IoDecl') {
      const spec = [...model.inputs, ...model.targets].find((x) => x.name === item.name.name);
      const t = spec?.type;
      const dim = (d: unknown): string => String(typeof d === 'string' ? (model.dims.get(d) ?? d) : d);
      const type = !t ? shapeOf(item.name.name) : t.kind === 'tokens' ? `seq<token[${dim(t.vocab)}]>` : t.kind === 'token' ? `token[${dim(t.vocab)}]` : t.kind === 'vectors' ? `seq<[${t.dims.map(dim).join(', ')}]>` : `[${t.dims.map(dim).join(', ')}]`;
      nodes.push({ id: item.name.name, label: item.name.name, kind: item.role, shape: type, params: 0 });
    } else if (item.kind === 'Equation') {
      const name = item.target.name;
      const what = describe(item.value);
      nodes.push({ id: name, label: `${name} = ${what}`, kind: name === 'loss' ? 'loss' : 'statement', shape: name === 'loss' ? model.loss : shapeOf(name), params: countOf(name) });
      const read = new Set<string>();
      walkExpr(item.value, (e) => {
        if (e.kind === 'NameRef' && nodes.some((n) => n.id === e.name.name)) read.add(e.name.name);
      });
      for (const r of read) edges.push([r, name]);
    }
  }
  return { nodes, edges };
}

/** What a statement applies, in a few words: the outermost call (`lstm`, `dense`), or the operator. */
function describe(e: Expr): string {
  if (e.kind === 'Call') return `${e.callee.name}(…)`;
  if (e.kind === 'Unary') return e.op === 'bidir' ? `bidir ${describe(e.operand)}` : e.op === 'reverse' ? `reverse ${describe(e.operand)}` : `-${describe(e.operand)}`;
  if (e.kind === 'Binary') return `… ${e.op} …`;
  if (e.kind === 'NameRef') return e.name.name;
  return 'value';
}

const quoteDot = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function toDot(name: string, g: ModelGraph): string {
  const lines = [`digraph ${quoteDot(name)} {`, '  rankdir=TB;', '  node [fontname="Helvetica", fontsize=11];'];
  for (const n of g.nodes) {
    const shape = n.kind === 'input' || n.kind === 'target' ? 'ellipse' : n.kind === 'loss' ? 'doubleoctagon' : 'box';
    const params = n.params === null ? '\\n? parameters' : n.params > 0 ? `\\n${n.params.toLocaleString('en-US')} parameters` : '';
    lines.push(`  ${quoteDot(n.id)} [shape=${shape}, label=${quoteDot(`${n.label}\\n${n.shape}${params}`).replace(/\\\\n/g, '\\n')}];`);
  }
  for (const [a, b] of g.edges) lines.push(`  ${quoteDot(a)} -> ${quoteDot(b)};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** The vega-lite drawing: nodes in rows by depth from the inputs, edges as lines between their centres. */
export function graphSpec(name: string, g: ModelGraph): Record<string, unknown> {
  const depth = new Map<string, number>();
  for (const n of g.nodes) {
    const from = g.edges.filter(([, b]) => b === n.id).map(([a]) => depth.get(a) ?? 0);
    depth.set(n.id, from.length === 0 ? 0 : Math.max(...from) + 1);
  }
  const rows = new Map<number, string[]>();
  for (const n of g.nodes) rows.set(depth.get(n.id)!, [...(rows.get(depth.get(n.id)!) ?? []), n.id]);
  const pos = new Map<string, { x: number; y: number }>();
  for (const [d, ids] of rows) ids.forEach((id, k) => pos.set(id, { x: (k + 1) / (ids.length + 1), y: d }));
  const maxDepth = Math.max(...depth.values());
  const nodes = g.nodes.map((n) => ({
    ...pos.get(n.id)!,
    label: n.label,
    detail: `${n.shape}${n.params === null ? ' · ? parameters' : n.params > 0 ? ` · ${n.params.toLocaleString('en-US')} parameters` : ''}`,
    kind: n.kind,
  }));
  const edges = g.edges.map(([a, b]) => ({ x: pos.get(a)!.x, y: pos.get(a)!.y, x2: pos.get(b)!.x, y2: pos.get(b)!.y }));
  const x = { scale: { domain: [0, 1] }, axis: null };
  const y = { scale: { domain: [-0.5, maxDepth + 0.5], reverse: true }, axis: null };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `model ${name}`,
    width: 640,
    height: 90 * (maxDepth + 1),
    layer: [
      { data: { values: edges }, mark: { type: 'rule', color: '#999' }, encoding: { x: { field: 'x', type: 'quantitative', ...x }, y: { field: 'y', type: 'quantitative', ...y }, x2: { field: 'x2' }, y2: { field: 'y2' } } },
      {
        data: { values: nodes.map((n) => ({ ...n, x0: n.x - 0.15, x1: n.x + 0.15, y0: n.y - 0.3, y1: n.y + 0.3 })) },
        mark: { type: 'rect', cornerRadius: 4, stroke: '#777', strokeWidth: 0.5 },
        encoding: {
          x: { field: 'x0', type: 'quantitative', ...x },
          x2: { field: 'x1' },
          y: { field: 'y0', type: 'quantitative', ...y },
          y2: { field: 'y1' },
          color: { field: 'kind', type: 'nominal', title: 'node', scale: { domain: ['input', 'target', 'statement', 'loss'], range: ['#cfe3f7', '#f7e3cf', '#e8e8e8', '#f4cccc'] } },
        },
      },
      { data: { values: nodes }, mark: { type: 'text', dy: -7, fontWeight: 'bold' }, encoding: { x: { field: 'x', type: 'quantitative', ...x }, y: { field: 'y', type: 'quantitative', ...y }, text: { field: 'label' } } },
      { data: { values: nodes }, mark: { type: 'text', dy: 8, fontSize: 10 }, encoding: { x: { field: 'x', type: 'quantitative', ...x }, y: { field: 'y', type: 'quantitative', ...y }, text: { field: 'detail' } } },
    ],
  };
}

/** A diagram rnnc drew: Graphviz text it wrote, or an SVG/page. */
const diagramFile: OutputKind = {
  what: 'a model diagram written by rnnc graph',
  isOwn: (text) => text.startsWith('digraph ') || isPng(text) || text.startsWith('<svg xmlns="http://www.w3.org/2000/svg"') || /^<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>model<\/title>/.test(text),
};

export interface GraphOptions {
  readonly output: string;
  readonly model?: string;
  readonly dims?: Readonly<Record<string, number>>;
  readonly ckpt?: string;
  readonly force?: boolean;
}

export async function graphCommand(file: string, opts: GraphOptions): Promise<number> {
  const ext = opts.output.toLowerCase().split('.').pop();
  if (ext !== 'dot' && ext !== 'svg' && ext !== 'html' && ext !== 'png') throw new CliError(`-o ${opts.output}: write the diagram as .dot (Graphviz), .svg, .png or .html`, EXIT.usage);
  checkOutput(opts.output, { inputs: [file, ...(opts.ckpt ? [opts.ckpt] : [])], kind: diagramFile, force: opts.force ?? false, headBytes: 256 });
  const program = loadProgram(file, { quietWarnings: true });
  const name = pickModel(program, opts.model);
  const model = sizedModel(program, name, opts);
  const g = modelGraph(program.analysis.models.get(name)!, model);
  const text = ext === 'dot' ? toDot(name, g) : await renderChart(graphSpec(name, g), ext, 'model');
  writeFileAtomic(opts.output, text);
  info(`model ${name} (${g.nodes.length} nodes) from ${basename(file)}: ${opts.output}`);
  return EXIT.ok;
}
