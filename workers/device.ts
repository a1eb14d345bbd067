/**
 * WebGPU reports validation errors and a lost device asynchronously, and tfjs registers no
 * handler for either: without one, a bad pipeline silently computes garbage. The backend
 * records the first such fault here and the training loop checks it at every readback.
 */

let fault: Error | null = null;

/** The first device error or loss since the backend started, if any. */
export function deviceFault(): Error | null {
  return fault;
}

/** Records a fault; only the first one is kept (later ones are usually its consequences). */
export function reportDeviceFault(err: Error) {
  fault ??= err;
}

/** Hooks a WebGPU device's error and loss reporting into deviceFault(). */
export function watchDevice(device: GPUDevice) {
  fault = null;
  device.onuncapturederror = (e: GPUUncapturedErrorEvent) => reportDeviceFault(new Error(`WebGPU error: ${e.error.message}`));
  void device.lost.then((info) => {
    const err = new Error(`the GPU device was lost${info.reason === 'destroyed' ? ' (destroyed)' : ''}: ${info.message || 'no reason given'}`);
    err.name = 'DeviceLostError';
    reportDeviceFault(err);
  });
}
