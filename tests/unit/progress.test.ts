import { describe, expect, test } from 'vitest';
import { formatDuration, Pace, progress } from '../../src/lib/progress.ts';

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

describe('Pace', () => {
  test('says nothing until ten seconds of steps, then the last minute’s ms per step, deaf to one slow group', () => {
    const pace = new Pace();
    let t = 0;
    const at: (number | null)[] = [];
    for (let step = 1; step <= 1000; step++) {
      t += step === 200 ? 20_000 : 100; // one 20 s stall (an evaluation, an autosave) at step 200
      at.push(pace.observe(step, t));
    }
    expect(at.slice(0, 99).every((p) => p === null)).toBe(true); // 9.9 s of steps
    expect(at[150]).toBeCloseTo(100, 6);
    // The stall weighs in for a minute, averaged over the window's steps, then drops out.
    expect(at[210]!).toBeGreaterThan(100);
    expect(at[210]!).toBeLessThan(400);
    expect(at[999]).toBeCloseTo(100, 6); // a minute after the stall
  });

  test('starts afresh after a restart', () => {
    const pace = new Pace(60_000, 1_000);
    for (let s = 1; s <= 20; s++) pace.observe(s, s * 100);
    pace.restart();
    expect(pace.observe(21, 10_000_000)).toBeNull();
    expect(pace.observe(31, 10_002_000)).toBeCloseTo(200, 6);
  });
});
