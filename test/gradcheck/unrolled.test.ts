// A scan's symbolic gradient (a reverse scan over saved carries) equals the
// gradient of the same program with its loops fully unrolled, to ~1e-12,
// on the float64 reference: the two derivations share no code path through
// time (ARCHITECTURE.md rule 5).
import { describe, expect, it } from 'vitest';
import { differentiate } from '../../compiler/autodiff/vjp.js';
import { trainingGraphs } from '../../compiler/compile.js';
import { unrollScans } from '../../compiler/passes/unroll-scans.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { evaluateGraph } from '../../runtime/reference/evaluate.js';
import { compileModel } from '../helpers/compile.js';
import { tokenLm } from '../helpers/programs.js';
import { randomFeeds } from '../helpers/feeds.js';
import { relativeError } from '../helpers/gradcheck.js';

const PROGRAMS: Record<string, string> = {
  'lstm LM with padding': tokenLm('h = lstm(e) with H'),
  'bidirectional gru tagger': `
model m {
  dim V = 5, K = 3, H = 2
  input x: seq<token[V]>
  target y: seq<token[K]>
  h = bidir gru(one_hot(x)) with H
  loss = cross_entropy(dense(h, K), y)
}`,
  'stacked rnn + irnn, many-to-one regression': `
model m {
  dim H = 3
  input x: seq<[2]>
  target y: [1]
  h1 = rnn(x) with H
  h2 = irnn(h1) with H
  loss = mse(dense(last(h2), 1), y)
}`,
};

describe('scan gradients equal those of the unrolled program', () => {
  for (const [name, text] of Object.entries(PROGRAMS)) {
    for (const truncated of [false, true]) {
      if (truncated && name.startsWith('bidirectional')) continue;
      it(`${name}${truncated ? ' (truncated graph, gate 0 at step 2)' : ''}`, () => {
        const model = compileModel(text);
        const { forward } = trainingGraphs(model, truncated);
        const unrolled = unrollScans(forward, 5);
        verifyGraph(unrolled, 'unrolled');
        expect(unrolled.nodes.some((n) => n.op === 'scan')).toBe(false);
        const feeds = randomFeeds(model, forward, { lengths: [5, 3, 4], seed: 9, randomState: true, ...(truncated ? { gate: [1, 1, 0, 1, 1] } : {}) });
        const grads = (g: typeof forward) => {
          const dg = differentiate(g);
          const outs = evaluateGraph(dg, feeds);
          return new Map(dg.outputs.map((o, i) => [o.name, outs[i]!.data] as const).filter(([n]) => n.startsWith('d_')));
        };
        const viaScan = grads(forward);
        const viaUnrolled = grads(unrolled);
        expect(viaScan.size).toBeGreaterThan(0);
        expect(relativeError(viaScan, viaUnrolled)).toBeLessThan(1e-12);
      });
    }
  }
});
