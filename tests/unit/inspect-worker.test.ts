/**
 * 'inspect' through the training worker's messages, as the page sends it: attention maps of the
 * held-out text or of a given one, loss by position (whose mean is the eval's val loss at the
 * same step), the probe and the embedding map; refusals for a missing model and foreign text.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultModelConfig, defaultTrainConfig } from '../../src/core/config.ts';
import type { InspectRequest } from '../../workers/protocol.ts';
import { next, send, startWorker } from './worker-harness.ts';

const text = 'It is a truth universally acknowledged, that a single man in possession of a good fortune. '.repeat(30);
const model = { ...defaultModelConfig, nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 16 };
const train = { ...defaultTrainConfig, batchSize: 4, maxSteps: 20, warmupSteps: 3, evalEvery: 10, evalBatches: 2, logEvery: 2 };
const everything: InspectRequest = { text: null, positions: true, probe: true, embedding: true };

let id = 0;
async function ask(request: InspectRequest) {
  const n = ++id;
  const answer = Promise.race([
    next('inspected', (e) => e.id === n),
    next('error', (e) => e.during === 'inspect' && e.id === n).then((e) => {
      throw new Error(e.message);
    }),
  ]);
  send({ type: 'inspect', id: n, request });
  return (await answer).inspection;
}

beforeAll(async () => {
  await startWorker();
});

afterAll(() => {
  send({ type: 'reset' });
});

describe('inspect in the worker', () => {
  test('without a model it says so', async () => {
    await expect(ask(everything)).rejects.toThrow(/no model to look inside yet/);
  });

  test('a finished run: maps of the held-out text, loss by position averaging to the last val loss, the probe and the embedding map', async () => {
    const done = next('done');
    const lastEval = next('eval', (e) => e.step === 20);
    send({ type: 'start', id: 1, corpus: { name: 'austen', text }, model, train });
    const run = await next('run');
    const { val } = await lastEval;
    await done;
    const inside = await ask(everything);
    expect(inside.step).toBe(20);
    const T = model.blockSize;
    expect(inside.chars).toHaveLength(T);
    expect(inside.chars.every((c) => run.vocab.includes(c))).toBe(true);
    expect(inside.maps.weights).toHaveLength(model.nLayer * model.nHead * T * T);
    expect(inside.maps.surprisal).toHaveLength(T - 1);
    expect(inside.positions).toHaveLength(T);
    const mean = inside.positions!.reduce((a, b) => a + b, 0) / T;
    expect(mean).toBeCloseTo(val, 5);
    expect(inside.probe).toMatchObject({ length: 8, trials: 8 }); // half the context of 16
    expect(inside.probe!.chance).toBeCloseTo(Math.log(run.vocab.length), 12); // no line break in this text
    expect(inside.probe!.induction).toHaveLength(model.nLayer * model.nHead);
    expect(inside.embedding!.points).toHaveLength(run.vocab.length);
    expect(inside.embedding!.chars).toEqual(run.vocab);
  });

  test('a given text: its last ctx characters; a character the model never saw is refused by name', async () => {
    const inside = await ask({ text: 'a truth universally acknowledged', positions: false, probe: false, embedding: false });
    expect(inside.chars.join('')).toBe('lly acknowledged');
    expect(inside.positions).toBeNull();
    expect(inside.probe).toBeNull();
    expect(inside.embedding).toBeNull();
    await expect(ask({ ...everything, text: 'truth§' })).rejects.toThrow(/"§" is not in this model's vocabulary/);
  });
});
