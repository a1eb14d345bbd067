import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { CharTokenizer } from '../../src/core/tokenizer.ts';
import { GPT } from '../../workers/model.ts';
import { generate } from '../../workers/sample.ts';
import { logitsOf, microModel, relErr } from '../helpers.ts';

const ids = [3, 1, 4, 1, 5, 9, 2, 6]; // blockSize 8

test('a prefill and steps over the KV cache on webgpu give the whole-window logits of cpu within 1e-4', async () => {
  const V = microModel.vocabSize;
  await tf.setBackend('cpu');
  const cpuModel = new GPT(microModel, 7);
  const want = await logitsOf(cpuModel, [ids]); // [8*V], no cache
  cpuModel.dispose();
  await tf.setBackend('webgpu');

  const model = new GPT(microModel, 7); // same seed: the same weights
  const cache = model.kvCache();
  const prefill = tf.tidy(() => model.forward(tf.tensor2d([ids.slice(0, 3)], [1, 3], 'int32'), { training: false }, cache));
  expect(relErr(await prefill.data(), want.subarray(0, 3 * V))).toBeLessThan(1e-4);
  prefill.dispose();
  for (let pos = 3; pos < ids.length; pos++) {
    const logits = tf.tidy(() => model.step(ids[pos], pos, cache));
    expect(relErr(await logits.data(), want.subarray(pos * V, (pos + 1) * V)), `position ${pos}`).toBeLessThan(1e-4);
    logits.dispose();
  }
  cache.dispose();
  model.dispose();
});

test('generating past the context with the KV cache on webgpu leaves no tensor and no byte behind', async () => {
  const tok = new CharTokenizer([...'abcdefghijk']);
  const model = new GPT(microModel, 4);
  const run = async (n: number) => {
    let s = '';
    for await (const ch of generate(model, tok, 'abc', { length: n, temperature: 1, seed: 1, kvCache: true })) s += ch;
    return s;
  };
  await run(7); // warm-up: fills the cache once and refills it
  const before = tf.memory();
  expect(Array.from(await run(14))).toHaveLength(14); // 3 + 14 > 8: two refills
  expect(tf.memory().numTensors).toBe(before.numTensors);
  expect(tf.memory().numBytes).toBe(before.numBytes);
  model.dispose();
});
