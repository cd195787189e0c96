// Start-up: `rnnc --version` and `--help` load none of the heavy packages
// (chevrotain, tfjs, ts-morph, prettier), and `rnnc check` loads neither the
// code generator's (ts-morph, prettier) nor any tfjs package (it validates
// optimizers with runtime/train/optimizer-rules.ts). Checked by what
// the process resolves (a module resolve hook records every URL), not by a
// clock: the times are measured by `npm run bench -- --startup`.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture, useExecutable, writeFile } from './cli-harness.js';

const exe = useExecutable();
let register: string;
beforeAll(() => {
  // The hooks run in a thread of their own: a synchronous write to fd 2 lands before the process can exit (process.stderr.write
  // from that thread could be lost when the command ends first, which dropped the last packages under load).
  writeFile(exe.dir, 'hooks.mjs', `import { writeSync } from 'node:fs';\nexport async function resolve(spec, ctx, next) {\n  const r = await next(spec, ctx);\n  writeSync(2, 'RESOLVED ' + r.url + '\\n');\n  return r;\n}\n`);
  register = writeFile(exe.dir, 'register.mjs', `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(exe.dir, 'hooks.mjs')).href)});\n`);
});

/** The npm packages a run of `rnnc ...args` resolved, by name. */
function packagesLoaded(...args: string[]): string[] {
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, exe.bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  expect(r.status, r.stderr).toBe(0);
  const names = new Set<string>();
  for (const m of r.stderr.matchAll(/^RESOLVED .*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)) names.add(m[1]!);
  return [...names].sort();
}

const HEAVY = ['chevrotain', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', 'ts-morph', 'prettier'];

describe('what each command loads', () => {
  it('--version and --help: commander only, none of the heavy packages', () => {
    for (const flag of ['--version', '--help']) {
      const loaded = packagesLoaded(flag);
      expect(loaded, flag).toContain('commander');
      expect(loaded.filter((p) => HEAVY.includes(p)), flag).toEqual([]);
    }
  });

  it('check: the parser, but neither the code generator nor any tfjs package', () => {
    // clean.rnn has a train block: its optimizer's arguments are checked too.
    const loaded = packagesLoaded('check', fixture('clean.rnn'));
    expect(loaded).toContain('chevrotain');
    expect(loaded.filter((p) => p === 'ts-morph' || p === 'prettier' || p.startsWith('@tensorflow/'))).toEqual([]);
  });
});
