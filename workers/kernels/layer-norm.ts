/**
 * LayerNorm without bias over the last axis, y = (x − mean) · rstd · γ with rstd = 1/√(var + eps),
 * as fused kernels with their gradient: WebGPU ones on webgpu, the SIMD module's on wasm
 * (assembly/layer-norm.ts, one pass over the rows per kernel); on other backends, the plain
 * tfjs ops.
 *
 * On webgpu, for x: [rows, d]:
 * - forward, one dispatch: one thread per row writes the row's y and keeps its mean and rstd
 *   (stats: [rows, 2]) for the backward. Two outputs, so it records its own dispatch (webgpu.ts).
 * - backward, two dispatches through tfjs's program API (one output each, ordered with tfjs):
 *   dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)) with ĝ = dy · γ and x̂ = (x − mean) · rstd, one
 *   thread per row; and dγ = Σ_rows dy · x̂, one workgroup per column summing its rows.
 * The plain ops run mean and variance as tf.moments does (variance = E[(x − mean)²]); the
 * kernels do the same sums in float32, so both agree to rounding. One thread per row suits
 * the widths this project trains (d of 64 to a few hundred) and needs no workgroup barriers,
 * which cost more than the arithmetic on a software adapter.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import * as ops from '../ops.ts';
import { fusedKernelsAvailable } from './available.ts';
import { simd } from './simd.ts';
import {
  bufferOf,
  newOutput,
  pipelineFor,
  registerOnWebgpuAndWasm,
  submitAfterTfjs,
  type KernelArgs,
  type WebGPUBackend,
} from './webgpu.ts';

/** Threads per workgroup of the row kernels (one thread per row) and of the column sums. */
const ROW_WORKGROUP = 64;

const FORWARD_WGSL = /* wgsl */ `
struct Params {
  rows: u32,
  d: u32,
  eps: f32,
};
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;              // [rows, d]
@group(0) @binding(2) var<storage, read> gamma: array<f32>;          // [d]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;        // [rows, d]
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;    // [rows, 2]: mean, rstd

@compute @workgroup_size(${ROW_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let d = params.d;
  let n = f32(d);
  for (var r = gid.x; r < params.rows; r += nwg.x * ${ROW_WORKGROUP}u) {
    let base = r * d;
    var s = 0.0;
    for (var j = 0u; j < d; j++) { s += x[base + j]; }
    let mean = s / n;
    var q = 0.0;
    for (var j = 0u; j < d; j++) {
      let c = x[base + j] - mean;
      q += c * c;
    }
    let rstd = inverseSqrt(q / n + params.eps);
    // In the order the tfjs ops multiply: ((x − mean) · rstd) · γ.
    for (var j = 0u; j < d; j++) { y[base + j] = ((x[base + j] - mean) * rstd) * gamma[j]; }
    stats[2u * r] = mean;
    stats[2u * r + 1u] = rstd;
  }
}`;

/** dx, one thread per row. Inputs dy, x: [rows, d]; gamma: [d]; stats: [rows, 2]. */
class GradXProgram implements WebGPUProgram {
  variableNames = ['dy', 'x', 'gamma', 'stats'];
  outputShape: number[];
  shaderKey = 'tabgptLayerNormGradX';
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];

  constructor(rows: number, d: number) {
    this.outputShape = [rows, d];
    this.dispatch = [Math.ceil(rows / ROW_WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    return /* wgsl */ `
    fn main(index: i32) {
      let rows = uniforms.xShape[0];
      let d = uniforms.xShape[1];
      if (index >= rows) { return; }
      let base = index * d;
      let mean = stats[2 * index];
      let rstd = stats[2 * index + 1];
      var a = 0.0; // Σ ĝ
      var b = 0.0; // Σ ĝ · x̂
      for (var j = 0; j < d; j++) {
        let g = dy[base + j] * gamma[j];
        a += g;
        b += g * ((x[base + j] - mean) * rstd);
      }
      let n = f32(d);
      a = a / n;
      b = b / n;
      for (var j = 0; j < d; j++) {
        let g = dy[base + j] * gamma[j];
        let xh = (x[base + j] - mean) * rstd;
        setOutputAtIndex(base + j, rstd * (g - a - xh * b));
      }
    }`;
  }
}

/** dγ, one workgroup per column: each thread sums every ROW_WORKGROUP-th row, then a tree sum. */
class GradGammaProgram implements WebGPUProgram {
  variableNames = ['dy', 'x', 'stats'];
  outputShape: number[];
  shaderKey = 'tabgptLayerNormGradGamma';
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROW_WORKGROUP, 1, 1];

  constructor(d: number) {
    this.outputShape = [d];
    this.dispatch = [d, 1, 1];
  }

  getUserCode(): string {
    return /* wgsl */ `
    var<workgroup> partial: array<f32, ${ROW_WORKGROUP}>;
    fn main(index: i32) {
      let rows = uniforms.xShape[0];
      let d = uniforms.xShape[1];
      let col = index / ${ROW_WORKGROUP};
      let lane = i32(localIndex);
      var s = 0.0;
      if (col < d) {
        for (var r = lane; r < rows; r += ${ROW_WORKGROUP}) {
          let i = r * d + col;
          s += dy[i] * ((x[i] - stats[2 * r]) * stats[2 * r + 1]);
        }
      }
      partial[lane] = s;
      workgroupBarrier();
      for (var k = ${ROW_WORKGROUP / 2}; k > 0; k = k >> 1u) {
        if (lane < k) { partial[lane] += partial[lane + k]; }
        workgroupBarrier();
      }
      if (lane == 0 && col < d) { setOutputAtIndex(col, partial[0]); }
    }`;
  }
}

// ---------------------------------------------------------------------------------------------
// As tfjs kernels.

/** Inputs x [rows, d], gamma [d] (float32), attr eps; outputs y [rows, d] and stats [rows, 2] (mean, rstd). */
export const LAYER_NORM_KERNEL = 'TabgptLayerNorm';
/** Inputs dy, x [rows, d], gamma [d], stats [rows, 2]; output dx [rows, d]. */
export const LAYER_NORM_GRAD_X_KERNEL = 'TabgptLayerNormGradX';
/** Inputs dy, x [rows, d], stats [rows, 2]; output dγ [d]. */
export const LAYER_NORM_GRAD_GAMMA_KERNEL = 'TabgptLayerNormGradGamma';

function forwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const b = backend as WebGPUBackend;
  const { x, gamma } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo };
  const [rows, d] = x.shape;
  const y = newOutput(b, [rows, d]);
  const stats = newOutput(b, [rows, 2]);
  if (rows * d === 0) return [y.info, stats.info];
  const u = new ArrayBuffer(12);
  new Uint32Array(u, 0, 2).set([rows, d]);
  new Float32Array(u, 8, 1)[0] = attrs!.eps as number;
  submitAfterTfjs(b, [
    {
      pipeline: pipelineFor(b.device, 'tabgpt layer norm', FORWARD_WGSL),
      uniforms: u,
      buffers: [bufferOf(b, x), bufferOf(b, gamma), y.buffer, stats.buffer],
      workgroups: Math.max(1, Math.min(Math.ceil(rows / ROW_WORKGROUP), 65535)),
    },
  ]);
  return [y.info, stats.info];
}

function gradXKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { dy, x, gamma, stats } = inputs as Record<string, tf.TensorInfo>;
  return (backend as WebGPUBackend).runWebGPUProgram(new GradXProgram(x.shape[0], x.shape[1]), [dy, x, gamma, stats], 'float32');
}

function gradGammaKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { dy, x, stats } = inputs as Record<string, tf.TensorInfo>;
  return (backend as WebGPUBackend).runWebGPUProgram(new GradGammaProgram(x.shape[1]), [dy, x, stats], 'float32');
}

function forwardWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const { x, gamma } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo };
  const [rows, d] = x.shape;
  const s = simd(backend);
  const y = s.output([rows, d]);
  const stats = s.output([rows, 2]);
  s.k.layerNorm(s.ptr(x), s.ptr(gamma), s.ptr(y), s.ptr(stats), rows, d, attrs!.eps as number);
  return [y, stats];
}

function gradXWasm({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { dy, x, gamma, stats } = inputs as Record<string, tf.TensorInfo>;
  const [rows, d] = x.shape;
  const s = simd(backend);
  const dx = s.output([rows, d]);
  s.k.layerNormGradX(s.ptr(dy), s.ptr(x), s.ptr(gamma), s.ptr(stats), s.ptr(dx), rows, d);
  return dx;
}

function gradGammaWasm({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { dy, x, stats } = inputs as Record<string, tf.TensorInfo>;
  const [rows, d] = x.shape;
  const s = simd(backend);
  const dg = s.output([d]);
  s.k.layerNormGradGamma(s.ptr(dy), s.ptr(x), s.ptr(stats), s.ptr(dg), rows, d);
  return dg;
}

/** Registers the webgpu and wasm kernels once (registering one again would throw). */
export function registerLayerNormKernels() {
  registerOnWebgpuAndWasm([
    [LAYER_NORM_KERNEL, forwardKernel as tf.KernelFunc, forwardWasm as tf.KernelFunc],
    [LAYER_NORM_GRAD_X_KERNEL, gradXKernel as tf.KernelFunc, gradXWasm as tf.KernelFunc],
    [LAYER_NORM_GRAD_GAMMA_KERNEL, gradGammaKernel as tf.KernelFunc, gradGammaWasm as tf.KernelFunc],
  ]);
}

// ---------------------------------------------------------------------------------------------
// The op; the plain tfjs ops it replaces are ops.ts's.

/** LayerNorm as the fused kernels, with its gradient for x and γ. */
function layerNormFused(x: tf.Tensor2D, gamma: tf.Tensor1D, eps: number): tf.Tensor2D {
  registerLayerNormKernels();
  const op = tf.customGrad((...args) => {
    const [x, gamma, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    const [y, stats] = tf.engine().runKernel(LAYER_NORM_KERNEL, { x, gamma }, { eps }) as tf.Tensor[];
    save([x, gamma, stats]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [xs, g, st] = saved;
        return [
          tf.engine().runKernel(LAYER_NORM_GRAD_X_KERNEL, { dy, x: xs, gamma: g, stats: st }) as tf.Tensor,
          tf.engine().runKernel(LAYER_NORM_GRAD_GAMMA_KERNEL, { dy, x: xs, stats: st }) as tf.Tensor,
        ];
      },
    };
  });
  return op(x, gamma) as tf.Tensor2D;
}

/**
 * LayerNorm without bias over the last axis of x [rows, d] with gain γ [d]: the fused kernels
 * when `fused` (default: where they run), otherwise the plain tfjs ops.
 */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, eps: number, fused = fusedKernelsAvailable()): tf.Tensor2D {
  if (!fused) return tf.tidy(() => ops.layerNorm(x, gamma, eps));
  if (!fusedKernelsAvailable())
    throw new Error(`the fused LayerNorm kernels need the webgpu or wasm (SIMD) backend, not ${tf.getBackend()}`);
  if (x.rank !== 2 || gamma.rank !== 1 || gamma.shape[0] !== x.shape[1])
    throw new Error(`layerNorm: x [rows, d] and gamma [d], got [${x.shape}] and [${gamma.shape}]`);
  if (x.dtype !== 'float32' || gamma.dtype !== 'float32') throw new Error('layerNorm: float32 tensors only');
  return layerNormFused(x, gamma, eps);
}
