// Dimension expressions: `H`, `128`, `2 * H + 1`, evaluated in an environment
// of named dimensions. A name without a value stays symbolic (the data or a
// `with` binding gives it one later).
import type { DimExpr } from '../ast/ast.js';
import type { DiagnosticCollector } from '../diagnostics/collector.js';
import { addDims, dimToString } from '../ir/shape.js';
import type { Dim } from '../ir/types.js';
import { didYouMean } from './suggest.js';

/**
 * The largest size of one axis: 2^31 - 1, the most elements any tfjs tensor
 * holds (and far past what memory does; whole tensors are limited by
 * MAX_TENSOR_ELEMENTS in compile.ts). Sums and products of sizes stay exact
 * below it.
 */
export const MAX_DIM = 2 ** 31 - 1;

export type DimEnv = ReadonlyMap<string, Dim>;

export function evalDim(e: DimExpr, env: DimEnv, diags: DiagnosticCollector): Dim {
  switch (e.kind) {
    case 'DimNum':
      if (!Number.isInteger(e.value) || e.value < 1) {
        diags.fail('RNN3006', e.span, `a dimension must be a positive whole number, got ${e.value}`);
      }
      if (e.value > MAX_DIM) diags.fail('RNN3006', e.span, `a dimension of ${e.value} is larger than any tensor can be (the limit is ${MAX_DIM})`);
      return e.value;
    case 'DimName': {
      const v = env.get(e.name);
      if (v === undefined) {
        const hint = didYouMean(e.name, env.keys());
        diags.fail('RNN3002', e.span, `unknown dimension \`${e.name}\``, {
          hint: hint ?? `declare it with \`dim ${e.name}\``,
        });
      }
      return v;
    }
    case 'DimBin': {
      const l = evalDim(e.left, env, diags);
      const r = evalDim(e.right, env, diags);
      if (typeof l === 'number' && typeof r === 'number') {
        const v = e.op === '+' ? l + r : e.op === '-' ? l - r : l * r;
        if (v < 1) diags.fail('RNN3006', e.span, `this dimension evaluates to ${v}, not a positive size`);
        if (v > MAX_DIM) diags.fail('RNN3006', e.span, `this dimension evaluates to ${v}, larger than any tensor can be (the limit is ${MAX_DIM})`);
        return v;
      }
      if (e.op === '+') return addDims(l, r);
      return `${dimToString(l)}${e.op}${dimToString(r)}`;
    }
  }
}
