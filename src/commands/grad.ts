// `rnnc grad FILE --params P.json --batch B.json [--reference] [--bptt S]`:
// loss and gradients as JSON for given parameters and batch, on tfjs or on
// the float64 reference. With truncated BPTT, one entry per window,
// parameters held fixed. The verification interface: its output format is
// stable. Both paths read the same checked inputs: the parameters' names and
// shapes against the bound model (checkParams) and the batch against the
// model's declared fields (src/batch-json.ts), so neither meets a value it
// cannot run.
import { buildModel, trainingGraphs } from '../../compiler/compile.js';
import type { Dim } from '../../compiler/ir/types.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import type { BpttSpec } from '../../compiler/sema/train.js';
import { parseParamsJson } from '../../runtime/params-json.js';
import { referenceGradients } from '../../runtime/reference/gradients.js';
import { startBackend } from '../backend-choice.js';
import { parseBatchJson } from '../batch-json.js';
import { CliError, EXIT } from '../errors.js';
import { bindModel, loadProgram, pickModel, readSource, report } from '../project.js';
import { resolveShape } from '../../runtime/shape-binding.js';
import { TrainingSession } from '../../runtime/train/session.js';
import { info } from '../terminal.js';

interface GradOptions {
  readonly params: string;
  readonly batch: string;
  readonly reference?: boolean;
  readonly backend?: string;
  readonly model?: string;
  readonly bptt?: BpttSpec;
}

type TensorOut = { shape: number[]; data: number[] };

export async function gradCommand(file: string, opts: GradOptions): Promise<number> {
  const program = loadProgram(file, { quietWarnings: true });
  const name = pickModel(program, opts.model);
  const params = parseParamsJson(readSource(opts.params), opts.params);
  const symbolic = buildModel(program.analysis, name, {});
  report(symbolic.diagnostics, program.sources, true);
  // Dimensions the data would fix come from the given parameters' shapes.
  const dims: Record<string, number> = Object.create(null);
  for (const p of symbolic.model!.params) {
    const given = params.get(p.name);
    if (!given) throw new CliError(`${opts.params}: parameter ${p.name} is missing`);
    p.shape.forEach((d: Dim, i) => {
      if (typeof d === 'string' && /^[A-Za-z_]\w*$/.test(d) && given.shape[i] !== undefined) dims[d] = given.shape[i]!;
    });
  }
  const model = bindModel(program, name, dims);
  checkParams(model, params, opts.params);
  const trained = program.analysis.trains.get(name) ?? {
    model: name,
    optimizer: { name: 'sgd', args: {}, positional: [], span: model.span },
    bptt: { kind: 'full' as const },
    batch: 1,
    epochs: 1,
    seed: 0,
    checkpoint: 0,
    span: model.span,
  };
  const config = opts.bptt ? { ...trained, bptt: opts.bptt } : trained;
  const batch = parseBatchJson(readSource(opts.batch), opts.batch, model);
  if (config.bptt.kind === 'truncated' && model.readsAhead) {
    throw new CliError(`model ${model.name} has no truncated-BPTT gradients (${model.readsAhead}): use --bptt full`);
  }
  const graphs = trainingGraphs(model, config.bptt.kind === 'truncated');
  let entries: { loss: number; grads: Record<string, TensorOut> }[];
  if (opts.reference) {
    const p64 = new Map([...params].map(([k, v]) => [k, { shape: v.shape, data: v.data, dtype: 'f32' as const }]));
    entries = (await referenceGradients(model, graphs, p64, batch, config.bptt)).map((r) => ({
      loss: r.loss,
      grads: Object.fromEntries([...r.grads].map(([k, t]) => [k, { shape: [...t.shape], data: Array.from(t.data) }])),
    }));
  } else {
    info(`backend: ${await startBackend(opts.backend)}`);
    const session = new TrainingSession(model, config, graphs);
    session.loadParams(params, opts.params);
    entries = [];
    for (const r of await session.gradients(batch)) {
      const grads: Record<string, TensorOut> = Object.create(null);
      for (const [k, t] of r.grads) {
        grads[k] = { shape: [...t.shape], data: Array.from(await t.data()) };
        t.dispose();
      }
      entries.push({ loss: r.loss, grads });
    }
    session.dispose();
  }
  const out = config.bptt.kind === 'truncated' ? { windows: entries } : entries[0]!;
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return EXIT.ok;
}

/**
 * Every parameter of the bound model present with its exact shape, and no
 * other: the check TrainingSession.loadParams makes on the tfjs path, made
 * here once for both paths (the reference evaluator reads whatever it is
 * given, and a wrong shape came out as null losses).
 */
function checkParams(model: LoweredModel, params: ReadonlyMap<string, { readonly shape: readonly number[] }>, source: string): void {
  const sizes: Record<string, number> = Object.create(null);
  for (const [k, v] of model.dims) if (typeof v === 'number') sizes[k] = v;
  for (const p of model.params) {
    const given = params.get(p.name);
    if (!given) throw new CliError(`${source}: parameter ${p.name} is missing`);
    const want = resolveShape(p.shape, sizes);
    if (given.shape.length !== want.length || given.shape.some((d, i) => d !== want[i])) {
      throw new CliError(`${source}: parameter ${p.name} has shape [${given.shape.join(', ')}], the model needs [${want.join(', ')}]`);
    }
  }
  const known = new Set(model.params.map((p) => p.name));
  for (const k of params.keys()) {
    if (!known.has(k)) throw new CliError(`${source}: the model has no parameter ${k} (it has ${[...known].join(', ')})`);
  }
}
