/**
 * Exact GELU, y = x·Φ(x) = ½·x·(1 + erf(x/√2)), as one kernel forward and one backward: a
 * WebGPU dispatch on webgpu, a pass of the SIMD module on wasm (assembly/gelu.ts); on other
 * backends, the plain tfjs ops model.ts runs.
 *
 * As plain ops GELU is five kernels forward (mul, erf, add, mul, mul) and about twice that in
 * its gradient, each a dispatch over the MLP's [B*T, 4C] activations, the widest tensor of a
 * block. Here each direction is one elementwise pass:
 *   forward   y  = ½·x·(1 + erf(x/√2))
 *   backward  dx = dy·(½·(1 + erf(x/√2)) + x·φ(x)),  φ(x) = exp(−x²/2)/√(2π)
 * erf is the Abramowitz–Stegun 7.1.26 approximation tfjs itself uses on every backend (absolute
 * error under 1.5e-7), with the same constants, so the kernels agree with the ops to rounding.
 * Only x is kept for the backward pass, as the ops' gradient keeps it.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import * as ops from '../ops.ts';
import { fusedKernelsAvailable } from './available.ts';
import { simd } from './simd.ts';
import { registerOnWebgpuAndWasm, type KernelArgs, type WebGPUBackend } from './webgpu.ts';

/** Threads per workgroup: one per element. tfjs folds a dispatch past 65,535 workgroups into 2-D. */
const WORKGROUP = 128;

/** erf(a) in WGSL, as tfjs's webgpu backend computes it (tfjs-core's ERF_P, ERF_A1…A5). */
const ERF_WGSL = /* wgsl */ `
fn erfApprox(a: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(a));
  let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return sign(a) * (1.0 - poly * exp(-a * a));
}`;

/** One thread per element of x, any shape (flattened). */
class GeluProgram implements WebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  size = true;

  constructor(
    shape: number[],
    private readonly backward: boolean,
  ) {
    this.variableNames = backward ? ['dy', 'x'] : ['x'];
    this.shaderKey = backward ? 'tabgptGeluGrad' : 'tabgptGelu';
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(shape.reduce((a, b) => a * b, 1) / WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    // In the order the tfjs ops compute it: x·(erf(x·√½) + 1)·½; the gradient as tfjs's chain rule gives it.
    const body = this.backward
      ? /* wgsl */ `
        let e = erfApprox(v * ${Math.SQRT1_2});
        let pdf = exp(-0.5 * v * v) * ${1 / Math.sqrt(2 * Math.PI)};
        setOutputAtIndex(index, dy[index] * ((e + 1.0) * 0.5 + v * pdf));`
      : /* wgsl */ `
        setOutputAtIndex(index, v * (erfApprox(v * ${Math.SQRT1_2}) + 1.0) * 0.5);`;
    return /* wgsl */ `
    ${ERF_WGSL}
    fn main(index: i32) {
      if (index < uniforms.size) {
        let v = x[index];${body}
      }
    }`;
  }
}

/** Input x; output y = GELU(x), same shape. */
export const GELU_KERNEL = 'TabgptGelu';
/** Inputs dy, x (same shape); output dx. */
export const GELU_GRAD_KERNEL = 'TabgptGeluGrad';

function forwardKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  return (backend as WebGPUBackend).runWebGPUProgram(new GeluProgram(x.shape, false), [x], 'float32');
}

function gradKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  return (backend as WebGPUBackend).runWebGPUProgram(new GeluProgram(x.shape, true), [dy, x], 'float32');
}

function forwardWasm({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  const s = simd(backend);
  const y = s.output(x.shape);
  s.k.gelu(s.ptr(x), s.ptr(y), tf.util.sizeFromShape(x.shape));
  return y;
}

function gradWasm({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const s = simd(backend);
  const dx = s.output(x.shape);
  s.k.geluGrad(s.ptr(dy), s.ptr(x), s.ptr(dx), tf.util.sizeFromShape(x.shape));
  return dx;
}

/** Registers the webgpu and wasm kernels once (registering one again would throw). */
export function registerGeluKernels() {
  registerOnWebgpuAndWasm([
    [GELU_KERNEL, forwardKernel as tf.KernelFunc, forwardWasm as tf.KernelFunc],
    [GELU_GRAD_KERNEL, gradKernel as tf.KernelFunc, gradWasm as tf.KernelFunc],
  ]);
}

// ---------------------------------------------------------------------------------------------
// The op; the plain tfjs ops it replaces are ops.ts's.

/** GELU as the fused kernels, with its gradient. */
const geluFused = tf.customGrad((...args) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  registerGeluKernels();
  const y = tf.engine().runKernel(GELU_KERNEL, { x }) as tf.Tensor;
  save([x]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.engine().runKernel(GELU_GRAD_KERNEL, { dy, x: xs }) as tf.Tensor,
  };
}) as (x: tf.Tensor) => tf.Tensor;

/** Exact GELU of x (float32, any shape): the fused kernels when `fused` (default: where they run), otherwise the plain ops. */
export function gelu<T extends tf.Tensor>(x: T, fused = fusedKernelsAvailable()): T {
  if (!fused) return tf.tidy(() => ops.gelu(x));
  if (!fusedKernelsAvailable()) throw new Error(`the fused GELU kernels need the webgpu or wasm (SIMD) backend, not ${tf.getBackend()}`);
  if (x.dtype !== 'float32') throw new Error('gelu: float32 tensors only');
  return geluFused(x) as T;
}
