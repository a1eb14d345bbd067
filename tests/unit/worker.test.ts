/**
 * The training worker's message handling, outside the browser: the worker module runs in Node
 * against a stand-in for its global scope, on the cpu backend, and is driven only through the
 * protocol, as the page drives it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultModelConfig, defaultTrainConfig } from '../../src/core/config.ts';
import type { ToWorker } from '../../workers/protocol.ts';
import { events, next, send, startWorker } from './worker-harness.ts';

const text = 'It is a truth universally acknowledged, that a single man in possession of a good fortune. '.repeat(30);
const model = { ...defaultModelConfig, nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 16 };
const train = { ...defaultTrainConfig, batchSize: 4, maxSteps: 30, warmupSteps: 3, evalEvery: 10, evalBatches: 2, logEvery: 2 };
const start = (over: Partial<typeof train> = {}, m = model): ToWorker => ({
  type: 'start',
  id: 1,
  corpus: { name: 'austen', text },
  model: m,
  train: { ...train, ...over },
});

/** Trains a whole run from here (each test that needs a model makes its own) and returns its losses. */
async function wholeRun(over: Partial<typeof train> = {}): Promise<number[]> {
  const mark = events.length;
  const done = next('done');
  send(start(over));
  await done;
  return events
    .slice(mark)
    .filter((e) => e.type === 'step')
    .map((e) => e.loss);
}

beforeAll(async () => {
  await startWorker();
});

afterAll(() => {
  send({ type: 'reset' });
});

describe('train.worker', () => {
  test('init reports the backend it runs on, and what a run may hold there and how fast a product runs', () => {
    const ready = events.find((e) => e.type === 'ready');
    expect(ready).toMatchObject({
      type: 'ready',
      backend: 'cpu',
      adapter: 'pure JavaScript',
      skipped: [],
      capacity: { backend: 'cpu', maxBufferBytes: null },
    });
    if (ready?.type !== 'ready') throw new Error('no ready event');
    // Node has no navigator.deviceMemory: the tab's usual 4 GiB, said as such.
    expect(ready.capacity.memoryBytes).toBe(4 * 1024 ** 3);
    expect(ready.capacity.memoryOf).toMatch(/does not say its memory/);
    // Pure JavaScript multiplies at tens of MFLOP/s to a few GFLOP/s, whatever the load.
    expect(ready.capacity.flopsPerSecond).toBeGreaterThan(1e6);
    expect(ready.capacity.flopsPerSecond).toBeLessThan(1e11);
  });

  test('start describes the run, streams every step with its batch and evals, and ends with done', async () => {
    const done = next('done');
    send(start());
    const run = await next('run');
    expect(run).toMatchObject({ corpus: 'austen', sampling: 'random', maxSteps: 30, tokensPerStep: 64 });
    expect(run.vocab.join('')).toBe([...new Set(text)].sort().join(''));
    const { summary, stopped } = await done;
    expect(stopped).toBe(false);
    expect(summary).toMatchObject({ type: 'summary', steps: 30, backend: 'cpu' });
    const steps = events.filter((e) => e.type === 'step');
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    for (const s of steps) expect(s.starts).toHaveLength(4);
    expect(events.filter((e) => e.type === 'eval').map((e) => e.step)).toEqual([0, 10, 20, 30]);
  });

  test('sample streams exactly the asked characters, score and probs answer by id', async () => {
    await wholeRun({ maxSteps: 6 });
    const before = events.length;
    send({ type: 'sample', id: 7, prompt: 'It is', length: 12, temperature: 0.5, seed: 1 });
    await next('sampleDone', (e) => e.id === 7);
    const tokens = events.slice(before).filter((e) => e.type === 'sampleToken');
    expect(tokens).toHaveLength(12);
    expect(tokens.every((t) => t.id === 7 && [...t.text].length === 1)).toBe(true);

    const scored = next('scored', (e) => e.id === 8);
    send({ type: 'score', id: 8, text: 'a truth' });
    const { score } = await scored;
    expect(score.surprisal).toHaveLength(6);
    expect(score.logProb).toBeLessThan(0);

    const probs = next('probs', (e) => e.id === 9);
    send({ type: 'probs', id: 9, prompt: 'a tru' });
    const p = (await probs).probs;
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  });

  test('requests that cannot be met are errors with their id, and change nothing', async () => {
    await wholeRun({ maxSteps: 2 });
    const bad = next('error', (e) => e.during === 'sample');
    send({ type: 'sample', id: 10, prompt: 'Zebra', length: 5, temperature: 1, seed: 1 });
    expect(await bad).toMatchObject({ id: 10, message: expect.stringMatching(/"Z" \(U\+005A\)/) });
    const badScore = next('error', (e) => e.during === 'score');
    send({ type: 'score', id: 11, text: 'a' });
    expect(await badScore).toMatchObject({ id: 11, message: expect.stringMatching(/at least 2 characters/) });
  });

  test('an impossible config is refused at start, and the previous model stays usable', async () => {
    await wholeRun({ maxSteps: 2 });
    const refused = next('error', (e) => e.during === 'start');
    send(start({}, { ...model, nHead: 3 }));
    expect((await refused).message).toMatch(/divisible by nHead/);
    const sampled = next('sampleDone', (e) => e.id === 12);
    send({ type: 'sample', id: 12, prompt: 'a', length: 3, temperature: 1, seed: 2 });
    await sampled;
  });

  test('pause keeps the model and resume continues the same run to the same losses', async () => {
    // The reference: an uninterrupted run with the same seed.
    const reference = await wholeRun();
    const mark = events.length;
    send(start());
    await next('step', (e) => e.step >= 4);
    send({ type: 'pause' });
    const paused = await next('paused');
    // Sampling while paused does not disturb the run.
    send({ type: 'sample', id: 13, prompt: 'It', length: 5, temperature: 1, seed: 3 });
    await next('sampleDone', (e) => e.id === 13);
    const done = next('done');
    send({ type: 'resume' });
    await done;
    const losses = events
      .slice(mark)
      .filter((e) => e.type === 'step')
      .map((e) => e.loss);
    // Paused between two steps: at the step of the last step event before it, with every earlier step reported.
    const at = events.findIndex((e, i) => i >= mark && e.type === 'paused');
    const before = events.slice(mark, at).filter((e) => e.type === 'step');
    expect(before.map((e) => e.step)).toEqual(Array.from({ length: paused.step }, (_, i) => i + 1));
    expect(losses).toEqual(reference);
  });

  test('sampling while training is answered between steps', async () => {
    const done = next('done');
    send(start({ maxSteps: 200 }));
    await next('step', (e) => e.step >= 2);
    send({ type: 'sample', id: 14, prompt: 'It', length: 4, temperature: 1, seed: 4 });
    const sampleDone = await next('sampleDone', (e) => e.id === 14);
    expect(sampleDone.id).toBe(14);
    const during = events.filter((e) => e.type === 'step').at(-1)!;
    const halting = next('halting');
    send({ type: 'stop' });
    const { stopped, summary } = await done;
    expect(stopped).toBe(true);
    // The loop said it took the stop (the page stops waiting to end the worker) before the final evaluation.
    const took = await halting;
    expect(took.step).toBe(summary.steps);
    expect(events.indexOf(took)).toBeLessThan(events.findIndex((e) => e.type === 'done'));
    expect(summary.steps).toBeLessThan(200);
    expect(during.step).toBeLessThan(200);
  });

  test('reset frees the model: sampling afterwards says there is none', async () => {
    send({ type: 'reset' });
    await next('reset');
    const err = next('error', (e) => e.during === 'sample');
    send({ type: 'sample', id: 15, prompt: 'a', length: 1, temperature: 1, seed: 1 });
    expect((await err).message).toMatch(/no model/);
  });
});
