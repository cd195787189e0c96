// Concrete shapes from the IR's static ones: symbolic dimensions ('B', 'T',
// 'V', sums such as 'H+H') resolved with the sizes a run knows. The runtime
// reads the IR's types only (ARCHITECTURE.md: it imports no compiler code), so it
// resolves shapes itself.
import type { Dim } from '../compiler/ir/types.js';

export function resolveShape(shape: readonly Dim[], sizes: Readonly<Record<string, number>>): number[] {
  return shape.map((d) => {
    if (typeof d === 'number') return d;
    return d.split('+').reduce((total, part) => {
      if (/^\d+$/.test(part)) return total + Number(part);
      const v = sizes[part];
      if (v === undefined) throw new Error(`internal: dimension ${part} has no size in this run`);
      return total + v;
    }, 0);
  });
}
