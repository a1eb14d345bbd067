/**
 * The linear layers' matrix products on the wasm backend's SIMD module (assembly/products.ts),
 * each one call reading its operands as they lie in tfjs-wasm's heap:
 *   matmul      a [N, K] · b [K, M] → [N, M]
 *   weightGrad  a [N, K]ᵀ · b [N, M] → [K, M]   (Xᵀ·dY: no transpose of either operand)
 * XNNPACK (xnnpack.ts) packs its second operand on every call, since tfjs caches that packing by
 * tensor and a training step's operands are new tensors each time; these kernels skip it and,
 * for weightGrad, the explicit transpose too. Not differentiable: xnnpack.ts's custom gradients
 * call them. Tested against tf.matMul in tests/unit/simd-kernels.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { simd } from './simd.ts';
import { registerOnce, type KernelArgs } from './webgpu.ts';

/** Inputs a [N, K], b [K, M] (float32); output a·b [N, M]. */
export const MATMUL_KERNEL = 'TabgptMatMul';
/** Inputs a [N, K], b [N, M] (float32); output aᵀ·b [K, M]. */
export const WEIGHT_GRAD_KERNEL = 'TabgptWeightGrad';

/** The kernel function of one of the two products: its output is [N, M] for matmul, [K, M] for weightGrad. */
function productWasm(which: 'matmul' | 'weightGrad') {
  return ({ inputs, backend }: KernelArgs): tf.TensorInfo => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const [N, K] = a.shape;
    const M = b.shape[1];
    const s = simd(backend);
    const out = s.output([which === 'matmul' ? N : K, M]);
    s.k[which](s.ptr(a), s.ptr(b), s.ptr(out), N, K, M);
    return out;
  };
}

function checked(a: tf.Tensor2D, b: tf.Tensor2D, shared: number, what: string) {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[shared] !== b.shape[0])
    throw new Error(`${what}: shapes [${a.shape}] and [${b.shape}] do not fit`);
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error(`${what}: float32 tensors only`);
  registerOnce(
    [
      [MATMUL_KERNEL, productWasm('matmul') as tf.KernelFunc],
      [WEIGHT_GRAD_KERNEL, productWasm('weightGrad') as tf.KernelFunc],
    ],
    'wasm',
  );
}

/** a·b on the SIMD module (simdKernelsAvailable() must hold). */
export function matmul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  checked(a, b, 1, 'matmul');
  return tf.engine().runKernel(MATMUL_KERNEL, { a, b }) as tf.Tensor2D;
}

/** aᵀ·b on the SIMD module (simdKernelsAvailable() must hold). */
export function weightGrad(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  checked(a, b, 0, 'weightGrad');
  return tf.engine().runKernel(WEIGHT_GRAD_KERNEL, { a, b }) as tf.Tensor2D;
}
