// Gradient checks of hand-built graphs: a masked tanh RNN scan, forwards and
// backwards, checked by finite differences on the float64 evaluator.
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { Rng } from '../../runtime/rng.js';
import { tensor, type Tensor64 } from '../../runtime/reference/tensor.js';
import { gradCheck } from '../helpers/gradcheck.js';

function rnnGraph(reverse: boolean) {
  const b = new GraphBuilder();
  const U = b.input({ shape: [3, 2], dtype: 'f32' }, 'param', 'U');
  const W = b.input({ shape: [3, 3], dtype: 'f32' }, 'param', 'W');
  const bias = b.input({ shape: [3], dtype: 'f32' }, 'param', 'b');
  const x = b.input({ shape: ['T', 'B', 2], dtype: 'f32' }, 'data', 'x');
  const mask = b.input({ shape: ['T', 'B', 1], dtype: 'f32' }, 'data', 'mask');
  const h0 = b.input({ shape: ['B', 3], dtype: 'f32' }, 'state', 'h0');
  // body: h' = h + m * (tanh(U x + W h + b) - h)
  const bb = new GraphBuilder();
  const h = bb.input({ shape: ['B', 3], dtype: 'f32' }, 'arg', 'h');
  const xt = bb.input({ shape: ['B', 2], dtype: 'f32' }, 'arg', 'x_t');
  const mt = bb.input({ shape: ['B', 1], dtype: 'f32' }, 'arg', 'm_t');
  const bU = bb.input({ shape: [3, 2], dtype: 'f32' }, 'arg', 'U');
  const bW = bb.input({ shape: [3, 3], dtype: 'f32' }, 'arg', 'W');
  const bbias = bb.input({ shape: [3], dtype: 'f32' }, 'arg', 'b');
  const pre = bb.op('add', [bb.op('add', [bb.op('linear', [xt, bU]), bb.op('linear', [h, bW])]), bbias]);
  const hn = bb.op('tanh', [pre]);
  const hm = bb.op('add', [h, bb.op('mul', [mt, bb.op('sub', [hn, h])])]);
  bb.output(hm, 'state', 'h');
  bb.output(hm, 'result', 'h_t');
  const [hT, hs] = b.emit('scan', [h0, x, mask, U, W, bias], { nCarry: 1, nXs: 2, reverse }, { body: bb.build() });
  // loss = sum(hs^2 * mask) + sum(hT)
  const sq = b.op('mul', [b.op('square', [hs!]), mask]);
  const loss = b.op('add', [b.op('sum_all', [sq]), b.op('sum_all', [hT!])]);
  b.output(loss, 'loss', 'loss');
  return b.build();
}

function randomInputs(seed: number): Tensor64[] {
  const rng = new Rng(seed);
  const r = (n: number) => Array.from({ length: n }, () => rng.normal() * 0.5);
  const [T, B] = [5, 2];
  const mask = [1, 1, 1, 1, 1, 1, 1, 0, 1, 0]; // second sequence has length 3
  return [
    tensor([3, 2], r(6)),
    tensor([3, 3], r(9)),
    tensor([3], r(3)),
    tensor([T, B, 2], r(T * B * 2)),
    tensor([T, B, 1], mask),
    tensor([B, 3], r(6)),
  ];
}

describe('scan gradients (hand-built graphs)', () => {
  for (const reverse of [false, true]) {
    it(`masked tanh RNN, reverse=${reverse}, matches finite differences`, () => {
      const g = rnnGraph(reverse);
      verifyGraph(g);
      const res = gradCheck(g, randomInputs(3));
      expect(res.maxRelError).toBeLessThan(1e-6);
      expect(Math.abs(res.analytic.get('W')![0]!)).toBeGreaterThan(0);
    });
  }
});
