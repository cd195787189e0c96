// `rnnc check FILE` and `rnnc ir FILE`: diagnostics only; the IR as text.
import { buildModel, checkProgram, trainingGraphs } from '../../compiler/compile.js';
import { renderDiagnosticsJson } from '../../compiler/diagnostics/render.js';
import { printGraph } from '../../compiler/ir/printer.js';
import type { Graph } from '../../compiler/ir/types.js';
import { PASS_NAMES } from '../../compiler/passes/pipeline.js';
import { CliError, EXIT } from '../errors.js';
import { loadProgram, pickModel, readSource, report } from '../project.js';
import { loadStdlib } from '../stdlib.js';
import { printDiagnostics } from '../terminal.js';
import { trainSettingDiagnostics } from '../train-settings.js';

export function checkCommand(file: string, opts: { json?: boolean }): number {
  const text = readSource(file);
  const std = loadStdlib();
  const diags = checkProgram({ file, text }, std, trainSettingDiagnostics);
  const errors = diags.filter((d) => d.severity === 'error').length;
  if (opts.json) {
    process.stdout.write(`${renderDiagnosticsJson(diags)}\n`);
  } else {
    printDiagnostics(diags, new Map([[file, text], [std.file, std.text]]));
    const warnings = diags.length - errors;
    const summary = errors === 0 ? `${file}: ok` : `${file}: ${errors} error${errors === 1 ? '' : 's'}`;
    process.stdout.write(`${summary}${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}\n`);
  }
  return errors > 0 ? EXIT.user : EXIT.ok;
}

export function irCommand(
  file: string,
  opts: { model?: string; grad?: boolean; truncated?: boolean; dims?: Record<string, number>; dumpIrAfter?: string; optimize?: boolean; unpadded?: boolean },
): number {
  const program = loadProgram(file, { quietWarnings: true });
  const name = pickModel(program, opts.model);
  const built = buildModel(program.analysis, name, opts.dims ?? {});
  report(built.diagnostics, program.sources, true);
  const model = built.model!;
  const truncated = opts.truncated ?? program.analysis.trains.get(name)?.bptt.kind === 'truncated';
  const dump = opts.dumpIrAfter;
  if (dump !== undefined && !PASS_NAMES.includes(dump)) {
    throw new CliError(`no pass named ${dump}; the passes are: ${PASS_NAMES.join(', ')}`, EXIT.usage);
  }
  const dumps: string[] = [];
  const graphs = trainingGraphs(model, truncated, {
    optimize: opts.optimize ?? true,
    ...(opts.unpadded ? { assumeFullMask: true } : {}),
    ...(dump !== undefined
      ? { after: (pass: string, g: Graph) => pass === dump && dumps.push(printGraph(g, `model ${name} after ${pass}`)) }
      : {}),
  });
  if (dump !== undefined) {
    process.stdout.write(`${dumps.join('\n\n')}\n`);
    return EXIT.ok;
  }
  const graph = opts.grad ? graphs.training : graphs.forward;
  process.stdout.write(`${printGraph(graph, `${opts.grad ? 'gradient of ' : ''}model ${name}${truncated ? ' (truncated BPTT)' : ''}${opts.unpadded ? ' (batches without padding)' : ''}`)}\n`);
  return EXIT.ok;
}
