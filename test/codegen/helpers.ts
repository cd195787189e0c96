// Compiling test programs to TypeScript modules, and writing them where
// `@tensorflow/tfjs-core` resolves (test/.generated/, git-ignored).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyze, buildModel, decodingFor } from '../../compiler/compile.js';
import { compileToTypeScript } from '../../compiler/codegen/index.js';
import type { Diagnostic } from '../../compiler/diagnostics/diagnostic.js';
import { renderDiagnostic } from '../../compiler/diagnostics/render.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import type { TrainConfig } from '../../compiler/sema/train.js';
import { loadStdlib } from '../../src/stdlib.js';

export const GENERATED_DIR = fileURLToPath(new URL('../.generated/', import.meta.url));

export interface Compiled {
  readonly model: LoweredModel;
  readonly train?: TrainConfig;
  readonly code: string;
}

export async function compileText(
  text: string,
  opts: { model?: string; dims?: Record<string, number>; target?: 'forward' | 'train'; unroll?: number; file?: string } = {},
): Promise<Compiled> {
  const file = opts.file ?? 'test.rnn';
  const std = loadStdlib();
  const a = analyze({ file, text }, std);
  const errors = (ds: readonly Diagnostic[]) => ds.filter((d) => d.severity === 'error');
  if (errors(a.diagnostics).length > 0) throw new Error(errors(a.diagnostics).map((d) => renderDiagnostic(d, text)).join('\n'));
  const name = opts.model ?? [...a.models.keys()][0]!;
  const built = buildModel(a, name, opts.dims ?? {});
  if (!built.model) throw new Error(built.diagnostics.map((d) => renderDiagnostic(d, text)).join('\n'));
  const train = a.trains.get(name);
  const code = await compileToTypeScript({
    model: built.model,
    ...(train ? { train } : {}),
    target: opts.target ?? (train ? 'train' : 'forward'),
    ...(opts.unroll !== undefined ? { unroll: opts.unroll } : {}),
    ...(decodingFor(a, built.model) ? { decoding: decodingFor(a, built.model)! } : {}),
    sources: new Map([
      [file.split('/').pop()!, text],
      [std.file, std.text],
    ]),
    file,
  });
  return { model: built.model, ...(train ? { train } : {}), code };
}

/** Writes an emitted module under test/.generated/ (or another folder of test/, so that tfjs resolves) and returns its path. */
export function writeGenerated(name: string, code: string, dir = GENERATED_DIR): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.ts`);
  writeFileSync(path, code);
  return path;
}

/**
 * Type-checks every .ts file of a folder with the project's tsc under
 * --strict (one run); returns tsc's report, '' when clean. The folder must
 * resolve @tensorflow/tfjs-core (test/.generated/, or a folder with a link
 * to node_modules).
 */
export function typeCheckFolder(dir: string): string {
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022'], types: [], strict: true, skipLibCheck: true, noEmit: true },
      include: ['*.ts'],
    }),
  );
  const tsc = fileURLToPath(new URL('../../node_modules/.bin/tsc', import.meta.url));
  try {
    execFileSync(tsc, ['-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', stdio: 'pipe' });
    return '';
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? e);
  }
}
