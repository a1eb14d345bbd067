/**
 * One position of sampling over a KV cache, as one WebGPU dispatch: store the new key and value
 * in row `pos` of a layer's cache and attend over rows 0…pos. On other backends (or with the
 * kernel off) model.ts runs the plain ops: a scatter into the cache, then the masked attention.
 *
 * As plain ops this is some twelve dispatches a layer (split into q, k, v; two scatters; scale,
 * scores, mask, softmax, weighted sum), each tiny; a character of sampling then cost more GPU
 * dispatches than a whole fused full-window forward pass. Here:
 *   inputs   qkv [1, 3C] (x·c_attn at this position), kCache, vCache (1, nh, S, hs), uniform pos
 *   outputs  y [1, C] (heads side by side), kCache', vCache' (the caches with row pos replaced)
 * The caches come out as new tensors that the model assigns to its cache variables (assign moves
 * no data), so the kernel is pure as tfjs expects. One workgroup per head: its threads copy the
 * head's rows, score rows 0…pos against q/√hs into workgroup memory, reduce max and sum, then
 * each takes some of the hs output columns. Rows past pos are never read, as the mask's exact
 * zeros would have it.
 */
import * as tf from '@tensorflow/tfjs';
import { webgpuKernelsAvailable } from './available.ts';
import { bufferOf, newOutput, pipelineFor, submitAfterTfjs, type WebGPUBackend } from './webgpu.ts';

/** Threads per workgroup (one workgroup per head). */
const THREADS = 64;

/** The longest cache the scores fit for in workgroup memory (16 KB in all, with the reductions). */
export const MAX_STEP_CONTEXT = 2048;

function stepWgsl(hs: number, S: number): string {
  return /* wgsl */ `
struct Params {
  nh: u32,
  pos: u32,
};
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;            // [1, 3C]
@group(0) @binding(2) var<storage, read> kIn: array<f32>;            // (1, nh, S, HS)
@group(0) @binding(3) var<storage, read> vIn: array<f32>;            // (1, nh, S, HS)
@group(0) @binding(4) var<storage, read_write> y: array<f32>;        // [1, C]
@group(0) @binding(5) var<storage, read_write> kOut: array<f32>;     // (1, nh, S, HS)
@group(0) @binding(6) var<storage, read_write> vOut: array<f32>;     // (1, nh, S, HS)

const HS = ${hs}u;
const S = ${S}u;
const SCALE = ${Math.fround(1 / Math.sqrt(hs))};
var<workgroup> scores: array<f32, S>;
var<workgroup> red: array<f32, ${THREADS}>;

// Rows of head h: the cache's, except row pos, which is this position's key or value.
fn keyAt(h: u32, j: u32, d: u32) -> f32 {
  if (j == params.pos) { return qkv[params.nh * HS + h * HS + d]; }
  return kIn[(h * S + j) * HS + d];
}
fn valueAt(h: u32, j: u32, d: u32) -> f32 {
  if (j == params.pos) { return qkv[2u * params.nh * HS + h * HS + d]; }
  return vIn[(h * S + j) * HS + d];
}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wg.x;
  let pos = params.pos;
  // The caches, row pos replaced.
  for (var e = lid; e < S * HS; e += ${THREADS}u) {
    let j = e / HS;
    let d = e % HS;
    kOut[h * S * HS + e] = keyAt(h, j, d);
    vOut[h * S * HS + e] = valueAt(h, j, d);
  }
  // Scores of rows 0…pos: (q·(1/√hs))·k_j, as model.ts scales q before the product.
  var m = -1e30;
  for (var j = lid; j <= pos; j += ${THREADS}u) {
    var dot = 0.0;
    for (var d = 0u; d < HS; d++) { dot += (qkv[h * HS + d] * SCALE) * keyAt(h, j, d); }
    scores[j] = dot;
    m = max(m, dot);
  }
  red[lid] = m;
  workgroupBarrier();
  for (var k = ${THREADS / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) { red[lid] = max(red[lid], red[lid + k]); }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();
  var l = 0.0;
  for (var j = lid; j <= pos; j += ${THREADS}u) {
    let p = exp(scores[j] - mx);
    scores[j] = p;
    l += p;
  }
  red[lid] = l;
  workgroupBarrier();
  for (var k = ${THREADS / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) { red[lid] += red[lid + k]; }
    workgroupBarrier();
  }
  let sum = red[0];
  // y = Σ_j p_j·v_j / Σ_j p_j, one output column per thread.
  for (var d = lid; d < HS; d += ${THREADS}u) {
    var acc = 0.0;
    for (var j = 0u; j <= pos; j++) { acc += (scores[j] / sum) * valueAt(h, j, d); }
    y[h * HS + d] = acc;
  }
}`;
}

/** Inputs qkv [1, 3C], kCache and vCache (1, nh, S, hs); attrs pos and nHead; outputs y [1, C], kCache', vCache'. */
export const ATTEND_STEP_KERNEL = 'TabgptAttendStep';

function attendStepKernel({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo[] {
  const b = backend as WebGPUBackend;
  const { qkv, k, v } = inputs as Record<'qkv' | 'k' | 'v', tf.TensorInfo>;
  const pos = attrs!.pos as number;
  const [, nh, S, hs] = k.shape;
  const y = newOutput(b, [1, nh * hs]);
  const kOut = newOutput(b, k.shape);
  const vOut = newOutput(b, v.shape);
  submitAfterTfjs(b, [
    {
      pipeline: pipelineFor(b.device, `tabgpt attend step hs${hs} S${S}`, stepWgsl(hs, S)),
      uniforms: new Uint32Array([nh, pos]).buffer,
      buffers: [bufferOf(b, qkv), bufferOf(b, k), bufferOf(b, v), y.buffer, kOut.buffer, vOut.buffer],
      workgroups: nh,
    },
  ]);
  return [y.info, kOut.info, vOut.info];
}

function registerAttendStepKernel() {
  if (!tf.getKernel(ATTEND_STEP_KERNEL, 'webgpu'))
    tf.registerKernel({ kernelName: ATTEND_STEP_KERNEL, backendName: 'webgpu', kernelFunc: attendStepKernel });
}

/** Whether the kernel can run a step over caches of `S` rows: webgpu, and scores that fit workgroup memory. */
export function attendStepApplies(S: number): boolean {
  return webgpuKernelsAvailable() && S <= MAX_STEP_CONTEXT;
}

/**
 * One position's attention over a layer's KV cache: writes this position's key and value into
 * row `pos` of `cache.k` and `cache.v` (assigning new tensors) and returns y [1, C], the heads'
 * weighted values side by side. Not differentiable: sampling only.
 */
export function attendStep(qkv: tf.Tensor2D, cache: { k: tf.Variable; v: tf.Variable }, pos: number, nHead: number): tf.Tensor2D {
  const [, nh, S, hs] = cache.k.shape as [number, number, number, number];
  if (!attendStepApplies(S)) throw new Error(`the attend-step kernel needs webgpu and a context ≤ ${MAX_STEP_CONTEXT}`);
  if (nh !== nHead || qkv.shape[0] !== 1 || qkv.shape[1] !== 3 * nh * hs) {
    throw new Error(`attendStep: qkv [${qkv.shape}] does not match a cache of shape [${cache.k.shape}]`);
  }
  if (!Number.isInteger(pos) || pos < 0 || pos >= S) throw new RangeError(`position ${pos} is outside the cache of ${S}`);
  registerAttendStepKernel();
  const [y, k, v] = tf.engine().runKernel(ATTEND_STEP_KERNEL, { qkv, k: cache.k, v: cache.v }, { pos, nHead }) as tf.Tensor[];
  cache.k.assign(k);
  cache.v.assign(v);
  tf.dispose([k, v]);
  return y as tf.Tensor2D;
}
