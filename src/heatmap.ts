// Charts drawn with vega-lite and rendered to SVG by vega (no browser, no
// canvas); `.html` wraps the same SVG in a page, and `.png` is that SVG
// rasterised by resvg (@resvg/resvg-js, prebuilt; text in the system's
// sans-serif fonts). Attention heat maps: for each input, the weights a decoder gave
// each input token (columns) while writing each output token (rows). Code
// maps: the first two numbers of each example's code, coloured by class.
// Visual attention: each image once per output token, with the weight of
// each feature-map location laid over it.
import { extname } from 'node:path';
import { deflateSync } from 'node:zlib';
import { CliError, EXIT } from './errors.js';

export interface AttentionMap {
  readonly input: readonly string[];
  readonly output: readonly string[];
  /** weights[t][l]: output step t's weight on input position l. */
  readonly weights: readonly (readonly number[])[];
}

/** The file kinds a chart is written as. */
export type ChartFormat = 'svg' | 'html' | 'png';

/** The file kinds a heat map is written as, by extension. */
export function heatmapFormat(path: string, flag = '--attention'): ChartFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.svg' || ext === '.html' || ext === '.png') return ext.slice(1) as ChartFormat;
  throw new CliError(`${flag} ${path}: write the ${flag === '--attention' ? 'heat map' : 'chart'} as .svg, .png or .html`, EXIT.usage);
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
export async function renderHeatmap(maps: readonly AttentionMap[], format: ChartFormat): Promise<string | Uint8Array> {
  return renderChart(heatmapSpec(maps), format, 'attention');
}

/** Visual attention over one image: the weights of a feature map's locations (row-major) for each output token. */
export interface ImageAttention {
  /** [height, width, channels] row-major; the first channel is drawn, in grey levels scaled to its range. */
  readonly image: Float32Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly output: readonly string[];
  /** The true output, where it is known (held-out examples). */
  readonly truth?: string;
  /** weights[t][l]: output step t's weight on location l of the feature map. */
  readonly weights: readonly (readonly number[])[];
}

/**
 * The rows and columns of a feature map of `locations` made from a
 * height x width image by pooling: the block size s whose
 * floor(height / s) x floor(width / s) grid has that many locations; one
 * row of locations when none has.
 */
export function locationGrid(height: number, width: number, locations: number): [number, number] {
  for (let s = 1; s <= Math.max(height, width); s++) {
    const [h, w] = [Math.floor(height / s), Math.floor(width / s)];
    if (h * w === locations) return [h, w];
  }
  return [1, locations];
}

/** The vega-lite specification: for each image a row of panels, one per output token, the weights laid over the image. */
export function imageAttentionSpec(maps: readonly ImageAttention[]): Record<string, unknown> {
  const scale = Math.max(1, Math.min(4, Math.floor(260 / Math.max(...maps.map((m) => m.width)))));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    vconcat: maps.map((m, k) => {
      const [gh, gw] = locationGrid(m.height, m.width, m.weights[0]?.length ?? 1);
      const [ch, cw] = [m.height / gh, m.width / gw];
      const url = `data:image/png;base64,${greyPng(m).toString('base64')}`;
      const x = { type: 'quantitative', scale: { domain: [0, m.width], nice: false, zero: false }, axis: null };
      const y = { type: 'quantitative', scale: { domain: [0, m.height], nice: false, zero: false, reverse: true }, axis: null };
      const picture = {
        data: { values: [{ x: 0, y: 0, url }] },
        mark: { type: 'image', width: m.width * scale, height: m.height * scale, align: 'left', baseline: 'top', aspect: false },
        encoding: { x: { field: 'x', ...x }, y: { field: 'y', ...y }, url: { field: 'url', type: 'nominal' } },
      };
      const panel = (t: number, token: string): Record<string, unknown> => ({
        title: { text: token, fontSize: 13 },
        width: m.width * scale,
        height: m.height * scale,
        layer: [
          picture,
          {
            data: { values: (m.weights[t] ?? []).map((w, l) => ({ x: (l % gw) * cw, x2: ((l % gw) + 1) * cw, y: Math.floor(l / gw) * ch, y2: (Math.floor(l / gw) + 1) * ch, weight: w })) },
            mark: { type: 'rect', color: '#ff7f0e' },
            encoding: {
              x: { field: 'x', ...x },
              x2: { field: 'x2' },
              y: { field: 'y', ...y },
              y2: { field: 'y2' },
              opacity: { field: 'weight', type: 'quantitative', scale: { domain: [0, Math.max(1e-9, ...(m.weights[t] ?? []))], range: [0, 0.75] }, legend: null },
              tooltip: [{ field: 'weight', type: 'quantitative', format: '.3f' }],
            },
          },
        ],
      });
      // An empty output (the end token first) still shows its image.
      const panels = m.output.length > 0 ? m.output.map((token, t) => panel(t, token)) : [{ title: { text: '(no output)', fontSize: 13 }, width: m.width * scale, height: m.height * scale, ...picture }];
      const title = `${k + 1}: ${m.output.length > 0 ? text(m.output) : '(no output)'}${m.truth !== undefined ? `  (true: ${m.truth})` : ''}`;
      return { title, hconcat: panels, resolve: { scale: { opacity: 'independent' } } };
    }),
    resolve: { scale: { x: 'independent', y: 'independent', opacity: 'independent' } },
  };
}

/** The attention over images as an SVG document, or an HTML page holding it. */
export async function renderImageAttention(maps: readonly ImageAttention[], format: ChartFormat): Promise<string | Uint8Array> {
  return renderChart(imageAttentionSpec(maps), format, 'visual attention');
}

/** The first channel of an image as an 8-bit grey PNG, scaled from its smallest to its largest value. */
export function greyPng(m: Pick<ImageAttention, 'image' | 'height' | 'width' | 'channels'>): Buffer {
  let [lo, hi] = [Infinity, -Infinity];
  for (let i = 0; i < m.height * m.width; i++) {
    const v = m.image[i * m.channels]!;
    if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  }
  const span = hi > lo ? hi - lo : 1;
  // Each row starts with its filter type (0: none).
  const raw = Buffer.alloc(m.height * (m.width + 1));
  for (let y = 0; y < m.height; y++)
    for (let x = 0; x < m.width; x++) {
      const v = m.image[(y * m.width + x) * m.channels]!;
      raw[y * (m.width + 1) + 1 + x] = Number.isFinite(v) ? Math.round((255 * (v - lo)) / span) : 0;
    }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(m.width, 0);
  header.writeUInt32BE(m.height, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8 bits, grey, deflate, adaptive filtering, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0))]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** CRC-32 (ISO 3309, as PNG uses it). */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
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

/** Renders a vega-lite specification as an SVG document, an HTML page holding it, or a PNG image of it. */
export async function renderChart(spec: Record<string, unknown>, format: ChartFormat, title: string): Promise<string | Uint8Array> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const view = new vega.View(vega.parse(vl.compile(spec as unknown as Parameters<typeof vl.compile>[0]).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  if (format === 'svg') return svg;
  if (format === 'png') return svgToPng(svg);
  return `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${title}</title></head>\n<body>\n${svg}\n</body>\n</html>\n`;
}

/**
 * An SVG as a PNG at twice its size, on white, by resvg. Its text is drawn
 * in the system's fonts (vega asks for sans-serif: DejaVu Sans where it is
 * installed, else the system's default).
 */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true, sansSerifFamily: 'DejaVu Sans', defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
