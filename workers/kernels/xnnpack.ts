/**
 * Matrix products for the wasm backend, written so that every product, forward and backward,
 * runs on XNNPACK.
 *
 * tfjs-backend-wasm hands a BatchMatMul to XNNPACK only when neither operand is transposed and
 * both have batch 1; everything else (transposeA, transposeB, a batch above 1) runs a scalar
 * triple loop that is 10–30× slower on the shapes this project trains. tfjs's own gradient of
 * matMul is made of transposed products, so on wasm the whole backward pass took that loop.
 * Here each transposed operand is transposed explicitly first (a copy, linear in its size) and
 * the product is a plain one.
 *
 * Causal attention's products are batched over (batch, head), which that loop would run too.
 * They run here as depthwise 1×k convolutions instead, which tfjs also hands to XNNPACK: a
 * depthwise convolution of x [1, I, W, G] with a filter [1, W, G, M] ('valid', stride 1) is
 *   out[i, g·M + m] = Σ_w x[i, w, g] · f[w, g, m],
 * one product [I, W]·[W, M] per group g, which is a batched matMul with the batch as groups
 * (measured on [64 groups, 64, 16]·[16, 64]: 0.57 ms against 4.1 ms, the same values to the
 * bit). Each operand is put into that layout by a transpose; tfjs-wasm's rank-3 and rank-4
 * transposes are fast, its rank-2 one is not (0.64 ms against 0.09 ms for [1024, 64] seen as
 * [32, 32, 64]), so 2-D transposes go through rank 3 too.
 *
 * Where the wasm backend's SIMD module runs (simd.ts), the linear layers' products are its own
 * kernels instead (products.ts: no packing, and Xᵀ·dY without a transpose), except the big
 * forward products of a page with wasm threads, which XNNPACK spreads over them. The model takes
 * attention, LayerNorm, GELU and the loss from it too (model-ops.ts); this file's attention,
 * LayerNorm and GELU are what wasm runs without WebAssembly SIMD.
 *
 * The same math as tf.matMul and the plain attention ops, and their gradients: the parity
 * tests compare values and gradients with the plain ops (tests/unit/xnnpack.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { simdKernelsAvailable, wasmThreads } from './simd.ts';
import { matmul, weightGrad } from './products.ts';

/** Whether the XNNPACK formulations apply: the wasm backend. */
export function xnnpackApplies(): boolean {
  return tf.getBackend() === 'wasm';
}

/** The largest divisor of n in [2, √n], or 1 when n is prime. */
function splitFactor(n: number): number {
  for (let f = Math.floor(Math.sqrt(n)); f >= 2; f--) if (n % f === 0) return f;
  return 1;
}

/**
 * xᵀ for x: [A, B], through a rank-3 transpose where A or B factors (tfjs-wasm's rank-2
 * transpose is ~7× slower than its rank-3 one on these shapes): [a1, a2, B] → [B, a1, a2].
 */
export function transpose2d(x: tf.Tensor2D): tf.Tensor2D {
  const [A, B] = x.shape;
  const fa = splitFactor(A);
  if (fa > 1)
    return x
      .reshape([fa, A / fa, B])
      .transpose([2, 0, 1])
      .reshape([B, A]);
  const fb = splitFactor(B);
  if (fb > 1)
    return x
      .reshape([A, fb, B / fb])
      .transpose([1, 2, 0])
      .reshape([B, A]);
  return x.transpose();
}

/**
 * The smallest product (in multiply-adds) that goes to XNNPACK's threads where tfjs-wasm has
 * them. Measured in Chromium on 2 cores with 2 wasm threads: the reference model's products
 * (768·128·512 = 50 M) trained faster threaded (142 against 164 ms a step), the default model's
 * (1024·64·256 = 17 M) faster on the SIMD module's one thread (35 against 43 ms).
 */
const THREADED_MIN_MULADDS = 32e6;

/**
 * a·b for a: [N, K], b: [K, M]: the SIMD module's kernel (products.ts) where the module runs,
 * unless tfjs-wasm has threads and the product is big enough for XNNPACK to use them.
 */
function product(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!simdKernelsAvailable()) return tf.matMul(a, b);
  const threaded = wasmThreads() > 1 && a.shape[0] * a.shape[1] * b.shape[1] >= THREADED_MIN_MULADDS;
  return threaded ? tf.matMul(a, b) : matmul(a, b);
}

/**
 * aᵀ·b for a: [N, K], b: [N, M] → [K, M] (a weight's gradient: Xᵀ·dY): the SIMD module's kernel
 * (products.ts) where it runs, threads or not (measured faster than XNNPACK on 2 threads with
 * the transposes it needs); otherwise a plain product: transposes the narrower of
 * the two operands; if that is b, the product comes out transposed ([M, K]) and is transposed
 * back, which is small: K·M elements against N·K or N·M.
 */
function transposedAB(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (simdKernelsAvailable()) return weightGrad(a, b);
  const [, K] = a.shape;
  const [, M] = b.shape;
  if (K <= M) return tf.matMul(transpose2d(a), b); // [K, N]·[N, M]
  return transpose2d(tf.matMul(transpose2d(b), a)); // ([M, N]·[N, K])ᵀ
}

/**
 * x·w for x: [N, K], w: [K, M] → [N, M], differentiable: dx = dy·wᵀ and dw = xᵀ·dy, each as
 * an explicit transpose and a plain product.
 */
export const linear = tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: product(x, w),
    gradFunc: (dy: tf.Tensor2D, [sx, sw]: tf.Tensor[]) => [
      product(dy, transpose2d(sw as tf.Tensor2D)), // [N, M]·[M, K]
      transposedAB(sx as tf.Tensor2D, dy), // [K, M]
    ],
  };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/**
 * x·wᵀ for x: [N, K], w: [M, K] → [N, M] (the output head tied to the embedding [V, C]),
 * differentiable: dx = dy·w is a plain product already, and dw = dyᵀ·x.
 */
export const linearTransposed = tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: product(x, transpose2d(w)), // [N, K]·[K, M]
    gradFunc: (dy: tf.Tensor2D, [sx, sw]: tf.Tensor[]) => [
      product(dy, sw as tf.Tensor2D), // [N, M]·[M, K]
      transposedAB(dy, sx as tf.Tensor2D), // [M, K]
    ],
  };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/**
 * oneHot·w for one-hot rows [N, V] and the embedding w: [V, C] → [N, C], with a gradient for w
 * only (the one-hot rows are data): dw = oneHotᵀ·dy as a plain product.
 */
export function embed(oneHot: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad(((sw: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([oneHot]);
    return { value: product(oneHot, sw), gradFunc: (dy: tf.Tensor2D, [rows]: tf.Tensor[]) => [transposedAB(rows as tf.Tensor2D, dy)] };
  }) as Parameters<typeof tf.customGrad>[0]) as (w: tf.Tensor2D) => tf.Tensor2D;
  return f(w);
}

/** The JavaScript kernel behind splitOuter (registered once, for the wasm backend). */
const SPLIT_OUTER_KERNEL = 'TabgptSplitOuter';

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/** splitOuter's kernel: x [n, …] → n outputs of `shape`, copied from the heap. */
export function splitOuterKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }) {
  const wasm = backend as WasmBackend;
  const { x } = inputs as { x: tf.TensorInfo };
  const shape = (attrs as unknown as { shape: number[] }).shape;
  const n = x.shape[0];
  const size = x.shape.reduce((a, b) => a * b, 1) / n;
  // Every output first: an allocation can grow the wasm heap, which detaches any view taken before it.
  const outs = Array.from({ length: n }, () => wasm.makeOutput(shape, 'float32'));
  const src = wasm.typedArrayFromHeap(x); // a view of the heap, not a copy
  outs.forEach((out, i) => wasm.typedArrayFromHeap(out).set(src.subarray(i * size, (i + 1) * size)));
  return outs;
}

function registerSplitOuter() {
  if (tf.getKernel(SPLIT_OUTER_KERNEL, 'wasm')) return;
  tf.registerKernel({ kernelName: SPLIT_OUTER_KERNEL, backendName: 'wasm', kernelFunc: splitOuterKernel as unknown as tf.KernelFunc });
}

/**
 * x: [n, …] → n tensors of x[i], each reshaped to `shape`, by contiguous copies. tf.split and
 * tf.slice on wasm copy the whole input to JavaScript for each piece (readSync), which for a
 * [3, 1024, 64] input cost 1.2 ms a piece. Not differentiable: for use inside a custom gradient.
 */
function splitOuter(x: tf.Tensor, shape: number[]): tf.Tensor[] {
  registerSplitOuter();
  if (x.dtype !== 'float32') throw new Error('splitOuter takes float32 tensors');
  return tf.engine().runKernel(SPLIT_OUTER_KERNEL, { x }, { shape } as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

/**
 * The batched product out[g] = x[g]·f[g] over G groups as one depthwise convolution.
 * x: [I, W, G] (rows, the summed axis, groups innermost), f: [W, G, M] → [I, G, M].
 */
function groupedProduct(x: tf.Tensor3D, f: tf.Tensor3D): tf.Tensor3D {
  const [I, W, G] = x.shape;
  const M = f.shape[2];
  const out = tf.depthwiseConv2d(x.reshape([1, I, W, G]) as tf.Tensor4D, f.reshape([1, W, G, M]) as tf.Tensor4D, 1, 'valid');
  return out.reshape([I, G, M]);
}

/**
 * Causal multi-head self-attention without the projections, as ops.causalAttention (ops.ts)
 * computes it: qkv [B*T, 3C] → y [B*T, C], softmax(q·kᵀ/√hs + mask)·v per head. mask: the
 * [T, T] additive causal mask. Differentiable; every product is a grouped product over the
 * G = B·nh (batch, head) pairs. In the comments below t is a query position, s a key position,
 * d a channel of a head, g = (b, h).
 */
export function causalAttention(qkv: tf.Tensor2D, T: number, nHead: number, mask: tf.Tensor2D): tf.Tensor2D {
  const [rows, threeC] = qkv.shape;
  const B = rows / T;
  const C = threeC / 3;
  const hs = C / nHead;
  const G = B * nHead;
  const scale = 1 / Math.sqrt(hs);
  const f = tf.customGrad(((x: tf.Tensor2D, save: tf.GradSaveFunc) => {
    // (b, t, which, h·d) → (which, t, b, h·d): q, k and v each [T, B, nh, hs], i.e. (t, g, d).
    const [q, k, v] = splitOuter(x.reshape([B, T, 3, C]).transpose([2, 1, 0, 3]), [T, B, nHead, hs]) as tf.Tensor4D[];
    const qs = q.mul(scale) as tf.Tensor4D; // the scale on q, as the plain ops have it
    const qx = qs.reshape([T, G, hs]).transpose([0, 2, 1]) as tf.Tensor3D; // (t, d, g)
    const kf = k.reshape([T, G, hs]).transpose([2, 1, 0]) as tf.Tensor3D; // (d, g, s)
    const att = groupedProduct(qx, kf).add(mask.reshape([T, 1, T])); // (t, g, s): row t sees s ≤ t only
    const p = tf.softmax(att) as tf.Tensor3D; // (t, g, s)
    const px = p.transpose([0, 2, 1]) as tf.Tensor3D; // (t, s, g)
    const y = groupedProduct(px, v.reshape([T, G, hs]) as tf.Tensor3D); // (t, g, d) = (t, b, h, d)
    save([qs, k, v, p]);
    return {
      value: y
        .reshape([T, B, C])
        .transpose([1, 0, 2])
        .reshape([B * T, C]), // (b, t, h·d)
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor3D];
        const dyT = dy
          .reshape([B, T, G / B, hs])
          .transpose([1, 0, 2, 3])
          .reshape([T, G, hs]) as tf.Tensor3D; // (t, g, d)
        // dP = dY·Vᵀ, then the softmax's gradient dS = P ⊙ (dP − Σ_s P ⊙ dP).
        const dp = groupedProduct(dyT.transpose([0, 2, 1]) as tf.Tensor3D, sv.reshape([T, G, hs]).transpose([2, 1, 0]) as tf.Tensor3D); // (t, g, s)
        const ds = sp.mul(dp.sub(sp.mul(dp).sum(2, true))) as tf.Tensor3D; // (t, g, s)
        const dsx = ds.transpose([0, 2, 1]) as tf.Tensor3D; // (t, s, g)
        const dsTx = ds.transpose([2, 0, 1]) as tf.Tensor3D; // (s, t, g)
        const dq = groupedProduct(dsx, sk.reshape([T, G, hs]) as tf.Tensor3D).mul(scale); // dS·K: (t, g, d)
        const dk = groupedProduct(dsTx, sq.reshape([T, G, hs]) as tf.Tensor3D); // dSᵀ·(scale·Q): (s, g, d)
        const dv = groupedProduct(sp.transpose([2, 0, 1]) as tf.Tensor3D, dyT); // Pᵀ·dY: (s, g, d)
        // (which, t, b, h·d) → (b, t, which, h·d): [B*T, 3C] as qkv.
        return tf
          .stack([dq, dk, dv])
          .reshape([3, T, B, C])
          .transpose([2, 1, 0, 3])
          .reshape([B * T, 3 * C]);
      },
    };
  }) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D) => tf.Tensor2D;
  return f(qkv);
}

/**
 * LayerNorm without bias over the last axis, x: [N, C], γ: [C] → [N, C], as model.ts's plain ops
 * compute it (mean, then the mean of the squared deviations), with a gradient of its own:
 *   dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)),  ĝ = dy · γ,  x̂ = (x − mean) · rstd
 *   dγ = Σ_rows dy · x̂, as the product 1ᵀ·(dy · x̂)
 * tfjs's own gradient reduces over rows with a rank-2 transpose first (tfjs-wasm's slow one).
 */
export const layerNorm = (x: tf.Tensor2D, gamma: tf.Tensor1D, eps: number): tf.Tensor2D => {
  const [N, C] = x.shape;
  const f = tf.customGrad(((sx: tf.Tensor2D, g: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const mean = sx.mean(1, true); // [N, 1]
    const centered = sx.sub(mean);
    const rstd = tf.rsqrt(centered.square().mean(1, true).add(eps)); // [N, 1]
    const xhat = centered.mul(rstd);
    save([xhat, rstd, g]);
    return {
      value: xhat.mul(g),
      gradFunc: (dy: tf.Tensor2D, [sxhat, srstd, sg]: tf.Tensor[]) => {
        const gh = dy.mul(sg); // [N, C]
        const dx = gh
          .sub(gh.mean(1, true))
          .sub(sxhat.mul(gh.mul(sxhat).mean(1, true)))
          .mul(srstd);
        const dg = tf.matMul(tf.ones([1, N]), dy.mul(sxhat)).reshape([C]); // [1, N]·[N, C]
        return [dx, dg];
      },
    };
  }) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D, g: tf.Tensor1D) => tf.Tensor2D;
  return f(x, gamma);
};

/**
 * Exact GELU, x·Φ(x) = x · (erf(x/√2) + 1) · 0.5, the ops model.ts runs, with a gradient of its
 * own: dy · (Φ(x) + x·φ(x)), φ(x) = exp(−x²/2)/√(2π). tfjs-wasm's Exp is scalar (1.8 ms on
 * [1024, 256]) where its Sigmoid is XNNPACK's (0.28 ms), so exp(z) for z = −x²/2 ≤ 0 comes from
 * s = sigmoid(z) as s / (1 − s): for z ≤ 0, 1 − s lies in [½, 1), so the ratio keeps the
 * sigmoid's relative accuracy (measured: 3.6e-7 at most against Exp).
 */
export const gelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const erf1 = tf.erf(x.mul(Math.SQRT1_2)).add(1); // 2Φ(x)
  save([x, erf1]);
  return {
    value: x.mul(erf1).mul(0.5),
    gradFunc: (dy: tf.Tensor, [sx, serf1]: tf.Tensor[]) => {
      const s = tf.sigmoid(sx.square().mul(-0.5));
      const pdf = s.div(tf.sub(1, s)).mul(1 / Math.sqrt(2 * Math.PI)); // φ(x)
      return [dy.mul(serf1.mul(0.5).add(sx.mul(pdf)))];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as <T extends tf.Tensor>(x: T) => T;

/**
 * Mean softmax cross-entropy in nats, logits [N, V], targets [N] int32 → scalar, the ops model.ts
 * runs, with the gradient (softmax(logits) − onehot(targets)) · dy / N: softmax is XNNPACK's,
 * where tfjs's gradient of logSoftmax takes a second pass of tfjs-wasm's scalar Exp.
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const [N, V] = logits.shape;
  const onehot = tf.oneHot(targets, V).cast('float32'); // data: no gradient
  const f = tf.customGrad(((x: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([x, onehot]); // kept for the backward pass, which runs after the caller's scope has freed its own tensors
    return {
      value: tf.logSoftmax(x).mul(onehot).sum(1).mean().neg(),
      gradFunc: (dy: tf.Scalar, [sx, so]: tf.Tensor[]) => [tf.softmax(sx).sub(so).mul(dy.div(N))],
    };
  }) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D) => tf.Scalar;
  return f(logits);
}
