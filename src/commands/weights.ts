// `rnnc export FILE.rnn --ckpt C --to tfjs-layers|safetensors -o OUT`: a
// trained model's weights for other frameworks; `rnnc import FILE.rnn
// --from model.json|X.safetensors -o params.json`: weights from them as an
// rnnc parameters file (`rnnc params`' format, which `rnnc run
// --init-params` and `rnnc grad --params` read). The layouts and names are
// runtime/weights/ (docs/weights.md); this file reads and writes the files
// and picks the model's sizes.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import type { LoweredModel } from '../../compiler/sema/model.js';
import { loadCheckpoint } from '../../runtime/checkpoint.js';
import { formatParamsJson, parseJsonText } from '../../runtime/params-json.js';
import { planLayers, type LayerPlan } from '../../runtime/weights/layer-plan.js';
import { decodeSafetensors, encodeSafetensors } from '../../runtime/weights/safetensors.js';
import { exportLayers, importLayers, layersMetadata } from '../../runtime/weights/tfjs-layers.js';
import { checkNames, fromTorch, toTorch } from '../../runtime/weights/torch-names.js';
import { CliError, EXIT } from '../errors.js';
import { makeFolders, nodeIO, userError, writeFileAtomic } from '../node-io.js';
import { checkOutput, type OutputKind } from '../output-file.js';
import { bindModel, checkDims, loadData, loadProgram, modelForData, pickModel, type LoadedProgram } from '../project.js';
import { loadStdlib, packageRoot } from '../stdlib.js';
import { info } from '../terminal.js';
import { paramsFile } from './params.js';
import type { CheckpointExtra } from './run.js';

export type ExportFormat = 'tfjs-layers' | 'safetensors';
export type Naming = 'rnnc' | 'torch';

export interface ExportOptions {
  readonly ckpt: string;
  readonly to: ExportFormat;
  readonly output: string;
  readonly names?: Naming;
  readonly model?: string;
  readonly force?: boolean;
}

export interface ImportOptions {
  readonly from: string;
  readonly output: string;
  readonly names?: Naming;
  readonly model?: string;
  readonly dims?: Readonly<Record<string, number>>;
  readonly force?: boolean;
}

interface Tensor {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

/** A safetensors file rnnc wrote: its header opens with rnnc's metadata. */
const safetensorsFile: OutputKind = {
  what: 'a safetensors file written by rnnc export',
  isOwn: (text) => /^[^{]{1,8}\{"__metadata__":\{"rnnc\.model":/.test(text),
};

/** A model.json rnnc wrote. */
const layersModelFile: OutputKind = {
  what: 'a TensorFlow.js Layers model.json written by rnnc export',
  isOwn: (text) => text.startsWith('{"format":"layers-model","generatedBy":"rnnc'),
};

const WEIGHTS_FILE = 'weights.bin';

export async function exportCommand(file: string, opts: ExportOptions): Promise<number> {
  if (opts.names === 'torch' && opts.to !== 'safetensors') throw new CliError('--names torch goes with --to safetensors (a Layers model has its own names)', EXIT.usage);
  const program = loadProgram(file, { quietWarnings: true });
  const name = pickModel(program, opts.model);
  const ckpt = loadCheckpoint(nodeIO, opts.ckpt);
  if (ckpt.model !== name) throw new CliError(`${opts.ckpt} is a checkpoint of model ${ckpt.model}, not ${name}`);
  const extra = ckpt.extra as Partial<CheckpointExtra> | undefined;
  if (!extra?.dims || typeof extra.dims !== 'object') throw new CliError(`${opts.ckpt} was not written by \`rnnc run\` (it has no data dimensions)`);
  checkDims(extra.dims, opts.ckpt);
  const model = bindModel(program, name, extra.dims);
  const params = new Map<string, Tensor>(Object.entries(ckpt.params).map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
  checkNames(model.params.map((p) => ({ name: p.name, shape: p.shape as number[] })), params, opts.ckpt, 'rnnc');
  const dims = { ...extra.dims };

  if (opts.to === 'safetensors') {
    checkOutput(opts.output, { inputs: [file, opts.ckpt], kind: safetensorsFile, force: opts.force ?? false, headBytes: 64 });
    const torch = opts.names === 'torch';
    const tensors = torch ? toTorch(plan(program, name, model, 'PyTorch', false), params) : orderedLike(model, params);
    const metadata: Record<string, string> = {
      'rnnc.model': name,
      'rnnc.dims': JSON.stringify(dims),
      'rnnc.names': torch ? 'torch' : 'rnnc',
      ...(extra.vocabs !== undefined ? { 'rnnc.vocabs': JSON.stringify(extra.vocabs) } : {}),
      ...(torch ? { format: 'pt' } : {}),
    };
    writeFileAtomic(opts.output, encodeSafetensors(tensors, metadata));
    info(`wrote ${tensors.size} tensors (${torch ? 'PyTorch' : 'rnnc'} names) to ${opts.output}`);
    return EXIT.ok;
  }

  const layers = plan(program, name, model, 'TensorFlow.js Layers', true);
  if (existsSync(opts.output) && !statSync(opts.output).isDirectory()) throw new CliError(`-o ${opts.output} is a file: --to tfjs-layers writes a folder (model.json and ${WEIGHTS_FILE})`);
  const modelPath = join(opts.output, 'model.json');
  const weightsPath = join(opts.output, WEIGHTS_FILE);
  checkOutput(modelPath, { inputs: [file, opts.ckpt], kind: layersModelFile, force: opts.force ?? false, headBytes: 64 });
  if (!opts.force && existsSync(weightsPath) && !existsSync(modelPath)) {
    throw new CliError(`refusing to overwrite ${weightsPath}: it exists without a model.json rnnc wrote, so it may be a file of yours; choose another folder, or give --force to replace it`);
  }
  // Beside a model.json of rnnc's (checked above), weights.bin is rnnc's too; this only keeps it from being an input.
  checkOutput(weightsPath, { inputs: [file, opts.ckpt], kind: { what: 'weights rnnc exported', isOwn: () => true }, force: true });
  const out = exportLayers(layers, params, { weightsFile: WEIGHTS_FILE, dims, generatedBy: `rnnc ${rnncVersion()}`, ...(extra.vocabs !== undefined ? { vocabs: extra.vocabs } : {}) });
  makeFolders(opts.output);
  writeFileAtomic(weightsPath, out.weights);
  writeFileAtomic(modelPath, `${JSON.stringify(out.modelJson)}\n`);
  info(`wrote ${layers.layers.length} layers to ${modelPath} and ${weightsPath}`);
  return EXIT.ok;
}

export async function importCommand(file: string, opts: ImportOptions): Promise<number> {
  const ext = extname(opts.from).toLowerCase();
  if (ext !== '.safetensors' && ext !== '.json') throw new CliError(`--from ${opts.from}: expected a .safetensors file or a TensorFlow.js Layers model.json`, EXIT.usage);
  if (opts.names === 'torch' && ext !== '.safetensors') throw new CliError('--names torch goes with a .safetensors file (a Layers model has its own names)', EXIT.usage);
  checkOutput(opts.output, { inputs: [file, opts.from], kind: paramsFile, force: opts.force ?? false });
  const program = loadProgram(file, { quietWarnings: true });
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(opts.from);
  } catch (e) {
    return userError(e, 'read', opts.from);
  }

  let params: Map<string, Tensor>;
  let model: LoweredModel;
  if (ext === '.safetensors') {
    const st = decodeSafetensors(bytes, opts.from);
    const name = pickModel(program, opts.model ?? knownModel(program, st.metadata['rnnc.model']));
    model = sizedModel(program, name, opts.dims, metadataDims(st.metadata['rnnc.dims'], opts.from));
    const names = opts.names ?? (st.metadata['rnnc.names'] === 'torch' ? 'torch' : 'rnnc');
    if (names === 'torch') {
      params = fromTorch(plan(program, name, model, 'PyTorch', false), st.tensors, opts.from);
    } else {
      checkNames(model.params.map((p) => ({ name: p.name, shape: p.shape as number[] })), st.tensors, opts.from, 'rnnc');
      params = st.tensors;
    }
  } else {
    const json = parseJsonText(new TextDecoder().decode(bytes), opts.from, 'model.json');
    const meta = layersMetadata(json);
    const name = pickModel(program, opts.model ?? knownModel(program, meta.model));
    model = sizedModel(program, name, opts.dims, meta.dims);
    const folder = dirname(resolve(opts.from));
    const read = (path: string): Uint8Array => {
      try {
        return readFileSync(resolve(folder, path));
      } catch (e) {
        return userError(e, 'read the weights file', join(dirname(opts.from), path));
      }
    };
    params = importLayers(plan(program, name, model, 'TensorFlow.js Layers', false), json, read, opts.from);
  }
  const ordered = orderedLike(model, params);
  nodeIO.writeTextAtomic(opts.output, formatParamsJson(new Map([...ordered].map(([k, v]) => [k, { shape: v.shape, data: Float64Array.from(v.data) }]))));
  info(`wrote ${ordered.size} parameters of model ${model.name} to ${opts.output}`);
  return EXIT.ok;
}

function plan(program: LoadedProgram, name: string, model: LoweredModel, target: string, noResetAfter: boolean): LayerPlan {
  return planLayers({ decl: program.analysis.models.get(name)!, cells: program.analysis.cells, stdlibFile: loadStdlib().file, model, target, noResetAfter });
}

/** The parameters in the model's order (the names were checked). */
function orderedLike(model: LoweredModel, params: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const p of model.params) {
    const t = params.get(p.name);
    if (!t) throw new Error(`internal: parameter ${p.name} was not imported`);
    if (t.shape.join(',') !== p.shape.join(',')) throw new Error(`internal: parameter ${p.name} has shape [${t.shape.join(', ')}], the model's [${p.shape.join(', ')}]`);
    out.set(p.name, t);
  }
  return out;
}

/** The model a file names, when the program has it (else the usual choice). */
function knownModel(program: LoadedProgram, name: string | undefined): string | undefined {
  return name !== undefined && program.analysis.models.has(name) ? name : undefined;
}

function metadataDims(text: string | undefined, source: string): Record<string, number> | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, number>;
  } catch {
    // Reported below.
  }
  throw new CliError(`${source}: the metadata "rnnc.dims" is not a JSON object of sizes`);
}

/** The model with its sizes: --dims, else the file's own record of them, else the train block's data, else the model's own numbers. */
function sizedModel(program: LoadedProgram, name: string, given: Readonly<Record<string, number>> | undefined, recorded: Readonly<Record<string, number>> | undefined): LoweredModel {
  if (given !== undefined) return bindModel(program, name, given);
  if (recorded !== undefined) {
    checkDims(recorded, 'the sizes the weights file records');
    return bindModel(program, name, recorded);
  }
  const trained = program.analysis.trains.get(name);
  if (trained?.data) return modelForData(program, name, loadData(program, trained));
  try {
    return bindModel(program, name, {});
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    throw new CliError(`${e.message.replace(/; give (them|it) one with .*$/, '')}, and the weights file does not record it: give the sizes with --dims, e.g. --dims V=80`);
  }
}

function rnncVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
