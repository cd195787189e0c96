// An independent check of attention and decoders: the attention
// encoder-decoder (test/helpers/programs.ts attentionSeq2seq: bidirectional
// GRU encoder, additive attention with padding masks, a decoder over the
// target's own steps under teacher forcing) written by hand in PyTorch
// (test/backends/torch_attention.py, float64, torch.autograd) must give the
// same loss and gradients as rnnc's symbolic derivative on the float64
// reference evaluator. Skipped, saying why, where `python3 -c "import torch"`
// fails (Debian: apt-get install -y python3-torch); RNNC_PYTHON picks the
// interpreter.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { differentiate } from '../../compiler/autodiff/vjp.js';
import { trainingGraphs } from '../../compiler/compile.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import { compileModel } from '../helpers/compile.js';
import { randomFeeds } from '../helpers/feeds.js';
import { attentionSeq2seq } from '../helpers/programs.js';

const PYTHON = process.env['RNNC_PYTHON'] ?? '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
const hasTorch = probe.status === 0;
if (!hasTorch) console.log(`PyTorch check: SKIPPED, ${PYTHON} -c "import torch" failed (install Debian's python3-torch, or set RNNC_PYTHON)`);

describe('attention encoder-decoder against PyTorch (float64)', () => {
  it.skipIf(!hasTorch)('same loss and gradients for a batch with padded sources and targets of their own lengths', () => {
    const model = compileModel(attentionSeq2seq());
    const { forward } = trainingGraphs(model, false, { optimize: false });
    const feeds = randomFeeds(model, forward, { lengths: [4, 2, 3], targetLengths: [2, 5, 3], seed: 21, paramScale: 0.8 });
    const byName = new Map(forward.inputs.map((inp, i) => [inp.name, feeds[i]!]));
    const json = (name: string) => ({ shape: byName.get(name)!.shape, data: [...byName.get(name)!.data] });
    const params = Object.fromEntries(model.params.map((p) => [p.name, json(p.name)]));
    const input = JSON.stringify({ params, src: json('src'), tgt: json('tgt'), mask: json('mask'), target_mask: json('target_mask') });
    const script = fileURLToPath(new URL('./torch_attention.py', import.meta.url));
    const r = spawnSync(PYTHON, [script], { input, encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    const torch = JSON.parse(r.stdout) as { loss: number; grads: Record<string, number[]> };

    const dg = differentiate(forward);
    const outs = evaluateGraph(dg, feeds);
    const loss = outs[dg.outputs.findIndex((o) => o.role === 'loss')]!.data[0]!;
    expect(Math.abs(loss - torch.loss) / Math.abs(torch.loss)).toBeLessThan(1e-12);
    let worst = 0;
    let worstName = '';
    dg.outputs.forEach((o, i) => {
      if (o.role !== 'grad') return;
      const name = o.name.slice(2);
      const ours = outs[i]!.data;
      const theirs = torch.grads[name]!;
      expect(theirs, name).toHaveLength(ours.length);
      const scale = Math.max(1e-8, ...theirs.map(Math.abs));
      const d = Math.max(...theirs.map((v, k) => Math.abs(v - ours[k]!))) / scale;
      if (d > worst) [worst, worstName] = [d, name];
    });
    expect(Object.keys(torch.grads).sort()).toEqual(model.params.map((p) => p.name).sort());
    console.log(`PyTorch check: loss ${loss} vs ${torch.loss}; largest relative gradient difference ${worst.toExponential(2)} (${worstName})`);
    expect(worst, `worst: ${worstName}`).toBeLessThan(1e-10);
  });
});
