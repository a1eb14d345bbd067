import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { splitTrainVal } from '../../src/core/batching.ts';
import { adamwStep } from '../../workers/kernels/adamw.ts';
import * as ops from '../../workers/ops.ts';
import * as xnn from '../../workers/kernels/xnnpack.ts';
import { profileSteps } from '../../src/bench/worker/profile.ts';
import { GPT } from '../../workers/model.ts';
import { Trainer } from '../../workers/train.ts';
import { expectAllClose, microTrain, relErr, syntheticIds } from '../helpers.ts';

// The wasm backend's XNNPACK formulations (workers/kernels/xnnpack.ts) against the plain ops the
// model runs elsewhere (workers/ops.ts) and tfjs's gradients of them, on the same backend, on shapes that are odd on purpose: primes (the 2-D
// transpose cannot go through rank 3), K > M and K < M (the weight gradient transposes either
// operand), head sizes and lengths that no tile divides.

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

/** Seeded N(0, 1) values of a shape. */
function normal(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/**
 * Values and gradients of f and g at the same inputs, for the same random upstream gradient:
 * each within `rtol` of the other (relative to the largest magnitude).
 */
async function expectSameFunction(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  g: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  rtol = 1e-5,
) {
  const before = tf.memory().numTensors;
  const run = (h: (...xs: tf.Tensor[]) => tf.Tensor) =>
    tf.tidy(() => {
      const y = h(...inputs);
      const dy = normal(y.shape, 99);
      const grads = tf.grads((...xs: tf.Tensor[]) =>
        h(...xs)
          .mul(dy)
          .sum(),
      )(inputs);
      return [y, ...grads];
    });
  const a = run(f);
  const b = run(g);
  expect(a.map((t) => t.shape)).toEqual(b.map((t) => t.shape));
  for (let i = 0; i < a.length; i++) expectAllClose(await a[i].data(), await b[i].data(), rtol);
  tf.dispose([...a, ...b]);
  expect(tf.memory().numTensors).toBe(before);
}

describe('on wasm, the XNNPACK-only products equal tf.matMul in value and gradient', () => {
  test.each([
    [13, 7, 11], // all prime: the plain 2-D transpose; K < M
    [12, 10, 6], // K > M: the weight gradient transposes dy instead of x
    [64, 24, 96],
  ])('linear [%i, %i]·[%i, %i]', async (N, K, M) => {
    const x = normal([N, K], 1);
    const w = normal([K, M], 2);
    await expectSameFunction(
      (a, b) => xnn.linear(a as tf.Tensor2D, b as tf.Tensor2D),
      (a, b) => tf.matMul(a, b),
      [x, w],
    );
    tf.dispose([x, w]);
  });

  test.each([
    [13, 7, 11],
    [30, 16, 83],
  ])('the tied head x·wᵀ, [%i, %i]·[%i, %i]ᵀ', async (N, K, M) => {
    const x = normal([N, K], 3);
    const w = normal([M, K], 4);
    await expectSameFunction(
      (a, b) => xnn.linearTransposed(a as tf.Tensor2D, b as tf.Tensor2D),
      (a, b) => tf.matMul(a, b, false, true),
      [x, w],
    );
    tf.dispose([x, w]);
  });

  test('the embedding: one-hot rows times the table, the gradient reaching the table', async () => {
    const ids = tf.tensor1d([0, 4, 4, 2, 6, 1, 0, 3, 5], 'int32');
    const rows = tf.oneHot(ids, 7).cast('float32') as tf.Tensor2D;
    const w = normal([7, 5], 5);
    await expectSameFunction(
      (t) => xnn.embed(rows, t as tf.Tensor2D),
      (t) => tf.matMul(rows, t),
      [w],
    );
    tf.dispose([ids, rows, w]);
  });

  test.each([
    [1, 1, 1, 1],
    [3, 7, 3, 5], // B, T, heads, head size: nothing divides anything
    [2, 16, 4, 8],
    [4, 33, 2, 6],
  ])('causal attention, B %i, T %i, %i heads of %i', async (B, T, nHead, hs) => {
    const qkv = normal([B * T, 3 * nHead * hs], 6);
    const mask = ops.causalMask(T);
    await expectSameFunction(
      (t) => xnn.causalAttention(t as tf.Tensor2D, T, nHead, mask),
      (t) => ops.causalAttention(t as tf.Tensor2D, T, nHead, mask),
      [qkv],
    );
    tf.dispose([qkv, mask]);
  });

  test.each([
    [13, 7],
    [64, 48],
  ])('LayerNorm over [%i, %i], with its gain', async (N, C) => {
    const x = normal([N, C], 8).mul(3).add(1);
    const g = normal([C], 9);
    await expectSameFunction(
      (a, b) => xnn.layerNorm(a as tf.Tensor2D, b as tf.Tensor1D, 1e-5),
      (a, b) => ops.layerNorm(a as tf.Tensor2D, b as tf.Tensor1D, 1e-5),
      [x, g],
    );
    tf.dispose([x, g]);
  });

  test('GELU, exact, over the range where its gradient changes', async () => {
    const x = tf.linspace(-9, 9, 1001).reshape([7, 143]);
    await expectSameFunction(
      (a) => xnn.gelu(a),
      (a) => ops.gelu(a),
      [x],
    );
    x.dispose();
  });

  test('the mean cross-entropy and its gradient', async () => {
    const targets = tf.tensor1d([0, 82, 5, 5, 41, 13, 77, 2, 9, 60, 1], 'int32');
    const logits = normal([11, 83], 11).mul(4);
    await expectSameFunction(
      (x) => xnn.crossEntropy(x as tf.Tensor2D, targets),
      (x) => ops.crossEntropy(x as tf.Tensor2D, targets),
      [logits],
    );
    tf.dispose([targets, logits]);
  });

  test('a transpose through rank 3 equals the plain one', async () => {
    for (const shape of [
      [12, 5],
      [7, 10],
      [7, 11],
      [1, 9],
      [64, 83],
    ]) {
      const x = normal(shape, 7) as tf.Tensor2D;
      const [a, b] = [xnn.transpose2d(x), x.transpose()];
      expect(a.shape).toEqual(b.shape);
      expect(await a.data()).toEqual(await b.data());
      tf.dispose([x, a, b]);
    }
  });
});

test('100 training steps on wasm follow the cpu backend to 4 digits, and the plain ops on wasm', async () => {
  const model = { vocabSize: 13, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 };
  const data = splitTrainVal(syntheticIds(20_000, 13), 16);
  const config = { ...microTrain, batchSize: 4, maxSteps: 100, warmupSteps: 10, learningRate: 1e-2, minLr: 1e-3 };
  const curve = async (backend: string, fusedKernels = true) => {
    expect(await tf.setBackend(backend)).toBe(true);
    const gpt = new GPT(model, 3);
    const trainer = new Trainer(gpt, data, config, { fusedKernels });
    const losses: number[] = [];
    for (let i = 0; i < config.maxSteps; i++) {
      const loss = trainer.trainStep();
      losses.push((await loss.data())[0]);
      loss.dispose();
    }
    trainer.dispose();
    gpt.dispose();
    return losses;
  };
  const cpu = await curve('cpu');
  const wasm = await curve('wasm');
  const wasmPlain = await curve('wasm', false);
  expect(wasm.at(-1)!).toBeLessThan(wasm[0] - 0.5); // it learned: the comparison is not of two flat lines
  for (let i = 0; i < cpu.length; i++) {
    expect(Math.abs(wasm[i] - cpu[i]) / cpu[i]).toBeLessThan(1e-4);
    expect(Math.abs(wasm[i] - wasmPlain[i]) / wasmPlain[i]).toBeLessThan(1e-4);
  }
});

test('a wasm training step leaves no tensor behind', async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
  const gpt = new GPT({ vocabSize: 13, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 }, 3);
  const trainer = new Trainer(gpt, splitTrainVal(syntheticIds(5_000, 13), 16), { ...microTrain, batchSize: 4 });
  const step = async () => {
    const loss = trainer.trainStep();
    await loss.data();
    loss.dispose();
  };
  await step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) await step();
  expect(tf.memory().numTensors).toBe(before);
  trainer.dispose();
  gpt.dispose();
});

test("every matrix product of a wasm training step is the SIMD module's or one XNNPACK takes: untransposed, batch 1", async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
  const gpt = new GPT({ vocabSize: 13, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 }, 3);
  const trainer = new Trainer(gpt, splitTrainVal(syntheticIds(5_000, 13), 16), { ...microTrain, batchSize: 4 });
  const profile = await profileSteps(() => trainer.trainStep(), 1);
  // The linear layers' products, forward and backward, are the SIMD module's.
  expect(profile.rows.filter((k) => k.kernel === 'TabgptMatMul').length).toBeGreaterThan(2);
  expect(profile.rows.filter((k) => k.kernel === 'TabgptWeightGrad').length).toBeGreaterThan(2);
  for (const k of profile.rows.filter((k) => k.kernel === 'BatchMatMul')) {
    expect(k.attrs).toBe('');
    expect(k.shapes).toMatch(/^\[\d+,\d+\]×\[\d+,\d+\]$/); // two matrices: batch 1
  }
  // Attention's products run inside the SIMD module's kernels, LayerNorm, GELU and the loss too.
  expect(profile.rows.map((k) => k.kernel)).toEqual(
    expect.arrayContaining(['TabgptCausalAttention', 'TabgptCausalAttentionGrad', 'TabgptGelu', 'TabgptLayerNorm', 'TabgptSoftmaxStats']),
  );
  // The same step with the plain ops has transposed and batched products: what the test would catch.
  const plain = new Trainer(gpt, splitTrainVal(syntheticIds(5_000, 13), 16), { ...microTrain, batchSize: 4 }, { fusedKernels: false });
  const plainProfile = await profileSteps(() => plain.trainStep(), 1);
  expect(
    plainProfile.rows.filter((k) => k.kernel === 'BatchMatMul' && (k.attrs !== '' || k.shapes.split('×')[0].split(',').length > 2)).length,
  ).toBeGreaterThan(0);
  plain.dispose();
  trainer.dispose();
  gpt.dispose();
});

test.each([0, 0.5])('AdamW as one wasm kernel equals the plain ops over 5 steps (clip %s)', async (gradClip) => {
  expect(await tf.setBackend('wasm')).toBe(true);
  const shapes = [[7, 5], [5], [13, 3], [64, 83]];
  const make = () => ({
    params: shapes.map((s, i) => tf.variable(normal(s, 10 + i))),
    m: shapes.map((s) => tf.variable(tf.zeros(s))),
    v: shapes.map((s) => tf.variable(tf.zeros(s))),
    decay: shapes.map((s) => s.length >= 2),
  });
  const [fused, plain] = [make(), make()];
  for (let t = 1; t <= 5; t++) {
    const grads = shapes.map((s, i) => normal(s, 100 * t + i));
    const hp = { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip, t };
    adamwStep(fused, grads, hp, true);
    adamwStep(plain, grads, hp, false);
    tf.dispose(grads);
  }
  for (const key of ['params', 'm', 'v'] as const) {
    // Both round to float32, in a different order (the JavaScript fallback computes in double precision).
    for (let i = 0; i < shapes.length; i++) expectAllClose(await fused[key][i].data(), await plain[key][i].data(), 5e-6);
  }
  // It moved the weights: the comparison is not of two untouched copies.
  expect(relErr(await fused.params[3].data(), await normal(shapes[3], 13).data())).toBeGreaterThan(1e-3);
  for (const o of [fused, plain]) tf.dispose([...o.params, ...o.m, ...o.v]);
});
