// rnnc's own host product (runtime/tfjs/portable-ops.ts `product`: on the
// cpu backend a JavaScript loop, four rows by four steps of the sum at a
// time, float64 sums) registered as the cpu backend's matMul kernels, for
// one column of the benchmark only: tf.layers running on it shows how much
// of rnnc's speed on cpu is that loop and how much the compiler's own work
// (issue 10, "cpu"). Bench code only: nothing in the runtime or the
// emitted modules registers it.
//
// tf.layers' products reach two kernels: 'BatchMatMul' (tf.matMul, and the
// gradients of fused products) and '_FusedMatMul' (tf.fused.matMul, which
// tfjs-layers' dot calls with a bias and a linear activation). Both are
// replaced while `withProductMatMul` runs its function, and the backend's
// own kernels are restored after it.
import * as tf from '@tensorflow/tfjs-core';
import { product } from '../runtime/tfjs/portable-ops.js';

interface Info {
  readonly dataId: object;
  readonly shape: number[];
  readonly dtype: string;
}
interface HostBackend {
  readSync(dataId: object): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): Info;
}

const KERNELS = ['BatchMatMul', '_FusedMatMul'] as const;

/** Row-major [rows, cols] of a matrix given transposed or not. */
function plain(values: ArrayLike<number>, offset: number, rows: number, cols: number, transposed: boolean): Float32Array {
  const out = new Float32Array(rows * cols);
  if (!transposed) {
    for (let i = 0; i < rows * cols; i++) out[i] = values[offset + i]!;
  } else {
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = values[offset + j * rows + i]!;
  }
  return out;
}

/**
 * `product` of host arrays. Inside tfjs's autodiff (gradientDepth > 0)
 * `product` would hand the work back to tf.matMul, i.e. to this kernel:
 * the depth is set to zero around the call (a kernel's own ops are never
 * recorded on the tape anyway, tfjs records only the outermost kernel).
 */
function hostProduct(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number } }).state;
  const depth = state.gradientDepth;
  state.gradientDepth = 0;
  try {
    const at = tf.tensor2d(a, [m, k]);
    const bt = tf.tensor2d(b, [k, n]);
    const c = product(at, bt);
    const out = c.dataSync() as Float32Array;
    tf.dispose([at, bt, c]);
    return out;
  } finally {
    state.gradientDepth = depth;
  }
}

function productKernel(args: { inputs: Record<string, Info | undefined>; backend: unknown; attrs?: Record<string, unknown> }): Info {
  const { a, b, bias } = args.inputs as { a: Info; b: Info; bias?: Info };
  const backend = args.backend as HostBackend;
  const attrs = args.attrs ?? {};
  const ta = attrs['transposeA'] === true;
  const tb = attrs['transposeB'] === true;
  const activation = (attrs['activation'] as string | undefined) ?? 'linear';
  if (activation !== 'linear') throw new Error(`bench product kernel: activation ${activation} is not supported`);
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, k] = ta ? [ac, ar] : [ar, ac];
  const n = tb ? br : bc;
  const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batch = Math.max(batchA, batchB);
  const av = backend.readSync(a.dataId);
  const bv = backend.readSync(b.dataId);
  const out = new Float32Array(batch * m * n);
  for (let i = 0; i < batch; i++) {
    const x = plain(av, (batchA === 1 ? 0 : i) * ar * ac, m, k, ta);
    const y = plain(bv, (batchB === 1 ? 0 : i) * br * bc, k, n, tb);
    out.set(hostProduct(x, y, m, k, n), i * m * n);
  }
  if (bias) {
    const bv2 = backend.readSync(bias.dataId);
    const size = bias.shape.reduce((x, y) => x * y, 1);
    if (size !== n && size !== 1) throw new Error(`bench product kernel: bias of shape [${bias.shape}] for ${n} columns`);
    for (let i = 0; i < out.length; i++) out[i] += bv2[size === 1 ? 0 : i % n]!;
  }
  const outShape = [...(batchA >= batchB ? a.shape : b.shape).slice(0, -2), m, n];
  return backend.makeTensorInfo(outShape, 'float32', out);
}

/** Runs `fn` with rnnc's product as the cpu backend's matMul kernels; restores the backend's own after it. */
export async function withProductMatMul<T>(fn: () => Promise<T>): Promise<T> {
  if (tf.getBackend() !== 'cpu') throw new Error('the product kernel column runs on the cpu backend only');
  const originals = KERNELS.map((name) => {
    const k = tf.getKernel(name, 'cpu');
    if (!k) throw new Error(`internal: the cpu backend has no ${name} kernel`);
    return k;
  });
  for (const name of KERNELS) {
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({ kernelName: name, backendName: 'cpu', kernelFunc: productKernel as unknown as tf.KernelFunc });
  }
  try {
    return await fn();
  } finally {
    for (const [i, name] of KERNELS.entries()) {
      tf.unregisterKernel(name, 'cpu');
      tf.registerKernel(originals[i]!);
    }
  }
}
