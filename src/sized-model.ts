// A model of a program lowered with the sizes a user gives for a look at it
// (`rnnc summary`, `rnnc graph`): those of a checkpoint of it, then `--dims`;
// sizes left out stay symbolic.
import type { LoweredModel } from '../compiler/sema/model.js';
import { buildModel } from '../compiler/compile.js';
import { loadCheckpoint } from '../runtime/checkpoint.js';
import { CliError, EXIT } from './errors.js';
import { nodeIO } from './node-io.js';
import { checkDims, type LoadedProgram } from './project.js';
import { printDiagnostics } from './terminal.js';

export function sizedModel(program: LoadedProgram, name: string, opts: { readonly ckpt?: string; readonly dims?: Readonly<Record<string, number>> }): LoweredModel {
  const dims: Record<string, number> = Object.create(null);
  if (opts.ckpt !== undefined) {
    const ckpt = loadCheckpoint(nodeIO, opts.ckpt);
    if (ckpt.model !== name) throw new CliError(`${opts.ckpt} is a checkpoint of model ${ckpt.model}, not ${name}`);
    const fromCkpt = ckpt.extra?.['dims'];
    if (typeof fromCkpt === 'object' && fromCkpt !== null) for (const [k, v] of Object.entries(fromCkpt)) if (typeof v === 'number') dims[k] = v;
  }
  // --dims names the model's dimensions only: a misspelt one would silently change nothing.
  const symbolic = buildModel(program.analysis, name, {});
  const declared = symbolic.model ? [...symbolic.model.dims.keys()] : [];
  for (const k of Object.keys(opts.dims ?? {})) {
    if (symbolic.model && !declared.includes(k)) {
      throw new CliError(`--dims ${k}: model ${name} has no dimension \`${k}\` (its dimensions: ${declared.join(', ') || 'none'})`, EXIT.usage);
    }
  }
  Object.assign(dims, opts.dims ?? {});
  checkDims(dims, opts.ckpt !== undefined ? `${opts.ckpt}: the sizes of model ${name}` : `the sizes of model ${name}`);
  const built = buildModel(program.analysis, name, dims);
  if (!built.model) {
    printDiagnostics(built.diagnostics, program.sources);
    throw new CliError(`model ${name} cannot be built with these dimensions`);
  }
  return built.model;
}
