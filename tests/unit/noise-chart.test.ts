import { describe, expect, test } from 'vitest';
import { kaplanBCritChars, type NoiseEvent } from '../../src/core/noise-scale.ts';
import { formatBatch, noiseDatasets, noiseReadout } from '../../src/lib/noise-chart.ts';

const event = (step: number, bSimple: number | null): NoiseEvent => ({
  type: 'noise',
  step,
  bSimple,
  bSimpleTokens: bSimple === null ? null : bSimple * 64,
  gSq: 1,
  trSigma: bSimple ?? -1,
  batch: 16,
  small: 8,
});

describe('the noise-scale chart', () => {
  test('the readout gives B_simple, the batch and Kaplan’s B_crit in sequences and characters, and the reading', () => {
    const r = noiseReadout([event(10, 4), event(20, 64)], 64, 2)!;
    expect(r).toMatchObject({ step: 20, bSimple: 64, bSimpleTokens: 4096, batch: 16, batchTokens: 1024 });
    expect(r.kaplan!.tokens).toBeCloseTo(kaplanBCritChars(2), 6);
    expect(r.kaplan!.sequences).toBeCloseTo(kaplanBCritChars(2) / 64, 6);
    expect(r.reading).toMatch(/~4\.0× below the noise scale/);
    expect(noiseReadout([], 64, 2)).toBeNull();
    expect(noiseReadout([event(10, 4)], 64, null)!.kaplan).toBeNull();
  });

  test('a later estimate at or below 0 is named, and the latest positive one is read', () => {
    const r = noiseReadout([event(10, 4), event(20, 64), event(30, -2), event(40, null)], 64, 2)!;
    expect(r).toMatchObject({ step: 20, bSimple: 64, noisyAt: 40 });
    expect(r.reading).toMatch(/~4\.0× below the noise scale/);
    expect(noiseReadout([event(20, 64)], 64, 2)!.noisyAt).toBeNull();
    // None positive yet: the latest, and the reading says so.
    const none = noiseReadout([event(10, -1), event(20, null)], 64, 2)!;
    expect(none).toMatchObject({ step: 20, bSimple: null, noisyAt: null });
    expect(none.reading).toMatch(/not measurable yet/);
  });

  test('B_simple is drawn where it is defined; the batch and Kaplan’s line span the measured steps', () => {
    const sets = noiseDatasets({ noise: [event(10, null), event(20, 30), event(30, 40)], batch: 16, kaplanSequences: 500, lastStep: 33 });
    expect(sets.map((s) => s.kind)).toEqual(['measured', 'batch', 'kaplan']);
    expect(sets[0].data).toEqual([
      { x: 20, y: 30 },
      { x: 30, y: 40 },
    ]);
    expect(sets[1].data).toEqual([
      { x: 10, y: 16 },
      { x: 33, y: 16 },
    ]);
    expect(sets[2].data.map((p) => p.y)).toEqual([500, 500]);
  });

  test('counts read as people read them', () => {
    expect(formatBatch(3.14159)).toBe('3.1');
    expect(formatBatch(37.4)).toBe('37');
    expect(formatBatch(30712.4)).toBe('30,712');
  });
});
