/**
 * Where this project's own kernels run, asked here once for all of them: the WGSL kernels on
 * webgpu (webgpu.ts), the SIMD module on wasm (simd.ts). Elsewhere the model runs plain tfjs ops.
 */
import * as tf from '@tensorflow/tfjs';
import { simdKernelsAvailable } from './simd.ts';

/** Whether the fused GELU, LayerNorm, cross-entropy and attention kernels run on the current backend. */
export function fusedKernelsAvailable(): boolean {
  return webgpuKernelsAvailable() || simdKernelsAvailable();
}

/** Whether the WebGPU kernels run: the current backend is webgpu. */
export function webgpuKernelsAvailable(): boolean {
  return tf.getBackend() === 'webgpu';
}
