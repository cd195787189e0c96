// Fused element-wise groups as WebGPU kernels. On the webgpu backend every
// tfjs op is a dispatch of its own (tens of microseconds each), so a cell's
// step of a dozen element-wise ops is a dozen dispatches. Here a `fused`
// node's body (compiler/ir/types.ts FusedBody, built by
// passes/fuse-elementwise.ts) becomes WGSL, generated from the IR and each
// op's `wgsl` expression (compiler/ir/elementwise.ts): one kernel per output
// of the group, each computing the instructions that output needs. A cell
// of the user's gets its kernels the same way as the standard cells.
//
// A kernel reads its inputs as flat arrays, each in its broadcast mode
// against the output (runtime/tfjs/portable-ops.ts broadcastMode: the whole
// size, one value, a trailing block, leading axes, or a window of the last
// axis), with the sizes written into the shader as constants, so the shader
// cache key names them. Groups whose inputs need more storage buffers than
// the device offers, broadcasts of another pattern, other dtypes and
// tfjs's own autodiff (tests check ours with it) take the op-by-op path.
import * as tf from '@tensorflow/tfjs-core';
import { ELEMENTWISE_OPS } from '../../compiler/ir/elementwise.js';
import type { FusedBody } from '../../compiler/ir/types.js';
import { broadcastMode } from './portable-ops.js';

const WGSL = new Map(ELEMENTWISE_OPS.map((e) => [e.name, e.wgsl] as const));

/** tanh without overflow: sign(x) (1 - e^-2|x|) / (1 + e^-2|x|) (as tfjs's webgpu tanh). */
const HELPERS = `
fn tanh_(x : f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}`;

/** The subset of tfjs-backend-webgpu's WebGPUProgram a fused kernel fills in. */
interface Program {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

/** What rnnc uses of the webgpu backend object: its device's limits and runWebGPUProgram. */
interface WebgpuBackend {
  readonly device: { readonly limits: { readonly maxStorageBuffersPerShaderStage: number } };
  runWebGPUProgram(program: Program, inputs: tf.TensorInfo[], dtype: 'float32'): tf.TensorInfo;
}

let enabled = true;

/** Turns the fused kernels on or off (off: every op of a group is a kernel of its own), for tests and `npm run bench`. */
export function setWebgpuFusion(on: boolean): void {
  enabled = on;
}

/** A number as a WGSL f32 literal. */
function literal(x: number): string {
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** The read of input k at flat output index `index`, in its mode, with its constants. */
function read(k: number, mode: string, p: readonly number[]): string {
  switch (mode) {
    case 'e':
      return `T${k}[index]`;
    case 's':
      return `T${k}[0]`;
    case 'm':
      return `T${k}[index % ${p[0]}]`;
    case 'd':
      return `T${k}[index / ${p[0]}]`;
    default:
      // A window of the last axis: p = [window width, row width, window begin].
      return `T${k}[(index / ${p[0]}) * ${p[1]} + ${p[2]} + index % ${p[0]}]`;
  }
}

/**
 * The WGSL of one output of a body: the instructions it depends on, in
 * order, reading inputs as `modes` say; and the inputs it reads (a kernel
 * binds only those: WebGPU's automatic layout drops a buffer it never reads).
 */
export function fusedWgsl(body: FusedBody, output: number, modes: string, params: readonly (readonly number[])[]): { code: string; reads: number[] } {
  const need = new Set<number>();
  const visit = (t: number): void => {
    if (need.has(t)) return;
    need.add(t);
    for (const a of body.instrs[t]!.args) if ('tmp' in a) visit(a.tmp);
  };
  visit(body.outputs[output]!);
  const lines: string[] = [];
  const readIns = new Set<number>();
  body.instrs.forEach(({ op, args, attr }, t) => {
    if (!need.has(t)) return;
    const names = args.map((a) => {
      if ('tmp' in a) return `t${a.tmp}`;
      if ('num' in a) return `(${literal(a.num)})`;
      if (!readIns.has(a.in)) {
        readIns.add(a.in);
        lines.push(`let i${a.in} = ${read(a.in, modes[a.in]!, params[a.in]!)};`);
      }
      return `i${a.in}`;
    });
    const code = WGSL.get(op);
    if (code === undefined) throw new Error(`internal: fused op ${op} has no WGSL`);
    const b = attr !== undefined ? `(${literal(attr)})` : names[1];
    lines.push(`let t${t} = ${code.replace(/\$([01])/g, (_, k: string) => (k === '0' ? names[0]! : b ?? 'NaN'))};`);
  });
  const code = `${HELPERS}
fn main(index : i32) {
  if (index < uniforms.size) {
    ${lines.join('\n    ')}
    setOutputAtIndex(index, t${body.outputs[output]});
  }
}`;
  return { code, reads: [...readIns].sort((a, b) => a - b) };
}

/** Shader texts by body and modes (the same body runs at every step of a scan). */
const sources = new WeakMap<FusedBody, Map<string, { code: string; reads: number[] }[]>>();

/**
 * Runs a fused body as WebGPU kernels, one per output; null where it cannot
 * (not the webgpu backend, turned off, taping, a dtype or broadcast it does
 * not read, more inputs than the device binds): the caller runs it op by op.
 * `windows` as runtime/tfjs/portable-ops.ts `fused` takes them.
 */
export function fusedOnWebgpu(body: FusedBody, inputs: readonly tf.Tensor[], windows?: readonly number[]): tf.Tensor[] | null {
  if (!enabled || tf.getBackend() !== 'webgpu' || inputs.some((t) => t.dtype !== 'float32')) return null;
  if ((tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0) return null;
  const backend = tf.backend() as unknown as WebgpuBackend;
  if (typeof backend.runWebGPUProgram !== 'function' || inputs.length + 1 > backend.device.limits.maxStorageBuffersPerShaderStage) return null;
  const windowOf = (k: number): [number, number] | undefined =>
    windows !== undefined && windows[2 * k]! >= 0 ? [windows[2 * k]!, windows[2 * k + 1]!] : undefined;
  const shapes = inputs.map((t, k) => {
    const w = windowOf(k);
    return w === undefined ? t.shape : [...t.shape.slice(0, -1), w[1]];
  });
  const shape = shapes.reduce<number[]>((s, t) => tf.backend_util.assertAndGetBroadcastShape(s, t), []);
  const n = shape.reduce((x, y) => x * y, 1);
  if (n === 0) return null;
  const found = shapes.map((s, k) => (windowOf(k) === undefined ? broadcastMode(s, shape) : s.reduce((x, y) => x * y, 1) === n ? 'w' : null));
  if (found.includes(null)) return null;
  const modes = found.join('');
  const params = inputs.map((t, k) => {
    const w = windowOf(k);
    return modes[k] === 'w' ? [w![1], t.shape[t.rank - 1]!, w![0]] : modes[k] === 'm' ? [t.size] : modes[k] === 'd' ? [n / t.size] : [];
  });
  const key = `${modes}:${params.map((p) => p.join(',')).join(';')}`;
  let byKey = sources.get(body);
  if (byKey === undefined) sources.set(body, (byKey = new Map()));
  let codes = byKey.get(key);
  if (codes === undefined) byKey.set(key, (codes = body.outputs.map((_, o) => fusedWgsl(body, o, modes, params))));
  registerFusedKernel();
  const attrs: FusedKernelAttrs = { codes, key, n, shape };
  const out = tf.engine().runKernel(FUSED_KERNEL, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? out : [out as tf.Tensor];
}

const FUSED_KERNEL = 'RnncFusedWebgpu';

interface FusedKernelAttrs {
  readonly codes: readonly { readonly code: string; readonly reads: readonly number[] }[];
  /** The modes and constants the codes were written for (part of each shader's cache key). */
  readonly key: string;
  /** The outputs' size and shape. */
  readonly n: number;
  readonly shape: readonly number[];
}

/**
 * The kernel of fused groups on webgpu, one program per output, run through
 * the engine like every tfjs kernel (tf.profile counts its outputs, tidy
 * tracks them). Inputs are bound as flat arrays of their data (the programs
 * index them themselves), the outputs made flat and given the group's shape.
 */
function registerFusedKernel(): void {
  if (tf.getKernel(FUSED_KERNEL, 'webgpu')) return;
  tf.registerKernel({
    kernelName: FUSED_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as WebgpuBackend;
      const ins = inputs as unknown as tf.TensorInfo[];
      const { codes, key, n, shape } = attrs as unknown as FusedKernelAttrs;
      const flat = ins.map((t): tf.TensorInfo => ({ dataId: t.dataId, shape: [t.shape.reduce((x, y) => x * y, 1)], dtype: t.dtype }));
      const workgroupSize: [number, number, number] = [64, 1, 1];
      return codes.map(({ code, reads }, o) => {
        const program: Program = {
          outputShape: [n],
          shaderKey: `rnncFused_${o}_${key}_${hashText(code)}`,
          dispatchLayout: { x: [0] },
          dispatch: [Math.ceil(n / workgroupSize[0]), 1, 1],
          variableNames: reads.map((k) => `T${k}`),
          workgroupSize,
          size: true,
          getUserCode: () => code,
        };
        const info = b.runWebGPUProgram(program, reads.map((k) => flat[k]!), 'float32');
        return { dataId: info.dataId, shape: [...shape], dtype: 'float32' };
      });
    },
  });
}

/** A short hash of a shader's text, so two bodies never share a cache key. */
function hashText(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}
