/**
 * Loss spikes in a run. A loss is flagged when it is non-finite, at least `ratio`× the mean of the
 * window of recent unflagged losses, or more than `sigmas` robust standard deviations above the
 * window's median, σ = 1.4826·MAD (the median absolute deviation, scaled to equal σ for
 * Gaussian noise). Median and MAD rather than mean and standard deviation, so that earlier
 * spikes and the curve's own descent within the window do not hide the next spike. Flagged
 * losses stay out of the window, so a run that diverges keeps being flagged.
 */
import { quantile } from './fit.ts';

function median(sorted: ArrayLike<number>): number {
  return quantile(sorted, 0.5);
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
