/**
 * One test table for the model's ops (workers/model-ops.ts): every implementation must give the
 * plain ops' values and gradients, case by case, on shapes that are odd on purpose (a prime
 * width, ragged rows, a head size no tile or SIMD lane divides). The unit project runs it for wasm, the gpu
 * project for webgpu.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { ModelOps } from '../workers/model-ops.ts';
import { causalMask } from '../workers/ops.ts';
import { relErr } from './helpers.ts';

export interface OpCase {
  name: string;
  shapes: number[][]; // of the inputs that get a gradient
  run: (ops: ModelOps, ...xs: tf.Tensor[]) => tf.Tensor;
}

const T = 7;
const nHead = 3;
const C = 15; // head size 5

export const OP_CASES: OpCase[] = [
  { name: 'layerNorm', shapes: [[13, 37], [37]], run: (o, x, g) => o.layerNorm(x as tf.Tensor2D, g as tf.Tensor1D) },
  { name: 'gelu', shapes: [[9, 52]], run: (o, x) => o.gelu(x as tf.Tensor2D) },
  {
    name: 'linear',
    shapes: [
      [11, 37],
      [37, 23],
    ],
    run: (o, x, w) => o.linear(x as tf.Tensor2D, w as tf.Tensor2D),
  },
  {
    name: 'linearTransposed',
    shapes: [
      [11, 37],
      [29, 37],
    ],
    run: (o, x, w) => o.linearTransposed(x as tf.Tensor2D, w as tf.Tensor2D),
  },
  {
    name: 'embed',
    shapes: [[17, 12]],
    run: (o, w) => o.embed(tf.oneHot(tf.tensor1d([0, 3, 16, 3, 9], 'int32'), 17).cast('float32') as tf.Tensor2D, w as tf.Tensor2D),
  },
  {
    name: 'causalAttention',
    shapes: [[2 * T, 3 * C]],
    run: (o, qkv) => tf.tidy(() => o.causalAttention(qkv as tf.Tensor2D, T, nHead, causalMask(T))),
  },
  {
    // A head size of 8 (the wasm kernel's lanes divide it) over a ragged T, and the 2×64 model's own shape.
    name: 'causalAttention, head size 8',
    shapes: [[3 * T, 3 * 16]],
    run: (o, qkv) => tf.tidy(() => o.causalAttention(qkv as tf.Tensor2D, T, 2, causalMask(T))),
  },
  {
    name: 'causalAttention, the default model',
    shapes: [[2 * 64, 3 * 64]],
    run: (o, qkv) => tf.tidy(() => o.causalAttention(qkv as tf.Tensor2D, 64, 4, causalMask(64))),
  },
  {
    name: 'crossEntropy',
    shapes: [[10, 19]],
    run: (o, logits) => o.crossEntropy(logits as tf.Tensor2D, tf.tensor1d([0, 18, 5, 5, 7, 1, 2, 3, 17, 9], 'int32')),
  },
];

/** Values and gradients (of Σ y·dy for a fixed random dy) of one case under `ops` and under `reference`: each within rtol. */
export async function expectSameAsReference(c: OpCase, ops: ModelOps, reference: ModelOps, rtol: number) {
  const before = tf.memory().numTensors;
  const inputs = c.shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 10 + i));
  const run = (o: ModelOps) =>
    tf.tidy(() => {
      const y = c.run(o, ...inputs);
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 99);
      const grads = tf.grads((...xs: tf.Tensor[]) =>
        c
          .run(o, ...xs)
          .mul(dy)
          .sum(),
      )(inputs);
      return [y, ...grads];
    });
  const a = run(ops);
  const b = run(reference);
  expect(a.map((t) => t.shape)).toEqual(b.map((t) => t.shape));
  for (let i = 0; i < a.length; i++)
    expect(relErr(await a[i].data(), await b[i].data()), `${c.name}: output ${i}`).toBeLessThanOrEqual(rtol);
  tf.dispose([...a, ...b, ...inputs]);
  expect(tf.memory().numTensors).toBe(before);
}
