// `rnnc summary FILE`: a model's parameters as a table, as Keras's
// model.summary() prints them: each parameter's name, shape, number of
// values and initialiser, the cell or layer that created it and its source
// line, then the totals. Dimensions the data fixes come from --dims or a
// checkpoint (--ckpt); without them they are shown by name and the counts
// that depend on them are left out. Loads no data and no tfjs.
import { basename } from 'node:path';
import type { LoweredModel } from '../../compiler/sema/model.js';
import { EXIT } from '../errors.js';
import { loadProgram, pickModel } from '../project.js';
import { sizedModel } from '../sized-model.js';

export interface SummaryOptions {
  readonly model?: string;
  readonly dims?: Readonly<Record<string, number>>;
  readonly ckpt?: string;
  readonly json?: boolean;
}

interface Row {
  readonly name: string;
  readonly shape: readonly (number | string)[];
  readonly count: number | null;
  readonly init: string;
  readonly source: string;
}

/** The parameter table of a lowered model; a count is null while a dimension has no value. */
export function summaryRows(model: LoweredModel): Row[] {
  return model.params.map((p) => {
    const shape = p.shape.map((d) => (typeof d === 'number' ? d : (model.dims.get(d) ?? d)));
    const count = shape.every((d): d is number => typeof d === 'number') ? shape.reduce((a, b) => a * b, 1) : null;
    const args = [...p.init.positional.map(String), ...Object.entries(p.init.args).map(([k, v]) => `${k} = ${v}`)];
    return { name: p.name, shape, count, init: `${p.init.kind}${args.length > 0 ? `(${args.join(', ')})` : ''}`, source: `${basename(p.span.file)}:${p.span.line}` };
  });
}

export async function summaryCommand(file: string, opts: SummaryOptions): Promise<number> {
  const program = loadProgram(file, { quietWarnings: true });
  const name = pickModel(program, opts.model);
  // Sizes left out stay symbolic (the counts that need them are left out).
  const model = sizedModel(program, name, opts);
  const rows = summaryRows(model);
  const known = rows.filter((r) => r.count !== null);
  const total = known.reduce((a, r) => a + r.count!, 0);
  const unbound = [...model.dims].filter(([, v]) => typeof v !== 'number').map(([k]) => k);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ model: name, params: rows, total: unbound.length === 0 ? total : null, unbound })}\n`);
    return EXIT.ok;
  }
  const header = ['parameter', 'shape', 'values', 'initialiser', 'declared at'];
  const table = rows.map((r) => [r.name, `[${r.shape.join(', ')}]`, r.count === null ? '?' : r.count.toLocaleString('en-US'), r.init, r.source]);
  const widths = header.map((h, k) => Math.max(h.length, ...table.map((row) => row[k]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, k) => (k === 2 ? c.padStart(widths[k]!) : c.padEnd(widths[k]!))).join('  ').trimEnd();
  const out = [`model ${name}: ${rows.length} parameter tensor${rows.length === 1 ? '' : 's'}`, '', line(header), line(widths.map((w) => '-'.repeat(w))), ...table.map(line), ''];
  out.push(
    unbound.length === 0
      ? `total: ${total.toLocaleString('en-US')} values (${(total * 4 / 1024 / 1024).toFixed(2)} MiB as float32)`
      : `total: at least ${total.toLocaleString('en-US')} values; ${unbound.join(', ')} ${unbound.length === 1 ? 'is' : 'are'} fixed by the data: give --dims ${unbound.map((d) => `${d}=...`).join(',')} or --ckpt`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return EXIT.ok;
}
