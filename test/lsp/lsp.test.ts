// `rnnc lsp` driven by a real LSP client: the built executable in its own
// process, JSON-RPC over its standard input and output
// (vscode-languageserver-protocol). Diagnostics as a document is opened and
// fixed, hover, go-to-definition (into the standard cells' file), completion,
// bad and half-typed text that must never stop the server, and a clean
// shutdown. Every wait has a timeout and the child is always killed.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CompletionRequest,
  createProtocolConnection,
  DefinitionRequest,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type CompletionItem,
  type CompletionList,
  type Hover,
  type Location,
  type LogMessageParams,
  type Position,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import { useExecutable } from '../e2e/cli-harness.js';

const exe = useExecutable();

const CLEAN = `# A model; the comment has non-ASCII text: héllo 😀
dim H = 4

cell twice(x: [X]) -> h: [H] {
  param W: [H, X] = glorot
  h[t] = tanh(W @ x[t]) * 2
}

model wave {
  input  x: seq<[1]>
  target y: seq<[1]>
  h = rnn(x) with H
  g = twice(h) with H
  loss = mse(dense(g, 1), y)
}

train wave {
  data      sine(T = 10, n = 64, valid = 16)
  optimizer adam(lr = 1e-2)
  batch 16; epochs 1; seed 1
}
`;

/** Where `needle` (the `nth` occurrence, from 0) starts in `text`, as an LSP position (UTF-16 columns). */
function positionOf(text: string, needle: string, nth = 0): Position {
  let at = -1;
  for (let k = 0; k <= nth; k++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`no ${needle} (#${nth}) in the text`);
  }
  const before = text.slice(0, at);
  const line = before.split('\n').length - 1;
  return { line, character: at - (before.lastIndexOf('\n') + 1) };
}

/** A diagnostic's message as text (LSP 3.18 allows markup). */
const messageText = (m: string | { value: string }): string => (typeof m === 'string' ? m : m.value);

const after = (p: Position, n: number): Position => ({ line: p.line, character: p.character + n });

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

describe('rnnc lsp', () => {
  let child: ChildProcessWithoutNullStreams;
  let conn: ProtocolConnection;
  let stderr = '';
  const logs: string[] = [];
  const published: PublishDiagnosticsParams[] = [];
  let waiters: (() => void)[] = [];
  let exited: Promise<number | null>;
  const uri = pathToFileURL(join('/tmp', 'rnnc-lsp-test', 'wave.rnn')).href;
  let version = 1;

  /** The first diagnostics published for `docUri` at `v` or later that satisfy `ok`. */
  const diagnosticsFor = (docUri: string, v: number, ok: (p: PublishDiagnosticsParams) => boolean = () => true): Promise<PublishDiagnosticsParams> =>
    withTimeout(
      new Promise<PublishDiagnosticsParams>((resolve) => {
        const look = (): boolean => {
          const hit = published.find((p) => p.uri === docUri && (p.version ?? 0) >= v && ok(p));
          if (hit) resolve(hit);
          return hit !== undefined;
        };
        if (!look()) waiters.push(() => void look());
      }),
      20_000,
      `diagnostics of ${docUri} version ${v}`,
    );

  const open = async (docUri: string, text: string): Promise<void> => {
    await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: docUri, languageId: 'rnn', version: 1, text } });
  };
  const hover = (docUri: string, position: Position) =>
    withTimeout(conn.sendRequest(HoverRequest.type, { textDocument: { uri: docUri }, position }), 20_000, 'hover') as Promise<Hover | null>;
  const definition = async (docUri: string, position: Position): Promise<Location | undefined> => {
    const r = await withTimeout(conn.sendRequest(DefinitionRequest.type, { textDocument: { uri: docUri }, position }), 20_000, 'definition');
    return (Array.isArray(r) ? r[0] : r) as Location | undefined;
  };
  const complete = async (docUri: string, position: Position): Promise<string[]> => {
    const r = (await withTimeout(conn.sendRequest(CompletionRequest.type, { textDocument: { uri: docUri }, position }), 20_000, 'completion')) as CompletionItem[] | CompletionList | null;
    return (Array.isArray(r) ? r : (r?.items ?? [])).map((i) => i.label);
  };
  const hoverText = (h: Hover | null): string => (h && typeof h.contents === 'object' && 'value' in h.contents ? h.contents.value : '');

  beforeAll(async () => {
    child = spawn(process.execPath, [exe.bin, 'lsp', '--stdio'], { stdio: 'pipe' });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
      published.push(p);
      const pending = waiters;
      waiters = [];
      for (const w of pending) w();
    });
    conn.onNotification(LogMessageNotification.type, (m: LogMessageParams) => {
      logs.push(m.message);
    });
    conn.listen();
    const init = await withTimeout(
      conn.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {}, workspaceFolders: null }),
      30_000,
      'initialize',
    );
    expect(init.capabilities.hoverProvider).toBe(true);
    expect(init.capabilities.definitionProvider).toBe(true);
    expect(init.capabilities.completionProvider).toBeDefined();
    await conn.sendNotification(InitializedNotification.type, {});
  });

  afterAll(() => {
    conn?.dispose();
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('publishes the compiler diagnostic of an error with its code and range, and clears it once fixed', async () => {
    const broken = CLEAN.replace('h = rnn(x) with H', 'h = rnn(xs) with H');
    await open(uri, broken);
    const first = await diagnosticsFor(uri, 1, (p) => p.diagnostics.length > 0);
    expect(first.diagnostics).toHaveLength(1);
    const d = first.diagnostics[0]!;
    expect(d.code).toBe('RNN2001');
    expect(d.source).toBe('rnnc');
    expect(messageText(d.message)).toContain('unknown name `xs`');
    expect(messageText(d.message)).toContain('hint:');
    const at = positionOf(broken, 'xs)');
    expect(d.range).toEqual({ start: at, end: after(at, 2) });

    version = 2;
    await conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text: CLEAN }] });
    const fixed = await diagnosticsFor(uri, version);
    expect(fixed.diagnostics).toEqual([]);
  });

  it('counts columns in UTF-16 code units after non-ASCII text on the same line', async () => {
    const text = CLEAN.replace('  optimizer adam(lr = 1e-2)', '  data sine(T = 10); optimizer adamm(lr = 1e-2) # ü😀').replace('  data      sine(T = 10, n = 64, valid = 16)\n', '');
    const withString = text.replace('data sine(T = 10);', 'data text(path = "é😀.txt");');
    const docUri = pathToFileURL('/tmp/rnnc-lsp-test/utf16.rnn').href;
    await open(docUri, withString);
    const p = await diagnosticsFor(docUri, 1, (x) => x.diagnostics.some((d) => messageText(d.message).includes('adamm')));
    const d = p.diagnostics.find((x) => messageText(x.message).includes('adamm'))!;
    expect(d, JSON.stringify(p.diagnostics)).toBeDefined();
    // `adamm` stands after a string holding é (one UTF-16 unit) and 😀 (two).
    expect(d.range.start).toEqual(positionOf(withString, 'adamm'));
  });

  it('hovers: the type of a model value, a cell with its equations, a dimension', async () => {
    const h = hoverText(await hover(uri, positionOf(CLEAN, 'h) with H')));
    expect(h).toContain('h: seq<[4]>');
    const g = hoverText(await hover(uri, after(positionOf(CLEAN, 'g, 1)'), 0)));
    expect(g).toContain('g: seq<[4]>');
    const y = hoverText(await hover(uri, positionOf(CLEAN, 'y)')));
    expect(y).toContain('y: seq<[1]>');
    const rnn = hoverText(await hover(uri, after(positionOf(CLEAN, 'rnn(x)'), 1)));
    expect(rnn).toContain('cell rnn(x: [X]) -> h: [H]');
    expect(rnn).toContain('h[t] = act(U @ x[t] + W @ h[t-1] + b)');
    const twice = hoverText(await hover(uri, positionOf(CLEAN, 'twice(h)')));
    expect(twice).toContain('cell twice(x: [X]) -> h: [H]');
    expect(twice).toContain('h[t] = tanh(W @ x[t]) * 2');
    const dim = hoverText(await hover(uri, positionOf(CLEAN, 'H = 4')));
    expect(dim).toContain('dim H = 4');
    const param = hoverText(await hover(uri, positionOf(CLEAN, 'W @ x')));
    expect(param).toContain('param W: [H, X] = glorot');
    const source = hoverText(await hover(uri, positionOf(CLEAN, 'sine(')));
    expect(source).toContain('data source');
    expect(await hover(uri, { line: 0, character: 3 })).toBeNull(); // a comment
  });

  it('goes to the definitions of values, dimensions, user cells and standard cells', async () => {
    const toH = await definition(uri, positionOf(CLEAN, 'h) with H'));
    expect(toH?.uri).toBe(uri);
    expect(toH?.range.start).toEqual(positionOf(CLEAN, 'h = rnn'));
    const toDim = await definition(uri, after(positionOf(CLEAN, 'with H'), 5));
    // `with H` binds the cell's own dimension: its first mention in the cell's signature.
    expect(toDim?.uri).toMatch(/compiler\/stdlib\/cells\.rnn$/);
    const toTopDim = await definition(uri, positionOf(CLEAN, 'H, X]'));
    expect(toTopDim?.range.start).toEqual(positionOf(CLEAN, 'H]', 0));
    const toTwice = await definition(uri, positionOf(CLEAN, 'twice(h)'));
    expect(toTwice?.range.start).toEqual(positionOf(CLEAN, 'twice(x'));
    const toRnn = await definition(uri, positionOf(CLEAN, 'rnn(x)'));
    expect(toRnn?.uri).toMatch(/compiler\/stdlib\/cells\.rnn$/);
    const stdText = readFileSync(fileURLToPath(toRnn!.uri), 'utf8');
    expect(toRnn?.range.start).toEqual(positionOf(stdText, 'rnn(x: [X])'));
    const toModel = await definition(uri, positionOf(CLEAN, 'wave {', 1));
    expect(toModel?.range.start).toEqual(positionOf(CLEAN, 'wave {', 0));
  });

  it('completes data sources, optimizers, and cells and functions in a model', async () => {
    const docUri = pathToFileURL('/tmp/rnnc-lsp-test/complete.rnn').href;
    const text = CLEAN.replace('  data      sine(T = 10, n = 64, valid = 16)', '  data ').replace('  optimizer adam(lr = 1e-2)', '  optimizer ');
    await open(docUri, text);
    const sources = await complete(docUri, after(positionOf(text, '  data '), 7));
    expect(sources).toEqual(expect.arrayContaining(['sine', 'brown_chars', 'text', 'mnist_rows']));
    expect(sources).not.toContain('lstm');
    const optimizers = await complete(docUri, after(positionOf(text, '  optimizer '), 12));
    expect(optimizers).toEqual(expect.arrayContaining(['adam', 'sgd']));
    const inModel = await complete(uri, positionOf(CLEAN, '  loss'));
    expect(inModel).toEqual(expect.arrayContaining(['lstm', 'gru', 'rnn', 'twice', 'dense', 'embed', 'tanh', 'h', 'g', 'x', 'H']));
  });

  it('survives unparsable and half-typed text, answering every request', async () => {
    const docUri = pathToFileURL('/tmp/rnnc-lsp-test/bad.rnn').href;
    const bad = 'model { cell ))) ((( "unterminated\n dim = = \n train x { data ( }\n cell c(x: [X) -> { h[t = }\n';
    await open(docUri, bad);
    const p = await diagnosticsFor(docUri, 1);
    expect(p.diagnostics.length).toBeGreaterThan(0);
    expect(p.diagnostics.every((d) => typeof d.code === 'string' && /^RNN\d{4}$/.test(d.code))).toBe(true);
    // Every prefix of a real program, typed a chunk at a time, with requests at the cursor.
    let v = 1;
    for (let end = 0; end <= CLEAN.length; end += 37) {
      const text = CLEAN.slice(0, end);
      v++;
      await conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri: docUri, version: v }, contentChanges: [{ text }] });
      const cursor = positionOf(`${text}\u0000`, '\u0000');
      await hover(docUri, cursor);
      await definition(docUri, cursor);
      await complete(docUri, cursor);
    }
    const last = await diagnosticsFor(docUri, v);
    expect(last.version).toBe(v);
    // Still answering about the good document.
    expect(hoverText(await hover(uri, positionOf(CLEAN, 'h) with H')))).toContain('h: seq<[4]>');
    // A handler that threw would have logged "rnnc lsp: ... failed".
    expect(logs.filter((m) => m.includes('failed'))).toEqual([]);
    expect(stderr).toBe('');
  });

  it('shuts down and exits with code 0', async () => {
    await withTimeout(conn.sendRequest(ShutdownRequest.type), 20_000, 'shutdown');
    await conn.sendNotification(ExitNotification.type);
    expect(await withTimeout(exited, 20_000, 'the server to exit')).toBe(0);
  });
});
