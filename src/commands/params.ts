// `rnnc params CKPT`: a checkpoint's parameters in the JSON exchange format.
// `rnnc params FILE.rnn --init [--seed N]`: a model's freshly initialised
// parameters, the very values `rnnc run` with that seed starts from: a
// TrainingSession's own initParams draws them (the initialisers of
// runtime/init.ts, seeded), on dimensions bound as run binds them (from the
// train block's data), or from --dims.
import type { LoweredModel } from '../../compiler/sema/model.js';
import type { TrainConfig } from '../../compiler/sema/train.js';
import { loadCheckpoint } from '../../runtime/checkpoint.js';
import { formatParamsJson, parseParamsJson } from '../../runtime/params-json.js';
import { CliError, EXIT } from '../errors.js';
import { nodeIO } from '../node-io.js';
import { checkOutput, type OutputKind } from '../output-file.js';

/** What `rnnc params -o` may replace without --force: a file that reads as parameters. */
export const paramsFile: OutputKind = {
  what: 'a parameters file (rnnc params)',
  isOwn: (text) => {
    try {
      parseParamsJson(text, 'output');
      return true;
    } catch {
      return false;
    }
  },
};

export interface ParamsOptions {
  readonly output?: string;
  readonly force?: boolean;
  readonly init?: boolean;
  readonly seed?: number;
  readonly model?: string;
  readonly dims?: Readonly<Record<string, number>>;
}

export async function paramsCommand(source: string, opts: ParamsOptions): Promise<number> {
  if (opts.init) return initCommand(source, opts);
  const stray = (['seed', 'model', 'dims'] as const).filter((k) => opts[k] !== undefined);
  if (stray.length > 0) {
    throw new CliError(`${stray.map((k) => `--${k}`).join(', ')} go${stray.length === 1 ? 'es' : ''} with --init (fresh parameters from a .rnn file); a checkpoint's parameters are what they are`, EXIT.usage);
  }
  return checkpointParams(source, opts);
}

function checkpointParams(ckptPath: string, opts: ParamsOptions): number {
  if (opts.output) checkOutput(opts.output, { inputs: [ckptPath], kind: paramsFile, force: opts.force ?? false });
  const ckpt = loadCheckpoint(nodeIO, ckptPath);
  const map = new Map(Object.entries(ckpt.params).map(([k, v]) => [k, { shape: v.shape, data: Float64Array.from(v.data) }]));
  const text = formatParamsJson(map);
  if (opts.output) nodeIO.writeTextAtomic(opts.output, text);
  else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return EXIT.ok;
}

async function initCommand(file: string, opts: ParamsOptions): Promise<number> {
  if (opts.output) checkOutput(opts.output, { inputs: [file], kind: paramsFile, force: opts.force ?? false });
  // Loaded here, not at the top: `rnnc params CKPT` needs neither the compiler nor tfjs.
  const { bindModel, loadData, loadProgram, modelForData, pickModel } = await import('../project.js');
  const { newSession } = await import('../new-session.js');
  const { startBackend } = await import('../backend-choice.js');
  const program = loadProgram(file, { quietWarnings: true });
  const name = pickModel(program, opts.model);
  const trained = program.analysis.trains.get(name);
  let model: LoweredModel;
  if (opts.dims !== undefined) {
    model = bindModel(program, name, opts.dims);
  } else if (trained?.data) {
    model = modelForData(program, name, loadData(program, trained));
  } else {
    const { buildModel } = await import('../../compiler/compile.js');
    const unbound = [...(buildModel(program.analysis, name, {}).model?.dims ?? [])].filter(([, v]) => typeof v !== 'number').map(([k]) => k);
    if (unbound.length > 0) {
      throw new CliError(`model ${name} has no train block with data to size ${unbound.join(', ')}: give ${unbound.length > 1 ? 'them' : 'it'} with --dims ${unbound.map((k) => `${k}=...`).join(',')}`);
    }
    model = bindModel(program, name, {});
  }
  const seed = opts.seed ?? trained?.seed ?? 0;
  // The session only holds the parameters; full BPTT so that any model (one running a cell backwards too) has its graphs.
  const config: TrainConfig = {
    ...(trained ?? { model: name, optimizer: { name: 'sgd', args: {}, positional: [], span: model.span }, batch: 1, epochs: 1, seed, checkpoint: 0, span: model.span }),
    bptt: { kind: 'full' },
  };
  await startBackend('cpu');
  const session = newSession(model, config);
  let text: string;
  try {
    session.initParams(seed);
    const map = new Map(Object.entries(await session.paramsJson()).map(([k, v]) => [k, { shape: v.shape, data: Float64Array.from(v.data) }]));
    text = formatParamsJson(map);
  } finally {
    session.dispose();
  }
  if (opts.output) nodeIO.writeTextAtomic(opts.output, text);
  else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return EXIT.ok;
}
