/**
 * The gpu project runs tfjs on WebGPU in Node through Dawn: on a machine without a GPU, on
 * SwiftShader's software Vulkan driver (Debian's chromium ships it; .ci/run installs it).
 * A machine without any WebGPU adapter fails here, loudly: these tests never skip.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll } from 'vitest';
import { installNodeWebGPU } from '../../src/cli/dawn.ts';
import { initBackend } from '../../workers/backend.ts';

beforeAll(async () => {
  await installNodeWebGPU();
  const info = await initBackend('webgpu', { measureRate: true }); // as the page's worker starts it
  if (info.name !== 'webgpu') throw new Error(`expected the webgpu backend, got ${info.name}`);
  // Every test starts on webgpu; tests that compare with cpu switch explicitly.
  await tf.setBackend('webgpu');
});
