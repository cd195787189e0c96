// The commands on the webgpu backend (`--backend webgpu`): `rnnc run`
// trains as on cpu, step by step (loss and gradient norm of every update,
// full and truncated BPTT, clipping by the global norm over more than seven
// parameters: webgpu's AddN binds at most seven inputs, runtime/tfjs/portable-ops.ts
// addMany), and evaluate, predict, score, sample and translate (greedy,
// beam, sampled) give cpu's results from the same checkpoint. Every read on webgpu is `await t.data()` (the session,
// runtime/train/session.ts readScalar). Without a GPU this runs on Mesa's
// lavapipe (README "Set-up"); where no adapter exists the tests say why
// and are skipped.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webgpuAdapter } from '../../runtime/backend.js';
import { startBackend } from '../../src/backend-choice.js';
import { attentionSeq2seq } from '../helpers/programs.js';
import { abcLm, expectOk, expectUserError, readMetrics, removeDir, rnnc, tempDir, writeAbcText, writeFile } from './cli-harness.js';

const probe = await webgpuAdapter();
const skip = typeof probe === 'string' ? probe : undefined;
if (skip !== undefined) console.log(`webgpu command tests skipped: ${skip}`);

let dir: string;
beforeAll(() => {
  dir = tempDir();
  writeAbcText(dir);
});
afterAll(() => removeDir(dir));

/** Relative difference, with a floor so values near zero compare absolutely. */
const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-3);

describe.skipIf(skip !== undefined)('the commands on --backend webgpu', () => {
  for (const bptt of ['full', 'truncated(k1 = 4, k2 = 4)']) {
    it(`run trains as on cpu, update by update (bptt ${bptt}, clip norm)`, async () => {
      const file = writeFile(dir, `lm-${bptt === 'full' ? 'full' : 'tbptt'}.rnn`, abcLm({ H: 6, bptt, epochs: 1, seed: 5, clip: 'clip norm 0.5' }));
      const runs: Record<string, ReturnType<typeof readMetrics>> = {};
      for (const backend of ['cpu', 'webgpu']) {
        const out = join(dir, `${bptt === 'full' ? 'full' : 'tbptt'}-${backend}`);
        const r = await rnnc('run', file, '--backend', backend, '--out', out, '--quiet');
        expectOk(r);
        runs[backend] = readMetrics(out);
      }
      const cpu = runs['cpu']!.filter((m) => m.kind === 'train');
      const gpu = runs['webgpu']!.filter((m) => m.kind === 'train');
      expect(gpu.length).toBe(cpu.length);
      expect(cpu.length).toBeGreaterThan(10);
      gpu.forEach((m, i) => {
        expect(rel(m.loss as number, cpu[i]!.loss as number), `loss of update ${i + 1}`).toBeLessThan(1e-5);
        expect(rel(m['grad_norm'] as number, cpu[i]!['grad_norm'] as number), `gradient norm of update ${i + 1}`).toBeLessThan(1e-4);
        // A norm of zero is what a failed kernel gave before: the updates must be real.
        expect(m['grad_norm'] as number).toBeGreaterThan(1e-3);
      });
      const valid = (runs: ReturnType<typeof readMetrics>): number => runs.filter((m) => m.kind === 'eval').at(-1)!.loss as number;
      expect(rel(valid(runs['webgpu']!), valid(runs['cpu']!))).toBeLessThan(1e-5);
    });
  }

  it('evaluate, predict, score and sample give what cpu gives from the same checkpoint', async () => {
    const ckpt = join(dir, 'full-cpu', 'checkpoint.json');
    const file = join(dir, 'lm-full.rnn');
    writeFile(dir, 'q.txt', 'abcab\ncab\n');
    const on = async (backend: string): Promise<Record<string, unknown>> => {
      const ev = await rnnc('evaluate', file, '--ckpt', ckpt, '--backend', backend, '--json');
      const pr = await rnnc('predict', file, '--ckpt', ckpt, '--input', join(dir, 'q.txt'), '--backend', backend, '--json');
      const sc = await rnnc('score', file, '--ckpt', ckpt, 'abcab cab', '--backend', backend, '--json');
      const sa = await rnnc('sample', file, '--ckpt', ckpt, '--prime', 'ab', '--length', '30', '--seed', '3', '--backend', backend, '--json');
      for (const r of [ev, pr, sc, sa]) expectOk(r);
      return { ev: JSON.parse(ev.stdout), pr: pr.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), sc: JSON.parse(sc.stdout), sa: JSON.parse(sa.stdout) };
    };
    const cpu = await on('cpu');
    const gpu = await on('webgpu');
    const ev = [cpu['ev'], gpu['ev']] as { loss: number; count: number }[];
    expect(ev[1]!.count).toBe(ev[0]!.count);
    expect(rel(ev[1]!.loss, ev[0]!.loss)).toBeLessThan(1e-5);
    const pr = [cpu['pr'], gpu['pr']] as { ids: number[]; prob: number[] }[][];
    expect(pr[1]!.map((p) => p.ids)).toEqual(pr[0]!.map((p) => p.ids));
    pr[1]!.forEach((p, i) => p.prob.forEach((x, k) => expect(rel(x, pr[0]![i]!.prob[k]!)).toBeLessThan(1e-5)));
    const sc = [cpu['sc'], gpu['sc']] as { logprob: number }[];
    expect(rel(sc[1]!.logprob, sc[0]!.logprob)).toBeLessThan(1e-5);
    // The same seed draws the same characters from (nearly) the same distributions.
    expect((gpu['sa'] as { text: string }).text).toBe((cpu['sa'] as { text: string }).text);
  });

});

// What needs no adapter: refusals before any backend starts, and an empty RNNC_BACKEND.
describe('webgpu where a command cannot use it', () => {
  it('run refuses --workers with webgpu before loading anything (flag or RNNC_BACKEND)', async () => {
    const file = writeFile(dir, 'lm-workers.rnn', abcLm({ H: 4, bptt: 'full', epochs: 1, seed: 1 }));
    const r = await rnnc('run', file, '--backend', 'webgpu', '--workers', '2', '--out', join(dir, 'workers'));
    expectUserError(r, 2);
    expect(r.stderr).toContain('--workers runs replicas on the CPU cores');
    expect(r.stderr).toContain('with --backend webgpu');
    expect(r.stderr).not.toContain('data:');
    process.env['RNNC_BACKEND'] = 'webgpu';
    try {
      const e = await rnnc('run', file, '--workers', '2', '--out', join(dir, 'workers'));
      expectUserError(e, 2);
      expect(e.stderr).toContain('with RNNC_BACKEND=webgpu');
    } finally {
      delete process.env['RNNC_BACKEND'];
    }
  });

  it('a command that cannot run on webgpu says so as a usage error, naming RNNC_BACKEND when that asked', async () => {
    const without = { name: 'webgpu' as const, why: '--workers runs replicas on the CPU cores' };
    await expect(startBackend('webgpu', without)).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining("backend 'webgpu' cannot run this: --workers runs replicas on the CPU cores; use --backend wasm or cpu") });
  });

  it('translate decodes as on cpu: greedy with the attention weights, beam search and sampling (every step read with await)', async () => {
    const file = writeFile(dir, 'rev.rnn', attentionSeq2seq('additive', {}, `train m {
  data reversal(symbols = 5, min_len = 2, max_len = 5, n = 64, valid = 16)
  optimizer adam(lr = 0.01)
  batch 8; epochs 2; seed 3
}`).replace('dim V = 6,', 'dim V,'));
    const out = join(dir, 'rev');
    expectOk(await rnnc('run', file, '--backend', 'cpu', '--out', out, '--quiet'));
    const ckpt = join(out, 'checkpoint.json');
    const rows = (r: { stdout: string }): { output: string; logprob: number; attention?: Record<string, number[][]> }[] => r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    for (const extra of [['--show-attention'], ['--beam', '3'], ['--sample', '--seed', '4']]) {
      const on: Record<string, ReturnType<typeof rows>> = {};
      for (const backend of ['cpu', 'webgpu']) {
        const r = await rnnc('translate', file, '--ckpt', ckpt, '--backend', backend, '--json', ...extra, '1234', '3021', '44');
        expectOk(r);
        if (backend === 'webgpu') expect(r.stderr).toMatch(/^backend: webgpu \(requested; adapter /m);
        on[backend] = rows(r);
      }
      expect(on['webgpu']!.map((x) => x.output), extra.join(' ')).toEqual(on['cpu']!.map((x) => x.output));
      on['webgpu']!.forEach((x, i) => expect(rel(x.logprob, on['cpu']![i]!.logprob), extra.join(' ')).toBeLessThan(1e-4));
      if (extra[0] === '--show-attention') {
        on['webgpu']!.forEach((x, i) => {
          const [w, c] = [Object.values(x.attention!)[0]!.flat(), Object.values(on['cpu']![i]!.attention!)[0]!.flat()];
          expect(w.length).toBe(c.length);
          w.forEach((v, k) => expect(Math.abs(v - c[k]!)).toBeLessThan(1e-4));
        });
      }
    }
  });

  it('an empty RNNC_BACKEND is unset: the automatic choice', async () => {
    const file = writeFile(dir, 'lm-empty-env.rnn', abcLm({ H: 4, bptt: 'full', epochs: 1, seed: 1 }));
    process.env['RNNC_BACKEND'] = '';
    try {
      const r = await rnnc('run', file, '--out', join(dir, 'empty-env'), '--steps', '2');
      expectOk(r);
      expect(r.stderr).toMatch(/backend: (tensorflow|wasm|cpu) \(/);
    } finally {
      delete process.env['RNNC_BACKEND'];
    }
  });
});
