// Batches as the graphs read them (compiler/codegen/module.ts assembles the
// module): time-major tensors and host padding marks, a target's own steps,
// the count of what the loss averages over, truncated-BPTT windows.
import type { IoSpec } from '../sema/model.js';
import { quote } from './emit-graph.js';
import { propertyKey } from './escape.js';
import { fn, isSeq, type ModuleParts, type Statement } from './module-parts.js';
import { WINDOWS } from './prelude.js';

/** prepareInputs, prepareBatch, targetSteps, lossCount, and the windows and sliceBatch of truncated BPTT. */
export function emitBatches(m: ModuleParts): Statement[] {
  const { model, own, train, truncated, labelled, hasSeq, inputsHaveSeq } = m;
  const out: Statement[] = [];
  const add = (...s: Statement[]): void => {
    out.push(...s);
  };
  const tensorsOf = (specs: readonly IoSpec[], obj: string): string =>
    `{ ${specs.map((s) => `${propertyKey(s.name)}: ${isSeq(s) ? `timeMajor(${obj}[${quote(s.name)}])` : `${obj}[${quote(s.name)}]`}`).join(', ')} }`;
  add(fn('prepareInputs', 'The inputs as the graphs read them, with the padding marks from `lengths`.', [{ name: 'inputs', type: 'Inputs' }, { name: 'sizes', type: 'Sizes' }], 'Batch',
    `const { batchSize, steps } = sizes;
const lengths: readonly number[] = ${(own ? inputsHaveSeq : hasSeq) ? 'inputs.lengths ?? ' : ''}new Array<number>(batchSize).fill(steps);
const mask = new Float32Array(steps * batchSize);
const last = new Float32Array(steps * batchSize);
for (let b = 0; b < batchSize; b++) {
  for (let t = 0; t < lengths[b]!; t++) mask[t * batchSize + b] = 1;
  last[(lengths[b]! - 1) * batchSize + b] = 1;
}
return { steps, batchSize, mask, last, inputs: ${tensorsOf(model.inputs, 'inputs')} };`));
  if (labelled) {
    add(
      fn('prepareBatch', undefined, [{ name: 'inputs', type: 'Inputs' }, { name: 'targets', type: 'Targets' }, { name: 'sizes', type: 'Sizes' }], 'LabelledBatch',
        own
          ? `return { ...prepareInputs(inputs, sizes), ...targetSteps(sizes.batchSize, sizes.targetSteps, targets.lengths), targets: ${tensorsOf(model.targets, 'targets')} };`
          : `return { ...prepareInputs(inputs, sizes), targets: ${tensorsOf(model.targets, 'targets')} };`),
    );
  }
  if (own) {
    add(fn('targetSteps', 'U steps of a target of its own length, and the [U, B] mask of the real ones from `lengths` (default: all U).', [{ name: 'batchSize', type: 'number' }, { name: 'steps', type: 'number' }, { name: 'lengths', type: 'readonly number[] | undefined' }], 'TargetSteps',
      `const targetMask = new Float32Array(steps * batchSize);
for (let b = 0; b < batchSize; b++) for (let t = 0; t < (lengths?.[b] ?? steps); t++) targetMask[t * batchSize + b] = 1;
return { targetSteps: steps, targetMask };`));
  }
  if (train) {
    add(
      fn('lossCount', `How many ${model.lossPer === 'example' ? 'sequences' : 'positions'} count in the loss from step lossFrom on.`, [{ name: 'batch', type: own ? 'LabelledBatch' : 'Batch' }, { name: 'lossFrom', type: 'number' }], 'number',
        own
          ? `// The loss counts the real steps of the target of its own length (lossFrom is 0: such a model trains on whole sequences).\nvoid lossFrom;\nlet n = 0;\nfor (const m of batch.targetMask) n += m;\nreturn n;`
          : `const marks = batch.${model.lossPer === 'example' ? 'last' : 'mask'};\nlet n = 0;\nfor (let i = Math.min(lossFrom, batch.steps) * batch.batchSize; i < marks.length; i++) n += marks[i]!;\nreturn n;`),
    );
    if (truncated) {
      const slice = (specs: readonly IoSpec[], obj: string): string =>
        `{ ${specs.map((s) => `${propertyKey(s.name)}: ${isSeq(s) ? `sliceTime(${obj}[${quote(s.name)}], t0, t1)` : `${obj}[${quote(s.name)}]`}`).join(', ')} }`;
      add(WINDOWS, fn('sliceBatch', 'Steps [t0, t1) of a batch (a truncated-BPTT window); per-example fields stay whole.', [{ name: 'batch', type: 'LabelledBatch' }, { name: 't0', type: 'number' }, { name: 't1', type: 'number' }], 'LabelledBatch',
        `const B = batch.batchSize;
return {
  steps: t1 - t0,
  batchSize: B,
  mask: batch.mask.subarray(t0 * B, t1 * B),
  last: batch.last.subarray(t0 * B, t1 * B),
  inputs: ${slice(model.inputs, 'batch.inputs')},
  targets: ${slice(model.targets, 'batch.targets')},
};`));
    }
  }
  return out;
}
