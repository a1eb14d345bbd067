import { describe, expect, test } from 'vitest';
import { Heartbeat } from '../../src/lib/heartbeat.ts';

const opts = { intervalMs: 5_000, unresponsiveMs: 30_000, stalledMs: 90_000, slowFactor: 5 };

describe('heartbeat', () => {
  test('a worker is unresponsive only once its oldest unanswered ping is older than the limit', () => {
    const h = new Heartbeat(0, opts);
    h.pinged(1_000);
    h.pinged(6_000); // the oldest counts, not the latest
    expect(h.check(31_000, false)).toBe('ok');
    expect(h.check(31_001, false)).toBe('unresponsive');
    expect(h.silentFor(31_001, 'unresponsive')).toBe(30);
    h.answered();
    expect(h.check(31_001, false)).toBe('ok');
  });

  test('slow steps (a cpu step blocks the worker) stretch both limits', () => {
    const h = new Heartbeat(0, opts);
    h.progressed(0, 20_000);
    expect(h.limits()).toEqual({ unresponsiveMs: 100_000, stalledMs: 100_000 });
    h.pinged(0);
    expect(h.check(99_000, true)).toBe('ok');
    expect(h.check(100_001, true)).toBe('unresponsive');
  });

  test('no step for the stall limit counts only while training', () => {
    const h = new Heartbeat(0, opts);
    h.progressed(10_000, 50);
    expect(h.check(100_001, true)).toBe('stalled');
    expect(h.check(100_001, false)).toBe('ok');
    h.progressed(100_001);
    expect(h.check(100_002, true)).toBe('ok');
  });
});
