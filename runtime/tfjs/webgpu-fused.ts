// Fused element-wise groups as WebGPU kernels. On the webgpu backend every
// tfjs op is a dispatch of its own (tens of microseconds each), so a cell's
// step of a dozen element-wise ops is a dozen dispatches. Here a `fused`
// node's body (compiler/ir/types.ts FusedBody, built by
// passes/fuse-elementwise.ts) becomes WGSL, generated from the IR and each
// op's `wgsl` expression (compiler/ir/elementwise.ts): shaders of rnnc's own,
// dispatched into the backend's command stream, each writing as many of the
// group's outputs as the device's storage buffers allow (for the stdlib's
// cells all of them: one dispatch per group); or, where that cannot be (a
// profile timing kernels), one tfjs program per output, each computing the
// instructions its output needs. A cell of the user's
// gets its kernels the same way as the standard cells.
//
// A kernel reads its inputs as flat arrays, each in its broadcast mode
// against the output (runtime/tfjs/portable-ops.ts broadcastMode: the whole
// size, one value, a trailing block, leading axes, or a window of the last
// axis), with the sizes written into the shader as constants, so the shader
// cache key names them. Groups whose inputs need more storage buffers than
// the device offers, broadcasts of another pattern, other dtypes and
// tfjs's own autodiff (tests check ours with it) take the op-by-op path.
//
// Emitted modules carry this file's text too (compiler/codegen/portable.generated.ts):
// runtime/tfjs/portable-ops.ts's `fused`, `fusedGroup` and `adamStep` try
// these kernels first, so a compiled module on webgpu runs the same shaders.
import * as tf from '@tensorflow/tfjs-core';
import { ELEMENTWISE_CODE } from '../../compiler/ir/elementwise.js';
import type { FusedBody } from '../../compiler/ir/types.js';
import { fusedReads } from './portable-ops.js';

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

/**
 * How a kernel reads its inputs: input k in broadcast mode modes[k] with the
 * constants params[k] (read's comment), from the buffer of input alias[k]
 * (the first input that is the same tensor: a joined product read through
 * several windows is bound once).
 */
interface Layout {
  readonly modes: string;
  readonly params: readonly (readonly number[])[];
  readonly alias: readonly number[];
  /**
   * The WGSL element type of each input's buffer: tfjs casts int32 and bool
   * to float32 without converting the data (the buffer keeps its integers),
   * so a float32 tensor may sit in an i32 buffer; reads convert with f32().
   */
  readonly types: readonly ('f32' | 'i32')[];
}

/** The read of input k at flat output index `index`, in its mode, with its constants. */
function read(k: number, l: Layout): string {
  const b = `T${l.alias[k]}`;
  const p = l.params[k]!;
  const at = ((): string => {
    switch (l.modes[k]) {
      case 'e':
        return 'index';
      case 's':
        return '0';
      case 'm':
        return `index % ${p[0]}`;
      case 'd':
        return `index / ${p[0]}`;
      default:
        // A window of the last axis: p = [window width, row width, window begin].
        return `(index / ${p[0]}) * ${p[1]} + ${p[2]} + index % ${p[0]}`;
    }
  })();
  return `f32(${b}[${at}])`;
}

/** The statements computing the temps `wanted` need, in order, reading inputs as the layout says; and the buffers they read (alias indices). */
function statements(body: FusedBody, wanted: readonly number[], l: Layout): { lines: string[]; reads: number[] } {
  const need = new Set<number>();
  const visit = (t: number): void => {
    if (need.has(t)) return;
    need.add(t);
    for (const a of body.instrs[t]!.args) if ('tmp' in a) visit(a.tmp);
  };
  wanted.forEach(visit);
  const lines: string[] = [];
  const readIns = new Set<number>();
  const buffers = new Set<number>();
  body.instrs.forEach(({ op, args, attr }, t) => {
    if (!need.has(t)) return;
    const names = args.map((a) => {
      if ('tmp' in a) return `t${a.tmp}`;
      if ('num' in a) return `(${literal(a.num)})`;
      if (!readIns.has(a.in)) {
        readIns.add(a.in);
        buffers.add(l.alias[a.in]!);
        lines.push(`let i${a.in} = ${read(a.in, l)};`);
      }
      return `i${a.in}`;
    });
    const code = ELEMENTWISE_CODE[op]?.wgsl;
    if (code === undefined) throw new Error(`internal: fused op ${op} has no WGSL`);
    const b = attr !== undefined ? `(${literal(attr)})` : names[1];
    lines.push(`let t${t} = ${code.replace(/\$([01])/g, (_, k: string) => (k === '0' ? names[0]! : b ?? 'NaN'))};`);
  });
  return { lines, reads: [...buffers].sort((a, b) => a - b) };
}

/**
 * The user code of a tfjs program computing one output of a body (tfjs's
 * shader prelude declares the buffers T<k> it reads, `uniforms.size`,
 * `isnan` and `setOutputAtIndex`); and the inputs it reads (a program binds
 * only those: WebGPU's automatic layout drops a buffer the shader never reads).
 */
export function fusedWgsl(body: FusedBody, output: number, l: Layout): { code: string; reads: number[] } {
  const { lines, reads } = statements(body, [body.outputs[output]!], l);
  const code = `${HELPERS}
fn main(index : i32) {
  if (index < uniforms.size) {
    ${lines.join('\n    ')}
    setOutputAtIndex(index, t${body.outputs[output]});
  }
}`;
  return { code, reads };
}

/**
 * A whole shader computing the outputs `outputs` (indices into
 * body.outputs) of a body over n elements: the j-th of them at binding j,
 * then the buffers it reads, each at the next binding.
 */
export function fusedShader(body: FusedBody, outputs: readonly number[], l: Layout, n: number): { code: string; reads: number[] } {
  const temps = outputs.map((o) => body.outputs[o]!);
  const { lines, reads } = statements(body, temps, l);
  const decls = [
    ...temps.map((_, j) => `@group(0) @binding(${j}) var<storage, read_write> O${j} : array<f32>;`),
    ...reads.map((r, j) => `@group(0) @binding(${temps.length + j}) var<storage, read> T${r} : array<${l.types[r]}>;`),
  ];
  const code = `${decls.join('\n')}
fn isnan(val : f32) -> bool {
  let bits = bitcast<u32>(val);
  return (bits & 0x7fffffffu) > 0x7f800000u;
}
${HELPERS}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>) {
  let index = i32(gid.x);
  if (index >= ${n}) {
    return;
  }
  ${lines.join('\n  ')}
  ${temps.map((t, j) => `O${j}[index] = t${t};`).join('\n  ')}
}`;
  return { code, reads };
}

/**
 * The outputs of a body in groups whose shader binds at most `limit` storage
 * buffers (its outputs and the buffers it reads), in order, each as large
 * as fits: one group, one dispatch, for most cells.
 */
function shaders(body: FusedBody, l: Layout, n: number, limit: number): Shader[] {
  const out: Shader[] = [];
  let group: number[] = [];
  const fits = (g: readonly number[]): boolean => g.length + statements(body, g.map((o) => body.outputs[o]!), l).reads.length <= limit;
  body.outputs.forEach((_, o) => {
    if (group.length > 0 && !fits([...group, o])) {
      out.push({ ...fusedShader(body, group, l, n), outputs: group });
      group = [];
    }
    group.push(o);
  });
  if (group.length > 0) out.push({ ...fusedShader(body, group, l, n), outputs: group });
  // A single output whose reads alone exceed the limit cannot be a shader of ours.
  return out.every((sh) => sh.outputs.length + sh.reads.length <= limit) ? out : [];
}

/** A shader of rnnc's own: its text, the buffers it reads, and the outputs of the body it writes. */
interface Shader {
  readonly code: string;
  readonly reads: readonly number[];
  readonly outputs: readonly number[];
}

/** Threads per workgroup of the fused kernels. */
const WORKGROUP = 64;

/** Shader texts by body and modes (the same body runs at every step of a scan). */
const sources = new WeakMap<FusedBody, Map<string, Pick<FusedKernelAttrs, 'shaders' | 'perOutput'>>>();

/**
 * Runs a fused body as WebGPU kernels (most often one for all its outputs);
 * null where it cannot (not the webgpu backend, turned off, taping, a dtype
 * or broadcast it does not read, more distinct inputs than the device
 * binds): the caller runs it op by op.
 * `windows` as runtime/tfjs/portable-ops.ts `fused` takes them.
 */
export function fusedOnWebgpu(body: FusedBody, inputs: readonly tf.Tensor[], windows?: readonly number[]): tf.Tensor[] | null {
  if (!enabled || tf.getBackend() !== 'webgpu' || inputs.some((t) => t.dtype !== 'float32')) return null;
  if ((tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0) return null;
  const backend = tf.backend() as unknown as WebgpuBackend;
  if (typeof backend.runWebGPUProgram !== 'function') return null;
  const { shape, n, found, params: paramsFor } = fusedReads(inputs, windows);
  if (n === 0 || found.includes(null)) return null;
  const modes = found.join('');
  const params = paramsFor(modes);
  const alias = inputs.map((t) => inputs.findIndex((u) => u.dataId === t.dataId));
  const stored = (backend as unknown as { tensorMap?: { get(id: unknown): { dtype?: string } | undefined } }).tensorMap;
  const types = inputs.map((t) => (stored?.get(t.dataId)?.dtype ?? 'float32') === 'float32' ? ('f32' as const) : ('i32' as const));
  const limit = backend.device.limits.maxStorageBuffersPerShaderStage;
  // The fallback, a tfjs program per output, binds an output and at most every distinct input.
  if (new Set(alias).size + 1 > limit) return null;
  const key = `${modes}:${params.map((p) => p.join(',')).join(';')}:${alias.join(',')}:${types.join(',')}:${n}:${limit}`;
  let byKey = sources.get(body);
  if (byKey === undefined) sources.set(body, (byKey = new Map()));
  let code = byKey.get(key);
  if (code === undefined) {
    const l: Layout = { modes, params, alias, types };
    byKey.set(key, (code = { shaders: shaders(body, l, n, limit), perOutput: body.outputs.map((_, o) => fusedWgsl(body, o, l)) }));
  }
  registerFusedKernel();
  const attrs: FusedKernelAttrs = { ...code, key, n, shape };
  const out = tf.engine().runKernel(FUSED_KERNEL, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? out : [out as tf.Tensor];
}

const FUSED_KERNEL = 'RnncFusedWebgpu';

interface FusedKernelAttrs {
  /** Shaders of rnnc's own writing the outputs, most often one (none when a single output reads more buffers than the device binds). */
  readonly shaders: readonly Shader[];
  /** One tfjs program's user code per output, and the inputs each reads. */
  readonly perOutput: readonly { readonly code: string; readonly reads: readonly number[] }[];
  /** The modes and constants the codes were written for (part of each shader's cache key). */
  readonly key: string;
  /** The outputs' size and shape. */
  readonly n: number;
  readonly shape: readonly number[];
}

/**
 * The internals of tfjs-backend-webgpu 4.22's backend that a kernel of rnnc's
 * own shader needs to take its place in the backend's command stream, as the
 * backend's recordAndSubmit does for its programs. Checked before use
 * (hasInternals); without them every output is a tfjs program.
 */
interface WebgpuInternals extends WebgpuBackend {
  readonly device: WebgpuBackend['device'] & {
    createShaderModule(d: { code: string }): unknown;
    createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): { getBindGroupLayout(i: number): unknown };
    createBindGroup(d: { layout: unknown; entries: { binding: number; resource: unknown }[] }): unknown;
  };
  makeTensorInfo(shape: number[], dtype: 'float32'): tf.TensorInfo;
  uploadToGPU(dataId: unknown): void;
  tensorToBinding(t: tf.TensorInfo): unknown;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  commandEncoder: { beginComputePass(d: object): ComputePass };
  computePassEncoder: ComputePass | null;
  commandQueueOwnedIds: { add(id: unknown): void };
  dispatchCountInPass: number;
  activeTimers: unknown;
}

interface ComputePass {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y: number, z: number): void;
}

function hasInternals(b: WebgpuBackend): b is WebgpuInternals {
  const x = b as Partial<WebgpuInternals>;
  return (
    typeof x.makeTensorInfo === 'function' &&
    typeof x.uploadToGPU === 'function' &&
    typeof x.tensorToBinding === 'function' &&
    typeof x.ensureCommandEncoderReady === 'function' &&
    typeof x.endComputePassEncoder === 'function' &&
    typeof x.submitQueue === 'function' &&
    typeof x.commandQueueOwnedIds?.add === 'function' &&
    typeof x.dispatchCountInPass === 'number' &&
    typeof x.device?.createComputePipeline === 'function'
  );
}

/** Compiled pipelines of rnnc's shaders, per device, by shader text. */
const pipelines = new WeakMap<object, Map<string, { getBindGroupLayout(i: number): unknown }>>();

/** The largest count of workgroups a dispatch may name along x (WebGPU's default limit). */
const MAX_WORKGROUPS = 65535;

/**
 * Runs the shaders writing the outputs, one dispatch each, recorded into
 * the backend's command stream; null where they cannot run (missing
 * internals, a profile timing each program, no shaders, more workgroups
 * than one dimension takes).
 */
function dispatchShaders(b: WebgpuBackend, ins: readonly tf.TensorInfo[], a: FusedKernelAttrs): tf.TensorInfo[] | null {
  if (!hasInternals(b) || b.activeTimers != null || a.shaders.length === 0 || Math.ceil(a.n / WORKGROUP) > MAX_WORKGROUPS) return null;
  let cache = pipelines.get(b.device);
  if (cache === undefined) pipelines.set(b.device, (cache = new Map()));
  const outs: tf.TensorInfo[] = new Array<tf.TensorInfo>(a.perOutput.length);
  for (const { code, reads, outputs } of a.shaders) {
    let pipeline = cache.get(code);
    if (pipeline === undefined) {
      pipeline = b.device.createComputePipeline({ layout: 'auto', compute: { module: b.device.createShaderModule({ code }), entryPoint: 'main' } });
      cache.set(code, pipeline);
    }
    const written = outputs.map((o) => (outs[o] = b.makeTensorInfo([a.n], 'float32')));
    const bound = [...written, ...reads.map((k) => ins[k]!)];
    for (const t of bound) {
      b.uploadToGPU(t.dataId);
      // Buffers a recorded command reads or writes are not released before the queue is submitted.
      b.commandQueueOwnedIds.add(t.dataId);
    }
    const bindGroup = b.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: bound.map((t, i) => ({ binding: i, resource: b.tensorToBinding(t) })) });
    b.ensureCommandEncoderReady();
    if (!b.computePassEncoder) b.computePassEncoder = b.commandEncoder.beginComputePass({});
    b.computePassEncoder.setPipeline(pipeline);
    b.computePassEncoder.setBindGroup(0, bindGroup);
    b.computePassEncoder.dispatchWorkgroups(Math.ceil(a.n / WORKGROUP), 1, 1);
    b.dispatchCountInPass++;
    dispatched++;
    if ((tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= b.dispatchCountInPass) {
      b.endComputePassEncoder();
      b.submitQueue();
    }
  }
  return outs.map((t) => ({ dataId: t.dataId, shape: [...a.shape], dtype: 'float32' }));
}

/** Dispatches of rnnc's own fused shaders so far (the backend's runWebGPUProgram does not see them): for counting in tests and the benchmark. */
export function fusedDispatches(): number {
  return dispatched;
}
let dispatched = 0;

/**
 * The kernel of fused groups on webgpu, run through the engine like every
 * tfjs kernel (tf.profile counts it, tidy tracks its outputs): one dispatch
 * of the shader writing every output, or else one tfjs program per output.
 * Inputs are bound as flat arrays of their data (the shaders index them
 * themselves), the outputs made flat and given the group's shape.
 */
function registerFusedKernel(): void {
  if (tf.getKernel(FUSED_KERNEL, 'webgpu')) return;
  tf.registerKernel({
    kernelName: FUSED_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as WebgpuBackend;
      const ins = inputs as unknown as tf.TensorInfo[];
      const a = attrs as unknown as FusedKernelAttrs;
      const own = dispatchShaders(b, ins, a);
      if (own !== null) return own;
      const flat = ins.map((t): tf.TensorInfo => ({ dataId: t.dataId, shape: [t.shape.reduce((x, y) => x * y, 1)], dtype: t.dtype }));
      return a.perOutput.map(({ code, reads }, o) => {
        const program: Program = {
          outputShape: [a.n],
          shaderKey: `rnncFused_${o}_${a.key}_${hashText(code)}`,
          dispatchLayout: { x: [0] },
          dispatch: [Math.ceil(a.n / WORKGROUP), 1, 1],
          variableNames: reads.map((k) => `T${k}`),
          workgroupSize: [WORKGROUP, 1, 1],
          size: true,
          getUserCode: () => code,
        };
        const info = b.runWebGPUProgram(program, reads.map((k) => flat[k]!), 'float32');
        return { dataId: info.dataId, shape: [...a.shape], dtype: 'float32' };
      });
    },
  });
}

interface GpuAdapter {
  readonly limits: Record<string, number>;
  readonly features: { has(name: string): boolean };
  readonly info?: unknown;
  requestDevice(descriptor: object): Promise<unknown>;
}

/**
 * Registers tfjs's 'webgpu' backend over tfjs-backend-webgpu's own factory
 * (pass its class, `WebGPUBackend`): the same backend on a device with the
 * adapter's storage-buffer limit per shader (a device gets 8 unless it
 * asks), so a fused kernel reading many inputs binds them all; with 8 most
 * of a cell's backward groups run op by op. Call it before
 * `tf.setBackend('webgpu')`. Once per process, whoever calls it (rnnc's
 * runtime/backend.ts, or a compiled module that exports it): a second
 * registration would dispose a running backend's tensors.
 */
export function registerWebgpuBackend(WebGPUBackend: unknown): void {
  const flag = Symbol.for('rnnc.webgpuBackendRegistered');
  const g = globalThis as Record<symbol, unknown>;
  if (g[flag] === true) return;
  g[flag] = true;
  const Backend = WebGPUBackend as new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend;
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const gpu = (globalThis as unknown as { navigator: { gpu: { requestAdapter(o: object): Promise<GpuAdapter | null> } } }).navigator.gpu;
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (adapter === null) throw new Error('no WebGPU adapter');
      const l = adapter.limits;
      const device = await adapter.requestDevice({
        requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
        requiredLimits: {
          maxComputeWorkgroupStorageSize: l['maxComputeWorkgroupStorageSize'],
          maxComputeWorkgroupsPerDimension: l['maxComputeWorkgroupsPerDimension'],
          maxStorageBufferBindingSize: l['maxStorageBufferBindingSize'],
          maxBufferSize: l['maxBufferSize'],
          maxComputeWorkgroupSizeX: l['maxComputeWorkgroupSizeX'],
          maxComputeInvocationsPerWorkgroup: l['maxComputeInvocationsPerWorkgroup'],
          maxStorageBuffersPerShaderStage: l['maxStorageBuffersPerShaderStage'],
        },
      });
      return new Backend(device, adapter.info);
    },
    3,
  );
}

/** A short hash of a shader's text, so two bodies never share a cache key. */
function hashText(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

/** Adam's update as a fused body per (beta1, beta2, eps): the same object every step, so its shaders are made once. */
const adamBodies = new Map<string, FusedBody>();

function adamBody(b1: number, b2: number, eps: number): FusedBody {
  const key = `${b1},${b2},${eps}`;
  let body = adamBodies.get(key);
  if (body === undefined) {
    // Inputs: p, g, m, v, lr / (1 - b1^t), 1 / (1 - b2^t). Outputs: p', m', v' (runtime/tfjs/portable-ops.ts adamStep).
    const i = (k: number): { in: number } => ({ in: k });
    const t = (k: number): { tmp: number } => ({ tmp: k });
    const num = (x: number): { num: number } => ({ num: x });
    body = {
      instrs: [
        { op: 'mul', args: [num(b1), i(2)] }, // t0 = b1 m
        { op: 'mul', args: [num(1 - b1), i(1)] }, // t1 = (1 - b1) g
        { op: 'add', args: [t(0), t(1)] }, // t2 = m'
        { op: 'mul', args: [i(1), i(1)] }, // t3 = g^2
        { op: 'mul', args: [num(b2), i(3)] }, // t4 = b2 v
        { op: 'mul', args: [num(1 - b2), t(3)] }, // t5 = (1 - b2) g^2
        { op: 'add', args: [t(4), t(5)] }, // t6 = v'
        { op: 'mul', args: [t(6), i(5)] }, // t7 = v' / (1 - b2^t)
        { op: 'sqrt', args: [t(7)] },
        { op: 'add', args: [t(8), num(eps)] }, // t9 = sqrt(...) + eps
        { op: 'mul', args: [i(4), t(2)] }, // t10 = lr m' / (1 - b1^t)
        { op: 'div', args: [t(10), t(9)] },
        { op: 'sub', args: [i(0), t(11)] }, // t12 = p'
      ],
      outputs: [12, 2, 6],
    };
    adamBodies.set(key, body);
  }
  return body;
}

/**
 * One Adam update (runtime/tfjs/portable-ops.ts adamStep: the same maths)
 * as one fused kernel on webgpu, where the op-by-op update is a dozen
 * dispatches per parameter: [p', m', v'], or null off webgpu. The factors
 * that change with the step travel as scalar inputs, so every step runs the
 * same shader.
 */
export function adamOnWebgpu(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, b1: number, b2: number, eps: number, lr: number, t: number): tf.Tensor[] | null {
  if (!enabled || tf.getBackend() !== 'webgpu' || [p, g, m, v].some((x) => x.size !== p.size)) return null;
  const scale = tf.scalar(lr / (1 - Math.pow(b1, t)));
  const inv = tf.scalar(1 / (1 - Math.pow(b2, t)));
  try {
    return fusedOnWebgpu(adamBody(b1, b2, eps), [p, g, m, v, scale, inv]);
  } finally {
    scale.dispose();
    inv.dispose();
  }
}
