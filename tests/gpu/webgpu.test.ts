import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { CharTokenizer } from '../../src/core/tokenizer.ts';
import { GPT } from '../../workers/model.ts';
import { generate } from '../../workers/sample.ts';
import { Trainer } from '../../workers/train.ts';
import { logitsOf, lossAndGrads, microModel, microTrain, paramValues, relErr, syntheticIds } from '../helpers.ts';
import { splitTrainVal } from '../../src/core/batching.ts';

const data = splitTrainVal(syntheticIds(3000, microModel.vocabSize), microModel.blockSize);

/** Runs `fn` on a backend and switches back to webgpu. */
async function on<T>(backend: 'cpu' | 'webgpu', fn: () => Promise<T>): Promise<T> {
  await tf.setBackend(backend);
  try {
    return await fn();
  } finally {
    await tf.setBackend('webgpu');
  }
}

test('runs on the webgpu backend', () => {
  expect(tf.getBackend()).toBe('webgpu');
});

test('changing tokens after position t leaves the logits at positions ≤ t unchanged (webgpu)', async () => {
  const model = new GPT(microModel, 1);
  const { blockSize: T, vocabSize: V } = microModel;
  const base = [3, 1, 4, 1, 5, 9, 2, 6];
  const a = await logitsOf(model, [base]);
  for (const t of [0, 3, T - 2]) {
    const changed = base.map((id, i) => (i > t ? (id + 5) % V : id));
    const b = await logitsOf(model, [changed]);
    expect(relErr(b.subarray(0, (t + 1) * V), a.subarray(0, (t + 1) * V))).toBeLessThan(1e-6);
    expect(relErr(b.subarray((t + 1) * V, (t + 2) * V), a.subarray((t + 1) * V, (t + 2) * V))).toBeGreaterThan(1e-3);
  }
  model.dispose();
});

test('forward on webgpu matches cpu on the same weights', async () => {
  const ids = [
    [1, 2, 3, 4, 5, 6, 7, 8],
    [8, 7, 6, 5, 4, 3, 2, 1],
  ];
  const cpu = await on('cpu', async () => {
    const m = new GPT(microModel, 2);
    const out = await logitsOf(m, ids);
    m.dispose();
    return out;
  });
  const m = new GPT(microModel, 2);
  expect(relErr(await logitsOf(m, ids), cpu)).toBeLessThan(1e-4);
  m.dispose();
});

test('one training step on webgpu matches cpu on the same weights and batch within 1e-4 relative', async () => {
  const cfg = { ...microTrain, learningRate: 1e-3, warmupSteps: 0 };
  const step = async () => {
    const model = new GPT(microModel, 3); // same seed: the same weights on either backend
    const trainer = new Trainer(model, data, cfg);
    const batch = trainer.batcher.getBatch(); // same seed: the same batch
    const { grads: g } = await lossAndGrads(model, batch);
    const loss = trainer.trainStep(batch);
    const lossValue = (await loss.data())[0];
    loss.dispose();
    const params = await paramValues(model);
    trainer.dispose();
    model.dispose();
    return { loss: lossValue, grads: g, params };
  };
  const cpu = await on('cpu', step);
  const gpu = await step();
  expect(Math.abs(gpu.loss - cpu.loss) / cpu.loss).toBeLessThan(1e-4);
  for (const [name, g] of cpu.grads) expect(relErr(gpu.grads.get(name)!, g), `gradient of ${name}`).toBeLessThan(1e-4);
  for (const [name, p] of cpu.params) expect(relErr(gpu.params.get(name)!, p), `updated ${name}`).toBeLessThan(1e-4);
});

test('generating leaves no tensor behind on webgpu', async () => {
  const tok = new CharTokenizer([...'abcdefghijk']);
  const model = new GPT(microModel, 4);
  const run = async (n: number) => {
    let s = '';
    for await (const ch of generate(model, tok, 'abc', { length: n, temperature: 1, seed: 1 })) s += ch;
    return s;
  };
  await run(2);
  const before = tf.memory().numTensors;
  expect(Array.from(await run(12))).toHaveLength(12);
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
});
