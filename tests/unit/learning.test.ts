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
    const trainer = new Trainer(model, { train: trainIds, val }, {
      ...microTrain,
      batchSize: 16,
      maxSteps: 300,
      learningRate: 1e-2,
      minLr: 1e-3,
      warmupSteps: 20,
      evalEvery: 100,
      evalBatches: 4,
    });
    const evals: number[] = [];
    await train(trainer, { onEval: (e) => evals.push(e.val) });
    expect(evals[0]).toBeGreaterThan(H); // starts near ln(vocab)
    expect(evals.at(-1)!).toBeLessThan(H);
    trainer.dispose();
    model.dispose();
  });

