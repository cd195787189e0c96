// The API reference (docs/api/, `npm run docs:api`) is what TypeDoc makes of
// the TSDoc comments now: regenerated into a temporary folder, it must equal
// the committed one file for file. TypeDoc runs with every warning an error
// (tools/api-docs/typedoc.json), so an exported symbol or member without a
// TSDoc comment, or a broken {@link}, fails here too.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../e2e/cli-harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = tempDir('rnnc-api-docs-');
afterAll(() => removeDir(out));

/** Every file under `dir`, by its path relative to `dir`, with its text. */
function files(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else found.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return new Map([...found].sort(([a], [b]) => a.localeCompare(b)));
}

describe('docs/api', () => {
  it('is up to date with the TSDoc of src/index.ts, and every exported symbol has TSDoc', { timeout: 240_000 }, () => {
    const bin = join(root, 'tools', 'api-docs', 'node_modules', 'typedoc', 'bin', 'typedoc');
    const r = spawnSync(process.execPath, [bin, '--options', join(root, 'tools', 'api-docs', 'typedoc.json'), '--out', out], { cwd: root, encoding: 'utf8', timeout: 220_000 });
    expect(r.status, `typedoc failed (run \`npm ci\` to install tools/api-docs):\n${r.stdout}\n${r.stderr}`).toBe(0);
    const made = files(out);
    const committed = files(join(root, 'docs', 'api'));
    expect([...committed.keys()], 'the files of docs/api: run `npm run docs:api`').toEqual([...made.keys()]);
    for (const [name, text] of made) expect(committed.get(name), `docs/api/${name} is out of date: run \`npm run docs:api\``).toBe(text);
  });
});
