// `rnnc lsp`: a language server over standard input and output. Full text
// sync; each change is checked after a short pause (DEBOUNCE_MS) and the
// compiler's diagnostics are published with their codes, notes and hints;
// hover, go-to-definition and completion answer from the latest check
// (src/lsp/document.ts).
//
// The server must outlive anything a user types: every handler catches what
// the compiler throws (an internal error is a compiler bug, logged to the
// client's output, never a crash) and answers "nothing" instead.
import {
  createConnection,
  TextDocumentSyncKind,
  type Connection,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { RnnDocument } from './document.js';

/** How long a burst of typing may pause before the document is checked again. */
export const DEBOUNCE_MS = 200;

export function startServer(input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stdout): Connection {
  // Standard output carries the protocol: anything logged goes to standard error instead.
  console.log = console.error;
  console.info = console.error;
  console.warn = console.error;
  // Given streams (rather than read from --stdio), vscode-languageserver still ends the process when the input
  // closes or after `exit` (code 0 after `shutdown`, else 1), and when the client's processId goes away.
  const connection = createConnection(input, output);
  const texts = new Map<string, { version: number; text: string }>();
  const checked = new Map<string, RnnDocument>();
  const timers = new Map<string, NodeJS.Timeout>();

  const guarded = <T>(what: string, fallback: T, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      connection.console.error(`rnnc lsp: ${what} failed (a bug in rnnc; please report it with the file): ${(e as Error)?.stack ?? String(e)}`);
      return fallback;
    }
  };

  /** The latest check of a document, made now if the pending one has not run. */
  const current = (uri: string): RnnDocument | undefined => {
    const t = texts.get(uri);
    if (!t) return undefined;
    const doc = checked.get(uri);
    if (doc && doc.doc.version === t.version) return doc;
    return check(uri);
  };

  const check = (uri: string): RnnDocument | undefined => {
    const t = texts.get(uri);
    if (!t) return undefined;
    clearTimeout(timers.get(uri));
    timers.delete(uri);
    const doc = guarded(`checking ${uri}`, undefined, () => new RnnDocument(uri, t.version, t.text));
    if (!doc) return undefined;
    checked.set(uri, doc);
    const diagnostics = guarded('diagnostics', [], () => doc.lspDiagnostics());
    void connection.sendDiagnostics({ uri, version: t.version, diagnostics });
    return doc;
  };

  const schedule = (uri: string, delay: number): void => {
    clearTimeout(timers.get(uri));
    timers.set(uri, setTimeout(() => check(uri), delay));
  };

  connection.onInitialize(
    (): InitializeResult => ({
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Full },
        hoverProvider: true,
        definitionProvider: true,
        completionProvider: {},
      },
      serverInfo: { name: 'rnnc' },
    }),
  );

  connection.onDidOpenTextDocument(({ textDocument }) => {
    texts.set(textDocument.uri, { version: textDocument.version, text: textDocument.text });
    schedule(textDocument.uri, 0);
  });
  connection.onDidChangeTextDocument(({ textDocument, contentChanges }) => {
    // Full sync: the last change holds the whole text.
    const last = contentChanges.at(-1);
    if (!last) return;
    texts.set(textDocument.uri, { version: textDocument.version, text: last.text });
    schedule(textDocument.uri, DEBOUNCE_MS);
  });
  connection.onDidCloseTextDocument(({ textDocument }) => {
    clearTimeout(timers.get(textDocument.uri));
    timers.delete(textDocument.uri);
    texts.delete(textDocument.uri);
    checked.delete(textDocument.uri);
    void connection.sendDiagnostics({ uri: textDocument.uri, diagnostics: [] });
  });

  connection.onHover(({ textDocument, position }) => guarded('hover', null, () => current(textDocument.uri)?.hover(position) ?? null));
  connection.onDefinition(({ textDocument, position }) => guarded('definition', null, () => current(textDocument.uri)?.definition(position) ?? null));
  connection.onCompletion(({ textDocument, position }) => guarded('completion', [], () => current(textDocument.uri)?.completions(position) ?? []));
  connection.onShutdown(() => {
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
  });

  connection.listen();
  return connection;
}
