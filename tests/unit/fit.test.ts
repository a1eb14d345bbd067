import { describe, expect, test } from 'vitest';
import {
  bestChinchillaFit,
  chinchillaGrid,
  chinchillaObjective,
  fitChinchilla,
  fitLN,
  gridSplits,
  huber,
  lnObjective,
  type ChinchillaFit,
  type ChinchillaPoint,
} from '../../src/core/fit.ts';
import { bootstrapChinchilla, bootstrapPlan, bootstrapSummary, refitResamples } from '../../src/core/bootstrap.ts';
import { Rng } from '../../src/core/rng.ts';
import { chinchillaLoss, computeOptimal, type ChinchillaLaw } from '../../src/core/scaling.ts';

interface Scenario {
  name: string;
  law: ChinchillaLaw;
  N: [number, number];
  D: [number, number];
}

// Hoffmann et al.'s published fit, and a character-level law with losses of 1.3–3.9 nats.
const scenarios: Scenario[] = [
  { name: 'Chinchilla-range', law: { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28 }, N: [1e7, 1e10], D: [1e9, 1e12] },
  { name: 'character-scale', law: { E: 1.1, A: 30, B: 50, alpha: 0.35, beta: 0.3 }, N: [1e4, 1e7], D: [1e5, 1e9] },
];

const logspace = (lo: number, hi: number, k: number) => Array.from({ length: k }, (_, i) => lo * (hi / lo) ** (i / (k - 1)));

/** 7 N × 6 D log-spaced, loss × exp(noise·z) with z standard normal. */
function grid(s: Scenario, noise: number, seed = 1): ChinchillaPoint[] {
  const rng = new Rng(seed);
  const out: ChinchillaPoint[] = [];
  for (const N of logspace(s.N[0], s.N[1], 7)) {
    for (const D of logspace(s.D[0], s.D[1], 6)) out.push({ N, D, loss: chinchillaLoss(s.law, N, D) * Math.exp(noise * rng.normal()) });
  }
  return out;
}

// Full-grid fits take seconds: fit each data set once.
const fits = new Map<string, ChinchillaFit>();
function fitOnce(s: Scenario, noise: number): ChinchillaFit {
  const key = `${s.name}/${noise}`;
  if (!fits.has(key)) fits.set(key, fitChinchilla(grid(s, noise)));
  return fits.get(key)!;
}

const rel = (x: number, y: number) => Math.abs(x / y - 1);

describe('the objective', () => {
  test('its analytic gradient matches central finite differences, in both Huber regimes', () => {
    const pts = grid(scenarios[0], 0.01);
    const rng = new Rng(5);
    // Near the truth most residuals are within δ (quadratic); far from it all are beyond (linear).
    const truth = [Math.log(406.4), Math.log(410.7), Math.log(1.69), 0.34, 0.28];
    for (const spread of [1e-4, 0.3, 2]) {
      const p = truth.map((v) => v + spread * (rng.next() - 0.5));
      const { grad } = chinchillaObjective(p, pts);
      for (let k = 0; k < 5; k++) {
        const h = 1e-6;
        const up = p.slice();
        const dn = p.slice();
        up[k] += h;
        dn[k] -= h;
        const fd = (chinchillaObjective(up, pts).value - chinchillaObjective(dn, pts).value) / (2 * h);
        expect(Math.abs(grad[k] - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
      }
    }
  });

  test('the one-variable gradient matches central finite differences', () => {
    const pts = logspace(1e4, 1e8, 9).map((N) => ({ N, loss: 1.2 + 40 / N ** 0.3 }));
    for (const p of [
      [Math.log(40), Math.log(1.2), 0.3],
      [3, 0.5, 0.45],
      [0, -1, 2],
    ]) {
      const { grad } = lnObjective(p, pts);
      for (let k = 0; k < 3; k++) {
        const h = 1e-6;
        const up = p.slice();
        const dn = p.slice();
        up[k] += h;
        dn[k] -= h;
        const fd = (lnObjective(up, pts).value - lnObjective(dn, pts).value) / (2 * h);
        expect(Math.abs(grad[k] - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
      }
    }
  });

  test('is the sum of per-point Huber terms on log loss, with δ = 1e-3', () => {
    const pts = grid(scenarios[1], 0.01);
    const p = [Math.log(25), Math.log(60), Math.log(1.0), 0.33, 0.31];
    const manual = pts.reduce((s, q) => {
      const lse = Math.log(Math.exp(p[0] - p[3] * Math.log(q.N)) + Math.exp(p[1] - p[4] * Math.log(q.D)) + Math.exp(p[2]));
      return s + huber(lse - Math.log(q.loss), 1e-3);
    }, 0);
    expect(chinchillaObjective(p, pts).value).toBeCloseTo(manual, 14);
    expect(huber(5e-4, 1e-3)).toBeCloseTo(0.5 * 5e-4 ** 2, 18); // quadratic inside δ
    expect(huber(-0.01, 1e-3)).toBeCloseTo(1e-3 * (0.01 - 5e-4), 18); // linear beyond
  });

  test('doubles when every point is duplicated, as a sum must (a mean would not change)', () => {
    const pts = grid(scenarios[0], 0.01);
    const p = [6, 6, 0.5, 0.3, 0.3];
    const once = chinchillaObjective(p, pts);
    const twice = chinchillaObjective(p, [...pts, ...pts]);
    expect(twice.value).toBeCloseTo(2 * once.value, 12);
    twice.grad.forEach((g, k) => expect(g).toBeCloseTo(2 * once.grad[k], 10));
    expect(chinchillaObjective(p, [...pts, ...pts], { reduction: 'mean' }).value).toBeCloseTo(once.value / pts.length, 14);
  });

  test('summing and averaging give different fits under an absolute stopping tolerance', () => {
    // With scipy L-BFGS-B's default gradient tolerance (1e-5, absolute), the mean's n-times
    // smaller gradients stop it early; the sum reaches the same optimum as a tight tolerance.
    const s = scenarios[0];
    const pts = grid(s, 0.01);
    const loose = { gradTol: 1e-5, relTol: 0 };
    const sum = fitChinchilla(pts, loose);
    const mean = fitChinchilla(pts, { ...loose, reduction: 'mean' });
    const tight = fitOnce(s, 0.01);
    const objective = (f: ChinchillaFit) => chinchillaObjective([f.a, f.b, f.e, f.alpha, f.beta], pts).value;
    expect(objective(sum)).toBeLessThan(tight.loss * (1 + 1e-9));
    expect(rel(sum.beta, tight.beta)).toBeLessThan(1e-6);
    expect(objective(mean)).toBeGreaterThan(tight.loss * 1.01);
    expect(rel(mean.beta, tight.beta)).toBeGreaterThan(0.03);
  });
});

describe('fitChinchilla', () => {
  for (const s of scenarios) {
    test(`recovers a ${s.name} law exactly from noiseless 7 × 6 grid data`, () => {
      const f = fitOnce(s, 0);
      expect(f.converged).toBe(true);
      for (const k of ['E', 'A', 'B', 'alpha', 'beta'] as const) expect(rel(f[k], s.law[k])).toBeLessThan(1e-12);
      for (const [N, D] of [
        [s.N[0], s.D[0]],
        [s.N[1] * 10, s.D[1] * 10],
        [s.N[1] * 100, s.D[0]],
      ]) {
        expect(Math.abs(f.predict(N, D) - chinchillaLoss(s.law, N, D))).toBeLessThan(1e-9);
      }
    });

    test(`extrapolates a ${s.name} law within 2.5% at 10× the largest N and D from 1%-noise data`, () => {
      const f = fitOnce(s, 0.01);
      expect(f.converged).toBe(true);
      const [N, D] = [s.N[1] * 10, s.D[1] * 10];
      expect(rel(f.predict(N, D), chinchillaLoss(s.law, N, D))).toBeLessThan(0.025);
      // Its optimum is no worse than the truth's own objective value.
      const truth = [Math.log(s.law.A), Math.log(s.law.B), Math.log(s.law.E), s.law.alpha, s.law.beta];
      expect(f.loss).toBeLessThanOrEqual(chinchillaObjective(truth, grid(s, 0.01)).value);
    });
  }

  test('refuses too few points, non-positive values and a single D', () => {
    const pts = grid(scenarios[1], 0);
    expect(() => fitChinchilla(pts.slice(0, 4))).toThrow(/at least 5 points, got 4/);
    expect(() => fitChinchilla(pts.map((q, i) => (i === 3 ? { ...q, loss: 0 } : q)))).toThrow(/point 3: loss/);
    expect(() => fitChinchilla(pts.map((q, i) => (i === 7 ? { ...q, N: -1 } : q)))).toThrow(/point 7: N/);
    expect(() => fitChinchilla(pts.map((q, i) => (i === 2 ? { ...q, D: NaN } : q)))).toThrow(/point 2: D/);
    expect(() => fitChinchilla(pts.map((q) => ({ ...q, D: 1e6 })))).toThrow(/two distinct N and two distinct D/);
  });
});

describe('fitLN', () => {
  const law = { E: 1.3, A: 25, alpha: 0.32 };
  const Ns = logspace(1e4, 1e8, 12);

  test('recovers a known one-variable law from noiseless data', () => {
    const f = fitLN(Ns.map((N) => ({ N, loss: law.E + law.A / N ** law.alpha })));
    expect(f.converged).toBe(true);
    expect(rel(f.E, law.E)).toBeLessThan(1e-6);
    expect(rel(f.A, law.A)).toBeLessThan(1e-6);
    expect(rel(f.alpha, law.alpha)).toBeLessThan(1e-6);
  });

  test('extrapolates it within 2% at 10× the largest N from 1%-noise data', () => {
    const rng = new Rng(2);
    const f = fitLN(Ns.map((N) => ({ N, loss: (law.E + law.A / N ** law.alpha) * Math.exp(0.01 * rng.normal()) })));
    expect(rel(f.predict(1e9), law.E + law.A / 1e9 ** law.alpha)).toBeLessThan(0.02);
  });

  test('refuses fewer points than parameters', () => {
    expect(() =>
      fitLN([
        { N: 1, loss: 2 },
        { N: 2, loss: 1.5 },
      ]),
    ).toThrow(/at least 3 points/);
  });
});

describe('computeOptimal', () => {
  /** argmin over N of L(N, C/(6N)) by golden-section search on log N. */
  function numericOptimum(law: ChinchillaLaw, C: number): number {
    const g = (x: number) => chinchillaLoss(law, Math.exp(x), C / (6 * Math.exp(x)));
    let lo = Math.log(1);
    let hi = Math.log(C / 6);
    const r = (Math.sqrt(5) - 1) / 2;
    for (let i = 0; i < 200; i++) {
      const x1 = hi - r * (hi - lo);
      const x2 = lo + r * (hi - lo);
      if (g(x1) < g(x2)) hi = x2;
      else lo = x1;
    }
    return Math.exp((lo + hi) / 2);
  }

  for (const s of scenarios) {
    test(`matches a numeric minimisation of L(N, C/6N) for the ${s.name} law`, () => {
      for (const C of [1e15, 1e19, 1e23, 1e25]) {
        const { N: N_opt, D: D_opt } = computeOptimal(s.law, C);
        expect(rel(N_opt, numericOptimum(s.law, C))).toBeLessThan(0.005);
        expect(rel(6 * N_opt * D_opt, C)).toBeLessThan(1e-12);
      }
    });
  }

  test('scales N_opt as C^(β/(α+β)) and D_opt as C^(α/(α+β))', () => {
    const law = scenarios[0].law;
    const a = computeOptimal(law, 1e21);
    const b = computeOptimal(law, 1e23);
    expect(b.N / a.N).toBeCloseTo(100 ** (0.28 / 0.62), 10);
    expect(b.D / a.D).toBeCloseTo(100 ** (0.34 / 0.62), 10);
  });

  test('refuses a law without positive exponents', () => {
    expect(() => computeOptimal({ ...scenarios[0].law, beta: 0 }, 1e21)).toThrow(/A, B, α, β > 0/);
  });
});

describe('bootstrapChinchilla', () => {
  test('gives 95% intervals that contain the true parameters and prediction at 1% noise', () => {
    const s = scenarios[0];
    const at = { N: s.N[1] * 10, D: s.D[1] * 10 };
    const b = bootstrapChinchilla(grid(s, 0.01), { samples: 200, seed: 3, at: [at] });
    expect(b.laws).toHaveLength(200);
    for (const k of ['E', 'A', 'B', 'alpha', 'beta'] as const) {
      const [lo, hi] = b[k];
      expect(lo).toBeLessThan(hi);
      expect(lo).toBeLessThanOrEqual(s.law[k]);
      expect(hi).toBeGreaterThanOrEqual(s.law[k]);
    }
    const [lo, hi] = b.predictions[0].interval;
    const truth = chinchillaLoss(s.law, at.N, at.D);
    expect(lo).toBeLessThanOrEqual(truth);
    expect(hi).toBeGreaterThanOrEqual(truth);
    expect(lo).toBeLessThanOrEqual(b.predictions[0].loss);
    expect(hi).toBeGreaterThanOrEqual(b.predictions[0].loss);
  });

  test('is reproducible from its seed', () => {
    const pts = grid(scenarios[1], 0.01);
    const starts = [[Math.log(30), Math.log(50), Math.log(1.1), 0.35, 0.3]];
    const run = (seed: number) => bootstrapChinchilla(pts, { samples: 20, seed, starts }).alpha;
    expect(run(4)).toEqual(run(4));
    expect(run(4)).not.toEqual(run(5));
  });
});

describe('a fit split among threads (the CLI sweep --jobs)', () => {
  const pts = grid(scenarios[1], 0.02);
  const whole = fitOnce(scenarios[1], 0.02);
  const numbers = (f: ChinchillaFit) => [f.a, f.b, f.e, f.alpha, f.beta, f.loss, f.converged];

  test.each([2, 3, 7])('the grid in %i consecutive parts: the best of their fits is the fit of the whole grid, bit for bit', (n) => {
    const parts = gridSplits(chinchillaGrid(), pts.length, n);
    expect(parts).toHaveLength(n);
    expect(parts.flat()).toEqual(chinchillaGrid());
    const fits = parts.map((starts) => fitChinchilla(pts, { starts }));
    expect(numbers(bestChinchillaFit(fits))).toEqual(numbers(whole));
    // The parts found different minima: which one is best decides, not luck.
    expect(new Set(fits.map((f) => f.loss)).size).toBeGreaterThan(1);
  });

  test('a grid that would be screened (thousands of points) is not split', () => {
    expect(gridSplits(chinchillaGrid(), 1000, 4)).toHaveLength(1);
  });

  test("the bootstrap's refits in any split are its laws, in its order", () => {
    const opts = { samples: 12, seed: 4, fit: whole };
    const plan = bootstrapPlan(pts, whole, opts);
    const halves = [plan.resamples.slice(0, 5), plan.resamples.slice(5)].flatMap((resamples) => refitResamples({ ...plan, resamples }));
    expect(bootstrapSummary(whole, halves, opts)).toEqual(bootstrapChinchilla(pts, opts));
  });
});
