/** What the custom-kernel tests share: a GPU dispatch counter, a trip to the cpu backend, random inputs. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll } from 'vitest';
import { Rng } from '../../src/core/rng.ts';

/**
 * Counts every dispatchWorkgroups call (tfjs's and the custom kernels' own passes) while the
 * calling file's tests run, by wrapping the prototype: read `count` before and after.
 */
export function countDispatches(): { readonly count: number } {
  const counter = { count: 0 };
  let original: GPUComputePassEncoder['dispatchWorkgroups'];
  beforeAll(() => {
    const proto = GPUComputePassEncoder.prototype;
    original = proto.dispatchWorkgroups;
    proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args: Parameters<typeof original>) {
      counter.count++;
      return original.apply(this, args);
    };
  });
  afterAll(() => {
    GPUComputePassEncoder.prototype.dispatchWorkgroups = original;
  });
  return counter;
}

/** Runs `fn` on a backend and switches back to webgpu. */
export async function on<T>(backend: 'cpu' | 'webgpu', fn: () => Promise<T>): Promise<T> {
  await tf.setBackend(backend);
  if (backend === 'cpu') (tf.backend() as unknown as { firstUse: boolean }).firstUse = false; // no tfjs-node advert
  try {
    return await fn();
  } finally {
    await tf.setBackend('webgpu');
  }
}

/** n seeded draws from N(mean, std²). */
export function normals(seed: number, n: number, std: number, mean = 0): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => mean + std * rng.normal());
}
