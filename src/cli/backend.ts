import { totalmem } from 'node:os';
import { errorMessage } from '../core/errors.ts';
import { capacityOf, type Capacity } from '../core/footprint.ts';
import type { BackendChoice } from '../../workers/backend.ts';

/**
 * What the chosen backend can give, where that is known before it starts (wasm's heap, a share
 * of this machine's memory for cpu and webgl), so a run that cannot fit is refused before tfjs
 * loads; null for webgpu and auto, which are checked once the backend runs (workers/run.ts).
 */
export function capacityBefore(choice: BackendChoice): Capacity | null {
  return choice === 'wasm' || choice === 'cpu' || choice === 'webgl' ? capacityOf(choice, totalmem()) : null;
}

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
  return initBackend(choice, { unavailable: noWebGPU === undefined ? {} : { webgpu: noWebGPU }, deviceMemoryBytes: totalmem() });
}
