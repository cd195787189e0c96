// Compiling test programs with the standard cells.
import { analyze, buildModel, type Analysis } from '../../compiler/compile.js';
import type { Diagnostic } from '../../compiler/diagnostics/diagnostic.js';
import { renderDiagnostic } from '../../compiler/diagnostics/render.js';
import type { FeedMode } from '../../compiler/sema/cell.js';
import type { LoweredModel } from '../../compiler/sema/model.js';
import { loadStdlib } from '../../src/stdlib.js';

export function analyzeText(text: string, file = 'test.rnn'): Analysis {
  return analyze({ file, text }, loadStdlib());
}

/** Compiles a program that must be free of errors and returns its (first or named) model. */
export function compileModel(text: string, modelName?: string, dims: Record<string, number> = {}, feed?: FeedMode): LoweredModel {
  const a = analyzeText(text);
  const errors = (ds: readonly Diagnostic[]) => ds.filter((d) => d.severity === 'error');
  if (errors(a.diagnostics).length > 0) throw new Error(errors(a.diagnostics).map((d) => renderDiagnostic(d, text)).join('\n'));
  const name = modelName ?? [...a.models.keys()][0]!;
  const built = buildModel(a, name, dims, feed);
  if (!built.model) throw new Error(built.diagnostics.map((d) => renderDiagnostic(d, text)).join('\n'));
  return built.model;
}
