/**
 * One run's learning curve: a forecast of its final loss and a loss-spike detector.
 *
 * Forecast. Kaplan et al. 2020 (Scaling Laws for Neural Language Models, §5) find that after
 * warm-up L(N, S) = (N_c/N)^α_N + (S_c/S)^α_S; for one model the first term is a constant, so
 * one run's curve is L(S) = L∞ + (S_c/S)^α_S. That is E + A/S^α with E = L∞, α = α_S and
 * A = S_c^α, so it is fitted exactly as L(N) is in fit.ts: Huber regression on log loss,
 * log L̂ = LSE(a − α·log S, e), summed over points. The band does not include step-to-step
 * noise: it bounds the noise-free curve, not one step's loss.
 * Per-step losses are first reduced to medians of log loss in log-spaced step bins: that
 * weights the decades of the curve evenly, shrinks thousands of points to a few dozen, and
 * keeps a spike from pulling the fit. The band is a percentile bootstrap over those bins.
 *
 * Spikes. A loss is flagged when it is non-finite, at least `ratio`× the mean of the window
 * of recent unflagged losses, or more than `sigmas` robust standard deviations above the
 * window's median, σ = 1.4826·MAD (the median absolute deviation, scaled to equal σ for
 * Gaussian noise). Median and MAD rather than mean and standard deviation, so that earlier
 * spikes and the curve's own descent within the window do not hide the next spike. Flagged
 * losses stay out of the window, so a run that diverges keeps being flagged.
 */
import { fitLN, lnGrid, quantile, type Interval, type LNFit } from './fit.ts';
import { Rng } from './rng.ts';

export interface CurvePoint {
  step: number; // 1-based optimizer step
  loss: number;
}

export interface ForecastOptions {
  maxSteps: number; // the step to forecast
  warmup?: number; // steps at or before max(warmup, 10% of the last step) are not fitted
  bins?: number; // log-spaced step bins; default 48
  samples?: number; // bootstrap resamples for the band; default 100
  level?: number; // the band's central coverage; default 0.95
  seed?: number; // default 0
}

export interface Forecast {
  Linf: number; // L∞
  Sc: number; // S_c
  alphaS: number; // α_S
  final: number; // predicted loss at maxSteps
  band: Interval;
  fit: LNFit; // the fit, as L(S) = E + A/S^α
  binned: CurvePoint[]; // the points fitted
  predict(step: number): number;
}

function median(sorted: ArrayLike<number>): number {
  return quantile(sorted, 0.5);
}

/** Medians of log loss (returned as losses) at the geometric centres of log-spaced bins. */
function binCurve(points: CurvePoint[], bins: number): CurvePoint[] {
  const lo = Math.log(points[0].step);
  const hi = Math.log(points[points.length - 1].step);
  const width = (hi - lo) / bins || 1;
  const groups = new Map<number, { steps: number[]; logs: number[] }>();
  for (const { step, loss } of points) {
    const k = Math.min(bins - 1, Math.floor((Math.log(step) - lo) / width));
    const g = groups.get(k) ?? { steps: [], logs: [] };
    g.steps.push(Math.log(step));
    g.logs.push(Math.log(loss));
    groups.set(k, g);
  }
  return [...groups.values()].map((g) => ({
    step: Math.exp(g.steps.reduce((s, x) => s + x, 0) / g.steps.length),
    loss: Math.exp(median(Float64Array.from(g.logs).sort())),
  }));
}

/** Forecasts the loss at opts.maxSteps from (step, loss) points of one run. */
export function forecastLoss(points: CurvePoint[], opts: ForecastOptions): Forecast {
  points.forEach((p, i) => {
    if (!(p.step > 0 && Number.isFinite(p.step) && p.loss > 0 && Number.isFinite(p.loss))) {
      throw new RangeError(`point ${i}: step and loss must be finite and positive, got (${p.step}, ${p.loss})`);
    }
  });
  if (!(opts.maxSteps > 0)) throw new RangeError(`maxSteps must be positive, got ${opts.maxSteps}`);
  const sorted = [...points].sort((p, q) => p.step - q.step);
  const lastStep = sorted.length ? sorted[sorted.length - 1].step : 0;
  const skip = Math.max(opts.warmup ?? 0, 0.1 * lastStep);
  const kept = sorted.filter((p) => p.step > skip);
  const binned = kept.length ? binCurve(kept, opts.bins ?? 48) : [];
  if (binned.length < 6) {
    throw new RangeError(`forecasting needs losses at 6 or more distinct step ranges after warm-up (step ${skip}), got ${binned.length}`);
  }
  const fitOf = (pts: CurvePoint[], starts?: number[][]) =>
    fitLN(
      pts.map((p) => ({ N: p.step, loss: p.loss })),
      { starts },
    );
  const fit = fitOf(binned, lnGrid());

  const rng = new Rng(opts.seed ?? 0);
  const samples = opts.samples ?? 100;
  const level = opts.level ?? 0.95;
  const starts: number[][] = [];
  for (const da of [-0.1, 0, 0.1]) for (const de of [-0.2, 0, 0.2]) starts.push([fit.a, fit.e + de, fit.alpha + da]);
  const finals: number[] = [];
  for (let s = 0; s < samples; s++) {
    const resample = binned.map(() => binned[rng.int(binned.length)]);
    if (new Set(resample.map((p) => p.step)).size < 3) continue;
    finals.push(fitOf(resample, starts).predict(opts.maxSteps));
  }
  const final = fit.predict(opts.maxSteps);
  const f = Float64Array.from(finals).sort();
  const band: Interval = f.length
    ? [Math.min(final, quantile(f, (1 - level) / 2)), Math.max(final, quantile(f, (1 + level) / 2))]
    : [final, final];
  return {
    Linf: fit.E,
    Sc: Math.exp(fit.a / fit.alpha),
    alphaS: fit.alpha,
    final,
    band,
    fit,
    binned,
    predict: fit.predict,
  };
}

export interface SpikeOptions {
  window?: number; // recent unflagged losses compared against; default 128
  ratio?: number; // flag loss ≥ ratio × window mean; default 2
  sigmas?: number; // flag loss > median + sigmas·σ; default 6
  minHistory?: number; // losses needed in the window before flagging; default 16
}

export interface Spike {
  reason: 'nonFinite' | 'ratio' | 'sigma';
  loss: number;
  mean: number; // of the window
  median: number;
  sigma: number; // 1.4826·MAD, floored at 1e-3·median
}

/** Streaming spike detector: push each step's loss; a Spike comes back when it is anomalous. */
export class SpikeDetector {
  private readonly window: number;
  private readonly ratio: number;
  private readonly sigmas: number;
  private readonly minHistory: number;
  private readonly recent: number[] = [];

  constructor(opts: SpikeOptions = {}) {
    this.window = opts.window ?? 128;
    this.ratio = opts.ratio ?? 2;
    this.sigmas = opts.sigmas ?? 6;
    this.minHistory = opts.minHistory ?? 16;
  }

  push(loss: number): Spike | null {
    const r = this.recent;
    if (!Number.isFinite(loss)) return { reason: 'nonFinite', loss, mean: NaN, median: NaN, sigma: NaN };
    if (r.length >= this.minHistory) {
      const mean = r.reduce((s, x) => s + x, 0) / r.length;
      const sorted = Float64Array.from(r).sort();
      const med = median(sorted);
      const dev = Float64Array.from(r, (x) => Math.abs(x - med)).sort();
      // The floor keeps a perfectly flat window (MAD 0) from flagging round-off.
      const sigma = Math.max(1.4826 * median(dev), 1e-3 * Math.abs(med));
      const reason = loss >= this.ratio * mean ? 'ratio' : loss > med + this.sigmas * sigma ? 'sigma' : null;
      if (reason) return { reason, loss, mean, median: med, sigma };
    }
    r.push(loss);
    if (r.length > this.window) r.shift();
    return null;
  }
}

/** The indices of the losses a fresh SpikeDetector flags. */
export function findSpikes(losses: ArrayLike<number>, opts: SpikeOptions = {}): number[] {
  const det = new SpikeDetector(opts);
  const out: number[] = [];
  for (let i = 0; i < losses.length; i++) if (det.push(losses[i])) out.push(i);
  return out;
}
