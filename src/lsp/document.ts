// What `rnnc lsp` knows about one open .rnn document, and its answers about
// it: diagnostics, hover, definitions and completions, as LSP data. The
// connection (src/lsp/server.ts) calls these; they never throw on what a user
// typed (the compiler reports user mistakes as diagnostics; anything else is
// caught by the server and logged).
//
// Positions: the compiler's spans carry 0-based offsets into the text (UTF-16
// code units, as JavaScript strings index), and LSP positions count UTF-16
// code units too, so spans map through TextDocument.positionAt/offsetAt and
// lines with non-ASCII text before a name stay right.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  CompletionItemKind,
  DiagnosticSeverity,
  MarkupKind,
  type CompletionItem,
  type Diagnostic as LspDiagnostic,
  type DiagnosticRelatedInformation,
  type Hover,
  type Location,
  type Position,
  type Range,
} from 'vscode-languageserver';
import { dimText } from '../../compiler/ast/printer.js';
import { parseProgram } from '../../compiler/ast/index.js';
import type { CellDecl, ModelDecl, Program, Shape } from '../../compiler/ast/ast.js';
import { occurrenceAt, occurrences, type Occurrence } from '../../compiler/ast/occurrences.js';
import { inspectProgram, type Analysis, type SourceText } from '../../compiler/compile.js';
import type { Diagnostic } from '../../compiler/diagnostics/diagnostic.js';
import type { Span } from '../../compiler/diagnostics/span.js';
import { dimToString } from '../../compiler/ir/shape.js';
import type { Dim } from '../../compiler/ir/types.js';
import { CELL_FUNCTIONS, cellValueShapes } from '../../compiler/sema/cell.js';
import { MODEL_FUNCTIONS } from '../../compiler/sema/model.js';
import { ELEMENTWISE } from '../../compiler/sema/values.js';
import { DATA_SOURCES } from '../../runtime/data/registry.js';
import { KNOWN_KINDS as INITIALISERS } from '../../runtime/init.js';
import { OPTIMIZER_RULES } from '../../runtime/train/optimizer-rules.js';
import { SCHEDULE_NAMES } from '../../runtime/train/schedules.js';
import { loadStdlib, STDLIB_PATH } from '../stdlib.js';
import { trainSettingDiagnostics } from '../train-settings.js';

/** The standard cells: parsed once, with the file they live in (when it is on disk). */
interface Stdlib {
  readonly source: SourceText;
  readonly doc: TextDocument;
  readonly cells: ReadonlyMap<string, CellDecl>;
  readonly occurrences: readonly Occurrence[];
  readonly uri?: string;
}

let stdlib: Stdlib | undefined;
function standardCells(): Stdlib {
  if (stdlib) return stdlib;
  const source = loadStdlib();
  const program = parseProgram(source.text, source.file).program;
  const cells = new Map<string, CellDecl>();
  for (const item of program.items) if (item.kind === 'CellDecl') cells.set(item.name.name, item);
  stdlib = {
    source,
    doc: TextDocument.create(pathToFileURL(STDLIB_PATH).href, 'rnn', 0, source.text),
    cells,
    occurrences: occurrences(program),
    ...(existsSync(STDLIB_PATH) ? { uri: pathToFileURL(STDLIB_PATH).href } : {}),
  };
  return stdlib;
}

/** The file name the compiler's spans carry for a document: its path for a file: URI, else the URI. */
export function fileOfUri(uri: string): string {
  try {
    return uri.startsWith('file:') ? fileURLToPath(uri) : uri;
  } catch {
    return uri;
  }
}

export class RnnDocument {
  readonly doc: TextDocument;
  readonly file: string;
  readonly diagnostics: readonly Diagnostic[];
  readonly analysis: Analysis;
  readonly program: Program | undefined;
  readonly occurrences: readonly Occurrence[];
  /** Per model: its dimensions, and the type of each input, target and statement (sema/model.ts ModelObserver). */
  private readonly modelDims = new Map<string, ReadonlyMap<string, Dim>>();
  private readonly modelValues = new Map<string, Map<string, string>>();

  constructor(uri: string, version: number, text: string) {
    this.doc = TextDocument.create(uri, 'rnn', version, text);
    this.file = fileOfUri(uri);
    const std = standardCells();
    const { analysis, diagnostics } = inspectProgram({ file: this.file, text }, std.source, trainSettingDiagnostics, {
      dims: (model, dims) => this.modelDims.set(model, new Map(dims)),
      value: (model, name, type) => {
        const m = this.modelValues.get(model) ?? new Map<string, string>();
        m.set(name, type);
        this.modelValues.set(model, m);
      },
    });
    this.analysis = analysis;
    this.diagnostics = diagnostics;
    this.program = analysis.program;
    this.occurrences = this.program ? occurrences(this.program) : [];
  }

  // ---------------------------------------------------------------- diagnostics

  lspDiagnostics(): LspDiagnostic[] {
    return this.diagnostics.map((d) => {
      const here = this.isHere(d.span);
      const related: DiagnosticRelatedInformation[] = [];
      const unplaced: string[] = [];
      for (const n of d.notes) {
        const loc = n.span ? this.location(n.span) : undefined;
        if (loc) related.push({ location: loc, message: n.message });
        else unplaced.push(n.message);
      }
      const lines = [d.message, ...unplaced.map((m) => `note: ${m}`), ...(d.hint ? [`hint: ${d.hint}`] : [])];
      if (!here) lines.push(`(in ${d.span.file}:${d.span.line}:${d.span.column})`);
      return {
        range: here ? this.range(d.span) : { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
        severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
        code: d.code,
        source: 'rnnc',
        message: lines.join('\n'),
        ...(related.length > 0 ? { relatedInformation: related } : {}),
      };
    });
  }

  // ---------------------------------------------------------------- hover

  hover(position: Position): Hover | null {
    const occ = occurrenceAt(this.occurrences, this.doc.offsetAt(position));
    if (!occ) return null;
    const text = this.describe(occ);
    if (text === undefined) return null;
    return { contents: { kind: MarkupKind.Markdown, value: text }, range: this.range(occ.span) };
  }

  private describe(occ: Occurrence): string | undefined {
    switch (occ.kind) {
      case 'cell':
        return this.describeCell(occ.name);
      case 'model':
        return this.describeModel(occ.name);
      case 'call':
        return this.describeCall(occ);
      case 'dim':
        return this.describeDim(occ);
      case 'value':
        return this.describeValue(occ);
      case 'setting':
        return undefined;
    }
  }

  private describeCell(name: string): string | undefined {
    const found = this.cellDecl(name);
    if (!found) return undefined;
    const { decl, text } = found;
    const typed = (ts: CellDecl['inputs']): string => ts.map((t) => `${t.name.name}: ${t.token ? `token[${t.shape.dims.map((d) => dimText(d)).join(', ')}]` : shapeText(t.shape)}`).join(', ');
    const outs = decl.outputs.length === 1 ? typed(decl.outputs) : `(${typed(decl.outputs)})`;
    const lines = [`cell ${decl.name.name}(${typed(decl.inputs)}) -> ${outs}`];
    for (const item of decl.body) {
      if (item.kind === 'Equation') lines.push(`  ${sliceSpan(text, item.span)}`);
    }
    const params = decl.body.flatMap((i) => (i.kind === 'ParamDecl' ? i.names.map((n) => `${n.name}: ${shapeText(i.shape)}`) : []));
    const where = found.standard ? 'a standard cell (compiler/stdlib/cells.rnn)' : 'a cell of this file';
    return [fence(lines.join('\n')), where, ...(params.length > 0 ? [`parameters: ${params.map((p) => `\`${p}\``).join(', ')}`] : [])].join('\n\n');
  }

  private describeModel(name: string): string | undefined {
    const values = this.modelValues.get(name);
    const decl = this.modelDecl(name);
    if (!decl) return undefined;
    const lines = [`model ${name}`];
    if (values) for (const [k, t] of values) lines.push(`  ${k}: ${t}`);
    return fence(lines.join('\n'));
  }

  private describeCall(occ: Occurrence): string | undefined {
    const name = occ.name;
    if (occ.setting === 'data') {
      const src = DATA_SOURCES.find((d) => d.name === name);
      if (!src) return undefined;
      const args = src.params.map((p) => `- \`${p.name}\`${p.default !== undefined ? ` = ${JSON.stringify(p.default)}` : ' (required)'}: ${p.doc}`);
      return [`**data source** \`${name}\`: ${src.doc}`, ...args].join('\n');
    }
    if (occ.setting === 'optimizer') {
      const rule = OPTIMIZER_RULES[name];
      if (!rule || !Object.hasOwn(OPTIMIZER_RULES, name)) return undefined;
      const args = Object.entries(rule.defaults).map(([k, v]) => `${k} = ${v}`);
      return `**optimizer** \`${name}(${args.join(', ')})\``;
    }
    if (occ.setting === 'schedule') return SCHEDULE_NAMES.includes(name) ? `**learning-rate schedule** \`${name}\`` : undefined;
    if (occ.setting !== undefined) return undefined;
    if (occ.initialiser) return (INITIALISERS as readonly string[]).includes(name) ? `**initialiser** \`${name}\` (docs/language.md, "Initialisers")` : undefined;
    if (this.cellDecl(name) && !(occ.scope.kind === 'cell' && this.isCellOption(occ.scope.name, name))) return this.describeCell(name);
    if (occ.scope.kind === 'cell' && this.isCellOption(occ.scope.name, name)) return this.describeValue({ ...occ, kind: 'value' });
    if (ELEMENTWISE.has(name)) return `**function** \`${name}\`: element-wise, built in`;
    if (MODEL_FUNCTIONS.includes(name) || CELL_FUNCTIONS.includes(name)) return `**function** \`${name}\`: built in (docs/language.md)`;
    return undefined;
  }

  private describeDim(occ: Occurrence): string | undefined {
    const name = occ.name;
    if (occ.boundIn !== undefined) {
      const model = occ.scope.kind === 'model' ? this.modelDims.get(occ.scope.name)?.get(name) : undefined;
      const value = model !== undefined && model !== name ? ` (here ${name} = ${dimToString(model)})` : '';
      return `dimension or option \`${name}\` of cell \`${occ.boundIn}\`, bound by \`with\`${value}`;
    }
    if (occ.scope.kind === 'cell') return `${fence(`dim ${name}`)}\n\ndimension of cell \`${occ.scope.name}\`: its size comes from where the cell is applied (\`with ${name}\`), or from its arguments`;
    const v = occ.scope.kind === 'model' ? this.modelDims.get(occ.scope.name)?.get(name) : this.analysis.topDims.get(name);
    const top = this.analysis.topDims.get(name);
    const value = v ?? top;
    if (value === undefined) return undefined;
    return fence(typeof value === 'number' ? `dim ${name} = ${value}` : value === name ? `dim ${name}  # from the data` : `dim ${name} = ${dimToString(value)}`);
  }

  private describeValue(occ: Occurrence): string | undefined {
    const name = occ.name;
    if (occ.scope.kind === 'model') {
      const t = this.modelValues.get(occ.scope.name)?.get(name);
      if (t !== undefined) return fence(`${name}: ${t}`);
      if (name === 'loss') return `${fence('loss: []')}\n\nthe loss of model \`${occ.scope.name}\`, averaged over the positions that count`;
      if (this.modelDims.get(occ.scope.name)?.has(name) || this.analysis.topDims.has(name)) return this.describeDim({ ...occ, kind: 'dim' });
      return undefined;
    }
    if (occ.scope.kind !== 'cell') return undefined;
    const found = this.cellDecl(occ.scope.name);
    if (!found) return undefined;
    const { decl, text } = found;
    const io = [...decl.inputs.map((t) => ['input', t] as const), ...decl.outputs.map((t) => ['output', t] as const)].find(([, t]) => t.name.name === name);
    if (io) {
      const [role, t] = io;
      return `${fence(`${name}: ${t.token ? `token[${t.shape.dims.map((d) => dimText(d)).join(', ')}]` : shapeText(t.shape)}`)}\n\n${role} of cell \`${decl.name.name}\` (per step)`;
    }
    for (const item of decl.body) {
      if (item.kind === 'ParamDecl' && item.names.some((n) => n.name === name)) {
        return `${fence(`param ${name}: ${shapeText(item.shape)}${item.init ? ` = ${sliceSpan(text, item.init.span)}` : ''}`)}\n\nparameter of cell \`${decl.name.name}\``;
      }
      if (item.kind === 'OptionDecl' && item.name.name === name) return `${fence(sliceSpan(text, item.span))}\n\noption of cell \`${decl.name.name}\` (set with \`with ${name} = ...\`)`;
    }
    const eqs = decl.body.filter((i) => i.kind === 'Equation' && i.target.name === name).map((i) => sliceSpan(text, i.span));
    // Its shape per step, in the cell's dimensions, where the cell was analysed without errors.
    const info = this.analysis.cells.get(decl.name.name);
    const shape = info && info.decl.name.span.file === decl.name.span.file ? cellValueShapes(info).get(name) : undefined;
    if (eqs.length > 0) return `${shape !== undefined ? `${fence(`${name}: ${shape}`)}\n\n` : ''}${fence(eqs.join('\n'))}\n\nin cell \`${decl.name.name}\``;
    return undefined;
  }

  // ---------------------------------------------------------------- definitions

  definition(position: Position): Location | null {
    const occ = occurrenceAt(this.occurrences, this.doc.offsetAt(position));
    if (!occ) return null;
    const here = (o: Occurrence | undefined): Location | null => (o ? { uri: this.doc.uri, range: this.range(o.span) } : null);
    const inStd = (o: Occurrence | undefined): Location | null => {
      const std = standardCells();
      return o && std.uri ? { uri: std.uri, range: spanRange(std.doc, o.span) } : null;
    };
    const declared = (list: readonly Occurrence[], kind: Occurrence['kind'], scope: Occurrence['scope']): Occurrence | undefined =>
      list.find((o) => o.declares && o.kind === kind && o.name === occ.name && o.scope.kind === scope.kind && o.scope.name === scope.name);
    /** A cell's dimension: its declaration, else where the cell first names it (its signature). */
    const cellDim = (list: readonly Occurrence[], cell: string, name: string): Occurrence | undefined =>
      list.find((o) => o.kind === 'dim' && o.name === name && o.scope.kind === 'cell' && o.scope.name === cell && o.declares) ??
      list.find((o) => o.kind === 'dim' && o.name === name && o.scope.kind === 'cell' && o.scope.name === cell);
    const cell = (name: string): Location | null => {
      const user = this.occurrences.find((o) => o.kind === 'cell' && o.name === name);
      if (user) return here(user);
      return inStd(standardCells().occurrences.find((o) => o.kind === 'cell' && o.name === name));
    };
    const top: Occurrence['scope'] = { kind: 'top', name: '' };
    switch (occ.kind) {
      case 'cell':
        return here(occ);
      case 'model':
        return here(declared(this.occurrences, 'model', top));
      case 'call':
        if (occ.setting !== undefined) return null;
        if (occ.scope.kind === 'cell') {
          const option = declared(this.occurrences, 'value', occ.scope);
          if (option) return here(option);
        }
        return cell(occ.name);
      case 'setting':
        return null;
      case 'dim': {
        if (occ.boundIn !== undefined) {
          const user = this.occurrences.some((o) => o.kind === 'cell' && o.name === occ.boundIn);
          const list = user ? this.occurrences : standardCells().occurrences;
          const at = cellDim(list, occ.boundIn, occ.name) ?? list.find((o) => o.kind === 'value' && o.declares && o.name === occ.name && o.scope.kind === 'cell' && o.scope.name === occ.boundIn);
          return user ? here(at) : inStd(at);
        }
        if (occ.scope.kind === 'cell') return here(cellDim(this.occurrences, occ.scope.name, occ.name));
        return here(declared(this.occurrences, 'dim', occ.scope) ?? declared(this.occurrences, 'dim', top));
      }
      case 'value': {
        const own = declared(this.occurrences, 'value', occ.scope);
        if (own) return here(own);
        if (occ.scope.kind === 'cell') return here(cellDim(this.occurrences, occ.scope.name, occ.name));
        return here(declared(this.occurrences, 'dim', occ.scope) ?? declared(this.occurrences, 'dim', top));
      }
    }
  }

  // ---------------------------------------------------------------- completion

  completions(position: Position): CompletionItem[] {
    const offset = this.doc.offsetAt(position);
    const line = this.doc.getText({ start: { line: position.line, character: 0 }, end: position });
    const setting = /^\s*(data|optimizer|schedule)\s+\w*$/.exec(line)?.[1];
    if (setting === 'data') return DATA_SOURCES.map((d) => ({ label: d.name, kind: CompletionItemKind.Module, detail: 'data source', documentation: d.doc }));
    if (setting === 'optimizer') {
      return Object.entries(OPTIMIZER_RULES).map(([name, r]) => ({
        label: name,
        kind: CompletionItemKind.Class,
        detail: `optimizer (${Object.entries(r.defaults).map(([k, v]) => `${k} = ${v}`).join(', ')})`,
      }));
    }
    if (setting === 'schedule') return SCHEDULE_NAMES.map((name) => ({ label: name, kind: CompletionItemKind.Class, detail: 'learning-rate schedule' }));
    // `param W: [H, X] = `: what the parameter starts from.
    if (/^\s*param\b[^=#]*=\s*\w*$/.test(line)) return INITIALISERS.map((name) => ({ label: name, kind: CompletionItemKind.Constructor, detail: 'initialiser' }));

    const items = new Map<string, CompletionItem>();
    const add = (item: CompletionItem): void => {
      if (!items.has(item.label)) items.set(item.label, item);
    };
    // Names of the cell or model around the cursor: its values and dimensions.
    const scope = this.program?.items.find((i) => (i.kind === 'CellDecl' || i.kind === 'ModelDecl') && i.span.start <= offset && offset <= i.span.end);
    if (scope && (scope.kind === 'CellDecl' || scope.kind === 'ModelDecl')) {
      for (const o of this.occurrences) {
        if (o.scope.name !== scope.name.name || o.scope.kind !== (scope.kind === 'CellDecl' ? 'cell' : 'model')) continue;
        if (o.kind === 'value' && o.declares) add({ label: o.name, kind: CompletionItemKind.Variable, ...this.valueDetail(scope, o.name) });
        // A `with H = 8` names the applied cell's dimension, not one of this scope's.
        if (o.kind === 'dim' && o.boundIn === undefined) add({ label: o.name, kind: CompletionItemKind.Constant, detail: 'dimension' });
      }
    }
    for (const [name] of this.analysis.topDims) add({ label: name, kind: CompletionItemKind.Constant, detail: 'dimension' });
    for (const o of this.occurrences) if (o.kind === 'cell') add({ label: o.name, kind: CompletionItemKind.Function, detail: 'cell (this file)' });
    for (const name of standardCells().cells.keys()) add({ label: name, kind: CompletionItemKind.Function, detail: 'standard cell' });
    const functions = scope?.kind === 'CellDecl' ? [...ELEMENTWISE.keys(), ...CELL_FUNCTIONS] : [...MODEL_FUNCTIONS, ...ELEMENTWISE.keys()];
    for (const name of functions) add({ label: name, kind: CompletionItemKind.Function, detail: 'built-in function' });
    return [...items.values()];
  }

  private valueDetail(scope: CellDecl | ModelDecl, name: string): { detail?: string } {
    if (scope.kind !== 'ModelDecl') return {};
    const t = this.modelValues.get(scope.name.name)?.get(name);
    return t !== undefined ? { detail: t } : {};
  }

  // ---------------------------------------------------------------- helpers

  private isHere(span: Span): boolean {
    return span.file === this.file;
  }

  private range(span: Span): Range {
    return spanRange(this.doc, span);
  }

  private location(span: Span): Location | undefined {
    if (this.isHere(span)) return { uri: this.doc.uri, range: this.range(span) };
    const std = standardCells();
    if (span.file === std.source.file && std.uri) return { uri: std.uri, range: spanRange(std.doc, span) };
    return undefined;
  }

  private cellDecl(name: string): { decl: CellDecl; text: string; standard: boolean } | undefined {
    const user = this.program?.items.find((i): i is CellDecl => i.kind === 'CellDecl' && i.name.name === name);
    if (user) return { decl: user, text: this.doc.getText(), standard: false };
    const std = standardCells();
    const decl = std.cells.get(name);
    return decl ? { decl, text: std.source.text, standard: true } : undefined;
  }

  private modelDecl(name: string): ModelDecl | undefined {
    return this.program?.items.find((i): i is ModelDecl => i.kind === 'ModelDecl' && i.name.name === name);
  }

  private isCellOption(cell: string, name: string): boolean {
    return this.cellDecl(cell)?.decl.body.some((i) => i.kind === 'OptionDecl' && i.name.name === name) ?? false;
  }
}

function spanRange(doc: TextDocument, span: Span): Range {
  return { start: doc.positionAt(span.start), end: doc.positionAt(span.end) };
}

function sliceSpan(text: string, span: Span): string {
  return text.slice(span.start, span.end).replace(/\s+/g, ' ');
}

function shapeText(s: Shape): string {
  return `[${s.dims.map((d) => dimText(d)).join(', ')}]`;
}

function fence(code: string): string {
  return `\`\`\`rnn\n${code}\n\`\`\``;
}
