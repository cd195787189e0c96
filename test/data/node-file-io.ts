// A FileIO over node:fs for the data tests (the runtime itself never imports
// fs); package files resolve against this repository's node_modules.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileIO } from '../../runtime/io.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const nodeFileIO: FileIO = {
  readText: (p) => fs.readFileSync(p, 'utf8'),
  writeTextAtomic: (p, text) => {
    const tmp = `${p}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, p);
  },
  exists: (p) => fs.existsSync(p),
  listDir: (p) => fs.readdirSync(p).sort(),
  packageFile: (pkg, rel) => path.join(repoRoot, 'node_modules', pkg, rel),
};

/** An in-memory FileIO: `files` maps paths to contents. */
export function memoryFileIO(files: Record<string, string>): FileIO {
  const store = new Map(Object.entries(files));
  return {
    readText: (p) => {
      const t = store.get(p);
      if (t === undefined) throw new Error(`ENOENT: ${p}`);
      return t;
    },
    writeTextAtomic: (p, text) => {
      store.set(p, text);
    },
    exists: (p) => store.has(p),
    listDir: (p) => [...store.keys()].filter((k) => k.startsWith(`${p}/`)).map((k) => k.slice(p.length + 1)).sort(),
    packageFile: (pkg, rel) => `/pkg/${pkg}/${rel}`,
  };
}
