/**
 * Mean softmax cross-entropy in nats over the vocabulary, as fused kernels with their gradient:
 * WebGPU ones on webgpu, the SIMD module's on wasm (assembly/cross-entropy.ts, the same three
 * kernels, each one pass over the rows); on other backends, the plain tfjs ops.
 *
 * On webgpu, for logits [rows, V] and int32 targets [rows], three tfjs programs (one output each,
 * so tfjs's program API orders them with its own work):
 * - forward, two dispatches: one thread per row writes its max and lse = log Σ exp(logit − max)
 *   (stats [rows, 2], kept for the backward); then one workgroup sums
 *   −logp[target] = lse − (logit[target] − max) over the rows and divides by rows.
 * - backward, one dispatch: dlogits = (exp((logit − max) − lse) − onehot(target)) · dy / rows,
 *   one thread per element.
 * Both round as tfjs's logSoftmax does, (logit − max) − lse: the max comes off first, so a row
 * of large logits loses no precision to it.
 * A target outside [0, V) counts as the plain ops count it (its one-hot row is all zeros): the
 * row adds 0 to the sum, still divides by rows, and gets a zero gradient. A NaN logit gives a
 * NaN loss, as with the plain ops, so divergence shows.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import * as ops from '../ops.ts';
import { fusedKernelsAvailable } from './available.ts';
import { simd } from './simd.ts';
import { registerOnWebgpuAndWasm, type KernelArgs, type WebGPUBackend } from './webgpu.ts';

/** Threads per workgroup of the per-row and per-element kernels. */
const ROW_WORKGROUP = 64;
/** Threads of the one workgroup that sums the rows. */
const SUM_WORKGROUP = 256;

/** stats [rows, 2] of logits [rows, V]: max and log Σ exp(logit − max), one thread per row. */
class RowStatsProgram implements WebGPUProgram {
  variableNames = ['logits'];
  outputShape: number[];
  shaderKey = 'tabgptSoftmaxStats';
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];

  constructor(rows: number) {
    this.outputShape = [rows, 2];
    this.dispatch = [Math.ceil(rows / ROW_WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    return /* wgsl */ `
    fn main(index: i32) {
      let rows = uniforms.logitsShape[0];
      let V = uniforms.logitsShape[1];
      if (index >= rows) { return; }
      let base = index * V;
      var m = logits[base];
      var nan = false;
      for (var c = 0; c < V; c++) {
        let v = logits[base + c];
        m = max(m, v);
        nan = nan || isnan(v);
      }
      var s = 0.0;
      for (var c = 0; c < V; c++) { s += exp(logits[base + c] - m); }
      setOutputAtIndex(2 * index, m);
      setOutputAtIndex(2 * index + 1, select(log(s), uniforms.NAN, nan));
    }`;
  }
}

/** mean over rows of lse − (logit[target] − max): one workgroup, a grid-stride sum per thread, then a tree sum. */
class MeanLossProgram implements WebGPUProgram {
  variableNames = ['logits', 'targets', 'stats'];
  outputShape: number[] = [];
  shaderKey = 'tabgptMeanCrossEntropy';
  dispatchLayout = { x: [] as number[] };
  dispatch: [number, number, number] = [1, 1, 1];
  workgroupSize: [number, number, number] = [SUM_WORKGROUP, 1, 1];

  getUserCode(): string {
    return /* wgsl */ `
    var<workgroup> partial: array<f32, ${SUM_WORKGROUP}>;
    fn main(index: i32) {
      let rows = uniforms.logitsShape[0];
      let V = uniforms.logitsShape[1];
      let lane = i32(localIndex);
      var s = 0.0;
      for (var r = lane; r < rows; r += ${SUM_WORKGROUP}) {
        let t = targets[r];
        if (t >= 0 && t < V) { s += stats[2 * r + 1] - (logits[r * V + t] - stats[2 * r]); }
      }
      partial[lane] = s;
      workgroupBarrier();
      for (var k = ${SUM_WORKGROUP / 2}; k > 0; k = k >> 1u) {
        if (lane < k) { partial[lane] += partial[lane + k]; }
        workgroupBarrier();
      }
      if (lane == 0) { setOutputAtIndex(0, partial[0] / f32(rows)); }
    }`;
  }
}

/** dlogits [rows, V] = (softmax − onehot) · dy / rows, one thread per element. */
class GradProgram implements WebGPUProgram {
  variableNames = ['logits', 'targets', 'stats', 'dy'];
  outputShape: number[];
  shaderKey = 'tabgptCrossEntropyGrad';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];
  size = true;

  constructor(rows: number, V: number) {
    this.outputShape = [rows, V];
    this.dispatchLayout = { x: [0, 1] };
    this.dispatch = [Math.ceil((rows * V) / ROW_WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    return /* wgsl */ `
    fn main(index: i32) {
      if (index >= uniforms.size) { return; }
      let V = uniforms.logitsShape[1];
      let r = index / V;
      let c = index - r * V;
      let t = targets[r];
      var g = 0.0;
      if (t >= 0 && t < V) {
        g = exp((logits[index] - stats[2 * r]) - stats[2 * r + 1]) - select(0.0, 1.0, c == t);
      }
      setOutputAtIndex(index, g * (dy[0] / f32(uniforms.logitsShape[0])));
    }`;
  }
}

// ---------------------------------------------------------------------------------------------
// As tfjs kernels.

/** Input logits [rows, V] (float32); output stats [rows, 2]: each row's max and log Σ exp(logit − max). */
export const SOFTMAX_STATS_KERNEL = 'TabgptSoftmaxStats';
/** Inputs logits [rows, V], targets [rows] (int32), stats [rows, 2]; output the mean loss, shape []. */
export const MEAN_CROSS_ENTROPY_KERNEL = 'TabgptMeanCrossEntropy';
/** Inputs logits [rows, V], targets [rows], stats [rows, 2], dy []; output dlogits [rows, V]. */
export const CROSS_ENTROPY_GRAD_KERNEL = 'TabgptCrossEntropyGrad';

function softmaxStatsKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { logits } = inputs as Record<string, tf.TensorInfo>;
  return (backend as WebGPUBackend).runWebGPUProgram(new RowStatsProgram(logits.shape[0]), [logits], 'float32');
}

function meanLossKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { logits, targets, stats } = inputs as Record<string, tf.TensorInfo>;
  return (backend as WebGPUBackend).runWebGPUProgram(new MeanLossProgram(), [logits, targets, stats], 'float32');
}

function gradKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { logits, targets, stats, dy } = inputs as Record<string, tf.TensorInfo>;
  const [rows, V] = logits.shape;
  return (backend as WebGPUBackend).runWebGPUProgram(new GradProgram(rows, V), [logits, targets, stats, dy], 'float32');
}

function softmaxStatsWasm({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { logits } = inputs as Record<string, tf.TensorInfo>;
  const [rows, V] = logits.shape;
  const s = simd(backend);
  const stats = s.output([rows, 2]);
  s.k.softmaxStats(s.ptr(logits), s.ptr(stats), rows, V);
  return stats;
}

function meanLossWasm({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { logits, targets, stats } = inputs as Record<string, tf.TensorInfo>;
  const [rows, V] = logits.shape;
  const s = simd(backend);
  const loss = s.output([]);
  s.setScalar(loss, s.k.meanCrossEntropy(s.ptr(logits), s.ptr(targets), s.ptr(stats), rows, V));
  return loss;
}

function gradWasm({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { logits, targets, stats, dy } = inputs as Record<string, tf.TensorInfo>;
  const [rows, V] = logits.shape;
  const s = simd(backend);
  const dlogits = s.output([rows, V]);
  s.k.crossEntropyGrad(s.ptr(logits), s.ptr(targets), s.ptr(stats), s.scalar(dy), s.ptr(dlogits), rows, V);
  return dlogits;
}

/** Registers the webgpu and wasm kernels once (registering one again would throw). */
export function registerCrossEntropyKernels() {
  registerOnWebgpuAndWasm([
    [SOFTMAX_STATS_KERNEL, softmaxStatsKernel as tf.KernelFunc, softmaxStatsWasm as tf.KernelFunc],
    [MEAN_CROSS_ENTROPY_KERNEL, meanLossKernel as tf.KernelFunc, meanLossWasm as tf.KernelFunc],
    [CROSS_ENTROPY_GRAD_KERNEL, gradKernel as tf.KernelFunc, gradWasm as tf.KernelFunc],
  ]);
}

// ---------------------------------------------------------------------------------------------
// The op; the plain tfjs ops it replaces are ops.ts's.

/**
 * Mean cross-entropy as the fused kernels, with its gradient for the logits. The targets are no
 * input of the custom gradient (they take none: an all-zero one would cost a dispatch), but they
 * are saved with the logits, so they outlive a forward pass that made them.
 */
function softmaxCrossEntropyFused(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  registerCrossEntropyKernels();
  const op = tf.customGrad((...args) => {
    const [logits, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const stats = tf.engine().runKernel(SOFTMAX_STATS_KERNEL, { logits }) as tf.Tensor2D;
    const loss = tf.engine().runKernel(MEAN_CROSS_ENTROPY_KERNEL, { logits, targets, stats }) as tf.Scalar;
    save([logits, targets, stats]);
    return {
      value: loss,
      gradFunc: (dy, saved) => {
        const [l, t, s] = saved;
        return tf.engine().runKernel(CROSS_ENTROPY_GRAD_KERNEL, { logits: l, targets: t, stats: s, dy }) as tf.Tensor;
      },
    };
  });
  return op(logits) as tf.Scalar;
}

/**
 * Mean cross-entropy in nats of logits [rows, V] against int32 targets [rows]: the fused
 * kernels when `fused` (default: where they run), otherwise the plain tfjs ops.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, fused = fusedKernelsAvailable()): tf.Scalar {
  if (!fused) return tf.tidy(() => ops.crossEntropy(logits, targets));
  if (!fusedKernelsAvailable())
    throw new Error(`the fused cross-entropy kernels need the webgpu or wasm (SIMD) backend, not ${tf.getBackend()}`);
  if (logits.rank !== 2 || targets.rank !== 1 || targets.shape[0] !== logits.shape[0]) {
    throw new Error(`softmaxCrossEntropy: logits [rows, V] and targets [rows], got [${logits.shape}] and [${targets.shape}]`);
  }
  if (logits.dtype !== 'float32' || targets.dtype !== 'int32') throw new Error('softmaxCrossEntropy: float32 logits and int32 targets');
  return softmaxCrossEntropyFused(logits, targets);
}
