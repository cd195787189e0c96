// Golden IR (ARCHITECTURE.md rule 1): the printed forward graph of a small model for
// each standard cell, its derivative (the training graph), and a truncated
// one, committed under test/cases/ir/ (`npx vitest run test/ir -u` rewrites
// them after a deliberate change). Printing and compiling are deterministic:
// a golden that flaps is a bug.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { goldenCellModel, STANDARD_CELLS } from '../helpers/programs.js';
import { trainingGraphs } from '../../compiler/compile.js';
import { printGraph } from '../../compiler/ir/printer.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { compileModel } from '../helpers/compile.js';

const dir = fileURLToPath(new URL('../cases/ir/', import.meta.url));

const CELLS = STANDARD_CELLS;

const modelText = (cell: string): string => goldenCellModel(cell);

function printed(cell: string, truncated: boolean): { forward: string; training: string } {
  const { forward, training } = trainingGraphs(compileModel(modelText(cell)), truncated);
  verifyGraph(forward, `${cell} forward`);
  verifyGraph(training, `${cell} training`);
  return { forward: printGraph(forward, `${cell} forward`), training: printGraph(training, `${cell} training`) };
}

describe('IR goldens of the standard cells', () => {
  for (const cell of CELLS) {
    it(`${cell}: forward and training graphs`, async () => {
      const { forward, training } = printed(cell, false);
      expect(forward).toContain(' = scan[');
      expect(training).toContain('out grad d_h.W');
      await expect(`${forward}\n`).toMatchFileSnapshot(join(dir, `${cell}.forward.ir.txt`));
      await expect(`${training}\n`).toMatchFileSnapshot(join(dir, `${cell}.training.ir.txt`));
    });
  }

  it('rnn with truncated BPTT: gated forward and its training graph', async () => {
    const { forward, training } = printed('rnn', true);
    expect(forward).toContain('in control %');
    expect(forward).toContain('grad_gate(');
    expect(forward).not.toBe(printed('rnn', false).forward);
    await expect(`${forward}\n`).toMatchFileSnapshot(join(dir, 'rnn.truncated.forward.ir.txt'));
    await expect(`${training}\n`).toMatchFileSnapshot(join(dir, 'rnn.truncated.training.ir.txt'));
  });
});

describe('IR printing is deterministic', () => {
  for (const cell of CELLS) {
    it(`${cell}: printing twice and compiling twice give the same text`, () => {
      const model = compileModel(modelText(cell));
      const { forward, training } = trainingGraphs(model, false);
      expect(printGraph(training)).toBe(printGraph(training));
      expect(printGraph(forward)).toBe(printGraph(forward));
      const again = printed(cell, false);
      const first = printed(cell, false);
      expect(again).toEqual(first);
      const truncatedAgain = printed(cell, true);
      expect(truncatedAgain).toEqual(printed(cell, true));
    });
  }
});
