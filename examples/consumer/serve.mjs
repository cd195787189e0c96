#!/usr/bin/env node
// A minimal static file server for the built web page (node:http, no
// dependency): browsers need http:// to fetch the checkpoint and the .wasm
// files. Binds 127.0.0.1 only.
//
//   node examples/consumer/serve.mjs [DIR] [--port N]     (DIR: examples/consumer/web/dist)
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

/**
 * Serves `dir` on 127.0.0.1 (`port` 0: any free port). Resolves to the server
 * and its address; close it with `server.close()`.
 * @param {string} dir
 * @param {number} [port]
 * @returns {Promise<{ server: import('node:http').Server, url: string }>}
 */
export function serveStatic(dir, port = 0) {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    let file = normalize(join(root, path));
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const size = statSync(file).size;
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': size, 'cache-control': 'no-store' });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const p = typeof address === 'object' && address !== null ? address.port : port;
      ok({ server, url: `http://127.0.0.1:${p}/` });
    });
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { port: { type: 'string', default: '8080' } } });
  const dir = positionals[0] ?? join(dirname(fileURLToPath(import.meta.url)), 'web', 'dist');
  const { url } = await serveStatic(dir, Number(values.port));
  console.log(`serving ${dir} at ${url} (Ctrl-C stops)`);
}
