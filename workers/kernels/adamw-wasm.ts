/**
 * AdamW with global-norm clipping on the wasm backend: the same kernel as adamw.ts registers for
 * webgpu (same name, inputs, attributes and outputs), over the wasm heap: one pass of the SIMD
 * module per parameter (assembly/adamw.ts, float32 as the plain ops), or, where the engine has
 * no WebAssembly SIMD, the same loop in JavaScript.
 *
 * The plain tfjs ops run ~14 kernels per parameter (283 for the 2-layer default model), each a
 * few microseconds of arithmetic and tens of microseconds of engine bookkeeping; this is one
 * kernel and one pass over each parameter.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdamWStep } from './adamw-step.ts';
import { simdFor, type Simd } from './simd.ts';

/** What this file needs of tfjs-backend-wasm's backend object. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/** The kernel: inputs p{i}, m{i}, v{i}, g{i}; attrs AdamWStep and decay[i]; outputs p', m', v' (3n). */
export function adamwWasmKernel({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo[] {
  const wasm = backend as WasmBackend;
  const hp = attrs as unknown as AdamWStep & { decay: boolean[] };
  const n = hp.decay.length;
  const simd = simdFor(backend);
  if (simd) return adamwSimd(simd, inputs, hp);
  const heap = (name: string) => wasm.typedArrayFromHeap(inputs[name]!);

  // min(1, clip / (‖g‖ + 1e-6)) over every gradient at once, as global-norm.ts's plain ops.
  let scale = 1;
  if (hp.gradClip > 0) {
    let sumSquares = 0;
    for (let i = 0; i < n; i++) {
      const g = heap(`g${i}`);
      for (let j = 0; j < g.length; j++) sumSquares += g[j] * g[j];
    }
    scale = Math.fround(Math.min(1, hp.gradClip / (Math.sqrt(sumSquares) + 1e-6)));
  }
  // In double precision, each result rounded once as it is stored: closer to the exact update
  // than the plain ops' float32 steps (tested within 1e-6 of them), and twice as fast as
  // rounding after every operation (Math.fround) would be.
  const k = {
    scale,
    b1: hp.beta1,
    b2: hp.beta2,
    ib1: 1 - hp.beta1,
    ib2: 1 - hp.beta2,
    lrc1: hp.lr / (1 - hp.beta1 ** hp.t), // lr / c1
    ic2: 1 / (1 - hp.beta2 ** hp.t), // 1 / c2
    eps: hp.eps,
    decay: 1, // per parameter, below
  };
  const DECAY = 1 - hp.lr * hp.weightDecay;

  const outs: tf.TensorInfo[][] = [[], [], []];
  for (let i = 0; i < n; i++) {
    const shape = inputs[`p${i}`]!.shape;
    for (const o of outs) o.push(wasm.makeOutput(shape, 'float32'));
    // Views are taken after the allocations: growing the heap detaches the views taken before.
    const [p, m, v, g] = ['p', 'm', 'v', 'g'].map((k) => heap(`${k}${i}`));
    const [po, mo, vo] = outs.map((o) => wasm.typedArrayFromHeap(o[i]));
    k.decay = hp.decay[i] && hp.weightDecay > 0 ? DECAY : 1; // p·1 is p exactly
    update(p, m, v, g, po, mo, vo, k);
  }
  return outs.flat();
}

/** The same step as the SIMD module's passes: Σg² first, then one call per parameter. */
function adamwSimd(simd: Simd, inputs: tf.NamedTensorInfoMap, hp: AdamWStep & { decay: boolean[] }): tf.TensorInfo[] {
  const n = hp.decay.length;
  const input = (name: string) => inputs[name]!;
  let scale = 1;
  if (hp.gradClip > 0) {
    let sumSquares = 0;
    for (let i = 0; i < n; i++) sumSquares += simd.k.sumSquares(simd.ptr(input(`g${i}`)), tf.util.sizeFromShape(input(`g${i}`).shape));
    scale = Math.min(1, hp.gradClip / (Math.sqrt(sumSquares) + 1e-6));
  }
  const lrc1 = hp.lr / (1 - hp.beta1 ** hp.t);
  const ic2 = 1 / (1 - hp.beta2 ** hp.t);
  const outs: tf.TensorInfo[][] = [[], [], []];
  for (let i = 0; i < n; i++) {
    const { shape } = input(`p${i}`);
    const [po, mo, vo] = outs.map((o) => (o[i] = simd.output(shape)));
    const decay = hp.decay[i] && hp.weightDecay > 0 ? 1 - hp.lr * hp.weightDecay : 1;
    const [p, m, v, g] = ['p', 'm', 'v', 'g'].map((k) => simd.ptr(input(`${k}${i}`)));
    simd.k.adamw(
      p,
      m,
      v,
      g,
      simd.ptr(po!),
      simd.ptr(mo!),
      simd.ptr(vo!),
      tf.util.sizeFromShape(shape),
      scale,
      hp.beta1,
      hp.beta2,
      lrc1,
      ic2,
      hp.eps,
      decay,
    );
  }
  return outs.flat();
}

/** The per-element update, a function of its own so that the engine compiles one tight loop. */
function update(
  p: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  po: Float32Array,
  mo: Float32Array,
  vo: Float32Array,
  k: { scale: number; b1: number; b2: number; ib1: number; ib2: number; lrc1: number; ic2: number; eps: number; decay: number },
) {
  const { scale, b1, b2, ib1, ib2, lrc1, ic2, eps, decay } = k;
  for (let j = 0; j < p.length; j++) {
    const gj = g[j] * scale;
    const mj = m[j] * b1 + gj * ib1;
    const vj = v[j] * b2 + gj * gj * ib2;
    mo[j] = mj;
    vo[j] = vj;
    po[j] = p[j] * decay - (mj * lrc1) / (Math.sqrt(vj * ic2) + eps);
  }
}
