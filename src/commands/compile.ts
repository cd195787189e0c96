// `rnnc compile FILE -o model.ts [--model M] [--target forward|train]
// [--unroll N] [--dims V=69,...] [--ckpt C]`: a model as a standalone
// TypeScript module (compiler/codegen). Diagnostics are those of `rnnc
// check`; on any error nothing is written, and the output file appears only
// complete (written to a temporary file, then renamed).
import { basename } from 'node:path';
import { analyze, buildModel, checkProgram, decodingFor, type SourceText } from '../../compiler/compile.js';
import type { Diagnostic } from '../../compiler/diagnostics/diagnostic.js';
import { CodegenError, compileToTypeScript } from '../../compiler/codegen/index.js';
import { loadCheckpoint } from '../../runtime/checkpoint.js';
import { CliError, EXIT } from '../errors.js';
import { nodeIO } from '../node-io.js';
import { checkOutput, compiledModule } from '../output-file.js';
import { checkDims, pickModel, readSource, type LoadedProgram } from '../project.js';
import { loadStdlib } from '../stdlib.js';
import { info, printDiagnostics } from '../terminal.js';
import { trainSettingDiagnostics } from '../train-settings.js';

export interface CompileOptions {
  readonly output: string;
  readonly model?: string;
  readonly target?: 'forward' | 'train';
  readonly unroll?: number;
  readonly dims?: Record<string, number>;
  readonly ckpt?: string;
  readonly force?: boolean;
}

export async function compileCommand(file: string, opts: CompileOptions): Promise<number> {
  // Before any work: a refused output should not cost a compilation.
  checkOutput(opts.output, { inputs: [file, ...(opts.ckpt !== undefined ? [opts.ckpt] : [])], kind: compiledModule, force: opts.force ?? false, headBytes: 4096 });
  const text = readSource(file);
  const std = loadStdlib();
  const sources = new Map([
    [file, text],
    [std.file, std.text],
  ]);
  const diags = checkProgram({ file, text }, std, trainSettingDiagnostics);
  printDiagnostics(diags, sources);
  const errors = diags.filter((d) => d.severity === 'error').length;
  if (errors > 0) throw new CliError(`${file}: ${errors} error${errors === 1 ? '' : 's'}; nothing was written`);

  const analysis = analyze({ file, text }, std);
  const program: LoadedProgram = { path: file, text, analysis, sources };
  const name = pickModel(program, opts.model);
  const dims: Record<string, number> = Object.create(null);
  if (opts.ckpt !== undefined) {
    const ckpt = loadCheckpoint(nodeIO, opts.ckpt);
    if (ckpt.model !== name) throw new CliError(`${opts.ckpt} is a checkpoint of model ${ckpt.model}, not ${name}`);
    const fromCkpt = ckpt.extra?.['dims'];
    if (typeof fromCkpt === 'object' && fromCkpt !== null) {
      for (const [k, v] of Object.entries(fromCkpt)) if (typeof v === 'number') dims[k] = v;
    }
  }
  Object.assign(dims, opts.dims ?? {});
  checkDims(dims, opts.ckpt !== undefined ? `${opts.ckpt}: the sizes of model ${name}` : `the sizes of model ${name}`);
  const { code, target } = await moduleText(program, std, name, dims, opts, {
    sink: (d) => printDiagnostics(d, sources),
    howToGive: (unbound) =>
      `give ${unbound.length > 1 ? 'them' : 'it'} with --dims ${unbound.map((d) => `${d}=...`).join(',')} or take ${unbound.length > 1 ? 'them' : 'it'} from a trained model with --ckpt runs/${name}/checkpoint.json; nothing was written`,
  });
  nodeIO.writeTextAtomic(opts.output, code);
  info(`wrote ${opts.output}: model ${name}, target ${target}${opts.unroll !== undefined ? `, unrolled ${opts.unroll} steps` : ''} (${code.split('\n').length} lines)`);
  return EXIT.ok;
}

/**
 * A checked program's model as the text of a standalone TypeScript module
 * (what `rnnc compile` writes, and the API's Model.toModule returns), with
 * its dimensions bound to `dims`. `how.sink` hears the diagnostics of a
 * model that does not build; `how.howToGive` says how to give dimensions
 * that nothing fixed.
 */
export async function moduleText(
  program: LoadedProgram,
  std: SourceText,
  name: string,
  dims: Readonly<Record<string, number>>,
  opts: { readonly target?: 'forward' | 'train'; readonly unroll?: number },
  how: { readonly sink: (diags: readonly Diagnostic[]) => void; readonly howToGive: (unbound: readonly string[]) => string },
): Promise<{ code: string; target: 'forward' | 'train' }> {
  const { analysis, path: file, text } = program;
  const built = buildModel(analysis, name, dims);
  if (!built.model) {
    how.sink(built.diagnostics);
    throw new CliError(`model ${name} cannot be compiled with these dimensions; nothing was written`, EXIT.user, built.diagnostics.filter((d) => d.severity === 'error'));
  }
  const model = built.model;
  const unbound = [...model.dims].filter(([, v]) => typeof v !== 'number').map(([k]) => k);
  if (unbound.length > 0) {
    const list = unbound.join(', ');
    throw new CliError(`dimension${unbound.length > 1 ? 's' : ''} ${list} of model ${name} ${unbound.length > 1 ? 'are' : 'is'} fixed by the data; ${how.howToGive(unbound)}`);
  }
  const train = analysis.trains.get(name);
  const target = opts.target ?? (train ? 'train' : 'forward');
  if (target === 'train' && !train) {
    throw new CliError(`model ${name} has no train block, so there is nothing to train: add one, or use --target forward`);
  }
  try {
    const code = await compileToTypeScript({
      model,
      ...(train ? { train } : {}),
      target,
      ...(opts.unroll !== undefined ? { unroll: opts.unroll } : {}),
      // A decoder that writes a target of its own length: the module decodes greedily (`decode`).
      ...(decodingFor(analysis, model) ? { decoding: decodingFor(analysis, model)! } : {}),
      sources: new Map([
        [basename(file), text],
        [std.file, std.text],
      ]),
      file,
    });
    return { code, target };
  } catch (e) {
    if (e instanceof CodegenError) throw new CliError(`${e.message}; nothing was written`);
    throw e;
  }
}
