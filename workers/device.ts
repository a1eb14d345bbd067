/**
 * WebGPU reports validation errors and a lost device asynchronously, and tfjs registers no
 * handler for either: without one, a bad pipeline silently computes garbage. The backend
 * records the first such fault here and the training loop checks it at every readback.
 */

let fault: Error | null = null;
let lost: Promise<unknown> | null = null; // the watched device's loss, once reported

/** The first device error or loss since the backend started, if any. */
export function deviceFault(): Error | null {
  return fault;
}

let listener: ((err: Error) => void) | null = null;

/** Calls `onFault` with the first fault, when it happens (the training loop finds it by itself; an idle worker needs telling). */
export function onDeviceFault(onFault: (err: Error) => void) {
  listener = onFault;
}

/** Records a fault; only the first one is kept (later ones are usually its consequences). */
export function reportDeviceFault(err: Error) {
  if (fault) return;
  fault = err;
  listener?.(err);
}

/**
 * The fault behind a failure that just happened, if the device reports one within `ms`. A lost
 * device first shows as a failed read-back ("Buffer was unmapped before mapping was
 * resolved"); `device.lost` resolves a moment later and is the cause to name.
 */
export async function settleDeviceFault(ms: number): Promise<Error | null> {
  if (fault || !lost) return fault;
  await Promise.race([lost, new Promise((resolve) => setTimeout(resolve, ms))]);
  return fault;
}

/** Hooks a WebGPU device's error and loss reporting into deviceFault(). */
export function watchDevice(device: GPUDevice) {
  fault = null;
  device.onuncapturederror = (e: GPUUncapturedErrorEvent) => reportDeviceFault(new Error(`WebGPU error: ${e.error.message}`));
  lost = device.lost.then((info) => {
    const err = new Error(
      `the GPU device was lost${info.reason === 'destroyed' ? ' (destroyed)' : ''}: ${info.message || 'no reason given'}`,
    );
    err.name = 'DeviceLostError';
    reportDeviceFault(err);
  });
}
