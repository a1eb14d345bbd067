import type { BackendChoice } from '../../workers/backend.ts';

/** Loads tfjs and the chosen backend only when a command needs them (batches, baseline and fit do not). */
export async function startBackend(choice: BackendChoice) {
  if (choice === 'webgpu' || choice === 'auto') {
    const { installNodeWebGPU } = await import('./dawn.ts');
    await installNodeWebGPU();
  }
  const { initBackend } = await import('../../workers/backend.ts');
  return initBackend(choice);
}
