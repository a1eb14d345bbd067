/**
 * Raw WebGPU compute work on the tfjs webgpu backend's own device and buffers, for kernels that
 * tfjs's program API cannot express (its programs write exactly one output; AdamW writes three).
 *
 * Ordering with tfjs: a kernel first uploads every input that still lives on the CPU (tfjs
 * records that upload in its pending command encoder), then flushes tfjs's pending work
 * (`submitQueue`), then records its own dispatches in one compute pass of its own command
 * encoder and submits it at once. The queue runs submissions in order, so the kernel sees every
 * earlier tfjs op's result, and every later tfjs op (recorded into a fresh encoder, submitted
 * after) sees the kernel's. Within the pass, WebGPU orders each dispatch's storage writes before
 * the next dispatch's reads. Only public members of WebGPUBackend are used.
 *
 * Buffer lifetimes: outputs are fresh tensors from tfjs's buffer pool (never an input's buffer,
 * so nothing is read and written by the same dispatch). Scratch and uniform buffers come from the
 * same pool and go back to it right after the submit: anything that reuses them later is queued
 * after this work.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

export type { WebGPUBackend };

/** What tfjs hands a kernel function. */
export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap };

/** Registers kernels on a backend, each once (registering one again would throw). */
export function registerOnce(kernels: [string, tf.KernelFunc][], backendName = 'webgpu') {
  for (const [kernelName, kernelFunc] of kernels)
    if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc });
}

/** Registers each kernel's webgpu and wasm functions under its one name, each once: the op wrappers run whichever backend is current. */
export function registerOnWebgpuAndWasm(kernels: [name: string, webgpu: tf.KernelFunc, wasm: tf.KernelFunc][]) {
  registerOnce(kernels.map(([name, webgpu]) => [name, webgpu]));
  registerOnce(
    kernels.map(([name, , wasm]) => [name, wasm]),
    'wasm',
  );
}

/** Workgroup size of every kernel here: WebGPU's default maxComputeInvocationsPerWorkgroup. */
export const WORKGROUP = 256;

/** Bytes between two uniform slots in one buffer: WebGPU's minUniformBufferOffsetAlignment. */
export const UNIFORM_SLOT = 256;

/** The usage tfjs gives tensor buffers: scratch buffers with it share tfjs's pool. */
export function storageUsage(): GPUBufferUsageFlags {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

/** The GPU buffer behind a float32 tensor, uploading it first if it still lives on the CPU. */
export function bufferOf(backend: WebGPUBackend, t: tf.TensorInfo): GPUBuffer {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  backend.uploadToGPU(t.dataId);
  const resource = backend.tensorMap.get(t.dataId).resource;
  if (!(resource instanceof GPUBuffer)) throw new Error('expected a tensor stored in a GPU buffer');
  return resource;
}

/** A new float32 tensor of `shape` with a GPU buffer from the pool (contents undefined until written). */
export function newOutput(backend: WebGPUBackend, shape: number[]): { info: tf.TensorInfo; buffer: GPUBuffer } {
  const info = backend.makeTensorInfo(shape, 'float32');
  return { info, buffer: bufferOf(backend, info) };
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** One compute pipeline per shader and device, compiled on first use and reused after. */
export function pipelineFor(device: GPUDevice, label: string, code: string): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  let pipeline = cache.get(label);
  if (!pipeline) {
    const module = device.createShaderModule({ label, code });
    pipeline = device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint: 'main' } });
    cache.set(label, pipeline);
  }
  return pipeline;
}

/** One dispatch: a pipeline, its bindings in order (the uniform slot first) and a workgroup count. */
export interface Dispatch {
  pipeline: GPUComputePipeline;
  uniforms: ArrayBuffer; // this dispatch's uniform struct, at most UNIFORM_SLOT bytes
  buffers: GPUBuffer[]; // storage buffers for bindings 1, 2, …
  workgroups: number;
}

/**
 * Records `dispatches` in order, in one compute pass, after everything tfjs has queued, and
 * submits them; `scratch` buffers (acquired from the backend's pool) go back to it afterwards.
 * All uniforms travel in one buffer, one 256-byte slot per dispatch, written once.
 */
export function submitAfterTfjs(backend: WebGPUBackend, dispatches: Dispatch[], scratch: GPUBuffer[] = []) {
  const { device, queue, bufferManager } = backend;
  // Flush tfjs's pending commands (uploads included) so they run before ours.
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();

  const uniformBytes = new Uint8Array(dispatches.length * UNIFORM_SLOT);
  dispatches.forEach((d, i) => {
    if (d.uniforms.byteLength > UNIFORM_SLOT) throw new Error('uniform struct larger than its slot');
    uniformBytes.set(new Uint8Array(d.uniforms), i * UNIFORM_SLOT);
  });
  const uniforms = bufferManager.acquireBuffer(uniformBytes.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  queue.writeBuffer(uniforms, 0, uniformBytes);

  const encoder = device.createCommandEncoder({ label: 'tabgpt kernels' });
  const pass = encoder.beginComputePass();
  dispatches.forEach((d, i) => {
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: uniforms, offset: i * UNIFORM_SLOT, size: d.uniforms.byteLength } },
      ...d.buffers.map((buffer, j) => ({ binding: j + 1, resource: { buffer } })),
    ];
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: d.pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(d.workgroups);
  });
  pass.end();
  queue.submit([encoder.finish()]);
  for (const b of [uniforms, ...scratch]) bufferManager.releaseBuffer(b);
}

/** WGSL: whether x is NaN, by its bits (WGSL may assume no NaN and fold `x != x` away). */
export const IS_NAN_WGSL = /* wgsl */ `
fn isNan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}`;

/** Workgroups for a grid-stride loop over n elements: one element per thread, within WebGPU's per-dimension limit. */
export function workgroupsFor(n: number, limit = 65535): number {
  return Math.max(1, Math.min(Math.ceil(n / WORKGROUP), limit));
}
