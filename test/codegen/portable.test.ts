// The op helpers of emitted modules are the text of the interpreter's own
// runtime/tfjs/portable-ops.ts (one source for both): this test makes
// compiler/codegen/portable-ops.generated.ts from it and fails when the
// committed file is stale (update with `npx vitest run test/codegen/portable.test.ts -u`).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OP_HELPERS } from '../../compiler/codegen/prelude.js';
import { packageRoot } from '../../src/stdlib.js';

export function generatePortableOps(source: string): string {
  const lines = source.split('\n');
  const afterImports = lines.slice(lines.findIndex((l) => l.startsWith('import ')) + 1);
  const body = afterImports
    .filter((l) => !l.startsWith('import '))
    .join('\n')
    .replace(/^export /gm, '')
    .trim();
  return [
    '// Generated from runtime/tfjs/portable-ops.ts by test/codegen/portable.test.ts: do not edit.',
    '// After a change there, run `npx vitest run test/codegen/portable.test.ts -u`.',
    `export const OP_HELPERS = ${JSON.stringify(`\n${body}\n`)};`,
    '',
  ].join('\n');
}

describe('op helpers of emitted modules', () => {
  const root = packageRoot();
  const source = readFileSync(join(root, 'runtime', 'tfjs', 'portable-ops.ts'), 'utf8');

  it('the generated prelude is the current text of runtime/tfjs/portable-ops.ts', async () => {
    await expect(generatePortableOps(source)).toMatchFileSnapshot(join(root, 'compiler', 'codegen', 'portable-ops.generated.ts'));
  });

  it('portable-ops.ts imports nothing but tfjs-core, so its text runs inside an emitted module', () => {
    const imports = source.split('\n').filter((l) => l.startsWith('import '));
    expect(imports).toEqual(["import * as tf from '@tensorflow/tfjs-core';"]);
    expect(OP_HELPERS).toContain('function linear(');
    expect(OP_HELPERS).not.toContain('export ');
  });
});
