import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { splitTrainVal, type Batch } from '../../src/core/batching.ts';
import { noiseTerms, type NoiseEvent } from '../../src/core/noise-scale.ts';
import { Rng } from '../../src/core/rng.ts';
import { GPT } from '../../workers/model.ts';
import { createRun, disposeRun, prepareRun } from '../../workers/run.ts';
import { Trainer, train, type StepEvent } from '../../workers/train.ts';
import { lossAndGrads, microModel, microTrain, paramValues, syntheticIds } from '../helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const data = splitTrainVal(syntheticIds(4000, microModel.vocabSize), microModel.blockSize);
const T = microModel.blockSize;

/** Σ g² over every parameter's gradient. */
function sumSquares(grads: Map<string, Float32Array>): number {
  let s = 0;
  for (const g of grads.values()) for (const x of g) s += x * x;
  return s;
}

/** Rows `rows` of `pool` as one minibatch. */
function batchOf(pool: Batch, rows: number[]): Batch {
  const x = new Int32Array(rows.length * T);
  const y = new Int32Array(rows.length * T);
  rows.forEach((r, i) => {
    x.set(pool.x.subarray(r * T, (r + 1) * T), i * T);
    y.set(pool.y.subarray(r * T, (r + 1) * T), i * T);
  });
  return { x, y, starts: rows.map((r) => pool.starts[r]), epoch: 0 };
}

async function read(t: tf.Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

describe('the measured step', () => {
  test("its norms are the squared norms of the whole minibatch's gradient and of its first half's", async () => {
    const model = new GPT(microModel, 3);
    const trainer = new Trainer(model, data, { ...microTrain, batchSize: 6 });
    const batch = trainer.batcher.getBatch();
    const whole = await lossAndGrads(model, batch);
    const half = await lossAndGrads(model, batchOf(batch, [0, 1, 2]));
    const { loss, norms } = trainer.trainStepMeasured(batch);
    const [bigSq, smallSq] = await read(norms);
    expect((await read(loss))[0]).toBeCloseTo(whole.loss, 5);
    expect(bigSq / sumSquares(whole.grads) - 1).toBeCloseTo(0, 5);
    expect(smallSq / sumSquares(half.grads) - 1).toBeCloseTo(0, 5);
    expect(smallSq).toBeGreaterThan(bigSq); // fewer rows, noisier gradient: on average larger
    trainer.dispose();
    model.dispose();
  });

  test('measuring leaves the run exactly as it was: the same losses and weights, dropout included', async () => {
    const run = async (every: number) => {
      const r = createRun(
        prepareRun(text(), { blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0.1 }, { ...microTrain, maxSteps: 12 }),
      );
      const losses: number[] = [];
      await train(r.trainer, { onStep: (e) => losses.push(e.loss), noiseScaleEvery: every });
      const weights = await paramValues(r.model);
      disposeRun(r);
      return { losses, weights };
    };
    const plain = await run(0);
    const measured = await run(1);
    expect(measured.losses).toEqual(plain.losses);
    for (const [name, w] of plain.weights) expect(measured.weights.get(name), name).toEqual(w);
  });

  test('train() reports a noise line after every Nth step, smoothed, with B_simple in sequences and tokens', async () => {
    const r = createRun(
      prepareRun(text(), { blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 }, { ...microTrain, batchSize: 4, maxSteps: 14 }),
    );
    const order: string[] = [];
    const noise: NoiseEvent[] = [];
    await train(r.trainer, {
      onStep: (e: StepEvent) => order.push(`step ${e.step}`),
      onNoise: (e) => {
        order.push(`noise ${e.step}`);
        noise.push(e);
      },
      noiseScaleEvery: 5,
    });
    expect(noise.map((e) => e.step)).toEqual([5, 10]);
    expect(order.indexOf('noise 5')).toBe(order.indexOf('step 5') + 1);
    for (const e of noise) {
      expect(e).toMatchObject({ type: 'noise', batch: 4, small: 2 });
      expect(Number.isFinite(e.gSq) && Number.isFinite(e.trSigma)).toBe(true);
      if (e.bSimple !== null) expect(e.bSimpleTokens).toBeCloseTo(e.bSimple * 8, 9);
    }
    disposeRun(r);
  });

  test('a batch of one is never measured (there is no smaller batch to compare with)', async () => {
    const r = createRun(
      prepareRun(text(), { blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 }, { ...microTrain, batchSize: 1, maxSteps: 4 }),
    );
    const noise: NoiseEvent[] = [];
    await train(r.trainer, { onNoise: (e) => noise.push(e), noiseScaleEvery: 1 });
    expect(noise).toEqual([]);
    disposeRun(r);
  });
});

test('on a fixed model whose per-example gradients are computed exactly, the estimates recover |G|² and tr Σ within 10%', async () => {
  // A pool of P sequences is the whole distribution: minibatches draw rows from it with
  // replacement, so G is the mean of the P per-row gradients and Σ their population covariance.
  const model = new GPT(microModel, 11);
  const P = 24;
  const trainer = new Trainer(model, data, { ...microTrain, batchSize: P });
  const pool = trainer.batcher.getBatch();
  const perRow: Float32Array[] = [];
  for (let r = 0; r < P; r++) {
    const { grads } = await lossAndGrads(model, batchOf(pool, [r]));
    perRow.push(Float32Array.from([...grads.values()].flatMap((g) => Array.from(g))));
  }
  const n = perRow[0].length;
  const mean = new Float64Array(n);
  for (const g of perRow) for (let j = 0; j < n; j++) mean[j] += g[j] / P;
  const gSq = mean.reduce((s, m) => s + m * m, 0);
  const meanSq = perRow.reduce((s, g) => s + g.reduce((a, x) => a + x * x, 0), 0) / P;
  const trSigma = meanSq - gSq;

  const rng = new Rng(5);
  const draws = 300;
  let estG = 0;
  let estS = 0;
  for (let i = 0; i < draws; i++) {
    const rows = Array.from({ length: 8 }, () => rng.int(P));
    const [bigSq, smallSq] = await read(trainer.gradientNorms(batchOf(pool, rows), 4));
    const t = noiseTerms({ big: 8, small: 4, bigSq, smallSq });
    estG += t.gSq / draws;
    estS += t.trSigma / draws;
  }
  expect(Math.abs(estG / gSq - 1)).toBeLessThan(0.1);
  expect(Math.abs(estS / trSigma - 1)).toBeLessThan(0.1);
  trainer.dispose();
  model.dispose();
}, 120_000);

test('tf.memory().numTensors stays flat across 1,000 measured steps (cpu)', async () => {
  const r = createRun(
    prepareRun(
      text(),
      { blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0.1 },
      { ...microTrain, batchSize: 4, maxSteps: 1020, evalEvery: 250, logEvery: 3 },
    ),
  );
  const hooks = { noiseScaleEvery: 1, onNoise: () => {} };
  await train(r.trainer, { ...hooks, shouldStop: () => r.trainer.step >= 20 }); // warm-up: masks and such
  const before = tf.memory();
  let measured = 0;
  await train(r.trainer, { ...hooks, onNoise: () => void measured++ }, { trainMs: 0, tokens: 0 });
  const after = tf.memory();
  expect(r.trainer.step).toBe(1020);
  expect(measured).toBe(1000);
  expect(after.numTensors).toBe(before.numTensors);
  expect(after.numBytes).toBe(before.numBytes);
  disposeRun(r);
}, 300_000);

function text(): string {
  return 'the quick brown fox jumps over the lazy dog. '.repeat(60);
}
