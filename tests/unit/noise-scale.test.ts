import { describe, expect, test } from 'vitest';
import {
  batchReading,
  fitLadder,
  kaplanBCrit,
  kaplanBCritChars,
  noiseTerms,
  NoiseScaleEma,
  simpleNoiseScale,
  stepsToTarget,
  subBatchRows,
} from '../../src/core/noise-scale.ts';
import { Rng } from '../../src/core/rng.ts';

/**
 * Linear regression with Gaussian inputs and noise, at fixed weights: per-example loss
 * ½(xᵀw − y)², y = xᵀw* + ε, x ~ N(0, I_d), ε ~ N(0, σ²). With δ = w − w*, the per-example
 * gradient is g = x(xᵀδ − ε), so G = E[g] = δ and E|g|² = (d + 2)|δ|² + dσ²: exactly
 * |G|² = |δ|² and tr Σ = (d + 1)|δ|² + dσ².
 */
class Regression {
  readonly rng: Rng;
  constructor(
    readonly delta: number[],
    readonly sigma: number,
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }
  get gSq() {
    return this.delta.reduce((s, v) => s + v * v, 0);
  }
  get trSigma() {
    const d = this.delta.length;
    return (d + 1) * this.gSq + d * this.sigma ** 2;
  }
  normal(): number {
    return this.rng.normal();
  }
  /** The per-example gradients of `n` fresh examples. */
  grads(n: number): number[][] {
    return Array.from({ length: n }, () => {
      const x = this.delta.map(() => this.normal());
      const r = x.reduce((s, xi, i) => s + xi * this.delta[i], 0) - this.sigma * this.normal();
      return x.map((xi) => xi * r);
    });
  }
}

/** |mean of rows|² */
function sqNormOfMean(rows: number[][]): number {
  const d = rows[0].length;
  let s = 0;
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (const r of rows) m += r[j];
    m /= rows.length;
    s += m * m;
  }
  return s;
}

/** The two norms the trainer measures: a batch of B and its first b examples. */
function measure(p: Regression, big: number, small: number) {
  const g = p.grads(big);
  return { big, small, bigSq: sqNormOfMean(g), smallSq: sqNormOfMean(g.slice(0, small)) };
}

describe('the noise scale estimator (McCandlish et al. 2018, appendix A)', () => {
  const problem = () => new Regression([0.6, -0.3, 0.5, 0.2, -0.4, 0.1, 0.3, -0.2, 0.4, -0.1], 1.5, 7);

  test('the single-measurement estimates are unbiased: their mean over many batches recovers |G|² and tr Σ within 10%', () => {
    const p = problem();
    let gSq = 0;
    let trSigma = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const t = noiseTerms(measure(p, 32, 16));
      gSq += t.gSq / n;
      trSigma += t.trSigma / n;
    }
    expect(Math.abs(gSq / p.gSq - 1)).toBeLessThan(0.1);
    expect(Math.abs(trSigma / p.trSigma - 1)).toBeLessThan(0.1);
  });

  test('the moving averages recover |G|², tr Σ and B_simple within 10%', () => {
    const p = problem();
    const ema = new NoiseScaleEma(0.999);
    let last = ema.add(measure(p, 32, 16));
    for (let i = 0; i < 6000; i++) last = ema.add(measure(p, 32, 16));
    expect(Math.abs(last.gSq / p.gSq - 1)).toBeLessThan(0.1);
    expect(Math.abs(last.trSigma / p.trSigma - 1)).toBeLessThan(0.1);
    expect(Math.abs(last.bSimple! / (p.trSigma / p.gSq) - 1)).toBeLessThan(0.1);
  });

  test('noiseless norms give the exact terms back, at any pair of batch sizes', () => {
    const [gSq, trSigma] = [2.5, 40];
    for (const [big, small] of [
      [16, 8],
      [64, 1],
      [3, 2],
    ]) {
      const t = noiseTerms({ big, small, bigSq: gSq + trSigma / big, smallSq: gSq + trSigma / small });
      expect(t.gSq).toBeCloseTo(gSq, 10);
      expect(t.trSigma).toBeCloseTo(trSigma, 9);
      expect(simpleNoiseScale(t)).toBeCloseTo(16, 9);
    }
  });

  test('the first measurement counts in full (bias-corrected), and B_simple is null while |G|² ≤ 0', () => {
    const ema = new NoiseScaleEma(0.9);
    const first = ema.add({ big: 4, small: 2, bigSq: 1 + 8 / 4, smallSq: 1 + 8 / 2 });
    expect(first.gSq).toBeCloseTo(1, 12);
    expect(first.trSigma).toBeCloseTo(8, 12);
    expect(first.bSimple).toBeCloseTo(8, 12);
    const fresh = new NoiseScaleEma();
    expect(fresh.add({ big: 4, small: 2, bigSq: 3, smallSq: 6 }).bSimple).toBeNull(); // |G|² estimate 0
    expect(fresh.add({ big: 4, small: 2, bigSq: NaN, smallSq: 6 }).gSq).toBe(0); // a non-finite norm is skipped
    expect(fresh.count).toBe(1);
  });

  test('the sub-batch is half the batch, and a batch of one cannot be measured', () => {
    expect(subBatchRows(16)).toBe(8);
    expect(subBatchRows(3)).toBe(1);
    expect(() => subBatchRows(1)).toThrow(/at least 2/);
    expect(() => noiseTerms({ big: 4, small: 4, bigSq: 1, smallSq: 1 })).toThrow(/b < B/);
  });
});

describe("Kaplan's critical batch", () => {
  test('B_crit(L) = B*/L^(1/α_B): 2·10⁸ tokens at L = 1, and per character through the characters per token', () => {
    expect(kaplanBCrit(1)).toBe(2e8);
    expect(kaplanBCrit(4)).toBeCloseTo(2e8 / 4 ** (1 / 0.21), 6);
    expect(kaplanBCritChars(1, 4)).toBeCloseTo(kaplanBCrit(4) * 4, 6);
    expect(kaplanBCrit(3)).toBeLessThan(kaplanBCrit(2)); // a lower loss needs a larger batch
  });
});

describe('the one-line reading', () => {
  test('says which way and by how much', () => {
    expect(batchReading(16, 160)).toMatch(/~10× below the noise scale: larger batches would use steps better/);
    expect(batchReading(64, 8)).toMatch(/~8\.0× above the noise scale: smaller batches would use compute better/);
    expect(batchReading(16, 20)).toMatch(/within 2×/);
    expect(batchReading(16, null)).toMatch(/not measurable yet/);
  });
});

describe('the batch-size ladder', () => {
  test('fitLadder recovers S_min and B_crit from S(B) = S_min·(1 + B_crit/B)', () => {
    const [sMin, bCrit] = [300, 24];
    const rungs = [4, 8, 16, 32, 64].map((batch) => ({ batch, steps: sMin * (1 + bCrit / batch) }));
    const fit = fitLadder([...rungs, { batch: 128, steps: null }]);
    expect(fit.ok).toBe(true);
    if (!fit.ok) return;
    expect(fit.sMin).toBeCloseTo(sMin, 5);
    expect(fit.bCrit).toBeCloseTo(bCrit, 5);
    expect(fit.eMin).toBeCloseTo(sMin * bCrit, 3);
  });

  test('fitLadder says why it cannot fit', () => {
    expect(fitLadder([{ batch: 8, steps: 100 }])).toEqual({ ok: false, reason: expect.stringMatching(/two batch sizes/) });
    const flat = [8, 16, 32].map((batch) => ({ batch, steps: 100 + batch }));
    expect(fitLadder(flat)).toEqual({ ok: false, reason: expect.stringMatching(/did not need fewer steps/) });
    const perfect = [8, 16, 32].map((batch) => ({ batch, steps: 6400 / batch }));
    expect(fitLadder(perfect)).toEqual({ ok: false, reason: expect.stringMatching(/still fall as 1\/B/) });
  });

  test('stepsToTarget interpolates between the evaluations around the crossing', () => {
    const evals = [
      { step: 0, loss: 4 },
      { step: 100, loss: 3 },
      { step: 200, loss: 2 },
    ];
    expect(stepsToTarget(evals, 2.5)).toBe(150);
    expect(stepsToTarget(evals, 4)).toBe(0);
    expect(stepsToTarget(evals, 1.5)).toBeNull();
  });
});
