import { errorMessage } from '../core/errors.ts';
import type { BackendChoice } from '../../workers/backend.ts';

/**
 * Loads tfjs and the chosen backend only when a command needs them (batches, baseline and fit do
 * not). 'auto' tries WebGPU only on a GPU: software WebGPU is slower than wasm.
 */
export async function startBackend(choice: BackendChoice) {
  let noWebGPU: string | undefined;
  if (choice === 'webgpu' || choice === 'auto') {
    const { installNodeWebGPU } = await import('./dawn.ts');
    try {
      await installNodeWebGPU({ software: choice === 'webgpu' });
    } catch (err) {
      noWebGPU = errorMessage(err);
    }
  }
  const { initBackend } = await import('../../workers/backend.ts');
  return initBackend(choice, { unavailable: noWebGPU === undefined ? {} : { webgpu: noWebGPU } });
}
