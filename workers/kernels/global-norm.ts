/**
 * Global-norm gradient clipping on WebGPU: scale = min(1, clip / (‖g‖ + 1e-6)), where ‖g‖ is the
 * L2 norm of every gradient together, in one dispatch per gradient plus one.
 *
 * 1. sum of squares, one dispatch per gradient: thread j of gradient i sums g[k]² over a
 *    grid-stride loop (k = j, j + threads_i, …) and writes one partial, partials[offset_i + j].
 *    No workgroup barriers: on a software adapter they cost more than the arithmetic.
 * 2. scale, one dispatch of one workgroup: sums every partial in a fixed order, writes scale[0].
 *
 * Buffer layout: partials is a float32 scratch buffer of Σ_i threads_i entries, gradient i's at
 * [offset_i, offset_i + threads_i); scale is one float32. The AdamW kernel reads scale[0].
 * A non-finite norm gives a NaN (or 0) scale, as the tfjs ops do, so divergence still shows.
 */
import * as tf from '@tensorflow/tfjs';
import {
  IS_NAN_WGSL,
  WORKGROUP,
  bufferOf,
  newOutput,
  pipelineFor,
  storageUsage,
  submitAfterTfjs,
  type Dispatch,
  type WebGPUBackend,
} from './webgpu.ts';

/** Threads per workgroup of the sum of squares. */
const SUM_WORKGROUP = 64;
/** At most this many workgroups (so SUM_WORKGROUP × this partials) per gradient. */
const MAX_SUM_WORKGROUPS = 32;
/** Elements per thread a gradient aims for before another workgroup is added. */
const PER_THREAD = 16;

const SUM_SQUARES_WGSL = /* wgsl */ `
struct Params {
  n: u32,       // elements in this gradient
  offset: u32,  // where its partials start
  threads: u32, // threads dispatched for it: workgroups × ${SUM_WORKGROUP}
};
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;               // [n]
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;  // [Σ threads]

@compute @workgroup_size(${SUM_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  var s = 0.0;
  for (var i = gid.x; i < params.n; i += params.threads) {
    let x = g[i];
    s += x * x;
  }
  partials[params.offset + gid.x] = s;
}`;

const CLIP_SCALE_WGSL = /* wgsl */ `
struct Params {
  count: u32, // partials to sum
  clip: f32,  // the gradient-norm limit
};
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;    // [count]
@group(0) @binding(2) var<storage, read_write> scale: array<f32>; // [1]

var<workgroup> acc: array<f32, ${WORKGROUP}>;
${IS_NAN_WGSL}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < params.count; i += ${WORKGROUP}u) { s += partials[i]; }
  acc[lid] = s;
  workgroupBarrier();
  for (var k = ${WORKGROUP / 2}u; k > 0u; k >>= 1u) {
    if (lid < k) { acc[lid] += acc[lid + k]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let c = params.clip / (sqrt(acc[0]) + 1e-6);
    scale[0] = select(min(1.0, c), c, isNan(c)); // min(1, NaN) is NaN, as in tfjs
  }
}`;

/** How gradient sizes map onto partial sums: threads per gradient and where each one's partials start. */
export interface PartialsLayout {
  threads: number[]; // a multiple of SUM_WORKGROUP each
  offsets: number[];
  total: number;
}

export function partialsLayout(sizes: number[]): PartialsLayout {
  const threads = sizes.map((n) => SUM_WORKGROUP * Math.max(1, Math.min(MAX_SUM_WORKGROUPS, Math.ceil(n / (SUM_WORKGROUP * PER_THREAD)))));
  const offsets: number[] = [];
  let total = 0;
  for (const t of threads) {
    offsets.push(total);
    total += t;
  }
  return { threads, offsets, total };
}

/**
 * The dispatches that write the clip scale of `grads` (their buffers and sizes) into
 * `scale`, using `partials` (at least layout.total floats) as scratch: grads.length + 1.
 */
export function clipScaleDispatches(
  device: GPUDevice,
  grads: { buffer: GPUBuffer; size: number }[],
  clip: number,
  partials: GPUBuffer,
  scale: GPUBuffer,
): Dispatch[] {
  const layout = partialsLayout(grads.map((g) => g.size));
  const sumSquares = pipelineFor(device, 'tabgpt sum of squares', SUM_SQUARES_WGSL);
  const clipScale = pipelineFor(device, 'tabgpt clip scale', CLIP_SCALE_WGSL);
  const perGradient = grads.map((g, i): Dispatch => ({
    pipeline: sumSquares,
    uniforms: new Uint32Array([g.size, layout.offsets[i], layout.threads[i]]).buffer,
    buffers: [g.buffer, partials],
    workgroups: layout.threads[i] / SUM_WORKGROUP,
  }));
  const u = new ArrayBuffer(8);
  new Uint32Array(u, 0, 1)[0] = layout.total;
  new Float32Array(u, 4, 1)[0] = clip;
  return [...perGradient, { pipeline: clipScale, uniforms: u, buffers: [partials, scale], workgroups: 1 }];
}

// ---------------------------------------------------------------------------------------------
// As a tfjs kernel, and the plain tfjs ops it replaces.

/** The registered kernel's name: inputs g0, g1, … (float32), attr clip; output the scale, shape []. */
export const CLIP_SCALE_KERNEL = 'TabgptClipScale';

function clipScaleKernel({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const b = backend as WebGPUBackend;
  const grads = Object.keys(inputs).map((_, i) => inputs[`g${i}`]!);
  const layout = partialsLayout(grads.map((g) => tf.util.sizeFromShape(g.shape)));
  const partials = b.bufferManager.acquireBuffer(4 * layout.total, storageUsage());
  const scale = newOutput(b, []);
  const dispatches = clipScaleDispatches(
    b.device,
    grads.map((g) => ({ buffer: bufferOf(b, g), size: tf.util.sizeFromShape(g.shape) })),
    attrs!.clip as number,
    partials,
    scale.buffer,
  );
  submitAfterTfjs(b, dispatches, [partials]);
  return scale.info;
}

/** Registers the webgpu kernel once (registering it again would throw). */
export function registerClipScaleKernel() {
  if (!tf.getKernel(CLIP_SCALE_KERNEL, 'webgpu'))
    tf.registerKernel({ kernelName: CLIP_SCALE_KERNEL, backendName: 'webgpu', kernelFunc: clipScaleKernel });
}

/**
 * min(1, clip / (‖grads‖ + 1e-6)) as a scalar on the device: the custom kernel when `fused`
 * (webgpu only), otherwise the plain tfjs ops.
 */
export function clipScale(grads: tf.Tensor[], clip: number, fused: boolean): tf.Scalar {
  if (fused) {
    registerClipScaleKernel();
    const inputs = Object.fromEntries(grads.map((g, i) => [`g${i}`, g]));
    return tf.engine().runKernel(CLIP_SCALE_KERNEL, inputs, { clip }) as tf.Scalar;
  }
  return tf.tidy(() => {
    // Pairwise adds, not tf.addN: on webgpu addN binds every input to one shader, and past 7
    // inputs the pipeline is invalid.
    const norm = tf.sqrt(grads.map((g) => tf.sum(tf.square(g))).reduce((a, b) => a.add(b)));
    return tf.minimum(1, tf.div(clip, norm.add(1e-6)));
  });
}
