import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { splitTrainVal } from '../../src/core/batching.ts';
import { GPT } from '../../workers/model.ts';
import { createRun, disposeRun, prepareRun } from '../../workers/run.ts';
import { DivergenceError, Trainer, train, type StepEvent } from '../../workers/train.ts';
import { lossAndGrads, microModel, microTrain, paramValues, syntheticIds } from '../helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ids = syntheticIds(4000, microModel.vocabSize);
const data = splitTrainVal(ids, microModel.blockSize);

describe('getLr', () => {
  test('warms up linearly, then decays on a cosine to minLr', () => {
    const model = new GPT(microModel, 1);
    const t = new Trainer(model, data, { ...microTrain, learningRate: 1e-2, minLr: 1e-3, warmupSteps: 9, maxSteps: 109 });
    expect(t.getLr(0)).toBeCloseTo(1e-3, 12); // (0+1)/(9+1) of the peak
    expect(t.getLr(4)).toBeCloseTo(5e-3, 12);
    expect(t.getLr(9)).toBeCloseTo(1e-2, 12); // peak right after warm-up
    expect(t.getLr(59)).toBeCloseTo(5.5e-3, 12); // half way down the cosine
    expect(t.getLr(109)).toBeCloseTo(1e-3, 12);
    for (let i = 10; i < 109; i++) expect(t.getLr(i)).toBeLessThanOrEqual(t.getLr(i - 1));
    t.dispose();
    model.dispose();
  });
});

describe('AdamW', () => {
  test('one step equals a hand-computed update (clipping, bias correction, decoupled decay on matrices only)', async () => {
    const model = new GPT(microModel, 3);
    const cfg = { ...microTrain, learningRate: 0.01, warmupSteps: 0, weightDecay: 0.1, gradClip: 0.5, beta1: 0.9, beta2: 0.99, eps: 1e-8 };
    const trainer = new Trainer(model, data, cfg);
    const batch = trainer.batcher.getBatch();
    const before = await paramValues(model);
    // Gradients of the same loss on the same batch, computed independently.
    const { loss: expectedLoss, grads: g } = await lossAndGrads(model, batch);

    const loss = trainer.trainStep(batch);
    expect((await loss.data())[0]).toBeCloseTo(expectedLoss, 5);
    loss.dispose();

    let sq = 0;
    for (const v of g.values()) for (const x of v) sq += x * x;
    const norm = Math.sqrt(sq);
    expect(norm).toBeGreaterThan(cfg.gradClip); // so the clip is exercised
    const scale = Math.min(1, cfg.gradClip / (norm + 1e-6));
    const lr = trainer.getLr(0);
    const after = await paramValues(model);
    for (const { name, variable } of model.params) {
      const p0 = before.get(name)!;
      const gi = g.get(name)!;
      const decay = variable.rank >= 2 ? cfg.weightDecay : 0;
      const got = after.get(name)!;
      for (let i = 0; i < p0.length; i++) {
        const gc = gi[i] * scale;
        const m = (1 - cfg.beta1) * gc;
        const v = (1 - cfg.beta2) * gc * gc;
        const mhat = m / (1 - cfg.beta1);
        const vhat = v / (1 - cfg.beta2);
        const want = p0[i] * (1 - lr * decay) - (lr * mhat) / (Math.sqrt(vhat) + cfg.eps);
        expect(Math.abs(got[i] - want), `${name}[${i}]`).toBeLessThan(1e-6 + 1e-4 * Math.abs(want));
      }
    }
    trainer.dispose();
    model.dispose();
  });
});

describe('train', () => {
  test('reports every step once, in order, with the learning rate of that step', async () => {
    const run = createRun(
      prepareRun(
        prepareText(),
        { blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 },
        { ...microTrain, maxSteps: 13, logEvery: 5, evalEvery: 6 },
      ),
    );
    const steps: StepEvent[] = [];
    const evalSteps: number[] = [];
    await train(run.trainer, { onStep: (e) => steps.push(e), onEval: (e) => evalSteps.push(e.step) });
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    steps.forEach((s) => expect(s.lr).toBe(run.trainer.getLr(s.step - 1)));
    expect(evalSteps).toEqual([0, 6, 12, 13]);
    disposeRun(run);
  });

  test('a finished run is handed over (to be saved) after its last step and before its final evaluation', async () => {
    const run = createRun(
      prepareRun(
        prepareText(),
        { blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 },
        { ...microTrain, maxSteps: 9, logEvery: 4, evalEvery: 6 },
      ),
    );
    const order: string[] = [];
    await train(run.trainer, {
      onStep: (e) => order.push(`step ${e.step}`),
      onEval: (e) => order.push(`eval ${e.step}`),
      onTrained: async () => {
        order.push(`trained at ${run.trainer.step}`);
      },
    });
    expect(order.slice(-3)).toEqual(['step 9', 'trained at 9', 'eval 9']);
    expect(order.filter((o) => o.startsWith('trained'))).toHaveLength(1); // not at the intermediate eval
    // A stopped run is not finished: nothing is handed over.
    const stopped = createRun(
      prepareRun(prepareText(), { blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 }, { ...microTrain, maxSteps: 9 }),
    );
    let handed = false;
    await train(stopped.trainer, { shouldStop: () => stopped.trainer.step >= 3, onTrained: async () => void (handed = true) });
    expect(handed).toBe(false);
    disposeRun(run);
    disposeRun(stopped);
  });

  test('a paused and resumed run gives the same losses as an uninterrupted one', async () => {
    const cfg = { ...microTrain, maxSteps: 20 };
    const losses = async (pauseAt?: number) => {
      const run = createRun(prepareRun(prepareText(), { blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0.1 }, cfg));
      const out: number[] = [];
      const onStep = (e: StepEvent) => out.push(e.loss);
      await train(run.trainer, { onStep, shouldStop: () => pauseAt !== undefined && run.trainer.step >= pauseAt });
      await train(run.trainer, { onStep });
      disposeRun(run);
      return out;
    };
    const straight = await losses();
    expect(straight).toHaveLength(20);
    expect(await losses(7)).toEqual(straight);
  });

  test('a NaN loss stops training with a message naming the step and the learning rate', async () => {
    const model = new GPT(microModel, 1);
    const trainer = new Trainer(model, data, { ...microTrain, maxSteps: 30 });
    const seen: number[] = [];
    await train(trainer, { onStep: (e) => seen.push(e.step), shouldStop: () => trainer.step >= 10 });
    tf.tidy(() => model.lnF.assign(tf.fill([microModel.nEmbd], NaN)));
    const err = await train(trainer, { onStep: (e) => seen.push(e.step) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DivergenceError);
    expect((err as DivergenceError).step).toBe(11);
    expect((err as Error).message).toMatch(/loss became NaN at step 11 \(learning rate .*\)/);
    expect(seen.at(-1)).toBe(10); // no step after the NaN was reported as fine
    trainer.dispose();
    model.dispose();
  });

  test('tf.memory().numTensors stays flat across 200 training steps', async () => {
    const run = createRun(
      prepareRun(
        prepareText(),
        { blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0.1 },
        { ...microTrain, maxSteps: 220, evalEvery: 50 },
      ),
    );
    await train(run.trainer, { shouldStop: () => run.trainer.step >= 20 }); // warm-up: masks and such
    const before = tf.memory();
    await train(run.trainer, {});
    const after = tf.memory();
    expect(run.trainer.step).toBe(220);
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    disposeRun(run);
  });

  test('config errors name the setting before anything is allocated', () => {
    const before = tf.memory().numTensors;
    expect(() => prepareRun('abc'.repeat(100), { blockSize: 8, nLayer: 1, nHead: 3, nEmbd: 8, dropout: 0 }, microTrain)).toThrow(
      /divisible by nHead/,
    );
    expect(() =>
      prepareRun('abc'.repeat(100), { blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 }, { ...microTrain, learningRate: -1 }),
    ).toThrow(/learningRate/);
    expect(() => prepareRun('abc', { blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 }, microTrain)).toThrow(
      /3 characters: too short for a context of 8/,
    );
    expect(() =>
      prepareRun(
        'abcdefgh'.repeat(20),
        { blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 },
        { ...microTrain, batchSize: 64, sampling: 'sequential' },
      ),
    ).toThrow(/sequential partitioning into 64 streams/);
    expect(tf.memory().numTensors).toBe(before);
  });
});

function prepareText(): string {
  return 'the quick brown fox jumps over the lazy dog. '.repeat(60);
}

test('creating and disposing a run leaves no tensor behind', () => {
  const before = tf.memory();
  const run = createRun(prepareRun(prepareText(), { blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0 }, microTrain));
  disposeRun(run);
  expect(tf.memory().numTensors).toBe(before.numTensors);
  expect(tf.memory().numBytes).toBe(before.numBytes);
});

describe('estimateLoss', () => {
  test('holds one evaluation batch at a time: each forward pass starts with the tensors of the one before freed', async () => {
    const model = new GPT(microModel, 5);
    const trainer = new Trainer(model, data, { ...microTrain, evalBatches: 6 });
    const live: number[] = []; // tensors alive as each batch's forward pass begins
    const forward = model.forward.bind(model);
    model.forward = (...args: Parameters<GPT['forward']>) => {
      live.push(tf.memory().numTensors);
      return forward(...args);
    };
    const { train, val } = await trainer.estimateLoss();
    expect(Number.isFinite(train) && Number.isFinite(val)).toBe(true);
    expect(live).toHaveLength(12); // 6 train batches, then 6 val batches
    expect(new Set(live.slice(1)).size).toBe(1); // flat: nothing piles up from batch to batch
    trainer.dispose();
    model.dispose();
  });
  test('a stop abandons an evaluation between its batches: train() ends at once, reporting no evaluation and freeing it all', async () => {
    const model = new GPT(microModel, 5);
    const trainer = new Trainer(model, data, { ...microTrain, evalEvery: 4, evalBatches: 20, maxSteps: 50 });
    await trainer.estimateLoss(); // the model's first pass makes what it keeps (its causal mask)
    const before = tf.memory().numTensors;
    let asked = 0;
    let forwards = 0;
    const forward = model.forward.bind(model);
    model.forward = (...args: Parameters<GPT['forward']>) => {
      forwards++;
      return forward(...args);
    };
    const evals: number[] = [];
    // Asked before each batch: the stop comes in after three of the first evaluation's batches.
    await train(trainer, { abandon: () => ++asked > 3, onEval: (e) => evals.push(e.step) });
    expect(forwards).toBe(3); // of the 40 the evaluation at step 0 would run
    expect(evals).toEqual([]);
    expect(trainer.step).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    expect(await trainer.estimateLoss(() => false)).not.toBeNull(); // never abandoned: the whole evaluation
    trainer.dispose();
    model.dispose();
  });
});
