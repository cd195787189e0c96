// A compact way for tests to write a fused body (compiler/ir/types.ts
// FusedBody): instructions `op:arg,arg` separated by `;`, an argument `iK`
// (input K), `tK` (the result of instruction K) or a number; a unary op with
// an attribute takes it as its last argument (`leaky_relu:t3,0.2`).
import { elementwiseOp } from '../../compiler/ir/elementwise.js';
import type { FusedArg, FusedBody, FusedInstr } from '../../compiler/ir/types.js';

export function fusedBodyOf(text: string, outputs: readonly number[]): FusedBody {
  const instrs = text.split(';').map((instr): FusedInstr => {
    const [op, rest = ''] = instr.split(':');
    const words = rest.split(',');
    const attr = elementwiseOp(op!)?.attr !== undefined ? Number(words.pop()) : undefined;
    const args = words.map((a): FusedArg => (a[0] === 'i' ? { in: Number(a.slice(1)) } : a[0] === 't' ? { tmp: Number(a.slice(1)) } : { num: Number(a) }));
    return attr !== undefined ? { op: op!, args, attr } : { op: op!, args };
  });
  return { instrs, outputs };
}
