/**
 * The model's layers, one interface and four implementations, chosen once per forward pass
 * (where nanoGPT's model.py chooses once, `if self.flash:`):
 *
 * - plain: tfjs ops (ops.ts), what cpu and webgl run and what the others are tested against;
 * - webgpu: custom WGSL kernels (kernels/*.ts), each one or two dispatches where tfjs runs a chain;
 * - xnnpack: for wasm, the same math as products XNNPACK takes (kernels/xnnpack.ts), since
 *   tfjs-wasm runs a transposed or batched matMul, which is all of tfjs's backward pass, in a
 *   scalar loop;
 * - wasm: xnnpack's products, with LayerNorm, GELU, attention and the cross-entropy as the SIMD
 *   module's kernels (kernels/simd.ts), the same kernels webgpu registers; xnnpack is what wasm
 *   runs where the engine has no WebAssembly SIMD.
 *
 * Each takes and returns 2-D activations [N, C]; `causalAttention` is the attention core without
 * its projections, dropout or a KV cache (the passes that need those use the plain ops' parts).
 */
import * as tf from '@tensorflow/tfjs';
import { attentionKernelsApply, causalAttention as attentionKernel } from './kernels/attention.ts';
import { webgpuKernelsAvailable } from './kernels/available.ts';
import { softmaxCrossEntropy } from './kernels/cross-entropy.ts';
import { gelu as geluKernel } from './kernels/gelu.ts';
import { layerNorm as layerNormKernel } from './kernels/layer-norm.ts';
import { attendStepApplies } from './kernels/attend-step.ts';
import { simdKernelsAvailable } from './kernels/simd.ts';
import * as xnn from './kernels/xnnpack.ts';
import * as ops from './ops.ts';

/** LayerNorm's ε, as PyTorch's default. */
export const LN_EPS = 1e-5;

export interface ModelOps {
  readonly name: 'plain' | 'webgpu' | 'xnnpack' | 'wasm';
  /** LayerNorm without bias over the last axis: (x − mean) / √(var + ε) · g. x: [N, C], g: [C]. */
  layerNorm(x: tf.Tensor2D, g: tf.Tensor1D): tf.Tensor2D;
  /** Exact GELU, x·Φ(x), as PyTorch's nn.GELU(). x: [N, 4C]. */
  gelu(x: tf.Tensor2D): tf.Tensor2D;
  /** x·w. x: [N, K], w: [K, M] → [N, M]. */
  linear(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D;
  /** x·wᵀ: the output head tied to the embedding. x: [N, C], w: [V, C] → [N, V]. */
  linearTransposed(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D;
  /** The embedding rows picked by one-hot rows: [N, V]·[V, C] → [N, C]; only w gets a gradient. */
  embed(oneHot: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D;
  /** softmax(q·kᵀ/√hs + mask)·v per head, from the fused projection qkv [B*T, 3C] → [B*T, C]. mask: [T, T]. */
  causalAttention(qkv: tf.Tensor2D, T: number, nHead: number, mask: tf.Tensor2D): tf.Tensor2D;
  /** Mean cross-entropy in nats. logits [N, V], targets [N] int32 → scalar. */
  crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar;
  /** Whether one decoded position is stored and attended in one dispatch (kernels/attend-step.ts) for a context of blockSize. */
  decodesInOneStep(blockSize: number): boolean;
}

export const plainOps: ModelOps = {
  name: 'plain',
  layerNorm: (x, g) => ops.layerNorm(x, g, LN_EPS),
  gelu: (x) => ops.gelu(x),
  linear: (x, w) => tf.matMul(x, w),
  linearTransposed: (x, w) => tf.matMul(x, w, false, true),
  embed: (oneHot, w) => tf.matMul(oneHot, w),
  causalAttention: (qkv, T, nHead, mask) => ops.causalAttention(qkv, T, nHead, mask),
  crossEntropy: (logits, targets) => ops.crossEntropy(logits, targets),
  decodesInOneStep: () => false,
};

export const webgpuOps: ModelOps = {
  ...plainOps,
  name: 'webgpu',
  layerNorm: (x, g) => layerNormKernel(x, g, LN_EPS, true), // 1 dispatch, 2 backward
  gelu: (x) => geluKernel(x, true), // 1 dispatch, 1 backward
  // One dispatch forward, one backward, reading heads in place from qkv and never storing the T×T weights.
  causalAttention: (qkv, T, nHead) => attentionKernel(qkv, T, nHead, { fused: true }),
  crossEntropy: (logits, targets) => softmaxCrossEntropy(logits, targets, true), // 2 dispatches, 1 backward
  decodesInOneStep: (blockSize) => attendStepApplies(blockSize),
};

export const xnnpackOps: ModelOps = {
  name: 'xnnpack',
  layerNorm: (x, g) => xnn.layerNorm(x, g, LN_EPS), // a gradient without slow reductions
  gelu: (x) => xnn.gelu(x), // a gradient without tfjs-wasm's slow Exp
  linear: (x, w) => xnn.linear(x, w),
  linearTransposed: (x, w) => xnn.linearTransposed(x, w),
  embed: (oneHot, w) => xnn.embed(oneHot, w),
  causalAttention: (qkv, T, nHead, mask) => xnn.causalAttention(qkv, T, nHead, mask),
  crossEntropy: (logits, targets) => xnn.crossEntropy(logits, targets), // a gradient through XNNPACK's softmax
  decodesInOneStep: () => false,
};

export const wasmOps: ModelOps = {
  ...xnnpackOps,
  name: 'wasm',
  layerNorm: (x, g) => layerNormKernel(x, g, LN_EPS, true), // 1 kernel, 2 backward
  gelu: (x) => geluKernel(x, true), // 1 kernel, 1 backward
  // 1 kernel, 1 backward, the causal half only; a head size the SIMD lanes do not divide keeps XNNPACK's.
  causalAttention: (qkv, T, nHead, mask) =>
    attentionKernelsApply(qkv, T, nHead) ? attentionKernel(qkv, T, nHead) : xnn.causalAttention(qkv, T, nHead, mask),
  crossEntropy: (logits, targets) => softmaxCrossEntropy(logits, targets, true), // 2 kernels, 1 backward
};

/** The ops the current backend runs fastest: its own when `fast` (the default), else the plain ops. */
export function opsFor(fast = true): ModelOps {
  if (!fast) return plainOps;
  if (webgpuKernelsAvailable()) return webgpuOps;
  if (xnn.xnnpackApplies()) return simdKernelsAvailable() ? wasmOps : xnnpackOps;
  return plainOps;
}
