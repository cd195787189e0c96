// `compile(text)`: the API's entry point. Checks a program as `rnnc check`
// does and hands out its models (src/api/model.ts). Never throws for a
// mistake in the text: those are the result's diagnostics.
import { analyze, checkProgram } from '../../compiler/compile.js';
import type { BackendName } from '../../runtime/backend.js';
import type { LoadedProgram } from '../project.js';
import { loadStdlib } from '../stdlib.js';
import { trainSettingDiagnostics } from '../train-settings.js';
import { RnncError, toApiDiagnostic, type CompileDiagnostic } from './errors.js';
import { Model } from './model.js';

/** Options of {@link compile}. */
export interface CompileOptions {
  /**
   * The name diagnostics give the text (default `<input>`); data paths of a
   * data source are relative to its folder (default: the working directory).
   */
  readonly file?: string;
  /**
   * The TensorFlow.js backend models run on: `tensorflow` (tfjs-node, when
   * installed), `webgpu` (a GPU through Dawn in Node.js, or the browser's
   * WebGPU), `wasm` or `cpu` (default: the fastest of tensorflow, wasm and
   * cpu, as `rnnc` picks it). Results are read asynchronously on every
   * backend, as webgpu needs: hence the promises of {@link Model}.
   */
  readonly backend?: BackendName;
}

/** A checked program: its diagnostics and its models. */
export interface CompileResult {
  /** True when the program has no errors (it may have warnings). */
  readonly ok: boolean;
  /** Every error and warning, in the order `rnnc check` prints them. */
  readonly diagnostics: readonly CompileDiagnostic[];
  /** The names of the program's models, in the order they are declared. */
  readonly models: readonly string[];
  /**
   * A model of the program: `name`, else the one with a train block, else
   * the only one. Throws an {@link RnncError} (with the diagnostics) when the
   * program has errors or no such model.
   */
  model(name?: string): Model;
}

/**
 * Parses and checks a program of the rnnc language. Mistakes in the text
 * are diagnostics of the result, never exceptions.
 *
 * @param text - The program: cells, models and train blocks (docs/language.md).
 * @param options - The file name for diagnostics and data paths, and the backend.
 *
 * @example
 * ```ts
 * const program = compile(text, { file: 'tagger.rnn' });
 * if (!program.ok) console.log(program.diagnostics);
 * const model = program.model('tagger');
 * ```
 */
export function compile(text: string, options: CompileOptions = {}): CompileResult {
  if (typeof text !== 'string') throw new RnncError('compile(text): the program text must be a string');
  // The names of runtime/backend.ts BACKEND_NAMES, kept here so that compile() loads no tfjs.
  const backends = ['tensorflow', 'webgpu', 'wasm', 'cpu'];
  if (options.backend !== undefined && !backends.includes(options.backend)) {
    throw new RnncError(`compile(text, { backend }): unknown backend ${JSON.stringify(options.backend)} (valid: ${backends.join(', ')})`);
  }
  const file = options.file ?? '<input>';
  const std = loadStdlib();
  const raw = checkProgram({ file, text }, std, trainSettingDiagnostics);
  const diagnostics = raw.map(toApiDiagnostic);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const analysis = analyze({ file, text }, std);
  const program: LoadedProgram = { path: file, text, analysis, sources: new Map([[file, text], [std.file, std.text]]), silent: true };
  const models = [...analysis.models.keys()];
  return {
    ok: errors.length === 0,
    diagnostics,
    models,
    model(name?: string): Model {
      if (errors.length > 0) {
        const e = errors[0]!;
        throw new RnncError(`the program has ${errors.length} error${errors.length === 1 ? '' : 's'}; the first: ${e.file}:${e.line}:${e.column}: ${e.code}: ${e.message}`, errors);
      }
      return new Model(program, pick(models, [...analysis.trains.keys()], name, file), options.backend);
    },
  };
}

function pick(models: readonly string[], trained: readonly string[], name: string | undefined, file: string): string {
  if (name !== undefined) {
    if (!models.includes(name)) throw new RnncError(`${file} has no model named ${name} (models: ${models.join(', ') || 'none'})`);
    return name;
  }
  if (models.length === 0) throw new RnncError(`${file} declares no model`);
  if (models.length === 1) return models[0]!;
  const withTrain = models.filter((m) => trained.includes(m));
  if (withTrain.length === 1) return withTrain[0]!;
  throw new RnncError(`${file} declares several models (${models.join(', ')}); name one: model('${models[0]}')`);
}
