/**
 * The model's layers as plain tfjs ops: behind model-ops.ts's plainOps (what the cpu and webgl
 * backends run, and the passes that need the attention weights or a KV cache), and the reference
 * the other two implementations, the custom WebGPU kernels (kernels/*.ts) and the wasm
 * formulations (kernels/xnnpack.ts), are checked against (tests/ops-table.ts), so that the
 * reference is the code the model runs. The bench's variants (src/bench/worker/variant-gpt.ts)
 * keep formulations of their own on purpose: they measure what each choice is worth.
 *
 * Shapes: x [N, C] rows of the residual stream; heads (B, nh, T, hs) with C = nh·hs.
 */
import * as tf from '@tensorflow/tfjs';

/** What the causal mask adds above the diagonal: exp(-1e9 - max) is exactly 0 in float32, without the NaN -Infinity can bring. */
export const MASKED = -1e9;

/** The additive causal mask [T, T]: 0 on and below the diagonal, MASKED above. */
export function causalMask(T: number): tf.Tensor2D {
  const data = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = MASKED;
  return tf.tensor2d(data, [T, T]);
}

/** LayerNorm without bias over the last axis: (x − mean) / √(var + eps) · γ. x: [N, C], γ: [C]. */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true); // [N, 1] each
  return x
    .sub(mean)
    .mul(tf.rsqrt(variance.add(eps)))
    .mul(gamma);
}

/** Exact GELU, x·Φ(x) = x·(erf(x/√2) + 1)·½, as PyTorch's nn.GELU() computes it. Any shape. */
export function gelu<T extends tf.Tensor>(x: T): T {
  return x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5);
}

/** Swaps axes 1 and 2 of t seen as [a, b, c, d]; with one position (b or c is 1) no element moves: a reshape, no kernel. */
function swap12(t: tf.Tensor, [a, b, c, d]: number[]): tf.Tensor4D {
  return b === 1 || c === 1 ? t.reshape([a, c, b, d]) : t.reshape([a, b, c, d]).transpose([0, 2, 1, 3]);
}

/** The fused projection qkv [B*T, 3C] → query, key and value heads, (B, nh, T, hs) each. */
export function splitHeads(qkv: tf.Tensor2D, B: number, T: number, nHead: number): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  const hs = qkv.shape[1] / 3 / nHead;
  const [q, k, v] = tf.split(qkv, 3, 1).map((t) => swap12(t, [B, T, nHead, hs]));
  return [q, k, v];
}

/** Heads (B, nh, T, hs) side by side again: [B*T, C]. */
export function mergeHeads(y: tf.Tensor4D): tf.Tensor2D {
  const [B, nHead, T, hs] = y.shape;
  return swap12(y, [B, nHead, T, hs]).reshape([B * T, nHead * hs]);
}

/**
 * softmax(q·kᵀ/√hs + mask)·v per head. q: (B, nh, T, hs); k, v: (B, nh, S, hs) (S = T, or a KV
 * cache's rows); mask broadcasts to (T, S): position t attends to the keys the mask leaves at 0.
 * `dropout` acts on the attention weights (training only; the identity otherwise).
 */
export function attend(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  mask: tf.Tensor2D,
  dropout: (w: tf.Tensor4D) => tf.Tensor4D = (w) => w,
): tf.Tensor4D {
  const hs = q.shape[3];
  const scores = tf.matMul(q.mul(1 / Math.sqrt(hs)), k, false, true).add(mask); // (B, nh, T, S)
  return tf.matMul(dropout(tf.softmax(scores) as tf.Tensor4D), v); // (B, nh, T, hs)
}

/** Causal multi-head self-attention without the projections: qkv [B*T, 3C] → y [B*T, C]. mask: [T, T]. */
export function causalAttention(qkv: tf.Tensor2D, T: number, nHead: number, mask: tf.Tensor2D): tf.Tensor2D {
  const B = qkv.shape[0] / T;
  const [q, k, v] = splitHeads(qkv, B, T, nHead);
  return mergeHeads(attend(q, k, v, mask));
}

/** Mean cross-entropy in nats: −mean(Σ logSoftmax(logits) · onehot(targets)). logits [N, V], targets [N] int32 → scalar. */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const logp = tf.logSoftmax(logits); // [N, V]
  const picked = logp.mul(tf.oneHot(targets, logits.shape[1]).cast('float32')).sum(1); // [N]
  return picked.mean().neg() as tf.Scalar;
}
