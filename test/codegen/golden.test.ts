// Golden emitted code (ARCHITECTURE.md rule 1) for a small model per standard cell:
// a change to codegen shows up as a reviewable diff under
// test/cases/codegen/ (`npx vitest run test/codegen -u` rewrites them).
// Compiling twice gives the same text.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { goldenCellModel, STANDARD_CELLS } from '../helpers/programs.js';
import { OP_NAMES } from '../../compiler/ir/ops.js';
import { OP_EMITTERS } from '../../compiler/codegen/emit-ops.js';
import { sanitize, Scope } from '../../compiler/codegen/emit-graph.js';
import { compileText } from './helpers.js';

const dir = fileURLToPath(new URL('../cases/codegen/', import.meta.url));
const CELLS = STANDARD_CELLS;

const modelText = (cell: string): string => goldenCellModel(cell, '\ntrain m { optimizer adam(lr = 0.01); clip norm 1.0 }');

describe('golden emitted code of the standard cells', () => {
  for (const cell of CELLS) {
    it(`${cell}`, async () => {
      const { code } = await compileText(modelText(cell));
      expect(code).toContain(`function h_step(`);
      expect(code).toContain(`function h_train_backward_step(`);
      await expect(code).toMatchFileSnapshot(join(dir, `${cell}.model.ts.txt`));
    });
  }

  it('a truncated-BPTT rnn', async () => {
    const { code } = await compileText(modelText('rnn').replace('clip norm 1.0', 'bptt truncated(k1 = 2, k2 = 3)'));
    expect(code).toContain('planWindows(batch.steps, 2, 3)');
    await expect(code).toMatchFileSnapshot(join(dir, 'rnn.truncated.model.ts.txt'));
  });

  it('is deterministic', async () => {
    for (const cell of CELLS) {
      const a = await compileText(modelText(cell));
      const b = await compileText(modelText(cell));
      expect(a.code).toBe(b.code);
    }
  });
});

describe('op emitters', () => {
  it('every registry op but scan and fused has an emitter (scan becomes a loop, fused a call of the prelude)', () => {
    const own = (o: string): boolean => o === 'scan' || o === 'fused';
    for (const op of OP_NAMES) {
      if (own(op)) continue;
      expect(typeof OP_EMITTERS[op], op).toBe('function');
    }
    expect(Object.keys(OP_EMITTERS).sort()).toEqual(OP_NAMES.filter((o) => !own(o)).sort());
  });

  it('names: source names become identifiers, cotangents d_<name>, no clashes', () => {
    expect(sanitize('h.W_g')).toBe('h_W_g');
    expect(sanitize('ct_h')).toBe('d_h');
    expect(sanitize('new')).toBe('new_');
    const s = new Scope(['tf']);
    expect([s.fresh('h'), s.fresh('h'), s.fresh('tf')]).toEqual(['h', 'h_2', 'tf_2']);
  });
});
