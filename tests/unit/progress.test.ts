import { expect, test } from 'vitest';
import { formatDuration, progress } from '../../src/lib/progress.ts';

test('ETA is the steps left at the current pace, and tokens/s follows from ms per step', () => {
  const p = progress(150, 600, 20, 1024);
  expect(p.fraction).toBe(0.25);
  expect(p.etaMs).toBe(450 * 20);
  expect(p.tokensPerSec).toBe(51_200);
});

test('before any step has been timed there is no ETA or rate', () => {
  expect(progress(0, 600, undefined, 1024)).toEqual({ fraction: 0, etaMs: null, tokensPerSec: null });
  expect(progress(0, 600, 0, 1024).etaMs).toBeNull();
});

test('a finished or overshooting run is complete with nothing left', () => {
  expect(progress(600, 600, 20, 1024)).toMatchObject({ fraction: 1, etaMs: 0 });
  expect(progress(700, 600, 20, 1024).fraction).toBe(1);
});

test('durations read naturally', () => {
  expect(formatDuration(4_200)).toBe('4 s');
  expect(formatDuration(95_000)).toBe('1 min 35 s');
  expect(formatDuration(3_725_000)).toBe('1 h 2 min');
});
