import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { splitTrainVal } from '../../src/core/batching.ts';
import { GPT } from '../../workers/model.ts';
import { Trainer, train } from '../../workers/train.ts';
import { microModel, microTrain, syntheticIds } from '../helpers.ts';

const data = splitTrainVal(syntheticIds(3000, microModel.vocabSize), microModel.blockSize);

test('a lost GPU device stops training with a message that says so', async () => {
  const model = new GPT(microModel, 1);
  const trainer = new Trainer(model, data, { ...microTrain, maxSteps: 40 });
  await train(trainer, { shouldStop: () => trainer.step >= 4 });
  const { device } = tf.backend() as unknown as { device: GPUDevice };
  device.destroy();
  // The loss is reported asynchronously: wait for it itself (the backend's own watcher subscribed first, so it has run).
  await device.lost;
  await expect(train(trainer)).rejects.toThrow(/GPU device was lost/);
});
