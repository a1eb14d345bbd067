/**
 * Percentile bootstrap intervals for a fitted L(N, D) = E + A/N^α + B/D^β (fit.ts): resample the
 * points with replacement, refit each resample, and take the quantiles of each parameter and
 * prediction (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13). The plan (the
 * resamples, drawn in order from the seed, and each refit's starts), the refits and the summary
 * are separate steps, so the refits can run on several threads (src/cli/model-jobs.ts) and give
 * the one thread's intervals.
 */
import { Rng } from './rng.ts';
import { chinchillaLoss, type ChinchillaLaw } from './scaling.ts';
import { fitChinchilla, quantile, type ChinchillaFit, type ChinchillaPoint, type FitOptions, type Interval } from './fit.ts';

export interface BootstrapOptions extends FitOptions {
  samples?: number; // resamples; default 200
  seed?: number; // default 0
  level?: number; // central coverage of the intervals; default 0.95 (2.5–97.5%)
  at?: { N: number; D: number }[]; // where to give prediction intervals
  fit?: ChinchillaFit; // the fit to all the points, where the caller has it already (not fitted again)
}

export interface ChinchillaBootstrap {
  fit: ChinchillaFit; // the fit to all points
  E: Interval;
  A: Interval;
  B: Interval;
  alpha: Interval;
  beta: Interval;
  predictions: { N: number; D: number; loss: number; interval: Interval }[];
  laws: ChinchillaLaw[]; // one per resample
}

/**
 * Percentile bootstrap: resample the points with replacement, refit, and take the
 * (1 − level)/2 and (1 + level)/2 quantiles of each parameter and prediction. Each refit starts
 * from the full fit's optimum and a few neighbours of it rather than the whole grid, which is
 * 1000× cheaper and finds the same basin when the resample resembles the data.
 */
export function bootstrapChinchilla(points: ChinchillaPoint[], opts: BootstrapOptions = {}): ChinchillaBootstrap {
  const fit = opts.fit ?? fitChinchilla(points, opts);
  const plan = bootstrapPlan(points, fit, opts);
  return bootstrapSummary(fit, refitResamples(plan, opts), opts);
}

/** What a bootstrap refits: its resamples, drawn in order from the seed, and the starts of each refit. */
export interface BootstrapPlan {
  resamples: ChinchillaPoint[][];
  starts: number[][];
}

/** bootstrapChinchilla's resamples and starts; the refits can then run anywhere, in any split, in order. */
export function bootstrapPlan(points: ChinchillaPoint[], fit: ChinchillaFit, opts: BootstrapOptions = {}): BootstrapPlan {
  const samples = opts.samples ?? 200;
  const rng = new Rng(opts.seed ?? 0);
  // Thousands of points (a merged log): each resample so like the data that the optimum alone
  // finds its basin, and nine starts a resample would take minutes.
  const steps = points.length * samples > 5e4 ? [0] : [-0.1, 0, 0.1];
  const starts: number[][] = [];
  for (const da of steps) for (const db of steps) starts.push([fit.a, fit.b, fit.e, fit.alpha + da, fit.beta + db]);
  const resamples: ChinchillaPoint[][] = [];
  for (let s = 0; s < samples; s++) {
    let resample: ChinchillaPoint[];
    do {
      resample = points.map(() => points[rng.int(points.length)]);
    } while (new Set(resample.map((q) => q.N)).size < 2 || new Set(resample.map((q) => q.D)).size < 2);
    resamples.push(resample);
  }
  return { resamples, starts };
}

/** One law per resample of the plan, each refitted from the plan's starts. */
export function refitResamples(plan: BootstrapPlan, opts: FitOptions = {}): ChinchillaLaw[] {
  return plan.resamples.map((resample) => {
    const f = fitChinchilla(resample, { ...opts, starts: plan.starts });
    return { E: f.E, A: f.A, B: f.B, alpha: f.alpha, beta: f.beta };
  });
}

/** The intervals (and predictions at opts.at) of the refitted laws around the full fit. */
export function bootstrapSummary(fit: ChinchillaFit, laws: ChinchillaLaw[], opts: BootstrapOptions = {}): ChinchillaBootstrap {
  const level = opts.level ?? 0.95;
  const at = opts.at ?? [];
  const interval = (xs: number[]): Interval => {
    const sorted = Float64Array.from(xs).sort();
    return [quantile(sorted, (1 - level) / 2), quantile(sorted, (1 + level) / 2)];
  };
  return {
    fit,
    E: interval(laws.map((l) => l.E)),
    A: interval(laws.map((l) => l.A)),
    B: interval(laws.map((l) => l.B)),
    alpha: interval(laws.map((l) => l.alpha)),
    beta: interval(laws.map((l) => l.beta)),
    predictions: at.map(({ N, D }) => ({ N, D, loss: fit.predict(N, D), interval: interval(laws.map((l) => chinchillaLoss(l, N, D))) })),
    laws,
  };
}
