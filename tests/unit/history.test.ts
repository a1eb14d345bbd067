import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../../workers/checkpoint.ts';
import {
  HISTORY_BINS,
  HISTORY_EVALS,
  HISTORY_EXACT,
  historyUpTo,
  pushLoss,
  stepsOf,
  thinHistory,
  type RunHistory,
} from '../../workers/history.ts';
import { GPT } from '../../workers/model.ts';
import { microModel } from '../helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A long run's curve: a power law in the step with a little deterministic wiggle. */
function longHistory(steps: number, evalEvery: number): RunHistory {
  const losses = Array.from({ length: steps }, (_, i) => 1.5 + 3 * (i + 1) ** -0.3 + 0.01 * Math.sin(i));
  const evals = Array.from({ length: Math.floor(steps / evalEvery) }, (_, i) => ({ step: (i + 1) * evalEvery, train: 2, val: 2.1 }));
  return { losses, evals };
}

/** The mean loss over steps (from, to], by the 1..n history. */
const meanOver = (losses: number[], from: number, to: number) => losses.slice(from, to).reduce((a, b) => a + b, 0) / (to - from);

describe('a checkpoint of a run with an enormous history', () => {
  test(
    '6 million steps (one loss each is past the reader’s 100 MiB): the checkpoint loads, its curve kept',
    { timeout: 120_000 },
    async () => {
      const steps = 6_000_000;
      const history = longHistory(steps, 1);
      // Unthinned, its header alone would pass the reader's limit.
      expect(JSON.stringify(history.losses).length).toBeGreaterThan(100 * 1024 ** 2);
      const model = new GPT(microModel, 1);
      const bytes = await saveCheckpoint(model, { vocab: [...'abcdefghijk'], history });
      model.dispose();
      expect(bytes.length).toBeLessThan(2 * 1024 ** 2);
      const ck = loadCheckpoint(bytes);
      ck.model.dispose();
      const kept = ck.meta.history!;
      expect(kept.losses.length).toBeLessThanOrEqual(HISTORY_EXACT + HISTORY_BINS);
      const at = stepsOf(kept);
      expect(at.at(-1)).toBe(steps);
      for (let i = 1; i < at.length; i++) expect(at[i]).toBeGreaterThan(at[i - 1]);
      // The last HISTORY_EXACT steps exactly; every earlier point is its bin's mean.
      expect(kept.losses.slice(-HISTORY_EXACT)).toEqual(history.losses.slice(-HISTORY_EXACT));
      const firstExact = kept.losses.length - HISTORY_EXACT;
      for (const i of [0, 1, 10, firstExact >> 1, firstExact - 1]) {
        const from = i === 0 ? 0 : at[i - 1];
        expect(kept.losses[i]).toBeCloseTo(meanOver(history.losses, from, at[i]), 9);
      }
      // The first steps (where the curve moves fastest) stay one per point; bins widen on a log scale.
      expect(at.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
      expect(kept.evals.length).toBeLessThanOrEqual(HISTORY_EVALS);
      expect(kept.evals.at(-1)).toEqual(history.evals.at(-1));
      expect(kept.evals.slice(-HISTORY_EVALS / 2)).toEqual(history.evals.slice(-HISTORY_EVALS / 2));
    },
  );

  test('thinned twice (a resumed run saved again): the same means, its newer steps kept', () => {
    const history = longHistory(100_000, 100);
    const once = thinHistory(history);
    // A resumed run goes on from the thinned history, one step at a time.
    const resumed = historyUpTo(once, 100_000);
    for (let s = 100_001; s <= 130_000; s++) pushLoss(resumed, s, 1.6);
    const twice = thinHistory(resumed);
    const at = stepsOf(twice);
    expect(at.at(-1)).toBe(130_000);
    expect(twice.losses.slice(-HISTORY_EXACT)).toEqual(Array(HISTORY_EXACT).fill(1.6));
    const full = [...history.losses, ...Array<number>(30_000).fill(1.6)];
    // A bin of the second thinning over steps the first had binned: still the mean of the steps it covers.
    const i = at.findIndex((s) => s > 50_000);
    expect(twice.losses[i]).toBeCloseTo(meanOver(full, at[i - 1], at[i]), 9);
  });

  test('a short history is kept as it is', () => {
    const history = longHistory(HISTORY_EXACT + HISTORY_BINS, 10);
    expect(thinHistory(history)).toEqual(history);
  });

  test('up to a step: the losses and evaluations of later steps are left out, NaN losses too, each keeping its step', () => {
    const h: RunHistory = {
      losses: [3, 2.5, null as unknown as number, 2, 1.9],
      evals: [
        { step: 2, train: 2.4, val: 2.6 },
        { step: 4, train: 2, val: 2.2 },
      ],
    };
    expect(historyUpTo(h, 4)).toEqual({ losses: [3, 2.5, 2], lossSteps: [1, 2, 4], evals: h.evals });
    expect(historyUpTo(h, 2)).toEqual({ losses: [3, 2.5], evals: [h.evals[0]] });
  });
});
