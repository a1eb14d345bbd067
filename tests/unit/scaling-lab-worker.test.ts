/**
 * The sweep and fit messages of the training worker, outside the browser: the worker module runs
 * in Node against a stand-in for its global scope (as in worker.test.ts), on the cpu backend.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { defaultTrainConfig } from '../../src/core/config.ts';
import { spawn } from 'node:child_process';
import { generateMarkov, parseMarkovSpec } from '../../src/core/markov.ts';
import { parseLadder, sweepConfig } from '../../src/core/sweep.ts';
import type { SweepConfig, SweepFromWorker } from '../../workers/protocol.ts';
import { events, next, send, startWorker } from './worker-harness.ts';

const corpus = { name: 'markov', ...generateMarkov(parseMarkovSpec('markov:order=1,alphabet=6,length=40000')) };
const config: SweepConfig = {
  ladder: [
    { nLayer: 1, nHead: 1, nEmbd: 8 },
    { nLayer: 1, nHead: 1, nEmbd: 16 },
  ],
  blockSize: 16,
  dropout: 0,
  budget: { tokens: 8 * 16 * 6 }, // six steps of batch 8 × ctx 16
  points: 2,
  warmupFraction: 0,
  train: { ...defaultTrainConfig, batchSize: 8, learningRate: 1e-2, minLr: 1e-3, evalBatches: 2, logEvery: 1 },
};

beforeAll(async () => {
  await startWorker();
});

describe('train.worker sweeps and fits', () => {
  test('a sweep announces its plan, then streams each model, its steps and points, and ends with sweepDone', async () => {
    const done = next('sweepDone');
    send({
      type: 'sweep',
      id: 1,
      corpus: { name: corpus.name, text: corpus.text, entropyRate: corpus.entropyRate },
      config,
      startModel: 0,
    });
    expect(await done).toEqual({ type: 'sweepDone', id: 1, stopped: false, nextModel: 2 });
    const plan = events.find((e) => e.type === 'sweepPlan') as Extract<SweepFromWorker, { type: 'sweepPlan' }>;
    expect(plan).toMatchObject({ id: 1, steps: [6, 6], vocabSize: 6 });
    expect(plan.N[1]).toBeGreaterThan(plan.N[0]);
    const models = events.filter((e): e is Extract<SweepFromWorker, { type: 'sweepModel' }> => e.type === 'sweepModel');
    expect(models.map((m) => [m.model, m.N])).toEqual([
      [0, plan.N[0]],
      [1, plan.N[1]],
    ]);
    expect(events.filter((e) => e.type === 'sweepStep')).toHaveLength(12);
    const points = events.filter((e): e is Extract<SweepFromWorker, { type: 'sweepPoint' }> => e.type === 'sweepPoint').map((e) => e.point);
    expect(points.map((p) => [p.model, p.step])).toEqual([
      [0, 3],
      [0, 6],
      [1, 3],
      [1, 6],
    ]);
    for (const p of points) {
      expect(p.D).toBe(p.step * 8 * 16);
      // A few steps from a near-uniform start: between the source's entropy rate (no model beats
      // it) and ln 6 (uniform). A loss in bits, summed over positions, or from a diverged model is not.
      expect(p.loss).toBeGreaterThan(corpus.entropyRate - 0.05);
      expect(p.loss).toBeLessThan(Math.log(6) + 0.05);
    }
  });

  test("one worker's share of a sweep: only the models asked for train, with the points a whole sweep gives them", async () => {
    const whole = events.filter((e): e is Extract<SweepFromWorker, { type: 'sweepPoint' }> => e.type === 'sweepPoint' && e.id === 1);
    const done = next('sweepDone', (e) => e.id === 3);
    send({
      type: 'sweep',
      id: 3,
      corpus: { name: corpus.name, text: corpus.text, entropyRate: corpus.entropyRate },
      config,
      startModel: 0,
      models: [1],
    });
    // Model 1 trained to its end; model 0 was not asked for, so a whole-ladder resume would start there.
    expect(await done).toEqual({ type: 'sweepDone', id: 3, stopped: false, nextModel: 0 });
    const models = events.filter((e): e is Extract<SweepFromWorker, { type: 'sweepModel' }> => e.type === 'sweepModel' && e.id === 3);
    expect(models.map((m) => m.model)).toEqual([1]);
    const points = events.filter((e): e is Extract<SweepFromWorker, { type: 'sweepPoint' }> => e.type === 'sweepPoint' && e.id === 3);
    expect(points.map((e) => e.point)).toEqual(whole.filter((e) => e.point.model === 1).map((e) => e.point)); // bit for bit
  });

  test('the CLI and the Scaling lab plan the same sweep: the same models, steps and warm-up each', async () => {
    // The lab's fields, as ScalingLab builds its config from them (minLr = lr / 10).
    const fields = {
      ladder: parseLadder('1x8,2x16,2x32h4'),
      blockSize: 16,
      batchSize: 8,
      learningRate: 0.01,
      minLr: 0.001,
      budget: { tokensPerParam: 4 },
      points: 2,
    };
    const done = next('sweepDone');
    const planned = next('sweepPlan', (e) => e.id === 5);
    send({
      type: 'sweep',
      id: 5,
      corpus: { name: corpus.name, text: corpus.text, entropyRate: corpus.entropyRate },
      config: sweepConfig(fields),
      startModel: 0,
    });
    const app = await planned;
    send({ type: 'stopSweep' });
    await done;
    // The CLI with the same settings as flags: its start line is its plan (read, then the process is ended).
    const cli = spawn('node', [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'sweep',
      '--corpus',
      'markov:order=1,alphabet=6,length=40000',
      '--sizes',
      '1x8,2x16,2x32h4',
      '--tokens-per-param',
      '4',
      '--ctx',
      '16',
      '--batch',
      '8',
      '--lr',
      '0.01',
      '--min-lr',
      '0.001',
      '--points',
      '2',
      '--backend',
      'cpu',
    ]);
    const start = await new Promise<{ steps: number[]; warmupSteps: number[] }>((resolve, reject) => {
      let out = '';
      cli.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.includes('"type":"start"'));
        if (line) resolve(JSON.parse(line));
      });
      cli.on('exit', (code) => reject(new Error(`the CLI exited (${code}) before its start line`)));
    });
    cli.kill();
    expect(app.steps).toEqual(start.steps);
    expect(app.warmupSteps).toEqual(start.warmupSteps);
    expect(app.warmupSteps).toEqual(app.steps.map((n) => Math.floor(0.1 * n))); // 10% of each model's own steps
    expect(new Set(app.steps).size).toBe(3); // D ∝ N: three different lengths, so the per-model warm-up is seen
  });

  test('stopSweep ends it before the ladder is done, and says which model to resume from', async () => {
    const long = { ...config, budget: { tokens: 8 * 16 * 400 } };
    const done = next('sweepDone');
    send({ type: 'sweep', id: 2, corpus, config: long, startModel: 1 });
    await next('sweepStep');
    send({ type: 'stopSweep' });
    expect(await done).toEqual({ type: 'sweepDone', id: 2, stopped: true, nextModel: 1 });
    const models = events.filter((e) => e.type === 'sweepModel' && (e as { id: number }).id === 2);
    expect(models).toHaveLength(1); // it started at model 1, as asked
  });

  test('a second sweep while one runs is refused with its id', async () => {
    const long = { ...config, budget: { tokens: 8 * 16 * 400 } };
    const done = next('sweepDone');
    send({ type: 'sweep', id: 3, corpus, config: long, startModel: 0 });
    const refused = next('sweepError');
    send({ type: 'sweep', id: 4, corpus, config, startModel: 0 });
    expect(await refused).toMatchObject({ id: 4, during: 'sweep', message: expect.stringMatching(/a sweep is running/) });
    send({ type: 'stopSweep' });
    expect((await done).stopped).toBe(true);
  });

  test('fit answers with the law, its intervals and a prediction interval', async () => {
    const law = { E: 1.1, A: 30, B: 50, alpha: 0.35, beta: 0.3 };
    const points = [];
    for (const N of [1e3, 3e3, 1e4, 3e4])
      for (const D of [1e4, 3e4, 1e5]) points.push({ N, D, loss: law.E + law.A / N ** law.alpha + law.B / D ** law.beta });
    const fitted = next('fitted');
    send({ type: 'fit', id: 5, points, at: [{ N: 1e5, D: 1e6 }], samples: 20, seed: 1, plateau: null });
    const f = await fitted;
    expect(f.id).toBe(5);
    expect(f.identifiable).toBe(true);
    expect(f.reasons).toEqual([]);
    for (const k of ['E', 'A', 'B', 'alpha', 'beta'] as const) {
      expect(Math.abs(f.law[k] - law[k]) / law[k]).toBeLessThan(1e-2);
      expect(f.intervals[k][0]).toBeLessThanOrEqual(f.intervals[k][1]);
    }
    const [p] = f.predictions;
    const truth = law.E + law.A / 1e5 ** law.alpha + law.B / 1e6 ** law.beta;
    expect(p.loss).toBeCloseTo(truth, 2);
    expect(p.interval[0]).toBeLessThanOrEqual(p.loss + 1e-9);
    expect(p.interval[1]).toBeGreaterThanOrEqual(p.loss - 1e-9);
  });

  test('fit of points still on the plateau is not identifiable and predicts nothing', async () => {
    // Two sizes whose losses sit at the unigram level (3.1) and barely move: no law in them.
    const points = [];
    for (const N of [1e3, 2e3])
      for (const D of [1e4, 2e4, 4e4]) points.push({ N, D, loss: 3.2 - 0.01 * Math.log10(D) - 0.001 * Math.log10(N) });
    const fitted = next('fitted');
    send({ type: 'fit', id: 7, points, at: [{ N: 1e5, D: 1e6 }], samples: 20, seed: 1, plateau: 3.1 });
    const f = await fitted;
    expect(f.identifiable).toBe(false);
    expect(f.reasons.join(' ')).toMatch(/only 2 distinct model sizes/);
    expect(f.reasons.join(' ')).toMatch(/unigram level/);
    expect(f.predictions).toEqual([]);
  });

  test('fit refuses points it cannot fit, with its id', async () => {
    const refused = next('sweepError');
    send({ type: 'fit', id: 6, points: [{ N: 1, D: 1, loss: 1 }], at: [], samples: 10, seed: 1, plateau: null });
    expect(await refused).toMatchObject({ id: 6, during: 'fit' });
  });
});
