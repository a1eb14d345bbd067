import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { splitTrainVal } from '../../src/core/batching.ts';
import { GPT } from '../../workers/model.ts';
import { Trainer } from '../../workers/train.ts';
import { microModel, microTrain, syntheticIds } from '../helpers.ts';

const data = splitTrainVal(syntheticIds(3000, microModel.vocabSize), microModel.blockSize);

/** The squared gradient norms a measured step reads, on `backend`, for the same weights and batch (same seeds). */
async function norms(backend: 'cpu' | 'webgpu'): Promise<number[]> {
  await tf.setBackend(backend);
  try {
    const model = new GPT(microModel, 3);
    const trainer = new Trainer(model, data, { ...microTrain, batchSize: 4 });
    const t = trainer.gradientNorms(trainer.batcher.getBatch());
    const out = Array.from(await t.data());
    t.dispose();
    trainer.dispose();
    model.dispose();
    return out;
  } finally {
    await tf.setBackend('webgpu');
  }
}

test('the noise scale on webgpu: the same squared gradient norms as cpu on the same weights and batch', async () => {
  const cpu = await norms('cpu');
  const gpu = await norms('webgpu');
  for (let i = 0; i < 2; i++) expect(Math.abs(gpu[i] / cpu[i] - 1), ['|G_B|²', '|G_b|²'][i]).toBeLessThan(1e-3);
});

test("the measured step's extra pass runs the same fused kernels as the step: each custom forward and backward kernel twice", async () => {
  const model = new GPT(microModel, 3);
  const trainer = new Trainer(model, data, { ...microTrain, batchSize: 4 });
  const kernels = async (measured: boolean) => {
    const batch = trainer.batcher.getBatch();
    const info = await tf.profile(() => {
      if (!measured) return trainer.trainStep(batch);
      const { loss, norms } = trainer.trainStepMeasured(batch);
      norms.dispose();
      return loss;
    });
    const counts = new Map<string, number>();
    for (const k of info.kernels) if (k.name.startsWith('Tabgpt')) counts.set(k.name, (counts.get(k.name) ?? 0) + 1);
    return counts;
  };
  const plain = await kernels(false);
  const measured = await kernels(true);
  expect(plain.get('TabgptCausalAttention')).toBe(microModel.nLayer);
  for (const [name, n] of plain) expect(measured.get(name), name).toBe(name === 'TabgptAdamW' ? n : 2 * n);
  expect([...measured.keys()].sort()).toEqual([...plain.keys()].sort());
  trainer.dispose();
  model.dispose();
});
