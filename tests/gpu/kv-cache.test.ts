import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { CharTokenizer } from '../../src/core/tokenizer.ts';
import { GPT } from '../../workers/model.ts';
import { generate } from '../../workers/sample.ts';
import { logitsOf, microModel, relErr } from '../helpers.ts';
import { countDispatches } from './kernel-helpers.ts';

const ids = [3, 1, 4, 1, 5, 9, 2, 6]; // blockSize 8
const counted = countDispatches();

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

test("with the custom kernels a cached step gives the plain ops' logits and caches in about 10 dispatches a layer", async () => {
  // Odd sizes: head size 12 (not a multiple of 4), a context of 21 whose last 8 rows stay empty.
  const config = { vocabSize: 13, blockSize: 21, nLayer: 2, nHead: 3, nEmbd: 36, dropout: 0 };
  const prompt = [1, 5, 2, 11, 7];
  const tokens = [4, 12, 0, 9, 3, 3, 8, 6];
  const run = async (fusedKernels: boolean) => {
    const model = new GPT(config, 3);
    const cache = model.kvCache();
    tf.tidy(() => model.forward(tf.tensor2d([prompt], [1, prompt.length], 'int32'), { training: false }, cache)).dispose();
    const logits: Float32Array[] = [];
    const perStep: number[] = [];
    const tensors: number[] = [];
    for (const [i, token] of tokens.entries()) {
      const d0 = counted.count;
      const l = tf.tidy(() => model.step(token, prompt.length + i, cache, { fusedKernels }));
      perStep.push(counted.count - d0);
      logits.push((await l.data()) as Float32Array);
      l.dispose();
      tensors.push(tf.memory().numTensors);
    }
    const caches = await Promise.all(cache.layers.flatMap(({ k, v }) => [k.data(), v.data()]));
    cache.dispose();
    model.dispose();
    return { logits, perStep, tensors, caches };
  };
  const fused = await run(true);
  const plain = await run(false);
  fused.logits.forEach((l, i) => expect(relErr(l, plain.logits[i]), `step ${i}`).toBeLessThan(1e-4));
  fused.caches.forEach((c, i) => expect(relErr(c as Float32Array, plain.caches[i] as Float32Array), `cache ${i}`).toBeLessThan(1e-5));
  expect(new Set(fused.tensors).size, 'tensors per step').toBe(1);
  expect(new Set(fused.perStep).size).toBe(1);
  // A layer: LayerNorm, QKV, the step kernel, projection, residual add, LayerNorm, MLP matMul, GELU,
  // matMul, add; then embedding (oneHot, matMul, position gather, add), final LayerNorm and head.
  expect(fused.perStep[0]).toBeLessThanOrEqual(10 * config.nLayer + 6);
  expect(plain.perStep[0]).toBeGreaterThan(3 * fused.perStep[0]);
});
