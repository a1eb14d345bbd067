import { describe, expect, test } from 'vitest';
import { findSpikes, forecastLoss, SpikeDetector, type CurvePoint } from '../../src/core/forecast.ts';
import { Rng } from '../../src/core/rng.ts';

// L(S) = L∞ + (S_c/S)^α_S: 2.26 nats at step 10, 1.62 at 1000, 1.55 at 10,000.
const Linf = 1.5;
const Sc = 5;
const alphaS = 0.4;
const curve = (step: number) => Linf + (Sc / step) ** alphaS;

/** Steps 1…steps of the curve times exp(noise·z), z standard normal. */
function noisyCurve(steps: number, noise: number, seed: number): CurvePoint[] {
  const rng = new Rng(seed);
  return Array.from({ length: steps }, (_, i) => ({ step: i + 1, loss: curve(i + 1) * Math.exp(noise * rng.normal()) }));
}

describe('forecastLoss', () => {
  test('recovers L∞, S_c and α_S from a noiseless curve', () => {
    const f = forecastLoss(noisyCurve(2000, 0, 0), { maxSteps: 10_000 });
    expect(f.Linf).toBeCloseTo(Linf, 3);
    expect(f.alphaS).toBeCloseTo(alphaS, 3);
    expect(Math.abs(f.Sc / Sc - 1)).toBeLessThan(0.01);
    expect(Math.abs(f.final / curve(10_000) - 1)).toBeLessThan(1e-4);
  });

  test('its band contains the true final loss of noisy curves, seen for a fifth of the run', () => {
    for (let seed = 0; seed < 5; seed++) {
      const f = forecastLoss(noisyCurve(2000, 0.03, seed), { maxSteps: 10_000, seed });
      const truth = curve(10_000);
      expect(f.band[0]).toBeLessThanOrEqual(truth);
      expect(f.band[1]).toBeGreaterThanOrEqual(truth);
      expect(f.band[0]).toBeLessThanOrEqual(f.final);
      expect(f.band[1]).toBeGreaterThanOrEqual(f.final);
      expect(Math.abs(f.final / truth - 1)).toBeLessThan(0.03);
      expect(f.band[1] - f.band[0]).toBeLessThan(0.15 * truth); // informative, not everything
    }
  });

  test('ignores the warm-up, where the loss is not yet a power law', () => {
    // A flat start at ln 65 (a uniform guess over 65 characters) for the first 600 steps.
    const pts = noisyCurve(3000, 0.01, 7).map((p) => (p.step <= 600 ? { ...p, loss: Math.log(65) } : p));
    const f = forecastLoss(pts, { maxSteps: 20_000, warmup: 600 });
    expect(Math.abs(f.final / curve(20_000) - 1)).toBeLessThan(0.01);
    // Without the warm-up the plateau is fitted as if it were the power law.
    const g = forecastLoss(pts, { maxSteps: 20_000 });
    expect(Math.abs(g.final / curve(20_000) - 1)).toBeGreaterThan(0.02);
  });

  test('is not pulled by a spike', () => {
    const pts = noisyCurve(2000, 0.01, 8);
    const clean = forecastLoss(pts, { maxSteps: 10_000 });
    pts[1500] = { ...pts[1500], loss: 10 * pts[1500].loss };
    expect(forecastLoss(pts, { maxSteps: 10_000 }).final).toBeCloseTo(clean.final, 4);
  });

  test('refuses too few points after warm-up and non-positive losses', () => {
    expect(() => forecastLoss(noisyCurve(3, 0, 0), { maxSteps: 100 })).toThrow(/6 or more distinct step ranges/);
    expect(() =>
      forecastLoss(
        [
          { step: 1, loss: 2 },
          { step: 2, loss: -1 },
        ],
        { maxSteps: 100 },
      ),
    ).toThrow(/point 1/);
  });
});

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
