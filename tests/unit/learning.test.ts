import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, expect, test } from 'vitest';
import { loadCorpus } from '../../datasets/corpora.ts';
import { splitTrainVal } from '../../src/core/batching.ts';
import { CharTokenizer } from '../../src/core/tokenizer.ts';
import { GPT } from '../../workers/model.ts';
import { Trainer, train } from '../../workers/train.ts';
import { microTrain } from '../helpers.ts';

// wasm: the same kernels as the browser fallback, and ~20× faster than the pure-JS cpu backend.
beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
});

test('on a small config the loss falls below the corpus unigram entropy within a few hundred steps', async () => {
  const text = loadCorpus('moby-dick').slice(0, 200_000);
  const tok = CharTokenizer.fromText(text);
  const { train: trainIds, val } = splitTrainVal(tok.encode(text), 32);
  // Unigram entropy of the train split: what a model that ignores context achieves at best.
  const counts = new Map<number, number>();
  for (const id of trainIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  let H = 0;
  for (const c of counts.values()) H -= (c / trainIds.length) * Math.log(c / trainIds.length);
  expect(H).toBeGreaterThan(2.5);

  const model = new GPT({ vocabSize: tok.size, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 32, dropout: 0 }, 1);
  const trainer = new Trainer(
    model,
    { train: trainIds, val },
    {
      ...microTrain,
      batchSize: 16,
      maxSteps: 300,
      learningRate: 1e-2,
      minLr: 1e-3,
      warmupSteps: 20,
      evalEvery: 100,
      evalBatches: 4,
    },
  );
  const evals: number[] = [];
  await train(trainer, { onEval: (e) => evals.push(e.val) });
  expect(evals[0]).toBeGreaterThan(H); // starts near ln(vocab)
  expect(evals.at(-1)!).toBeLessThan(H);
  trainer.dispose();
  model.dispose();
});

test('learns a task only attention can solve: repeat the character 4 places back', async () => {
  // Segments of 32: four random characters, then those four repeated. Given only the current
  // character the next is uniform (a bigram model stays at ln 20 ≈ 3.0); attending 4 back
  // predicts 7/8 of each segment exactly.
  const { Rng } = await import('../../src/core/rng.ts');
  const rng = new Rng(1);
  const V = 20;
  const ids = new Int32Array(60000);
  for (let s = 0; s < ids.length; s += 32) {
    const seg = [0, 1, 2, 3].map(() => rng.int(V));
    for (let j = 0; j < 32 && s + j < ids.length; j++) ids[s + j] = seg[j % 4];
  }
  const model = new GPT({ vocabSize: V, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32, dropout: 0 }, 1);
  const trainer = new Trainer(model, splitTrainVal(ids, 16), {
    ...microTrain,
    batchSize: 16,
    maxSteps: 200,
    learningRate: 1e-2,
    minLr: 1e-3,
    warmupSteps: 20,
    evalEvery: 0,
    evalBatches: 4,
  });
  const stats = await train(trainer);
  expect(stats.lastEval!.val).toBeLessThan(1.6);
  trainer.dispose();
  model.dispose();
});
