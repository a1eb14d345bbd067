/**
 * The in-context probe tells a model that copies from its context from one that does not: the same
 * model, before and after a few hundred steps on the copy corpus (wasm, so it takes seconds). Lines
 * of 8 random letters written twice, a context of 16, and probe sequences of 8 letters shown twice:
 * a model that has learnt to copy what it saw 8 characters back predicts the second copy.
 */
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { generateCopy } from '../../src/core/copy.ts';
import { defaultTrainConfig } from '../../src/core/config.ts';
import { probeChoices } from '../../src/core/icl.ts';
import { probe } from '../../workers/inspect.ts';
import { createRun, disposeRun, prepareRun } from '../../workers/run.ts';

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

test('the probe separates a model trained on the copy corpus from the same model untrained', async () => {
  const { text } = generateCopy({ alphabet: 8, min: 8, max: 8, length: 100_000 });
  const prepared = prepareRun(
    text,
    { blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0 },
    { ...defaultTrainConfig, batchSize: 32, maxSteps: 400, learningRate: 3e-3, minLr: 3e-4, warmupSteps: 50, evalEvery: 0, evalBatches: 2 },
  );
  const run = createRun(prepared);
  const opts = { length: 8, trials: 16, seed: 3, choices: probeChoices(run.tokenizer.vocab) };
  try {
    const before = await probe(run.model, opts);
    expect(before.chance).toBeCloseTo(Math.log(8), 12); // the eight letters; never the newline
    expect(Math.abs(before.score)).toBeLessThan(0.1);
    for (let i = 0; i < 400; i++) run.trainer.trainStep().dispose();
    const after = await probe(run.model, opts);
    // The first copy is still a guess; the second costs less than half of chance.
    expect(after.first).toBeGreaterThan(0.8 * after.chance);
    expect(after.score).toBeGreaterThan(after.chance / 2);
    expect(after.second).toBeLessThan(after.chance / 2);
  } finally {
    disposeRun(run);
  }
});
