/**
 * The gradient noise scale and the critical batch size: how large a batch is worth its tokens.
 *
 * McCandlish et al. 2018, "An Empirical Model of Large-Batch Training" (arXiv:1812.06162): with
 * per-example gradients of mean G and covariance Σ, the gradient of a batch of B examples has
 * E|G_B|² = |G|² + tr(Σ)/B. Two batch sizes b < B give unbiased estimates of both terms
 * (appendix A.1):
 *   |G|²  ≈ (B·|G_B|² − b·|G_b|²) / (B − b)
 *   tr Σ  ≈ (|G_b|² − |G_B|²) / (1/b − 1/B)
 * Each is noisy, so both are smoothed by an exponential moving average, as the paper does, and
 * the simple noise scale is their ratio, B_simple = tr Σ / |G|². Below B_simple a larger batch
 * cuts the steps to a given loss almost in proportion; above it, it mostly spends more tokens.
 * Here an example is one row of the minibatch: a sequence of T characters, so B_simple comes in
 * sequences, and T times that in characters (tokens).
 *
 * Kaplan et al. 2020, "Scaling Laws for Neural Language Models" (arXiv:2001.08361), §5.1, eq. 5.3,
 * fit the critical batch as a function of the loss alone: B_crit(L) ≈ B* / L^(1/α_B), B* ≈ 2·10⁸
 * tokens, α_B ≈ 0.21, with L in nats per BPE token: for a character model, only as an analogy,
 * through a characters-per-token factor (src/core/scaling.ts).
 *
 * And the trade-off the critical batch summarises (McCandlish et al. eq. 2.11; Kaplan eq. 5.4):
 * steps S and examples E = B·S to reach a loss follow S/S_min − 1 = (E/E_min − 1)⁻¹, that is
 * S(B) = S_min·(1 + B_crit/B) with B_crit = E_min/S_min: fitLadder reads S_min and B_crit off a
 * batch-size ladder by least squares on log S.
 */
import { kaplan } from './scaling.ts';

/** One measurement: the squared gradient norms of a minibatch of `big` rows and of `small` of its rows. */
export interface NormPair {
  big: number; // B, rows (sequences) of the minibatch
  small: number; // b < B, rows of the sub-batch
  bigSq: number; // |G_B|², squared L2 norm of the whole minibatch's gradient (every parameter together)
  smallSq: number; // |G_b|²
}

/** |G|² and tr Σ: unbiased single-measurement estimates, or their moving averages. */
export interface NoiseTerms {
  gSq: number; // |G|², squared norm of the true (expected) gradient
  trSigma: number; // tr Σ, the per-example gradient variance summed over parameters
}

/** The smoothed estimates after a measurement: what `train --noise-scale-every` prints and the app draws. */
export interface NoiseEvent extends NoiseTerms {
  type: 'noise';
  step: number; // the update whose gradient was measured (1-based, like a step event)
  bSimple: number | null; // tr Σ / |G|² in sequences; null while the smoothed |G|² is not yet positive
  bSimpleTokens: number | null; // the same in tokens (characters): bSimple · T
  batch: number; // B: the run's batch, in sequences
  small: number; // b: the sub-batch measured beside it
}

/** Smoothing of the moving averages, per measurement: about the last 1/(1 − β) = 20 measurements count. */
export const NOISE_EMA_BETA = 0.95;

/** How often the app measures: one extra forward and backward pass over half a minibatch every 10 steps (~5% more compute). */
export const APP_NOISE_EVERY = 10;

/** The sub-batch measured beside a batch of B rows: its first half (B ≥ 2). */
export function subBatchRows(batch: number): number {
  if (!(Number.isInteger(batch) && batch >= 2)) throw new RangeError(`the noise scale needs a batch of at least 2 sequences, got ${batch}`);
  return Math.floor(batch / 2);
}

/** The unbiased estimates of |G|² and tr Σ from one pair of norms (McCandlish et al., appendix A.1). */
export function noiseTerms({ big, small, bigSq, smallSq }: NormPair): NoiseTerms {
  if (!(small >= 1 && big > small)) throw new RangeError(`the two batch sizes must satisfy 1 ≤ b < B, got b = ${small}, B = ${big}`);
  return {
    gSq: (big * bigSq - small * smallSq) / (big - small),
    trSigma: (smallSq - bigSq) / (1 / small - 1 / big),
  };
}

/** B_simple = tr Σ / |G|², or null where |G|² is not positive (early, noisy estimates can be). */
export function simpleNoiseScale({ gSq, trSigma }: NoiseTerms): number | null {
  return gSq > 0 && Number.isFinite(trSigma) ? trSigma / gSq : null;
}

/** Moving averages of |G|² and tr Σ, bias-corrected as Adam's moments are (so the first measurement counts in full). */
export class NoiseScaleEma {
  private gSq = 0;
  private trSigma = 0;
  private n = 0;

  constructor(readonly beta = NOISE_EMA_BETA) {
    if (!(beta >= 0 && beta < 1)) throw new RangeError(`the moving average's β must be in [0, 1), got ${beta}`);
  }

  /** Measurements taken in so far. */
  get count(): number {
    return this.n;
  }

  /** Takes in one measurement and returns the smoothed estimates. */
  add(pair: NormPair): NoiseTerms & { bSimple: number | null } {
    const t = noiseTerms(pair);
    if (!Number.isFinite(t.gSq) || !Number.isFinite(t.trSigma)) return { ...this.value(), bSimple: simpleNoiseScale(this.value()) };
    this.n++;
    this.gSq = this.beta * this.gSq + (1 - this.beta) * t.gSq;
    this.trSigma = this.beta * this.trSigma + (1 - this.beta) * t.trSigma;
    const v = this.value();
    return { ...v, bSimple: simpleNoiseScale(v) };
  }

  /** The bias-corrected averages (0 and 0 before any measurement). */
  value(): NoiseTerms {
    if (this.n === 0) return { gSq: 0, trSigma: 0 };
    const c = 1 - this.beta ** this.n;
    return { gSq: this.gSq / c, trSigma: this.trSigma / c };
  }
}

/** Kaplan et al. 2020, §5.1, eq. 5.3: the critical batch as a function of the loss. */
export const kaplanCriticalBatch = {
  source: 'Kaplan et al. 2020, Scaling Laws for Neural Language Models (arXiv:2001.08361), §5.1, eq. 5.3',
  Bstar: 2e8, // tokens
  alphaB: 0.21,
} as const;

/** B_crit(L) in BPE tokens, for a loss in nats per BPE token. */
export function kaplanBCrit(lossPerToken: number): number {
  if (!(lossPerToken > 0)) throw new RangeError(`the loss must be positive, got ${lossPerToken}`);
  return kaplanCriticalBatch.Bstar / lossPerToken ** (1 / kaplanCriticalBatch.alphaB);
}

/**
 * Kaplan's B_crit seen from a character model: the loss per character times characters per token
 * is taken as a loss per BPE token, and the critical batch in tokens times the same factor is
 * characters. An analogy across tokenisations, not a prediction.
 */
export function kaplanBCritChars(lossPerChar: number, charsPerToken: number = kaplan.charsPerToken): number {
  if (!(charsPerToken > 0)) throw new RangeError(`characters per token must be positive, got ${charsPerToken}`);
  return kaplanBCrit(lossPerChar * charsPerToken) * charsPerToken;
}

/** How far the batch is from the noise scale, and what that means, in one line. */
export function batchReading(batch: number, bSimple: number | null): string {
  if (bSimple === null || !(bSimple > 0)) return 'the noise scale is not measurable yet: its smoothed |G|² or tr Σ is still at or below 0';
  const k = bSimple / batch;
  const times = (x: number) => `~${x >= 10 ? Math.round(x) : x.toFixed(1)}×`;
  if (k >= 2)
    return `your batch is ${times(k)} below the noise scale: larger batches would use steps better (fewer steps to the same loss for little more compute)`;
  if (k <= 0.5)
    return `your batch is ${times(1 / k)} above the noise scale: smaller batches would use compute better (fewer tokens to the same loss)`;
  return `your batch is within 2× of the noise scale: a fair trade of steps against compute`;
}

// ---------------------------------------------------------------------------------------------
// The batch-size ladder: steps to a target loss at several batch sizes.

/** One rung: a batch size and the steps it took to reach the target (null: not within its budget). */
export interface Rung {
  batch: number; // sequences
  steps: number | null;
}

/** S_min, E_min and B_crit fitted to a ladder, or why not. */
export type LadderFit = { ok: true; sMin: number; eMin: number; bCrit: number } | { ok: false; reason: string };

/**
 * Fits S(B) = S_min·(1 + B_crit/B) to the rungs that reached the target, by least squares on
 * log S (steps vary several-fold along a ladder, and their noise is relative): for each B_crit the
 * best S_min is closed-form, and B_crit is searched on a log grid, then refined by golden section.
 * E_min = S_min·B_crit (in sequences).
 */
export function fitLadder(rungs: readonly Rung[]): LadderFit {
  const pts = rungs.filter((r): r is { batch: number; steps: number } => r.steps !== null && r.steps > 0);
  if (new Set(pts.map((p) => p.batch)).size < 2) return { ok: false, reason: 'needs at least two batch sizes that reached the target' };
  /** The residual sum of squares at this B_crit, and the S_min that gives it. */
  const at = (bCrit: number) => {
    const r = pts.map((p) => Math.log(p.steps) - Math.log1p(bCrit / p.batch));
    const logSMin = r.reduce((a, b) => a + b, 0) / r.length;
    return { sse: r.reduce((a, x) => a + (x - logSMin) ** 2, 0), sMin: Math.exp(logSMin) };
  };
  const batches = pts.map((p) => p.batch);
  const lo = Math.min(...batches) / 1000;
  const hi = Math.max(...batches) * 1000;
  const grid = Array.from({ length: 121 }, (_, i) => lo * (hi / lo) ** (i / 120));
  let k = 0;
  grid.forEach((b, i) => {
    if (at(b).sse < at(grid[k]).sse) k = i;
  });
  if (k === 0) return { ok: false, reason: 'larger batches did not need fewer steps (B_crit ≈ 0): try smaller batches or a lower target' };
  if (k === grid.length - 1)
    return { ok: false, reason: 'the steps still fall as 1/B at the largest batch (S_min not reached): try larger batches' };
  // Golden-section search on log B_crit between the grid's neighbours of the best point.
  let [a, b] = [Math.log(grid[k - 1]), Math.log(grid[k + 1])];
  const g = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 100; i++) {
    const c = b - g * (b - a);
    const d = a + g * (b - a);
    if (at(Math.exp(c)).sse < at(Math.exp(d)).sse) b = d;
    else a = c;
  }
  const bCrit = Math.exp((a + b) / 2);
  const { sMin } = at(bCrit);
  return { ok: true, sMin, eMin: sMin * bCrit, bCrit };
}

/**
 * Where a loss curve first reaches `target`: the step, linearly interpolated between the two
 * evaluations around the crossing, or null if it never does. Evaluations in step order.
 */
export function stepsToTarget(evals: readonly { step: number; loss: number }[], target: number): number | null {
  for (let i = 0; i < evals.length; i++) {
    const { step, loss } = evals[i];
    if (!(loss <= target)) continue;
    if (i === 0) return step;
    const prev = evals[i - 1];
    const f = (prev.loss - target) / (prev.loss - loss);
    return prev.step + f * (step - prev.step);
  }
  return null;
}
