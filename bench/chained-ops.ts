// tfjs-layers calls tensor methods such as `x.flatten()` ("chained ops").
// They are installed on the Tensor prototype by tfjs-core's
// register_all_chained_ops, which the union package @tensorflow/tfjs imports
// and which tfjs-core's Node (CommonJS) bundle, the one `import * as tf`
// loads, does not run. Its ESM sources cannot be imported from Node directly
// (extensionless relative imports), so this installs the same methods: each
// one forwards to the tf op of the same name with the tensor first, as the
// originals do, plus the few that are reshapes or casts. Methods already
// present are left alone. Only the tf.layers column needs this.
import * as tf from '@tensorflow/tfjs-core';

// The file names of tfjs-core 4.22's src/public/chained_ops that forward to the op of the same name.
const FORWARDED = 'abs acos acosh add all any argMax argMin asin asinh atan atan2 atanh avgPool batchToSpaceND broadcastTo cast ceil clipByValue concat conv1d conv2d conv2dTranspose cos cosh cumprod cumsum depthToSpace depthwiseConv2d dilation2d div divNoNan dot elu equal erf euclideanNorm exp expandDims expm1 fft floor floorDiv gather greater greaterEqual ifft irfft isFinite isInf isNaN leakyRelu less lessEqual localResponseNormalization log log1p logSigmoid logSoftmax logSumExp logicalAnd logicalNot logicalOr logicalXor matMul max maxPool maximum mean min minimum mirrorPad mod mul neg norm notEqual oneHot onesLike pad pool pow prelu prod reciprocal relu relu6 reshape resizeBilinear resizeNearestNeighbor reverse rfft round rsqrt selu separableConv2d sigmoid sign sin sinh slice softmax softplus spaceToBatchND split sqrt square squaredDifference squeeze stack step stridedSlice sub sum tan tanh tile topk transpose unique unsortedSegmentSum unstack where zerosLike'.split(' ');

let installed = false;

export function installChainedOps(): void {
  if (installed) return;
  installed = true;
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  const ops = tf as unknown as Record<string, (...args: unknown[]) => tf.Tensor>;
  const define = (name: string, f: (this: tf.Tensor, ...args: never[]) => tf.Tensor): void => {
    if (typeof proto[name] !== 'function') proto[name] = f;
  };
  for (const name of FORWARDED) {
    const op = ops[name];
    if (typeof op === 'function') define(name, function (this: tf.Tensor, ...args: unknown[]) { return op(this, ...args); });
  }
  define('batchNorm', function (this: tf.Tensor, ...args: unknown[]) { return ops['batchNorm']!(this, ...args); });
  define('flatten', function (this: tf.Tensor) { return tf.reshape(this, [this.size]); });
  define('as1D', function (this: tf.Tensor) { return tf.reshape(this, [this.size]); });
  define('asScalar', function (this: tf.Tensor) { return tf.reshape(this, []); });
  define('as2D', function (this: tf.Tensor, r: number, c: number) { return tf.reshape(this, [r, c]); });
  define('as3D', function (this: tf.Tensor, r: number, c: number, d: number) { return tf.reshape(this, [r, c, d]); });
  define('as4D', function (this: tf.Tensor, r: number, c: number, d: number, d2: number) { return tf.reshape(this, [r, c, d, d2]); });
  define('as5D', function (this: tf.Tensor, r: number, c: number, d: number, d2: number, d3: number) { return tf.reshape(this, [r, c, d, d2, d3]); });
  define('reshapeAs', function (this: tf.Tensor, x: tf.Tensor) { return tf.reshape(this, x.shape); });
  define('asType', function (this: tf.Tensor, dtype: tf.DataType) { return tf.cast(this, dtype); });
  define('toFloat', function (this: tf.Tensor) { return tf.cast(this, 'float32'); });
  define('toInt', function (this: tf.Tensor) { return tf.cast(this, 'int32'); });
  define('toBool', function (this: tf.Tensor) { return tf.cast(this, 'bool'); });
}
