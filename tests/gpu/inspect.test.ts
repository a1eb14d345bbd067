import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, expect, test } from 'vitest';
import type { ModelConfig } from '../../src/core/config.ts';
import { attentionMaps, probe } from '../../workers/inspect.ts';
import { GPT } from '../../workers/model.ts';

afterAll(async () => {
  await tf.setBackend('webgpu');
});

// Odd sizes on purpose: head size 12, a context no tile divides.
const config: ModelConfig = { vocabSize: 13, blockSize: 21, nLayer: 2, nHead: 3, nEmbd: 36, dropout: 0 };
const ids = [1, 5, 2, 11, 7, 4, 12, 0, 9, 3, 3, 8, 6, 1, 5, 2, 11, 7, 4];

/** The maps and the probe of the same weights (the same seed) on one backend. */
async function lookInside(backend: string) {
  expect(await tf.setBackend(backend)).toBe(true);
  const model = new GPT(config, 11);
  try {
    const maps = await attentionMaps(model, ids);
    const probed = await probe(model, { length: 10, trials: 4, seed: 3, choices: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] });
    return { maps, probed };
  } finally {
    model.dispose();
  }
}

test('the same weights give the same attention maps, surprisal and probe on cpu, wasm and webgpu, within 1e-5', async () => {
  const cpu = await lookInside('cpu');
  for (const backend of ['wasm', 'webgpu']) {
    const other = await lookInside(backend);
    let worst = 0;
    cpu.maps.weights.forEach((w, i) => (worst = Math.max(worst, Math.abs(w - other.maps.weights[i]))));
    expect(worst, `${backend}: largest difference of an attention weight`).toBeLessThan(1e-5);
    other.maps.surprisal.forEach((s, i) => expect(Math.abs(s - cpu.maps.surprisal[i]), `${backend}: surprisal ${i}`).toBeLessThan(1e-5));
    expect(Math.abs(other.probed.first - cpu.probed.first)).toBeLessThan(1e-5);
    expect(Math.abs(other.probed.second - cpu.probed.second)).toBeLessThan(1e-5);
    other.probed.induction.forEach((s, i) => expect(Math.abs(s - cpu.probed.induction[i]), `${backend}: head ${i}`).toBeLessThan(1e-5));
  }
});

test('looking inside on webgpu leaves no tensor behind', async () => {
  await tf.setBackend('webgpu');
  const model = new GPT(config, 2);
  const look = () => Promise.all([attentionMaps(model, ids), probe(model, { length: 10, trials: 2, seed: 1, choices: [1, 2, 3] })]);
  await look(); // the causal masks of each length, made once
  const before = tf.memory().numTensors;
  await look();
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
});
