import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { defaultTrainConfig } from '../../src/core/config.ts';
import { validateRunFits } from '../../src/core/footprint.ts';
import { currentCapacity } from '../../workers/backend.ts';
import { prepareRun } from '../../workers/run.ts';

test("the running adapter's limits are the run's: its binding limit, its memory, its measured rate", () => {
  const cap = currentCapacity();
  const { limits } = (tf.backend() as unknown as { device: GPUDevice }).device;
  expect(cap).toMatchObject({ backend: 'webgpu', heapBytes: null });
  expect(cap!.maxBufferBytes).toBe(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize));
  expect(cap!.flopsPerSecond).toBeGreaterThan(1e6);
});

test("logits over the adapter's binding limit are refused, at it are not", () => {
  const cap = { ...currentCapacity()!, memoryBytes: Infinity }; // the buffer limit alone
  // The logits [batch · context, vocabulary] of one row of 4,096 characters fill the limit exactly.
  const vocabSize = cap.maxBufferBytes! / 4 / 4096;
  const model = { vocabSize, blockSize: 4096, nLayer: 1, nHead: 1, nEmbd: 16, dropout: 0 };
  expect(validateRunFits(model, { ...defaultTrainConfig, batchSize: 1 }, cap)).toEqual([]);
  const over = validateRunFits(model, { ...defaultTrainConfig, batchSize: 2 }, cap);
  expect(over.map((i) => i.message)).toEqual([
    expect.stringMatching(/needs one tensor of .*; this WebGPU adapter binds at most .* at once/),
  ]);
});

test('a run the backend cannot hold is refused before a tensor is made, naming webgpu', () => {
  const before = tf.memory().numTensors;
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(2000);
  expect(() =>
    prepareRun(text, { blockSize: 512, nLayer: 2, nHead: 8, nEmbd: 512, dropout: 0 }, { ...defaultTrainConfig, batchSize: 4096 }),
  ).toThrow(
    /^invalid training config: 2 layers of width 512 .* needs about \d+\.\d GiB on webgpu .* is the limit: use a smaller batch, context or model; .* this WebGPU adapter binds at most/,
  );
  expect(tf.memory().numTensors).toBe(before);
});
