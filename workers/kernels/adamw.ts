/**
 * AdamW over every parameter at once: on webgpu one custom kernel, 2N + 1 dispatches for N
 * parameters with global-norm clipping (N + 1 for the clip scale, see global-norm.ts, and one
 * fused update per parameter) or N without, instead of the ~14 tfjs kernels per parameter
 * that the plain ops below run; on wasm the same kernel in JavaScript (adamw-wasm.ts); on cpu
 * and webgl, those plain ops.
 *
 * Per element, with g pre-scaled by the clip scale when clipping (the same math in both):
 *   m = b1·m + (1 − b1)·g
 *   v = b2·v + (1 − b2)·g²
 *   p = p·(1 − lr·wd) − lr · (m / c1) / (√(v / c2) + eps)     c1 = 1 − b1ᵗ, c2 = 1 − b2ᵗ
 * with the decay factor 1 only for parameters that take no weight decay (rank < 2).
 *
 * The kernel writes p, m and v to new tensors that the variables are then assigned, as
 * `Variable.assign` does on the tfjs path: the variables' data ids change every step, which is
 * what a KV cache checks to know the weights changed.
 */
import * as tf from '@tensorflow/tfjs';
import { adamwWasmKernel } from './adamw-wasm.ts';
import { clipScale, clipScaleDispatches, partialsLayout } from './global-norm.ts';
import {
  bufferOf,
  newOutput,
  pipelineFor,
  storageUsage,
  submitAfterTfjs,
  workgroupsFor,
  type Dispatch,
  type WebGPUBackend,
  WORKGROUP,
} from './webgpu.ts';
import { webgpuKernelsAvailable } from './available.ts';

import type { AdamWStep } from './adamw-step.ts';
export type { AdamWStep };

/** The optimizer's variables: parameters and their moments, in the same order and shapes. */
export interface AdamWVars {
  params: readonly tf.Variable[];
  m: readonly tf.Variable[]; // first moments
  v: readonly tf.Variable[]; // second moments
  decay: readonly boolean[]; // whether each parameter takes weight decay
}

// Uniform struct of one update dispatch: 11 four-byte fields, padded to 48 bytes.
const UPDATE_UNIFORM_BYTES = 48;

const UPDATE_WGSL = /* wgsl */ `
struct Params {
  n: u32,        // elements in this parameter
  useScale: u32, // 1: multiply g by scale[0] (clipping), 0: scale is not read
  lr: f32,
  b1: f32,
  ib1: f32,      // 1 − b1
  b2: f32,
  ib2: f32,      // 1 − b2
  eps: f32,
  c1: f32,       // 1 − b1^t
  c2: f32,       // 1 − b2^t
  decay: f32,    // 1 − lr·wd, or 1
};
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;           // [n] gradient
@group(0) @binding(2) var<storage, read> scale: array<f32>;       // [1] clip scale
@group(0) @binding(3) var<storage, read> p: array<f32>;           // [n] parameter
@group(0) @binding(4) var<storage, read> m: array<f32>;           // [n] first moment
@group(0) @binding(5) var<storage, read> v: array<f32>;           // [n] second moment
@group(0) @binding(6) var<storage, read_write> pOut: array<f32>;  // [n] updated p
@group(0) @binding(7) var<storage, read_write> mOut: array<f32>;  // [n] updated m
@group(0) @binding(8) var<storage, read_write> vOut: array<f32>;  // [n] updated v

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Operations in the order the tfjs ops run them, so both paths round alike.
  for (var i = gid.x; i < params.n; i += nwg.x * ${WORKGROUP}u) {
    var gi = g[i];
    if (params.useScale != 0u) { gi = gi * scale[0]; }
    let mi = m[i] * params.b1 + gi * params.ib1;
    let vi = v[i] * params.b2 + (gi * gi) * params.ib2;
    mOut[i] = mi;
    vOut[i] = vi;
    let update = ((mi / params.c1) / (sqrt(vi / params.c2) + params.eps)) * params.lr;
    pOut[i] = p[i] * params.decay - update;
  }
}`;

/** The registered kernel's name: inputs p0…, m0…, v0…, g0… (float32); outputs p′…, m′…, v′…. */
export const ADAMW_KERNEL = 'TabgptAdamW';

/** The scalars every dispatch shares, as the tfjs path rounds them (JS doubles → float32). */
function constants(hp: AdamWStep) {
  return {
    ib1: 1 - hp.beta1,
    ib2: 1 - hp.beta2,
    c1: 1 - hp.beta1 ** hp.t,
    c2: 1 - hp.beta2 ** hp.t,
    decay: 1 - hp.lr * hp.weightDecay,
  };
}

function adamwKernel({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo[] {
  const b = backend as WebGPUBackend;
  const hp = attrs as unknown as AdamWStep & { decay: boolean[] };
  const n = hp.decay.length;
  const at = (name: string, i: number) => inputs[`${name}${i}`]!;
  const sizes = Array.from({ length: n }, (_, i) => tf.util.sizeFromShape(at('p', i).shape));
  const grads = sizes.map((size, i) => ({ buffer: bufferOf(b, at('g', i)), size }));
  const [p, m, v] = ['p', 'm', 'v'].map((name) => sizes.map((_, i) => bufferOf(b, at(name, i))));
  const outs = ['p', 'm', 'v'].map((name) => sizes.map((_, i) => newOutput(b, at(name, i).shape)));

  const clipping = hp.gradClip > 0;
  const scratch: GPUBuffer[] = [];
  const dispatches: Dispatch[] = [];
  let scale: GPUBuffer | null = null;
  if (clipping) {
    const partials = b.bufferManager.acquireBuffer(4 * partialsLayout(sizes).total, storageUsage());
    scale = b.bufferManager.acquireBuffer(4, storageUsage());
    scratch.push(partials, scale);
    dispatches.push(...clipScaleDispatches(b.device, grads, hp.gradClip, partials, scale));
  }
  const pipeline = pipelineFor(b.device, 'tabgpt adamw', UPDATE_WGSL);
  const k = constants(hp);
  for (let i = 0; i < n; i++) {
    const u = new ArrayBuffer(UPDATE_UNIFORM_BYTES);
    new Uint32Array(u, 0, 2).set([sizes[i], clipping ? 1 : 0]);
    new Float32Array(u, 8, 9).set([
      hp.lr,
      hp.beta1,
      k.ib1,
      hp.beta2,
      k.ib2,
      hp.eps,
      k.c1,
      k.c2,
      hp.decay[i] && hp.weightDecay > 0 ? k.decay : 1,
    ]);
    dispatches.push({
      pipeline,
      uniforms: u,
      // Without clipping nothing reads `scale`; the gradient stands in for it (both read-only).
      buffers: [grads[i].buffer, scale ?? grads[i].buffer, p[i], m[i], v[i], outs[0][i].buffer, outs[1][i].buffer, outs[2][i].buffer],
      workgroups: workgroupsFor(sizes[i]),
    });
  }
  submitAfterTfjs(b, dispatches, scratch);
  return outs.flat().map((o) => o.info);
}

/** Registers the webgpu kernel and its wasm twin (adamw-wasm.ts) once (registering again would throw). */
export function registerAdamWKernel() {
  if (!tf.getKernel(ADAMW_KERNEL, 'webgpu'))
    tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName: 'webgpu', kernelFunc: adamwKernel });
  if (!tf.getKernel(ADAMW_KERNEL, 'wasm'))
    tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName: 'wasm', kernelFunc: adamwWasmKernel as unknown as tf.KernelFunc });
}

/** Whether the fused AdamW kernel runs on the current backend: webgpu, and wasm (in JavaScript). */
export function adamwKernelAvailable(): boolean {
  return webgpuKernelsAvailable() || tf.getBackend() === 'wasm';
}

/**
 * One AdamW update of every parameter with the gradients `grads` (same order): the custom
 * kernel when `fused` (webgpu only), otherwise the plain tfjs ops. Assigns new values to the
 * parameters and both moments; frees everything else it makes.
 */
export function adamwStep(vars: AdamWVars, grads: readonly tf.Tensor[], hp: AdamWStep, fused: boolean): void {
  const { params, m: ms, v: vs, decay } = vars;
  if (fused) {
    if (!adamwKernelAvailable()) throw new Error(`the fused AdamW kernel needs the webgpu or wasm backend, not ${tf.getBackend()}`);
    registerAdamWKernel();
    tf.tidy(() => {
      const inputs: tf.NamedTensorMap = {};
      params.forEach((p, i) => Object.assign(inputs, { [`p${i}`]: p, [`m${i}`]: ms[i], [`v${i}`]: vs[i], [`g${i}`]: grads[i] }));
      const { lr, beta1, beta2, eps, weightDecay, gradClip, t } = hp;
      const attrs = { lr, beta1, beta2, eps, weightDecay, gradClip, t, decay: [...decay] };
      const outs = tf.engine().runKernel(ADAMW_KERNEL, inputs, attrs) as tf.Tensor[];
      const n = params.length;
      params.forEach((p, i) => {
        p.assign(outs[i]);
        ms[i].assign(outs[n + i]);
        vs[i].assign(outs[2 * n + i]);
      });
    });
    return;
  }
  const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd, gradClip } = hp;
  const { ib1, ib2, c1, c2, decay: decayFactor } = constants(hp);
  tf.tidy(() => {
    let gs = grads as tf.Tensor[];
    if (gradClip > 0) {
      const scale = clipScale(gs, gradClip, false);
      gs = gs.map((g) => g.mul(scale));
    }
    params.forEach((p, i) => {
      const g = gs[i];
      const m = ms[i].mul(b1).add(g.mul(ib1));
      const v = vs[i].mul(b2).add(g.square().mul(ib2));
      ms[i].assign(m);
      vs[i].assign(v);
      const update = m.div(c1).div(v.div(c2).sqrt().add(eps)).mul(lr);
      // AdamW: decay the weights directly (decoupled from the gradient), then step.
      const decayed = decay[i] && wd > 0 ? p.mul(decayFactor) : p;
      p.assign(decayed.sub(update));
    });
  });
}
