/**
 * Counting GPU dispatches: for models this small, the number that sets a webgpu step's speed
 * on a real GPU (each dispatch costs tens of microseconds of API time).
 */

let dispatches = 0;
let counterInstalled = false;

/**
 * Counts every dispatchWorkgroups call from now on, by wrapping the method on the
 * GPUComputePassEncoder prototype (the browser's, or the `webgpu` package's globals in Node).
 * Returns false where there is no WebGPU.
 */
export function installDispatchCounter(): boolean {
  if (counterInstalled) return true;
  const Encoder = (globalThis as { GPUComputePassEncoder?: { prototype: GPUComputePassEncoder } }).GPUComputePassEncoder;
  if (!Encoder) return false;
  const proto = Encoder.prototype;
  const dispatch = proto.dispatchWorkgroups;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args: Parameters<GPUComputePassEncoder['dispatchWorkgroups']>) {
    dispatches++;
    return dispatch.apply(this, args);
  };
  counterInstalled = true;
  return true;
}

/** GPU dispatches so far (0 until the counter is installed). */
export function dispatchCount(): number {
  return dispatches;
}
