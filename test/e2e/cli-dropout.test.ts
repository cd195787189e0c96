// dropout in a trained model, from the command line: training drops values
// (seeded: two runs with the same seed are equal, another seed differs),
// evaluation does not (rnnc evaluate on the checkpoint prints exactly the
// run's final line), and a model without dropout trains differently.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, readMetrics, removeDir, rnnc, tempDir, writeFile } from './cli-harness.js';

let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => removeDir(dir));

const program = (p: number): string => `
model m {
  dim H = 8
  input  x: seq<[1]>
  target y: seq<[1]>
  h = gru(x) with H
  loss = mse(dense(dropout(h, ${p}), 1), y)
}
train m { data sine(T = 10, n = 40, valid = 10); optimizer adam(lr = 0.01); batch 10; epochs 2; seed 3 }`;

describe('dropout from the command line', () => {
  it('drops values in training only, seeded', async () => {
    const file = writeFile(dir, 'd.rnn', program(0.5));
    const run = async (out: string, ...flags: string[]) => {
      const r = await rnnc('run', file, '--backend', 'cpu', '--out', join(dir, out), '--quiet', ...flags);
      expectOk(r);
      return { r, losses: readMetrics(join(dir, out)).filter((m) => m.kind === 'train').map((m) => m.loss) };
    };
    const a = await run('a');
    const b = await run('b');
    const c = await run('c', '--seed', '4');
    expect(b.losses).toEqual(a.losses);
    expect(c.losses).not.toEqual(a.losses);
    const none = writeFile(dir, 'n.rnn', program(0));
    const n = await rnnc('run', none, '--backend', 'cpu', '--out', join(dir, 'n'), '--quiet');
    expectOk(n);
    expect(readMetrics(join(dir, 'n')).filter((m) => m.kind === 'train').map((m) => m.loss)).not.toEqual(a.losses);
    // Evaluation runs without dropout: the checkpoint evaluates to the run's last line exactly.
    const ev = await rnnc('evaluate', file, '--ckpt', join(dir, 'a', 'checkpoint.json'), '--backend', 'cpu');
    expectOk(ev);
    expect(ev.stdout.trim()).toBe(a.r.stdout.trim().split('\n').at(-1));
  });

  it('in a cell: variational dropout trains on the tfjs path, seeded, and evaluation runs without it', async () => {
    const cell = (p: number): string => `
cell drnn(x: [X]) -> h: [H] {
  option p = 0
  param W: [H, X] = glorot
  param U: [H, H] = orthogonal
  param b: [H] = zeros
  h[t] = tanh(W @ x[t] + U @ dropout(h[t-1], p) + b)
}
model m {
  dim H = 8
  input  x: seq<[1]>
  target y: seq<[1]>
  h = drnn(x) with H, p = ${p}
  loss = mse(dense(h, 1), y)
}
train m { data sine(T = 10, n = 40, valid = 10); optimizer adam(lr = 0.01); batch 10; epochs 2; seed 3 }`;
    const losses = async (p: number, out: string) => {
      const file = writeFile(dir, `c${out}.rnn`, cell(p));
      const r = await rnnc('run', file, '--backend', 'cpu', '--out', join(dir, out), '--quiet');
      expectOk(r);
      return { file, r, losses: readMetrics(join(dir, out)).filter((m) => m.kind === 'train').map((m) => m.loss) };
    };
    const a = await losses(0.5, 'ca');
    const b = await losses(0.5, 'cb');
    const none = await losses(0, 'cn');
    expect(b.losses).toEqual(a.losses);
    expect(none.losses).not.toEqual(a.losses);
    const ev = await rnnc('evaluate', a.file, '--ckpt', join(dir, 'ca', 'checkpoint.json'), '--backend', 'cpu');
    expectOk(ev);
    expect(ev.stdout.trim()).toBe(a.r.stdout.trim().split('\n').at(-1));
  });
});
