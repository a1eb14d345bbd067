import { describe, expect, test } from 'vitest';
import { adviseSweep, PLATEAU_STEPS } from '../../src/core/sweep-advice.ts';
import { parseLadder, sweepConfig } from '../../src/core/sweep.ts';
import { defaultTrainConfig } from '../../src/core/config.ts';

const plan = (sizes: string, tokens: number, batch: number, ctx: number, points: number) =>
  sweepConfig({
    ladder: parseLadder(sizes),
    blockSize: ctx,
    batchSize: batch,
    learningRate: 3e-3,
    minLr: 3e-4,
    budget: { tokens },
    points,
    warmupFraction: 0.1,
    dropout: 0,
    train: { weightDecay: 0.1, gradClip: 1, sampling: 'random', seed: 1, evalBatches: defaultTrainConfig.evalBatches },
  });

describe('sweep advice', () => {
  test('a sweep of tiny models for 100k tokens stays on the plateau: not usable, and a plan that is, with its time', () => {
    const a = adviseSweep(plan('1x16,1x32,2x32,2x48', 100_000, 16, 64, 3), 83);
    expect(a.usable).toBe(false);
    expect(a.problems).toEqual([
      `1x16 trains 98 steps, 1x32 trains 98 steps, 2x32 trains 98 steps, 2x48 trains 98 steps: runs here stay near the unigram level for their first ${PLATEAU_STEPS} steps or so, so their points are on the plateau and add nothing to a law`,
    ]);
    expect(a.suggestion).toMatchObject({ tokens: 1_024_000, points: 4 });
    expect(a.suggestion!.minutes).toBeGreaterThan(10 * a.minutes); // ten times the steps
    // The suggestion taken is usable.
    expect(adviseSweep(plan('1x16,1x32,2x32,2x48', a.suggestion!.tokens, 16, 64, a.suggestion!.points), 83).usable).toBe(true);
  });

  test("the README's Moby-Dick and markov sweeps are usable", () => {
    expect(adviseSweep(plan('2x24h2,2x32h2,2x48h3,2x64h4', 1_200_000, 32, 32, 8), 83)).toMatchObject({ usable: true, problems: [] });
    expect(adviseSweep(plan('2x16h1,2x24h2,2x32h2,2x48h3,3x64h4', 600_000, 32, 16, 8), 10).usable).toBe(true);
  });

  test('too few tokens a model, past the plateau: a sweep that small fitted no law here', () => {
    const a = adviseSweep(plan('1x8,1x16,2x16', 128_000, 8, 16, 4), 10);
    expect(a.problems).toEqual(['every model trains on fewer than 500,000 tokens: sweeps here that small fitted no law (E → 0)']);
    expect(a.suggestion).toMatchObject({ tokens: 500_000, points: 4 });
  });

  test('too few sizes or points', () => {
    const a = adviseSweep(plan('2x32,2x64', 2_000_000, 16, 64, 2), 83);
    expect(a.problems).toEqual([
      "2 distinct model sizes: a law's A and α need 3 or more",
      '2 points a model: B and β need 3 token counts or more',
    ]);
    expect(a.suggestion!.why).toMatch(/^add sizes so that 3 or more differ, and give every model 1,954 steps \(2,000,000 tokens/); // never less than asked
  });
});
