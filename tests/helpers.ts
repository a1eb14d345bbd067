/** Shared test helpers: numeric closeness and tiny fixtures. */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { Batch } from '../src/core/batching.ts';
import type { ModelConfig, TrainConfig } from '../src/core/config.ts';
import { defaultTrainConfig } from '../src/core/config.ts';
import { GPT } from '../workers/model.ts';

/** max |a - b| / max(|b|, tiny): one relative error for a whole tensor. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

export function expectAllClose(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number) {
  expect(relErr(a, b)).toBeLessThanOrEqual(rtol);
}

export const microModel: ModelConfig = { vocabSize: 11, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0 };

export const microTrain: TrainConfig = {
  ...defaultTrainConfig,
  batchSize: 3,
  maxSteps: 50,
  warmupSteps: 5,
  evalEvery: 0,
  evalBatches: 2,
  logEvery: 4,
};

/** A deterministic id sequence with some structure, so a model has something to learn. */
export function syntheticIds(n: number, vocab: number, seed = 1): Int32Array {
  const out = new Int32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = i % 3 === 0 ? (s >>> 16) % vocab : (out[i - 1] + 1) % vocab;
  }
  return out;
}

/** Logits [B*T, V] of `ids` ([B][T]) as nested arrays. */
export async function logitsOf(model: GPT, ids: number[][]): Promise<Float32Array> {
  const out = tf.tidy(() => model.forward(tf.tensor2d(ids, undefined, 'int32')));
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

/** Parameter values by name. */
export async function paramValues(model: GPT): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const { name, variable } of model.params) out.set(name, (await variable.data()) as Float32Array);
  return out;
}

/** Loss and gradients (by parameter name) of one minibatch, computed outside the trainer. */
export async function lossAndGrads(model: GPT, batch: Batch): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const B = batch.starts.length;
  const vars = model.params.map((p) => p.variable);
  const { value, grads } = tf.variableGrads(() => {
    const x = tf.tensor2d(batch.x, [B, model.config.blockSize], 'int32');
    return model.loss(model.forward(x), tf.tensor1d(batch.y, 'int32'));
  }, vars);
  const out = new Map<string, Float32Array>();
  for (const p of model.params) out.set(p.name, (await grads[p.variable.name].data()) as Float32Array);
  const loss = (await value.data())[0];
  value.dispose();
  Object.values(grads).forEach((t) => t.dispose());
  return { loss, grads: out };
}
