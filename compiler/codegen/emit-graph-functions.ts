// The graph functions of a module (compiler/codegen/module.ts assembles the
// module; emit-graph.ts writes them): the fused groups (emit-fused.ts), the
// loop bodies, then the top-level graphs (predict, loss, training, their
// unpadded variants, greedy decoding).
import type { StatementStructures } from 'ts-morph';
import type { ModuleParts, Statement } from './module-parts.js';

/** The fused groups, the scan bodies and the top-level graph functions. */
export function emitGraphFunctions(m: ModuleParts): Statement[] {
  const { emitter, predictFn, predictFullFn, lossFn, lossFullFn, trainingFn, trainingFullFn, greedyFn } = m;
  const out: Statement[] = [];
  const add = (...s: Statement[]): void => {
    out.push(...s);
  };
  const bodyFunctions = emitter.bodyFunctions();
  add(...emitter.fusedDeclarations());
  add(...bodyFunctions.map((s) => s as StatementStructures));
  for (const f of [predictFn, predictFullFn, lossFn, lossFullFn, trainingFn, trainingFullFn, greedyFn]) if (f) add(f.structure as StatementStructures);
  return out;
}
