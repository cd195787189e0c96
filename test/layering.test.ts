// The directions of the house (ARCHITECTURE.md): grammar imports only chevrotain;
// compiler is pure (no fs, no process, no tfjs, nothing from runtime or src);
// runtime imports only types and the element-wise op table from compiler;
// src may use everything.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/stdlib.js';

const root = packageRoot();

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

interface Import {
  readonly file: string;
  readonly spec: string;
  readonly typeOnly: boolean;
}

function imports(dir: string): Import[] {
  return tsFiles(join(root, dir)).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    const out: Import[] = [];
    for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)) {
      out.push({ file: relative(root, file), spec: m[3]!, typeOnly: m[2] !== undefined });
    }
    for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) out.push({ file: relative(root, file), spec: m[1]!, typeOnly: false });
    return out;
  });
}

const violations = (list: Import[], bad: (i: Import) => boolean): string[] => list.filter(bad).map((i) => `${i.file}: ${i.spec}`);

describe('import directions', () => {
  it('grammar/ imports only chevrotain (and itself)', () => {
    expect(violations(imports('grammar'), (i) => !(i.spec === 'chevrotain' || i.spec.startsWith('./')))).toEqual([]);
  });

  it('Chevrotain values come only through grammar/chevrotain.ts (one copy of the library, one EOF)', () => {
    const all = ['grammar', 'compiler', 'runtime', 'src', 'bench'].flatMap(imports);
    const bad = (i: Import) => i.spec === 'chevrotain' && !i.typeOnly && i.file !== join('grammar', 'chevrotain.ts');
    expect(violations(all, bad)).toEqual([]);
    expect(all.some((i) => i.spec === 'chevrotain' && i.typeOnly)).toBe(true);
  });

  it('the built rnnc loads Chevrotain from its single-file bundle', async () => {
    const built = join(root, 'dist', 'grammar', 'chevrotain.js');
    const { chevrotainSource } = (await import(pathToFileURL(built).href)) as { chevrotainSource: string };
    expect(chevrotainSource).toBe('bundle');
  });

  it('compiler/ is pure: no fs, process, tfjs, runtime or src', () => {
    const bad = (i: Import) =>
      i.spec.startsWith('node:') ||
      i.spec.startsWith('@tensorflow/') ||
      /\/(runtime|src)\//.test(i.spec) ||
      /^\.\.\/\.\.\/(runtime|src)\b/.test(i.spec);
    expect(violations(imports('compiler'), bad)).toEqual([]);
    for (const f of tsFiles(join(root, 'compiler'))) expect(readFileSync(f, 'utf8'), f).not.toMatch(/\bprocess\.(env|exit|argv|stdout|stderr)\b/);
  });

  it('runtime/ imports from compiler/ only types and the element-wise op table, nothing from src/, and no fs', () => {
    // The op table (compiler/ir/elementwise.ts) is pure data and float64 functions: every runtime reads its ops there.
    const table = (i: Import) => /\/compiler\/ir\/elementwise\.js$/.test(i.spec);
    const bad = (i: Import) => (i.spec.includes('/compiler/') && !i.typeOnly && !table(i)) || i.spec.includes('/src/') || i.spec === 'node:fs' || i.spec === 'fs';
    expect(violations(imports('runtime'), bad)).toEqual([]);
  });

  it('the scan finds imports (it can fail)', () => {
    const all = imports('runtime');
    expect(all.some((i) => i.spec.includes('/compiler/') && i.typeOnly)).toBe(true);
    expect(all.some((i) => i.spec === '@tensorflow/tfjs-core')).toBe(true);
  });
});
