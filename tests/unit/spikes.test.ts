import { describe, expect, test } from 'vitest';
import { findSpikes, SpikeDetector } from '../../src/core/spikes.ts';
import { Rng } from '../../src/core/rng.ts';

// A falling curve: 2.26 nats at step 10, 1.62 at 1000, 1.55 at 10,000.
const curve = (step: number) => 1.5 + (5 / step) ** 0.4;

/** Steps 1…steps of the curve times exp(noise·z), z standard normal. */
function noisyCurve(steps: number, noise: number, seed: number) {
  const rng = new Rng(seed);
  return Array.from({ length: steps }, (_, i) => ({ step: i + 1, loss: curve(i + 1) * Math.exp(noise * rng.normal()) }));
}

describe('spike detection', () => {
  test('flags nothing on clean decreasing curves with 3–5% multiplicative noise', () => {
    for (const noise of [0.03, 0.05]) {
      for (let seed = 0; seed < 10; seed++) {
        expect(findSpikes(noisyCurve(5000, noise, seed).map((p) => p.loss))).toEqual([]);
      }
    }
  });

  test('flags injected spikes, and only them', () => {
    const losses = noisyCurve(3000, 0.03, 11).map((p) => p.loss);
    losses[40] *= 3; // early, while the loss still falls fast
    losses[900] *= 2.5; // at least 2× the recent mean
    losses[1800] *= 1.4; // well under 2×, but > 6σ of 3% noise
    losses[2500] = NaN;
    expect(findSpikes(losses)).toEqual([40, 900, 1800, 2500]);
  });

  test('says why it flagged each spike', () => {
    const det = new SpikeDetector();
    const rng = new Rng(3);
    for (let i = 1; i <= 200; i++) expect(det.push(curve(i) * Math.exp(0.03 * rng.normal()))).toBeNull();
    expect(det.push(2.2 * curve(201))?.reason).toBe('ratio');
    const s = det.push(1.4 * curve(202));
    expect(s?.reason).toBe('sigma');
    expect(s!.loss).toBeGreaterThan(s!.median + 6 * s!.sigma);
    expect(det.push(Infinity)?.reason).toBe('nonFinite');
  });

  test('keeps flagging a run that diverges, since flagged losses stay out of the window', () => {
    const losses = noisyCurve(600, 0.02, 4).map((p, i) => (i >= 400 ? 3 * p.loss : p.loss));
    expect(findSpikes(losses)).toEqual(Array.from({ length: 200 }, (_, i) => 400 + i));
  });

  test('waits for minHistory losses before judging', () => {
    expect(findSpikes([2, 2, 2, 9, 2])).toEqual([]);
    expect(findSpikes([2, 2, 2, 9, 2], { minHistory: 3 })).toEqual([3]);
  });
});
