/**
 * The worker's side of faults, in Node on the cpu backend: a forced NaN stops training with a
 * divergence that names its step, and a checkpoint from before it resumes at a scaled learning
 * rate; pings are answered, also while a run trains.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultModelConfig, defaultTrainConfig } from '../../src/core/config.ts';
import { events, next, send, startWorker } from './worker-harness.ts';

const corpus = { name: 'rhyme', text: 'Twinkle, twinkle, little star, how I wonder what you are. '.repeat(30) };
const model = { ...defaultModelConfig, nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 16 };
const train = {
  ...defaultTrainConfig,
  batchSize: 4,
  maxSteps: 40,
  warmupSteps: 0,
  minLr: 1e-3,
  learningRate: 1e-3,
  evalEvery: 0,
  evalBatches: 2,
  logEvery: 1,
};

beforeAll(startWorker);
afterAll(() => send({ type: 'reset' }));

describe('train.worker faults', () => {
  test('a ping is answered while a run trains', async () => {
    send({ type: 'start', id: 1, corpus, model, train });
    await next('step', (e) => e.step >= 2);
    const pong = next('pong', (e) => e.id === 41, 10_000);
    send({ type: 'ping', id: 41 });
    await pong;
    send({ type: 'stop' });
    await next('done');
  });

  test('a NaN in the weights stops training as a divergence at its step; a checkpoint before it resumes at half the rate', async () => {
    send({ type: 'start', id: 1, corpus, model, train });
    await next('step', (e) => e.step >= 5);
    send({ type: 'pause' });
    const { step: k } = await next('paused');
    const saved = next('saved', (e) => e.id === 1);
    send({ type: 'save', id: 1 });
    const { bytes } = await saved;

    // Break the model as an exploding update would: one weight becomes NaN.
    const weight = Object.values(tf.engine().state.registeredVariables)[0];
    const broken = tf.tidy(() => weight.add(tf.scalar(NaN)));
    weight.assign(broken);
    broken.dispose();
    const error = next('error');
    send({ type: 'resume' });
    const e = await error;
    expect(e).toMatchObject({ during: 'train', fault: 'divergence', step: k + 1 });
    expect(e.message).toMatch(new RegExp(`the loss became NaN at step ${k + 1} \\(learning rate 0\\.00100\\)`));

    const mark = events.length;
    const paused = next('paused');
    send({ type: 'load', id: 2, bytes, corpus, mode: 'resume', lrScale: 0.5 });
    expect((await paused).step).toBe(k);
    const step = next('step');
    send({ type: 'resume' });
    const first = await step;
    expect(first.step).toBe(k + 1);
    expect(first.lr).toBeCloseTo(5e-4, 10); // constant schedule (no warm-up, minLr = lr), halved
    expect(Number.isFinite(first.loss)).toBe(true);
    send({ type: 'stop' });
    await next('done');
    expect(events.slice(mark).some((x) => x.type === 'error')).toBe(false);
  });

  test('an lrScale outside (0, 1] is refused and the run is kept', async () => {
    send({ type: 'save', id: 3 });
    const { bytes } = await next('saved', (e) => e.id === 3);
    const error = next('error', (e) => e.during === 'load');
    send({ type: 'load', id: 4, bytes, corpus, mode: 'resume', lrScale: 2 });
    expect((await error).message).toMatch(/lrScale must be in \(0, 1\], got 2/);
  });
});
