/**
 * AdamW with global-norm clipping on the wasm backend: the same kernel as adamw.ts registers for
 * webgpu (same name, inputs, attributes and outputs), written in JavaScript over the wasm heap.
 *
 * The plain tfjs ops run ~14 kernels per parameter (283 for the 2-layer default model), each a
 * few microseconds of arithmetic and tens of microseconds of engine bookkeeping; this is one
 * kernel and one pass over each parameter. It rounds to float32 after every operation, in the
 * order the plain ops apply them (adamw.ts), so it computes what they compute; only the clip
 * scale's sum of squares is added up in another order.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdamWStep } from './adamw.ts';

/** What this file needs of tfjs-backend-wasm's backend object. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

const f32 = Math.fround;

/** The kernel: inputs p{i}, m{i}, v{i}, g{i}; attrs AdamWStep and decay[i]; outputs p', m', v' (3n). */
export function adamwWasmKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const wasm = backend as WasmBackend;
  const hp = attrs as unknown as AdamWStep & { decay: boolean[] };
  const n = hp.decay.length;
  const heap = (name: string) => wasm.typedArrayFromHeap(inputs[name]!);

  // min(1, clip / (‖g‖ + 1e-6)) over every gradient at once, as global-norm.ts's plain ops.
  let scale = 1;
  if (hp.gradClip > 0) {
    let sumSquares = 0;
    for (let i = 0; i < n; i++) {
      const g = heap(`g${i}`);
      for (let j = 0; j < g.length; j++) sumSquares += g[j] * g[j];
    }
    scale = f32(Math.min(1, f32(hp.gradClip / f32(f32(Math.sqrt(sumSquares)) + f32(1e-6)))));
  }
  // The scalars as the plain ops see them: JavaScript numbers made float32 tensors.
  const B1 = f32(hp.beta1);
  const B2 = f32(hp.beta2);
  const IB1 = f32(1 - hp.beta1);
  const IB2 = f32(1 - hp.beta2);
  const C1 = f32(1 - hp.beta1 ** hp.t);
  const C2 = f32(1 - hp.beta2 ** hp.t);
  const EPS = f32(hp.eps);
  const LR = f32(hp.lr);
  const DECAY = f32(1 - hp.lr * hp.weightDecay);

  const outs: tf.TensorInfo[][] = [[], [], []];
  for (let i = 0; i < n; i++) {
    const shape = inputs[`p${i}`]!.shape;
    for (const o of outs) o.push(wasm.makeOutput(shape, 'float32'));
    // Views are taken after the allocations: growing the heap detaches the views taken before.
    const [p, m, v, g] = ['p', 'm', 'v', 'g'].map((k) => heap(`${k}${i}`));
    const [po, mo, vo] = outs.map((o) => wasm.typedArrayFromHeap(o[i]));
    const decay = hp.decay[i] && hp.weightDecay > 0 ? DECAY : 1; // p·1 is p exactly
    update(p, m, v, g, po, mo, vo, { scale, B1, B2, IB1, IB2, C1, C2, EPS, LR, decay });
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
  k: { scale: number; B1: number; B2: number; IB1: number; IB2: number; C1: number; C2: number; EPS: number; LR: number; decay: number },
) {
  const { scale, B1, B2, IB1, IB2, C1, C2, EPS, LR, decay } = k;
  for (let j = 0; j < p.length; j++) {
    const gj = scale === 1 ? g[j] : f32(g[j] * scale); // a scale of 1 (no clipping, or a small norm) is the identity
    const mj = f32(f32(m[j] * B1) + f32(gj * IB1));
    const vj = f32(f32(v[j] * B2) + f32(f32(gj * gj) * IB2));
    const step = f32(f32(f32(mj / C1) / f32(f32(Math.sqrt(f32(vj / C2))) + EPS)) * LR);
    mo[j] = mj;
    vo[j] = vj;
    po[j] = f32(f32(p[j] * decay) - step);
  }
}
