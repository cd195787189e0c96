// A lowered model -> the text of a standalone TypeScript module that depends
// only on @tensorflow/tfjs-core: typed parameters, inputs, state and outputs,
// initParams / loadParams / saveParams, forward (streaming), and with the
// `train` target loss / gradients / initOptimizer / trainStep, the symbolic
// backward emitted as code (reverse loops, truncated-BPTT windows).
//
// Built as ts-morph structures (imports, interfaces with doc comments,
// functions with typed parameters and return types); statement bodies are
// code text inside those structures. This file assembles the module from
// small emitters, in this order: the header comment, types (emit-types.ts),
// helpers (emit-helpers.ts), parameters (emit-params.ts), entry checks
// (emit-checks.ts), batches (emit-batches.ts), the graph functions
// (emit-graph-functions.ts), forward (emit-forward.ts), decoding
// (emit-decode.ts) and training (emit-training.ts); what they share is
// module-parts.ts. Pure: no fs, no process; formatting is format.ts. The
// runtime semantics it reproduces: runtime/tfjs (ops),
// runtime/train/session.ts (feeds, windows, updates), runtime/init.ts (init).
import { Project } from 'ts-morph';
import type { TrainConfig } from '../sema/train.js';
import { emitBatches } from './emit-batches.js';
import { emitChecks } from './emit-checks.js';
import { emitDecode } from './emit-decode.js';
import { emitForward } from './emit-forward.js';
import { emitGraphFunctions } from './emit-graph-functions.js';
import { emitHelpers } from './emit-helpers.js';
import { emitParams } from './emit-params.js';
import { emitTraining } from './emit-training.js';
import { emitTypes } from './emit-types.js';
import { assertInert } from './escape.js';
import { baseName, moduleParts, type EmitOptions } from './module-parts.js';

export { CodegenError } from './bind.js';
export type { EmitOptions } from './module-parts.js';

/** Emits the module's text (unformatted; see format.ts). Throws CodegenError for what cannot be compiled. */
export function emitModule(o: EmitOptions): string {
  const m = moduleParts(o);
  const { truncated, train } = m;
  const statements = [emitTypes, emitHelpers, emitParams, emitChecks, emitBatches, emitGraphFunctions, emitForward, emitDecode, emitTraining].flatMap((emit) => emit(m));

  // ------------------------------------------------------------ the file
  const header = moduleHeader(o, truncated, train);
  const project = new Project({ useInMemoryFileSystem: true });
  const file = project.createSourceFile('model.ts', { statements: [header, ...statements] });
  const text = file.getFullText();
  assertInert(text);
  return text;
}

function moduleHeader(o: EmitOptions, truncated: boolean, train: TrainConfig | undefined): string {
  const m = o.model;
  const lines = [
    `Model \`${m.name}\` of ${baseName(o.file)}, compiled by rnnc (target ${o.target}${o.unroll !== undefined ? `, unrolled ${o.unroll} steps` : ''}).`,
    'Generated code: edit the .rnn file and compile again rather than editing this file.',
    '',
    'It depends only on @tensorflow/tfjs-core, versions 4.22.x (a peer dependency): register a backend',
    'first (tfjs-node, webgpu, wasm, webgl or cpu). Each function that reads tensors back (even',
    'forward, which checks token ids) has an async twin, nameAsync, reading with `await t.data()`:',
    'on webgpu use those (in Node.js the synchronous ones fail as soon as what they read is on the',
    'GPU), and register the backend with registerWebgpuBackend(WebGPUBackend) before',
    "tf.setBackend('webgpu'), so that the fused kernels bind all their inputs.",
    'Inputs are batch-major as people write data; inside, sequences are time-major [T, B, ...]',
    'and each recurrence is a loop over time whose step is one function below.',
    '',
    ...(train
      ? [
          'Tensor ownership: nothing passed in is disposed, except by trainStep, which takes the',
          'parameters and optimizer state it is given and returns their successors. Every tensor a',
          'function returns belongs to the caller (dispose it, or use disposeParams / disposeState /',
          'disposeOptimizer; free parameters with disposeParams, which also frees the weight transposes',
          'kept per Params object); every other tensor is released before the function returns, so',
          'tf.memory().numTensors stays flat over a training loop.',
        ]
      : [
          'Tensor ownership: nothing passed in is disposed. Every tensor a function returns belongs',
          'to the caller (dispose it, or use disposeParams / disposeState; free parameters with',
          'disposeParams, which also frees the weight transposes kept per Params object); every other',
          'tensor is released before the function returns.',
        ]),
  ];
  if (train) {
    lines.push(
      '',
      `Training: ${train.optimizer.name}${train.schedule ? ` with schedule ${train.schedule.name}` : ''}${train.clip ? `, clip ${train.clip.mode} ${train.clip.value}` : ''}, ${truncated && train.bptt.kind === 'truncated' ? `truncated BPTT (k1 = ${train.bptt.k1}, k2 = ${train.bptt.k2})` : 'full BPTT'}; gradients are the`,
      'symbolic derivative rnnc computes (reverse loops over saved carries), emitted as code.',
    );
  }
  return `/**\n${lines.map((l) => ` *${l ? ` ${l}` : ''}`).join('\n')}\n */`;
}
