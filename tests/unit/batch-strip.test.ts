import { expect, test } from 'vitest';
import { Batcher } from '../../src/core/batching.ts';
import { fade, pushTrail, rowWindows } from '../../src/lib/batch-strip.ts';

test('each row becomes its window [start, start + ctx) as a fraction of the train split', () => {
  expect(rowWindows([0, 50, 90], 10, 100)).toEqual([
    { x0: 0, x1: 0.1 },
    { x0: 0.5, x1: 0.6 },
    { x0: 0.9, x1: 1 },
  ]);
});

test('windows stay on the strip, and an empty split draws nothing', () => {
  expect(rowWindows([95], 10, 100)).toEqual([{ x0: 0.95, x1: 1 }]);
  expect(rowWindows([3], 10, 0)).toEqual([]);
});

test('the trail keeps the last few batches, oldest first, and starts over for a new run', () => {
  const b = (step: number) => ({ step, starts: [step] });
  let trail = pushTrail([], b(1), 3);
  for (const s of [2, 3, 4]) trail = pushTrail(trail, b(s), 3);
  expect(trail.map((x) => x.step)).toEqual([2, 3, 4]);
  expect(pushTrail(trail, trail[2], 3)).toBe(trail); // the same batch read twice is not added twice
  expect(pushTrail(trail, b(1), 3).map((x) => x.step)).toEqual([1]); // steps went back: a new run
  expect(pushTrail(trail, null, 3)).toEqual([]); // the run was cleared
  expect(pushTrail(trail, b(5), 1).map((x) => x.step)).toEqual([5]);
});

test('older batches fade, the newest is opaque', () => {
  expect(fade(0, 12)).toBe(1);
  const opacities = [1, 2, 6, 11].map((age) => fade(age, 12));
  expect(opacities).toEqual([...opacities].sort((a, b) => b - a));
  expect(Math.min(...opacities)).toBeGreaterThan(0);
});

test('sequential batches march forward: each row of the next step starts where it ended', () => {
  const T = 8;
  const data = new Int32Array(1000);
  const batcher = new Batcher(data, 4, T, 'sequential', 1);
  const a = rowWindows(batcher.getBatch().starts, T, data.length);
  const b = rowWindows(batcher.getBatch().starts, T, data.length);
  for (let r = 0; r < 4; r++) expect(b[r].x0).toBeCloseTo(a[r].x1, 12);
});
