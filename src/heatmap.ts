// Charts drawn with vega-lite and rendered to SVG by vega (no browser, no
// canvas); `.html` wraps the same SVG in a page. PNG would need vega's
// canvas renderer and the native `canvas` package, which rnnc does not
// install. Attention heat maps: for each input, the weights a decoder gave
// each input token (columns) while writing each output token (rows). Code
// maps: the first two numbers of each example's code, coloured by class.
import { extname } from 'node:path';
import { CliError, EXIT } from './errors.js';

export interface AttentionMap {
  readonly input: readonly string[];
  readonly output: readonly string[];
  /** weights[t][l]: output step t's weight on input position l. */
  readonly weights: readonly (readonly number[])[];
}

/** The file kinds a heat map is written as, by extension. */
export function heatmapFormat(path: string, flag = '--attention'): 'svg' | 'html' {
  const ext = extname(path).toLowerCase();
  if (ext === '.svg' || ext === '.html') return ext.slice(1) as 'svg' | 'html';
  throw new CliError(
    `${flag} ${path}: write the ${flag === '--attention' ? 'heat map' : 'chart'} as .svg or .html${ext === '.png' ? ' (PNG needs the native `canvas` package, which rnnc does not install)' : ''}`,
    EXIT.usage,
  );
}

/** Tokens as text: characters side by side, words with spaces. */
function text(tokens: readonly string[]): string {
  return tokens.join(tokens.every((t) => [...t].length === 1) ? '' : ' ');
}

/** The vega-lite specification: one heat map per input, stacked; positions keep repeated tokens apart. */
export function heatmapSpec(maps: readonly AttentionMap[]): Record<string, unknown> {
  const cell = 22;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    vconcat: maps.map((m, k) => ({
      title: `${k + 1}: ${text(m.input)} -> ${text(m.output)}`,
      width: cell * m.input.length,
      height: cell * m.output.length,
      data: { values: m.weights.flatMap((row, t) => row.map((w, l) => ({ input: `${l}|${m.input[l]}`, output: `${t}|${m.output[t]}`, weight: w }))) },
      mark: 'rect',
      encoding: {
        x: { field: 'input', type: 'ordinal', sort: null, title: 'input', axis: { labelExpr: "split(datum.value, '|')[1]", labelAngle: 0 } },
        y: { field: 'output', type: 'ordinal', sort: null, title: 'output', axis: { labelExpr: "split(datum.value, '|')[1]" } },
        color: { field: 'weight', type: 'quantitative', title: 'attention', scale: { domain: [0, 1], scheme: 'greys' } },
        tooltip: [{ field: 'weight', type: 'quantitative', format: '.3f' }],
      },
    })),
  };
}

/** The heat maps as an SVG document, or an HTML page holding it. */
export async function renderHeatmap(maps: readonly AttentionMap[], format: 'svg' | 'html'): Promise<string> {
  return renderChart(heatmapSpec(maps), format, 'attention');
}

/** A scatter plot of 2-D codes, one point per example, coloured by its class when it has one. */
export function codesSpec(points: readonly { readonly x: number; readonly y: number; readonly label?: string }[], what: string): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${what}: the first two numbers of each example`,
    width: 420,
    height: 420,
    data: { values: points },
    mark: { type: 'circle', size: 18, opacity: 0.7 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: `${what}[0]` },
      y: { field: 'y', type: 'quantitative', title: `${what}[1]` },
      ...(points.some((p) => p.label !== undefined) ? { color: { field: 'label', type: 'nominal', title: 'class' } } : {}),
    },
  };
}

/** Renders a vega-lite specification as an SVG document, or an HTML page holding it. */
export async function renderChart(spec: Record<string, unknown>, format: 'svg' | 'html', title: string): Promise<string> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const view = new vega.View(vega.parse(vl.compile(spec as unknown as Parameters<typeof vl.compile>[0]).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  if (format === 'svg') return svg;
  return `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${title}</title></head>\n<body>\n${svg}\n</body>\n</html>\n`;
}
