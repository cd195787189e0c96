// The example of README.md, "Using rnnc from TypeScript", runs as written
// (the package name pointing at the sources, the checkpoint in a temporary
// folder), so the README cannot drift from the API.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { removeDir, tempDir } from '../e2e/cli-harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = tempDir('rnnc-readme-');
afterAll(() => removeDir(dir));

/** The first TypeScript block under the README's heading. */
function example(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf('\n## Using rnnc from TypeScript\n');
  expect(at, 'the README section').toBeGreaterThan(0);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(block, 'a ```ts block in the section').not.toBeNull();
  return block![1]!;
}

describe('README: Using rnnc from TypeScript', () => {
  it('runs: it trains, prints an epoch line per epoch and the two labels, writes a checkpoint and gets the module text', async () => {
    const code = example();
    expect(code).toContain("from 'rnnc'");
    expect(code).toContain("'runs/majority/checkpoint.json'");
    const ckpt = join(dir, 'checkpoint.json');
    const runnable = code
      .replace("from 'rnnc'", "from '../../src/index.js'")
      .replace("'runs/majority/checkpoint.json'", JSON.stringify(ckpt))
      .concat('\nexport { moduleText };\n');
    // Under test/ so the relative import resolves; test/.generated is ignored by git.
    const file = join(root, 'test', '.generated', `readme-example-${process.pid}.ts`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, runnable);
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')));
    let mod: { moduleText: string };
    try {
      mod = (await import(file)) as { moduleText: string };
    } finally {
      log.mockRestore();
      removeDir(dirname(file));
    }
    const epochs = lines.filter((l) => /^epoch \d+: loss \d+\.\d{3}, accuracy \d\.\d{3}$/.test(l));
    expect(epochs.length).toBeGreaterThan(1);
    expect(lines.at(-1)).toBe('["1","0"]');
    expect(existsSync(ckpt)).toBe(true);
    expect(JSON.parse(readFileSync(ckpt, 'utf8')).model).toBe('majority');
    expect(mod.moduleText).toContain('export function forward(');
  });
});
