// `rnnc lsp`: the language server (src/lsp/server.ts) over standard input and
// output, for editors. It runs until the client sends `exit` or closes its
// input; vscode-languageserver then ends the process itself.
export async function lspCommand(): Promise<number> {
  const { startServer } = await import('../lsp/server.js');
  startServer();
  return new Promise<number>(() => {
    // Never settles: the process ends when the connection does.
  });
}
