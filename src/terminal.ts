// Terminal output: colours only on a TTY (and never with NO_COLOR), and the
// rendering of diagnostics for people.
import pc from 'picocolors';
import type { Diagnostic } from '../compiler/diagnostics/diagnostic.js';
import { renderDiagnosticWithSources } from '../compiler/diagnostics/render.js';

export const useColour = (stream: NodeJS.WriteStream): boolean => Boolean(stream.isTTY) && !process.env['NO_COLOR'];

const colours = pc.createColors(useColour(process.stderr));

export function printDiagnostics(diags: readonly Diagnostic[], sources: ReadonlyMap<string, string>): void {
  for (const d of diags) {
    const text = renderDiagnosticWithSources(d, sources);
    const [first, ...rest] = text.split('\n');
    const head = d.severity === 'error' ? colours.red(first ?? '') : colours.yellow(first ?? '');
    process.stderr.write(`${[colours.bold(head), ...rest].join('\n')}\n\n`);
  }
}

export function info(message: string): void {
  process.stderr.write(`${colours.dim(message)}\n`);
}

export function warn(message: string): void {
  process.stderr.write(`${colours.yellow('warning:')} ${message}\n`);
}
