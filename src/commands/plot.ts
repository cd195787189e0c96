// `rnnc plot`: the training curves of one or more runs, from the
// metrics.jsonl files `rnnc run` writes (runs/<model>/metrics.jsonl): the
// training loss over the optimizer steps (a line per run) with the
// validation losses as points, and beside it the validation metrics
// (accuracy, exact match, perplexity) where the runs have them. Drawn with
// vega-lite into SVG (or an HTML page holding it), as the other charts
// (src/heatmap.ts). `rnnc run --plot FILE` draws its own run at the end.
import { basename, dirname, resolve, sep } from 'node:path';
import { readFileSync } from 'node:fs';
import { CliError, EXIT } from '../errors.js';
import { heatmapFormat, renderChart } from '../heatmap.js';
import { nodeIO, userError, writeFileAtomic } from '../node-io.js';
import { checkOutput, heatmapFile } from '../output-file.js';
import { info } from '../terminal.js';

/** One record of a run's metrics.jsonl that the chart uses. */
interface Point {
  readonly run: string;
  readonly step: number;
  readonly series: string;
  readonly value: number;
}

/**
 * The runs' names in the legend: each run's folder, with as many folders above
 * it as tell two runs of the same name apart (a/lstm, b/lstm); the same file
 * given twice is numbered.
 */
export function runLabels(files: readonly string[]): string[] {
  const parts = files.map((f) => {
    const abs = resolve(f).split(sep).filter((x) => x !== '');
    return basename(f) === 'metrics.jsonl' ? abs.slice(0, -1) : abs;
  });
  const label = (k: number, depth: number): string => (parts[k]!.length === 0 ? files[k]! : parts[k]!.slice(-depth).join('/'));
  const depths = files.map(() => 1);
  for (let changed = true; changed; ) {
    changed = false;
    const seen = new Map<string, number[]>();
    files.forEach((_, k) => seen.set(label(k, depths[k]!), [...(seen.get(label(k, depths[k]!)) ?? []), k]));
    for (const ks of seen.values()) {
      // The same file given twice keeps its short name (numbered below).
      if (new Set(ks.map((k) => parts[k]!.join('/'))).size < 2) continue;
      for (const k of ks) {
        if (depths[k]! < parts[k]!.length) {
          depths[k]!++;
          changed = true;
        }
      }
    }
  }
  const count = new Map<string, number>();
  return files.map((_, k) => {
    const name = label(k, depths[k]!);
    const n = (count.get(name) ?? 0) + 1;
    count.set(name, n);
    return n === 1 ? name : `${name} (${n})`;
  });
}

/** The run's name: its folder (runs/<model>/metrics.jsonl -> <model>), or the file's name. */
function runName(path: string): string {
  return basename(path) === 'metrics.jsonl' ? basename(dirname(path)) || path : basename(path);
}

/** The chart's points of one metrics.jsonl; a line that is not a metrics record is an error naming it. */
export function readMetrics(path: string, text: string, run = runName(path)): Point[] {
  const out: Point[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      throw new CliError(`${path}:${i + 1}: not a JSON object (a metrics.jsonl of rnnc run has one per line)`);
    }
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new CliError(`${path}:${i + 1}: not a JSON object (a metrics.jsonl of rnnc run has one per line)`);
    const m = r as Record<string, unknown>;
    const step = m['step'];
    if (typeof step !== 'number' || !Number.isFinite(step)) throw new CliError(`${path}:${i + 1}: a record without a "step" number`);
    const num = (k: string): number | undefined => (typeof m[k] === 'number' && Number.isFinite(m[k]) ? (m[k] as number) : undefined);
    const greedy = m['feed'] === 'greedy' ? ' (greedy)' : '';
    if (m['kind'] === 'train') {
      const loss = num('loss');
      if (loss !== undefined) out.push({ run, step, series: 'training loss', value: loss });
    } else if (m['kind'] === 'eval') {
      const loss = num('loss');
      if (loss !== undefined) out.push({ run, step, series: `validation loss${greedy}`, value: loss });
      for (const [k, label] of [['accuracy', 'accuracy'], ['exact', 'exact match']] as const) {
        const v = num(k);
        if (v !== undefined) out.push({ run, step, series: `${label}${greedy}`, value: v });
      }
    }
  });
  if (!out.some((p) => p.series === 'training loss')) throw new CliError(`${path}: no training steps ({"kind":"train", ...}): is it a metrics.jsonl written by rnnc run?`);
  return out;
}

/** The vega-lite specification: losses over steps (lines for training, points for validation), and validation metrics. */
export function curvesSpec(points: readonly Point[]): Record<string, unknown> {
  const losses = points.filter((p) => p.series.includes('loss'));
  const metrics = points.filter((p) => !p.series.includes('loss'));
  const runs = [...new Set(points.map((p) => p.run))];
  const color = { field: 'run', type: 'nominal', title: 'run', scale: { domain: runs } };
  const lossPanel = {
    title: 'loss',
    width: 480,
    height: 300,
    data: { values: losses },
    layer: [
      {
        transform: [{ filter: "datum.series === 'training loss'" }],
        mark: { type: 'line', strokeWidth: 1.2 },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
          y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
          color,
          detail: { field: 'run' },
        },
      },
      {
        transform: [{ filter: "datum.series !== 'training loss'" }],
        mark: { type: 'point', filled: true, size: 60 },
        encoding: {
          x: { field: 'step', type: 'quantitative' },
          y: { field: 'value', type: 'quantitative' },
          color,
          shape: { field: 'series', type: 'nominal', title: 'validation' },
          tooltip: [{ field: 'run' }, { field: 'series' }, { field: 'step' }, { field: 'value', format: '.4f' }],
        },
      },
    ],
  };
  const metricPanel = {
    title: 'validation metrics',
    width: 320,
    height: 300,
    data: { values: metrics },
    mark: { type: 'point', filled: true, size: 60 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
      y: { field: 'value', type: 'quantitative', title: 'share', scale: { domain: [0, 1] }, axis: { format: '%' } },
      color,
      shape: { field: 'series', type: 'nominal', title: 'metric' },
      tooltip: [{ field: 'run' }, { field: 'series' }, { field: 'step' }, { field: 'value', format: '.2%' }],
    },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    hconcat: metrics.length > 0 ? [lossPanel, metricPanel] : [lossPanel],
    resolve: { scale: { color: 'shared' } },
  };
}

export interface PlotOptions {
  readonly output: string;
  readonly force?: boolean;
}

export async function plotCommand(files: readonly string[], opts: PlotOptions): Promise<number> {
  if (files.length === 0) throw new CliError('give one or more metrics.jsonl files (runs/<model>/metrics.jsonl)', EXIT.usage);
  const format = heatmapFormat(opts.output, '-o');
  checkOutput(opts.output, { inputs: files, kind: heatmapFile, force: opts.force ?? false, headBytes: 256 });
  const labels = runLabels(files);
  const points = files.flatMap((f, i) => {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      return userError(e, 'read', f);
    }
    return readMetrics(f, text, labels[i]!);
  });
  writeFileAtomic(opts.output, await renderChart(curvesSpec(points), format, 'curves'));
  info(`curves of ${files.length} run${files.length === 1 ? '' : 's'}: ${opts.output}`);
  return EXIT.ok;
}
