/**
 * Where a sweep records its points: exactly `points` per model, evenly spaced, the last at the
 * model's final step, planned once (src/core/sweep.ts) for the CLI's sweep and the Scaling lab.
 */
import { describe, expect, test } from 'vitest';
import { parseLadder, planSweep, sweepConfig, sweepEvalSteps } from '../../src/core/sweep.ts';

describe('sweep plan', () => {
  test('points per model: exactly N, evenly spaced, the last at the final step', () => {
    expect(sweepEvalSteps(94, 3)).toEqual([31, 63, 94]); // not 31, 62, 93 and 94
    expect(sweepEvalSteps(6, 2)).toEqual([3, 6]);
    expect(sweepEvalSteps(10, 6)).toEqual([2, 3, 5, 7, 8, 10]);
    expect(sweepEvalSteps(100, 1)).toEqual([100]);
    for (const steps of [1, 7, 94, 157, 1000])
      for (const points of [1, 2, 3, 5, 8]) {
        const at = sweepEvalSteps(steps, points);
        expect(at).toHaveLength(Math.min(points, steps));
        expect(at.at(-1)).toBe(steps);
        expect(new Set(at).size).toBe(at.length);
        expect([...at].sort((a, b) => a - b)).toEqual(at);
      }
  });

  test('a model with fewer steps than points records one at each step', () => {
    expect(sweepEvalSteps(3, 5)).toEqual([1, 2, 3]);
  });

  test("the plan carries each model's steps to record at", () => {
    const cfg = sweepConfig({
      ladder: parseLadder('1x16,2x32'),
      blockSize: 16,
      batchSize: 8,
      learningRate: 1e-3,
      minLr: 1e-4,
      budget: { tokens: 94 * 128 },
      points: 3,
    });
    expect(planSweep(cfg, 10).evalSteps).toEqual([
      [31, 63, 94],
      [31, 63, 94],
    ]);
  });

  test('a ladder with an empty entry is refused, not read as a shorter ladder', () => {
    expect(() => parseLadder('1x16,')).toThrow('"1x16," has an empty entry (a stray comma?)');
    expect(() => parseLadder('1x16,,2x32')).toThrow(/empty entry/);
    expect(() => parseLadder(' , ')).toThrow(/the ladder is empty/);
  });
});
