import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { splitTrainVal } from '../../src/core/batching.ts';
import { GPT } from '../../workers/model.ts';
import { Trainer, train } from '../../workers/train.ts';
import { microModel, microTrain, syntheticIds } from '../helpers.ts';

const data = splitTrainVal(syntheticIds(3000, microModel.vocabSize), microModel.blockSize);
const device = () => (tf.backend() as unknown as { device: GPUDevice }).device;

// One file per fault: each leaves its device unusable, and vitest gives each file a fresh process.
test('a WebGPU validation error stops training instead of reporting garbage losses', async () => {
  const model = new GPT(microModel, 1);
  const trainer = new Trainer(model, data, { ...microTrain, maxSteps: 40 });
  const steps: number[] = [];
  await train(trainer, { onStep: (e) => steps.push(e.step), shouldStop: () => trainer.step >= 4 });
  expect(steps).toEqual([1, 2, 3, 4]);
  device().createBuffer({ size: 4, usage: 0 }); // invalid usage: an uncaptured validation error
  await expect(train(trainer, { onStep: (e) => steps.push(e.step) })).rejects.toThrow(/WebGPU error/);
  expect(steps.at(-1)).toBeLessThan(40);
});
