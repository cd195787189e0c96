// The optimisation pipeline: an array of named passes, each a pure function
// graph -> graph, with the verifier run after every pass, so a broken pass
// is named in the error. `rnnc ir --dump-ir-after=NAME` prints the graph as
// it leaves a pass.
import { InternalError } from '../diagnostics/diagnostic.js';
import type { Graph } from '../ir/types.js';
import { verifyGraph } from '../ir/verify.js';
import { eliminateCommonSubexpressions } from './common-subexpressions.js';
import { eliminateDeadCode } from './dead-code.js';
import { fuseElementwise } from './fuse-elementwise.js';
import { fuseGateProducts } from './fuse-gate-products.js';
import { joinSummedProducts } from './join-summed-products.js';
import { sinkOutputProjections } from './sink-output-projections.js';
import { dedupeScanOutputs } from './dedupe-scan-outputs.js';
import { hoistWeightGradients } from './hoist-weight-gradients.js';
import { hoistInputProjections } from './hoist-input-projections.js';
import { hoistLoopConstants } from './hoist-loop-constants.js';
import { hoistLoopInvariants } from './hoist-loop-invariants.js';
import { hoistWeightTransposes } from './hoist-weight-transposes.js';
import { oneHotProducts } from './one-hot-products.js';
import { pruneScanInputs } from './prune-scan-inputs.js';
import { transposeOuterOperands } from './transpose-outer-operands.js';

export interface Pass {
  readonly name: string;
  run(g: Graph): Graph;
}

export const PASSES = {
  hoistInputProjections: { name: 'hoist-input-projections', run: hoistInputProjections },
  hoistLoopConstants: { name: 'hoist-loop-constants', run: hoistLoopConstants },
  hoistLoopInvariants: { name: 'hoist-loop-invariants', run: hoistLoopInvariants },
  oneHotProducts: { name: 'one-hot-products', run: oneHotProducts },
  hoistWeightGradients: { name: 'hoist-weight-gradients', run: hoistWeightGradients },
  hoistWeightTransposes: { name: 'hoist-weight-transposes', run: hoistWeightTransposes },
  dedupeScanOutputs: { name: 'dedupe-scan-outputs', run: dedupeScanOutputs },
  transposeOuterOperands: { name: 'transpose-outer-operands', run: transposeOuterOperands },
  pruneScanInputs: { name: 'prune-scan-inputs', run: pruneScanInputs },
  commonSubexpressions: { name: 'common-subexpressions', run: eliminateCommonSubexpressions },
  deadCode: { name: 'dead-code', run: eliminateDeadCode },
  fuseGateProducts: { name: 'fuse-gate-products', run: fuseGateProducts },
  joinSummedProducts: { name: 'join-summed-products', run: joinSummedProducts },
  sinkOutputProjections: { name: 'sink-output-projections', run: sinkOutputProjections },
  fuseElementwise: { name: 'fuse-elementwise', run: fuseElementwise },
} as const satisfies Record<string, Pass>;

/** On the model's forward graph, before truncation and autodiff: what changes the derivative's shape too. */
export const PRE_AUTODIFF_PIPELINE: readonly Pass[] = [PASSES.hoistInputProjections, PASSES.hoistLoopInvariants, PASSES.oneHotProducts, PASSES.pruneScanInputs, PASSES.deadCode];

/** For forward graphs (inference, sampling, evaluation). */
export const FORWARD_PIPELINE: readonly Pass[] = [
  PASSES.dedupeScanOutputs,
  PASSES.hoistWeightTransposes,
  PASSES.hoistLoopConstants,
  PASSES.pruneScanInputs,
  PASSES.commonSubexpressions,
  PASSES.deadCode,
  PASSES.fuseElementwise,
];

/**
 * For the graph sampling and streaming run (the forward graph without its
 * loss, at small batches): output projections per step, then the forward
 * pipeline plus one product and one lookup per cell for all its gates.
 */
export const PREDICT_PIPELINE: readonly Pass[] = [
  PASSES.sinkOutputProjections,
  ...FORWARD_PIPELINE.filter((p) => p !== PASSES.fuseElementwise),
  PASSES.fuseGateProducts,
  PASSES.pruneScanInputs,
  PASSES.commonSubexpressions,
  PASSES.deadCode,
  PASSES.fuseElementwise,
];

/**
 * A pipeline with each cell's gate products joined into one product per
 * step before the element-wise groups form (fuse-gate-products.ts), and in
 * a backward step the gates' summed products too (join-summed-products.ts):
 * for backends where every kernel is a dispatch of its own (webgpu), where
 * one product for all gates saves three dispatches per LSTM step, forward
 * and backward.
 */
export function withJoinedGates(passes: readonly Pass[]): readonly Pass[] {
  const at = passes.indexOf(PASSES.fuseElementwise);
  const joined = [PASSES.fuseGateProducts, PASSES.joinSummedProducts, PASSES.pruneScanInputs, PASSES.commonSubexpressions, PASSES.deadCode];
  return at < 0 ? [...passes, ...joined] : [...passes.slice(0, at), ...joined, ...passes.slice(at)];
}

/** For training graphs (forward plus derivative). */
export const TRAINING_PIPELINE: readonly Pass[] = [
  PASSES.hoistWeightGradients,
  PASSES.dedupeScanOutputs,
  PASSES.transposeOuterOperands,
  PASSES.hoistWeightTransposes,
  PASSES.hoistLoopConstants,
  PASSES.pruneScanInputs,
  PASSES.commonSubexpressions,
  PASSES.deadCode,
  PASSES.fuseElementwise,
];

export const PASS_NAMES: readonly string[] = Object.values(PASSES).map((p) => p.name);

export interface PipelineOptions {
  /** Called with the graph as it leaves each pass. */
  readonly after?: (pass: string, g: Graph) => void;
}

export function runPipeline(g: Graph, passes: readonly Pass[], opts: PipelineOptions = {}): Graph {
  let cur = g;
  for (const pass of passes) {
    const next = pass.run(cur);
    try {
      if (next !== cur) verifyGraph(next, `after ${pass.name}`);
    } catch (e) {
      throw new InternalError(`pass ${pass.name} broke the IR: ${(e as Error).message}`);
    }
    opts.after?.(pass.name, next);
    cur = next;
  }
  return cur;
}
