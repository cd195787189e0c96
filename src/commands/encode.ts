// `rnnc encode`: the value a statement of a trained model computes, for each
// example of its data's validation split, as JSON lines: an autoencoder's
// codes (`code = dense(last(enc), Z)`) and, with a second --value, its
// reconstructions; with each example's targets (a digit's label), so that
// the codes of classes can be told apart.
import * as tf from '@tensorflow/tfjs-core';
import type { Graph } from '../../compiler/ir/types.js';
import { trainingGraphs } from '../../compiler/compile.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import { loadCheckpoint } from '../../runtime/checkpoint.js';
import { makeBatches } from '../../runtime/data/batching.js';
import { isSequenceType, type HostTensor } from '../../runtime/data/types.js';
import { startBackend } from '../backend-choice.js';
import { CliError, EXIT } from '../errors.js';
import { nodeIO, writeFileAtomic } from '../node-io.js';
import { newSession } from '../new-session.js';
import { didYouMean } from '../../compiler/sema/suggest.js';
import { bindModel, loadData, loadProgram, pickModel, trainConfigFor } from '../project.js';
import { checkOutput, encodedLines, heatmapFile } from '../output-file.js';
import { codesSpec, heatmapFormat, renderChart } from '../heatmap.js';
import { info } from '../terminal.js';
import { batchSpecs, type CheckpointExtra } from './run.js';

export interface EncodeOptions {
  readonly ckpt: string;
  readonly value?: readonly string[];
  readonly limit?: number;
  readonly output?: string;
  /** Draw the first two numbers of the first value, coloured by the first target when it is a class (.svg or .html). */
  readonly plot?: string;
  readonly force?: boolean;
  readonly model?: string;
  readonly backend?: string;
}

/** The model's graph with the named statements' values as extra outputs (kept through the optimisation passes). */
export function graphWithValues(model: LoweredModel, names: readonly string[]): Graph {
  const g = model.graph;
  const inputs = new Set(g.inputs.map((i) => i.name));
  const statements = [...new Set(g.values.flatMap((v) => (v.name !== undefined && !v.name.includes('.') && !inputs.has(v.name) ? [v.name] : [])))];
  const outputs = names.map((name) => {
    const id = g.values.findIndex((v) => v.name === name);
    const input = g.inputs.find((i) => i.name === name);
    if (id < 0 || input) {
      const hint = didYouMean(name, statements) ?? `its statements: ${statements.join(', ')}`;
      throw new CliError(`model ${model.name} has no statement \`${name}\` to encode with; ${hint}`, EXIT.usage);
    }
    return { value: id, role: 'result' as const, name };
  });
  const withOutputs: LoweredModel = { ...model, graph: { ...g, outputs: [...g.outputs, ...outputs] } };
  return trainingGraphs(withOutputs, false, { liftParamTransposes: true }).predict;
}

export async function encodeCommand(file: string, opts: EncodeOptions): Promise<number> {
  const program = loadProgram(file, { quietWarnings: true });
  const name = pickModel(program, opts.model);
  const config = trainConfigFor(program, name);
  const ckpt = loadCheckpoint(nodeIO, opts.ckpt);
  const extra = ckpt.extra as Partial<CheckpointExtra> | undefined;
  if (!extra?.dims) throw new CliError(`${opts.ckpt} was not written by \`rnnc run\` (it has no data dimensions)`);
  const model = bindModel(program, name, extra.dims);
  if (opts.output !== undefined) checkOutput(opts.output, { inputs: [file, opts.ckpt], kind: encodedLines, force: opts.force ?? false, headBytes: 64 });
  const plotFormat = opts.plot !== undefined ? heatmapFormat(opts.plot, '--plot') : undefined;
  if (opts.plot !== undefined) checkOutput(opts.plot, { inputs: [file, opts.ckpt], kind: heatmapFile, force: opts.force ?? false, headBytes: 256 });
  const values = opts.value !== undefined && opts.value.length > 0 ? opts.value : ['code'];
  const graph = graphWithValues(model, values);
  info(`backend: ${await startBackend(opts.backend)}`);
  const data = loadData(program, config);
  const examples = (data.valid.length > 0 ? data.valid : data.train).slice(0, opts.limit ?? Infinity);
  const session = newSession(model, config);
  const lines: string[] = [];
  try {
    session.restore(ckpt, opts.ckpt);
    let index = 0;
    for (const batch of makeBatches(examples, batchSpecs(model, data), config.batch, null)) {
      const outs = session.outputsWith(graph, batch);
      const rows = new Map<string, number[][]>();
      for (const v of values) {
        const t = outs.get(v)!;
        rows.set(v, await perExample(t, graph.values[graph.outputs.find((o) => o.name === v)!.value]!.type.shape[0] === 'T', batch.lengths));
      }
      outs.forEach((t) => t.dispose());
      for (let b = 0; b < batch.batchSize; b++) {
        const entry: Record<string, unknown> = { index: index++ };
        for (const v of values) entry[v] = rows.get(v)![b];
        data.targets.forEach((spec, k) => (entry[spec.name] = hostRow(batch.targets[k]!, isSequenceType(spec.type), b, batch.lengths[b]!)));
        lines.push(JSON.stringify(entry));
      }
    }
  } finally {
    session.dispose();
  }
  if (opts.plot !== undefined) {
    const first = values[0]!;
    const label = data.targets.find((t) => t.type.kind === 'token');
    const points = lines.map((l) => {
      const row = JSON.parse(l) as Record<string, unknown>;
      const v = row[first] as number[];
      if (v.length < 2) throw new CliError(`--plot draws two numbers of \`${first}\`, which has ${v.length}`);
      return { x: v[0]!, y: v[1]!, ...(label ? { label: String(row[label.name]) } : {}) };
    });
    writeFileAtomic(opts.plot, await renderChart(codesSpec(points, first), plotFormat!, 'codes'));
    info(`${points.length} codes drawn: ${opts.plot}`);
  }
  const text = `${lines.join('\n')}\n`;
  if (opts.output !== undefined) {
    nodeIO.writeTextAtomic(opts.output, text);
    info(`${lines.length} examples: ${opts.output}`);
  } else process.stdout.write(text);
  return EXIT.ok;
}

/** Rows of a [B, ...] value, or of a [T, B, ...] sequence (its real steps only), as nested arrays per example. */
async function perExample(t: tf.Tensor, seq: boolean, lengths: Int32Array): Promise<number[][]> {
  const data = Array.from(await t.data());
  if (!seq) {
    const B = t.shape[0]!;
    const w = data.length / B;
    return Array.from({ length: B }, (_, b) => data.slice(b * w, (b + 1) * w));
  }
  const [T, B] = [t.shape[0]!, t.shape[1]!];
  const w = data.length / (T * B);
  return Array.from({ length: B }, (_, b) => Array.from({ length: Math.min(lengths[b]!, T) }, (_, s) => data.slice((s * B + b) * w, (s * B + b + 1) * w)).flat());
}

/** Example b of a batch field: a sequence [T, B, ...] over its real steps, or a per-example value [B, ...]; a token as a number. */
function hostRow(h: HostTensor, seq: boolean, b: number, length: number): number | number[] {
  const [lead, B] = seq ? [2, h.shape[1]!] : [1, h.shape[0]!];
  const w = h.shape.slice(lead).reduce((x, y) => x * y, 1);
  if (!seq) return h.shape.length === 1 ? h.data[b]! : Array.from(h.data.slice(b * w, (b + 1) * w));
  return Array.from({ length }, (_, t) => Array.from(h.data.slice((t * B + b) * w, (t * B + b + 1) * w))).flat();
}
