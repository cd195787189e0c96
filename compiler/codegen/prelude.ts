// The helper code an emitted module carries, as TypeScript text: the op
// helpers that emit-ops.ts calls (the text of runtime/tfjs/portable-ops.ts,
// generated, so interpreter and emitted code run the same helpers), the seeded generator and initialisers (ports of
// runtime/rng.ts and runtime/init.ts, so initParams(seed) matches
// TrainingSession.initParams bit for bit), truncated-BPTT windows
// (runtime/train/windows.ts) and scoped memory helpers. Each snippet is a
// list of top-level statements; module.ts includes only what a model uses.
// Tests compare every port with the runtime it copies, so a change on one
// side shows up as a failing parity test.
import { DECODE_SOURCE, INIT_SOURCES, OP_HELPERS as OP_HELPERS_TEXT, RNG_SOURCE, WEBGPU_KERNELS } from './portable.generated.js';

/** Names the emitted module defines at top level: no local variable may take them. */
export const PRELUDE_NAMES = [
  'tf', 'ELEMENTWISE_CODE', 'FusedArg', 'FusedInstr', 'FusedBody', 'hasKernel', 'fastTransposedMatMul', 'unstackTime', 'flatRows', 'sumTo', 'broadcastLike', 'linear', 'mm', 'outer', 'leadLast', 'outerLt', 'sliceLast', 'padLast',
  'squeezeLast', 'scatterAdd', 'gatherRows', 'oneHot', 'xent', 'xentGrad', 'timeIndex', 'timePlace', 'scoped', 'Reads', 'readSync', 'readAsync', 'readOwned', 'Rng', 'rotl',
  'initGlorot', 'initHe', 'initUniform', 'initNormal', 'initOrthogonal', 'initIdentity', 'initFill', 'fans', 'RngState',
  'planWindows', 'windowGate', 'WindowPlan', 'shapeText', 'sameShape', 'restrictFrom', 'unpadded', 'batchMajor', 'timeMajor',
  'sliceTime', 'learningRate', 'DIMS', 'PARAM_NAMES', 'PARAM_SHAPES', 'STATE_NAMES', 'mapParams', 'mapState',
  'Params', 'ParamsJson', 'Inputs', 'Targets', 'State', 'Outputs', 'ParamName', 'StateName', 'Batch',
  'LabelledBatch', 'InputTensors', 'TargetTensors', 'undefined', 'Math', 'Number', 'Array', 'Error', 'Object',
  'Float32Array', 'Float64Array', 'Int32Array', 'Uint32Array', 'logSoftmaxRows', 'lengthPenalty', 'beamSearchWith', 'beamSearchSteps', 'beamSearchWithAsync', 'BeamRow', 'BeamHypothesis', 'BeamStep', 'BeamScores', 'BeamBest',
  // Every top-level declaration of the op helpers and the webgpu kernels, read from their text (a helper added there is reserved too).
  ...[...`${OP_HELPERS_TEXT}\n${WEBGPU_KERNELS}`.matchAll(/^(?:async )?(?:function|const|let|class|interface|type) ([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]!),
];

/** The op helpers: the text of runtime/tfjs/portable-ops.ts, the interpreter's own code; and its webgpu kernels (runtime/tfjs/webgpu-fused.ts). */
export { OP_HELPERS, WEBGPU_KERNELS } from './portable.generated.js';

/** Log-softmax and beam search over a scoring function: the text of runtime/decode.ts, as rnnc translate runs it. */
export const DECODE = DECODE_SOURCE;

export const SCOPE_HELPERS = `
/**
 * Runs fn in a tfjs scope: every tensor it makes is disposed when it returns,
 * except those it passed to tf.keep (which the caller then owns).
 */
function scoped<R>(fn: () => R): R {
  const box: R[] = [];
  tf.tidy(() => {
    box.push(fn());
  });
  return box[0] as R;
}

/**
 * A computation that reads tensors back to the host: it yields each tensor to
 * read and goes on with its values; readSync and readAsync run it. Each
 * stretch between two reads runs in a tfjs scope, so a tensor it yields, or
 * uses after a read, must be one it kept (tf.keep; it disposes it itself) or
 * one the caller owns.
 */
type Reads<R> = Generator<tf.Tensor, R, tf.TypedArray>;

/**
 * Runs \`reads\`, reading with dataSync: the cpu, wasm and tensorflow
 * backends (webgpu only in a browser, slowly). \`name\` is the function
 * called, for the error where it cannot read.
 */
function readSync<R>(reads: Reads<R>, name: string): R {
  let step = scoped(() => reads.next());
  while (!step.done) {
    let values: tf.TypedArray;
    try {
      values = step.value.dataSync();
    } catch (e) {
      // tfjs's webgpu backend reads GPU data synchronously only through an OffscreenCanvas, which Node.js lacks.
      const error = tf.getBackend() === 'webgpu' ? new Error(\`\${name} reads tensors back synchronously, which the webgpu backend cannot do here (\${String(e)}): use \${name}Async\`) : e;
      // The computation releases what it holds (its catch and finally blocks run), then the error goes on.
      scoped(() => reads.throw(error));
      throw error;
    }
    step = scoped(() => reads.next(values));
  }
  return step.value;
}

/** Runs \`reads\`, reading with \`await t.data()\`: every backend, webgpu in Node.js included. */
async function readAsync<R>(reads: Reads<R>): Promise<R> {
  let step = scoped(() => reads.next());
  while (!step.done) {
    let values: tf.TypedArray;
    try {
      values = await step.value.data();
    } catch (e) {
      scoped(() => reads.throw(e));
      throw e;
    }
    step = scoped(() => reads.next(values));
  }
  return step.value;
}

/** Reads a tensor the computation kept, then disposes it (also when the read fails). */
function* readOwned(t: tf.Tensor): Reads<tf.TypedArray> {
  try {
    return yield t;
  } finally {
    t.dispose();
  }
}

function shapeText(shape: readonly number[]): string {
  return \`[\${shape.join(', ')}]\`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** [B, T, ...] as users write sequences -> [T, B, ...] as the loops walk them. */
function timeMajor(x: tf.Tensor): tf.Tensor {
  return tf.transpose(x, [1, 0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)]);
}

/** [T, B, ...] -> [B, T, ...]. */
function batchMajor(x: tf.Tensor): tf.Tensor {
  return tf.transpose(x, [1, 0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)]);
}

/** Steps [t0, t1) of a time-major tensor. */
function sliceTime(x: tf.Tensor, t0: number, t1: number): tf.Tensor {
  return tf.slice(x, [t0], [t1 - t0]);
}

/** True when a host [T, B] mask has no padding: the graphs' unpadded variants apply. */
function unpadded(mask: Float32Array): boolean {
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 1) return false;
  return true;
}

/** A host [T, B] mark with the steps before \`from\` zeroed (positions outside a window's loss). */
function restrictFrom(marks: Float32Array, batchSize: number, from: number): Float32Array {
  if (from <= 0) return marks;
  const out = Float32Array.from(marks);
  out.fill(0, 0, Math.min(from * batchSize, out.length));
  return out;
}
`;

/** The seeded generator (runtime/rng.ts) and fan sizes (runtime/init-kinds.ts), as the runtime has them. */
export const RNG = `${RNG_SOURCE}${INIT_SOURCES['fans']!}`;

/** Initialisers, one snippet per kind: the functions of runtime/init-kinds.ts; arguments are bound by the compiler. */
export const INITS: Readonly<Record<string, string>> = {
  fill: INIT_SOURCES['initFill']!,
  identity: INIT_SOURCES['initIdentity']!,
  uniform: INIT_SOURCES['initUniform']!,
  normal: INIT_SOURCES['initNormal']!,
  glorot: INIT_SOURCES['initGlorot']!,
  he: INIT_SOURCES['initHe']!,
  orthogonal: INIT_SOURCES['initOrthogonal']!,
};

export const WINDOWS = `
/** A truncated-BPTT window: steps [start, end), loss on [lossFrom, end), constants before cutBefore. */
interface WindowPlan {
  readonly start: number;
  readonly end: number;
  readonly lossFrom: number;
  readonly cutBefore: number;
}

/** The windows of a batch of \`steps\` steps (a port of rnnc's runtime/train/windows.ts). */
function planWindows(steps: number, k1: number, k2: number): WindowPlan[] {
  const out: WindowPlan[] = [];
  for (let lossFrom = 0; lossFrom < steps; lossFrom += k1) {
    const end = Math.min(steps, lossFrom + k1);
    out.push({ start: Math.max(0, Math.min(lossFrom, end - k2)), end, lossFrom, cutBefore: Math.max(0, end - k2) });
  }
  return out;
}

/** The gate of a window: 0 on constant steps, 1 where gradients flow back through the recurrence. */
function windowGate(w: WindowPlan): Float32Array {
  const g = new Float32Array(w.end - w.start);
  for (let t = w.start; t < w.end; t++) g[t - w.start] = t >= w.cutBefore ? 1 : 0;
  return g;
}
`;
