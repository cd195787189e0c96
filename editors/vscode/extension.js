// The VS Code client of `rnnc lsp`: starts the language server (the rnnc
// executable named by the `rnnc.server.command` setting) over stdio for .rnn
// files. Everything else (highlighting, brackets, snippets) is declared in
// package.json.
'use strict';
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration('rnnc');
  const command = config.get('server.command', 'rnnc');
  const args = [...config.get('server.args', []), 'lsp'];
  const run = { command, args, transport: TransportKind.stdio };
  client = new LanguageClient('rnnc', 'rnnc language server', { run, debug: run }, {
    documentSelector: [{ language: 'rnn' }],
  });
  context.subscriptions.push(
    vscode.commands.registerCommand('rnnc.restartServer', () => client.restart()),
  );
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
