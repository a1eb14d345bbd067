/**
 * A run's forecast: its held-out loss at every later step of its planned learning-rate schedule,
 * fitted to the run so far, with a band whose coverage is measured, or a reason why there is
 * too little to say.
 *
 * The law. Tissue et al. 2024 (Scaling Law with Learning Rate Annealing, arXiv 2408.11029) find
 * that a run's loss depends on its schedule through two areas:
 *
 *   L(s) = L0 + A·S1(s)^(−α) − C·S2(s)
 *
 * S1(s) = Σ_{i<s} η_i is the forward area (the learning rate summed over the updates so far; here
 * in units of the peak rate, so one step at the peak adds 1), and S2(s) = Σ_{i≤s} m_i the
 * annealing area with momentum, m_i = λ·m_{i−1} + (η_{i−1} − η_i): each drop of the rate lowers
 * the loss, a little later. A step-only law L∞ + (S_c/s)^α cannot see a cosine decay coming and
 * misses in both directions (too high early, too low late); this one knows the whole schedule in
 * advance, so the curve it draws bends where the schedule does. Warm-up adds to S1 but not to S2
 * (its rate rises). λ and the start of the fitted range were chosen on the backtest bank
 * (datasets/runs, `npm run cli -- backtest`).
 *
 * The fit. Given α, the law is linear in (L0, A, C) and in δ, the held-out loss's offset from the
 * per-step train losses, so it is fitted by non-negative least squares (L0, A, C ≥ 0) over
 * binned train losses and the evaluations, with α profiled over a grid and refined (variable
 * projection). Before the rate has decayed, C cannot be read off the run; a weak prior ties it to
 * the law's own slope at the start of the decay (a ridge row, below), so the forecast of a cosine
 * run seen only on its plateau still expects the annealing drop.
 *
 * The band is the sum of two parts, in log loss: the noise of this run (a wild bootstrap of the
 * fit's residuals: what refitting a run with other minibatches would give) and the law's misfit,
 * which no resampling of one run can see: the spread of the law's errors over the bank at the same
 * fraction of the run, as measured by the backtest (MISFIT, below). Where the run has not shown
 * enough (still warming up, flat on a plateau, or a law the points do not pin down), the forecast
 * is a reason instead of a number.
 */
import { quantile, type Interval } from './fit.ts';
import { Rng } from './rng.ts';
import { getLr, type Schedule } from './schedule.ts';

export interface CurvePoint {
  step: number; // updates applied so far (1-based for a train step's loss)
  loss: number; // nats/char
}

/** What the forecast reads of a run. */
export interface RunCurve {
  schedule: Schedule; // the planned schedule: its maxSteps is the step forecast
  steps: readonly CurvePoint[]; // per-step minibatch train losses
  evals: readonly CurvePoint[]; // held-out (val) losses after `step` updates
}

export interface ForecastOptions {
  upto?: number; // forecast from what was known after this step (default: everything given)
  target?: number; // the step whose val loss is forecast (default: schedule.maxSteps)
  level?: number; // the band's central coverage (default 0.9)
  samples?: number; // bootstrap refits for the noise part (default 100)
  seed?: number; // the bootstrap's (default 0)
  misfit?: boolean; // add the bank's measured misfit to the band (default true; off only to test the noise part alone)
  /** The law's settings, chosen on the bank (defaults LAMBDA, FIT_FROM, PRIOR_SCALE): open so the backtest can compare others. */
  tuning?: Partial<Tuning>;
}

export interface Tuning {
  lambda: number; // S2's momentum
  fitFrom: number; // fraction of the steps seen that the fit skips
  priorScale: number; // the C prior's scale (0: no prior)
  priorRows: number; // the C prior's weight, in rows at the target's S2
  alpha: number | null; // α held fixed (0: the log limit, L0 − A·ln S1), or null: fitted
  family: 'power' | 'boxcox'; // A·S1^−α with L0 ≥ 0, or −b·(1 − S1^−α)/α over α in [−1, 2] (accelerating in log S1 where α < 0)
  priorAt: 'decay' | 'cut' | 'target' | 'absolute';
  accel: number; // refuse when the last bins fall this many times faster than the law (Infinity: never) // the slope the C prior scales: at the decay's start, at the last step seen; or C = priorScale itself
}

/** The fitted law, in the units above (S1, S2 in peak-rate steps). */
export interface ScheduleLaw {
  L0: number;
  A: number;
  alpha: number;
  C: number;
  valOffset: number; // held-out minus train, nats/char
  lambda: number; // S2's momentum
}

export type Forecast =
  | {
      kind: 'forecast';
      step: number; // the last step the forecast saw
      target: number;
      final: number; // the val loss forecast at target, nats/char
      band: Interval; // the `level` band of that val loss
      level: number;
      law: ScheduleLaw;
      noise: number; // the noise part of the band: one standard deviation of log loss
      misfit: number; // the misfit part, likewise (0 with misfit: false)
      predict(step: number): number; // val loss forecast at any step of the schedule
      curve: [number, number][]; // [step, val loss] from the step after `step` to target, at most ~200 points
    }
  | { kind: 'none'; step: number; target: number; reason: string };

/** S2's momentum λ: the rate's drop takes effect over ~1/(1 − λ) steps (chosen on the bank). */
export const LAMBDA = 0.99;
/** The fit skips the first FIT_FROM of the steps seen (or the warm-up, if longer): the fall from ln V to the unigram level is no power law. */
export const FIT_FROM = 0.2;
/** The loss falling this many times faster than the law at the end of the range means a plateau is being left (chosen on the bank). */
export const ACCEL = 1.5;
/** Train-loss bins fitted (the evaluations come on top). */
const BINS = 40;
/** Each evaluation counts as this many bins: it is a mean over many more tokens than one bin's steps. */
const EVAL_WEIGHT = 2;

/**
 * The law's misfit, one standard deviation of log(forecast/actual) over the backtest bank by the
 * fraction of the run seen (interpolated in log fraction; 0 at the end). Measured by
 * `npm run cli -- backtest --misfit` on datasets/runs; the README has the table it gave.
 */
export const MISFIT: readonly (readonly [number, number])[] = [
  [0.1, 0.06],
  [0.25, 0.03],
  [0.5, 0.015],
  [0.75, 0.008],
  [1, 0],
];

/** The misfit part of the band at fraction f of the run seen. */
export function misfitAt(f: number, table: readonly (readonly [number, number])[] = MISFIT): number {
  if (f >= 1) return 0;
  if (f <= table[0][0]) return table[0][1];
  for (let i = 1; i < table.length; i++) {
    const [f1, s1] = table[i];
    const [f0, s0] = table[i - 1];
    if (f <= f1) {
      const t = (Math.log(f) - Math.log(f0)) / (Math.log(f1) - Math.log(f0));
      return s0 + t * (s1 - s0);
    }
  }
  return 0;
}

/** The standard normal quantile (Acklam's rational approximation, relative error under 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`a probability in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628274631];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const q = Math.min(p, 1 - p);
  let x: number;
  if (q < 0.02425) {
    const r = Math.sqrt(-2 * Math.log(q));
    x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
  } else {
    const r = q - 0.5;
    const r2 = r * r;
    x = ((((((a[0] * r2 + a[1]) * r2 + a[2]) * r2 + a[3]) * r2 + a[4]) * r2 + a[5]) * r) / (((((b[0] * r2 + b[1]) * r2 + b[2]) * r2 + b[3]) * r2 + b[4]) * r2 + 1);
    return p < 0.5 ? x : -x;
  }
  return p < 0.5 ? x : -x;
}

/** The two areas at every step 0…last of a schedule: S1 (forward) and S2 (annealing, with momentum λ), in peak-rate steps. */
export function scheduleAreas(s: Schedule, last: number, lambda = LAMBDA): { S1: Float64Array; S2: Float64Array } {
  const S1 = new Float64Array(last + 1);
  const S2 = new Float64Array(last + 1);
  const peak = s.learningRate;
  let m = 0;
  let prev = getLr(s, 0) / peak;
  for (let k = 1; k <= last; k++) {
    const eta = getLr(s, k - 1) / peak; // the rate of the k-th update
    S1[k] = S1[k - 1] + eta;
    // Warm-up's rising rate is not annealing: only drops count.
    m = lambda * m + Math.max(0, prev - eta);
    S2[k] = S2[k - 1] + m;
    prev = eta;
  }
  return { S1, S2 };
}

/**
 * Whether the loss is falling clearly faster at the end of the fitted range than the law fitted to
 * it (the start of a phase change, such as the drop from a plateau at an n-gram level): the drop
 * over the last quarter of the bins (at least 4), from a least-squares line in ln S1, against the
 * law's drop over the same steps. Returns the ratio when it exceeds `ratio` by more than twice the
 * line's standard error, else null.
 */
function leavingPlateau(
  bins: { step: number; loss: number }[],
  law: (step: number) => number,
  S1: Float64Array,
  ratio: number,
): number | null {
  const tail = bins.slice(-Math.max(4, Math.floor(bins.length / 4)));
  const x = tail.map((b) => Math.log(S1[b.step]));
  const y = tail.map((b) => b.loss);
  const n = tail.length;
  const mx = x.reduce((t, v) => t + v, 0) / n;
  const my = y.reduce((t, v) => t + v, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
  }
  if (!(sxx > 0)) return null;
  const slope = sxy / sxx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (y[i] - my - slope * (x[i] - mx)) ** 2;
  const se = Math.sqrt(sse / Math.max(1, n - 2) / sxx);
  const span = x[n - 1] - x[0];
  const dataDrop = -slope * span;
  const lawDrop = law(tail[0].step) - law(tail[n - 1].step);
  if (dataDrop - 2 * se * span > ratio * Math.max(lawDrop, 0)) return dataDrop / Math.max(lawDrop, 1e-9);
  return null;
}

/** Trimmed mean of a bin's losses (10% off each end): the mean a minibatch estimates, without a spike's pull. */
function trimmedMean(xs: number[]): number {
  const s = xs.slice().sort((p, q) => p - q);
  const cut = Math.floor(s.length * 0.1);
  const kept = s.slice(cut, s.length - cut);
  return kept.reduce((t, x) => t + x, 0) / kept.length;
}

/** Equal-width step bins of the per-step losses in (from, to]: each bin's mean step and trimmed-mean loss, and its size. */
function binSteps(points: readonly CurvePoint[], from: number, to: number, bins: number): { step: number; loss: number; n: number }[] {
  const width = (to - from) / bins;
  const groups: { steps: number[]; losses: number[] }[] = Array.from({ length: bins }, () => ({ steps: [], losses: [] }));
  for (const p of points) {
    if (p.step <= from || p.step > to) continue;
    const k = Math.min(bins - 1, Math.floor((p.step - from - 1e-9) / width));
    groups[k].steps.push(p.step);
    groups[k].losses.push(p.loss);
  }
  return groups
    .filter((g) => g.steps.length > 0)
    .map((g) => ({ step: Math.round(g.steps.reduce((t, x) => t + x, 0) / g.steps.length), loss: trimmedMean(g.losses), n: g.steps.length }));
}

/** One row of the least-squares problem: the law's features at a step, the observed loss, and its weight. */
interface Row {
  step: number;
  val: boolean; // a held-out evaluation (δ applies)
  y: number;
  w: number;
}

/** Solves the small dense system M x = v by Gaussian elimination with partial pivoting; null if singular. */
function solve(M: number[][], v: number[]): number[] | null {
  const n = v.length;
  const a = M.map((r, i) => [...r, v[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    if (!(Math.abs(a[p][c]) > 1e-12 * (1 + Math.abs(a[c][c])))) return null;
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let k = c; k <= n; k++) a[r][k] -= f * a[c][k];
    }
  }
  return a.map((r, i) => r[n] / r[i]);
}

/** A C prior: value and weight of the ridge row √w·(C − value). */
interface Prior {
  C: number;
  w: number;
}

/**
 * Non-negative least squares for θ = [L0, A, C, δ] at a fixed α: y ≈ L0 + A·S1^−α − C·S2 + δ·[val],
 * L0, A, C ≥ 0 (δ free; absent without evaluations), with an optional ridge row on C. Four
 * unknowns: every active set is tried and the best feasible one kept.
 */
function nnls(rows: Row[], S1: Float64Array, S2: Float64Array, alpha: number, withVal: boolean, prior: Prior | null, boxcox: boolean) {
  const X = rows.map((r) => [1, boxcox ? -boxCox(S1[r.step], alpha) : powerTerm(S1[r.step], alpha), -S2[r.step], r.val ? 1 : 0]);
  const dims = withVal ? 4 : 3;
  let best: { theta: number[]; sse: number } | null = null;
  for (let mask = 0; mask < 8; mask++) {
    // Bit k set: parameter k (L0, A, C) held at 0.
    if (boxcox && mask & 1) continue; // L0's place is a free intercept there
    const free = [0, 1, 2, 3].filter((k) => k < dims && !(k < 3 && mask & (1 << k)));
    const M = free.map(() => free.map(() => 0));
    const v = free.map(() => 0);
    rows.forEach((r, i) => {
      free.forEach((p, a) => {
        v[a] += r.w * X[i][p] * r.y;
        free.forEach((q, b) => (M[a][b] += r.w * X[i][p] * X[i][q]));
      });
    });
    const ci = free.indexOf(2);
    if (prior && ci >= 0) {
      M[ci][ci] += prior.w;
      v[ci] += prior.w * prior.C;
    }
    const x = solve(M, v);
    if (!x) continue;
    const theta = [0, 0, 0, 0];
    free.forEach((p, a) => (theta[p] = x[a]));
    if ((!boxcox && theta[0] < 0) || theta[1] < 0 || theta[2] < 0) continue;
    let sse = 0;
    rows.forEach((r, i) => {
      const e = r.y - X[i].reduce((t, xk, k) => t + xk * theta[k], 0);
      sse += r.w * e * e;
    });
    if (prior) sse += prior.w * (theta[2] - prior.C) ** 2;
    if (!best || sse < best.sse) best = { theta, sse };
  }
  return best;
}

/** S1^−α, or its α → 0 limit −ln S1 (the law's A·S1^−α becomes a slope per e-fold of S1). */
function powerTerm(S1: number, alpha: number): number {
  return alpha === 0 ? -Math.log(S1) : S1 ** -alpha;
}

/** (1 − x^−α)/α, → ln x as α → 0: increasing in x for every α; bounded (a power law's floor) for α > 0. */
export function boxCox(x: number, alpha: number): number {
  return Math.abs(alpha) < 1e-9 ? Math.log(x) : (1 - x ** -alpha) / alpha;
}

const ALPHA_MIN = 0.02;
const ALPHA_MAX = 4;

/** The law fitted to `rows`: α over a log grid, refined by golden-section search, θ by NNLS at each α. */
function fitLaw(
  rows: Row[],
  S1: Float64Array,
  S2: Float64Array,
  withVal: boolean,
  prior: (alpha: number, theta: number[]) => Prior | null,
  fixedAlpha: number | null,
  boxcox: boolean,
) {
  const at = (alpha: number) => {
    // The prior depends on the law's slope, so it is set from an unregularised fit at the same α.
    const plain = nnls(rows, S1, S2, alpha, withVal, null, boxcox);
    if (!plain) return null;
    const p = prior(alpha, plain.theta);
    const fit = p ? nnls(rows, S1, S2, alpha, withVal, p, boxcox) : plain;
    return fit && { alpha, ...fit };
  };
  if (fixedAlpha !== null) {
    const f = at(fixedAlpha);
    return f && { best: f, atEdge: false };
  }
  // α on an axis u in [0, 1]: log-spaced for the power law, linear over [−1, 2] for Box-Cox.
  const alphaOf = (u: number) => (boxcox ? -1 + 3 * u : ALPHA_MIN * (ALPHA_MAX / ALPHA_MIN) ** u);
  const grid = 48;
  let best: ReturnType<typeof at> = null;
  let bestI = 0;
  for (let i = 0; i <= grid; i++) {
    const f = at(alphaOf(i / grid));
    if (f && (!best || f.sse < best.sse)) [best, bestI] = [f, i];
  }
  if (!best) return null;
  // Golden-section refinement between the grid neighbours of the best.
  let lo = Math.max(0, bestI - 1) / grid;
  let hi = Math.min(grid, bestI + 1) / grid;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 30; it++) {
    const a = hi - g * (hi - lo);
    const b = lo + g * (hi - lo);
    const fa = at(alphaOf(a));
    const fb = at(alphaOf(b));
    if ((fa?.sse ?? Infinity) < (fb?.sse ?? Infinity)) hi = b;
    else lo = a;
    for (const f of [fa, fb]) if (f && f.sse < best.sse) best = f;
  }
  return { best, atEdge: bestI === 0 || bestI === grid };
}

/**
 * The C prior: the annealing drop per unit S2 equal to the law's own slope −dL/dS1 at the step
 * the decay starts, scaled by PRIOR_SCALE. The weight is that of PRIOR_ROWS observations of S2
 * at the target, so it gives way as soon as the run has annealed enough to show C itself.
 */
export const PRIOR_SCALE = 1;
export const PRIOR_ROWS = 2;

/** Forecasts a run's val loss at its planned last step (or opts.target) from its losses up to opts.upto. */
export function forecastRun(run: RunCurve, opts: ForecastOptions = {}): Forecast {
  const s = run.schedule;
  const tune: Tuning = { lambda: LAMBDA, fitFrom: FIT_FROM, priorScale: PRIOR_SCALE, priorRows: PRIOR_ROWS, alpha: null, priorAt: 'decay', family: 'power', accel: ACCEL, ...opts.tuning };
  const target = opts.target ?? s.maxSteps;
  if (!(Number.isInteger(target) && target > 0)) throw new RangeError(`the forecast's target step must be a positive whole number, got ${target}`);
  const seen = (p: CurvePoint) => p.step <= (opts.upto ?? Infinity) && Number.isFinite(p.loss) && p.loss > 0;
  const steps = run.steps.filter(seen);
  const evals = run.evals.filter(seen);
  const last = Math.max(steps.at(-1)?.step ?? 0, evals.at(-1)?.step ?? 0, 0);
  const none = (reason: string): Forecast => ({ kind: 'none', step: last, target, reason });
  if (last >= target) return none(`the run is at step ${last}, its target is ${target}: there is nothing left to forecast`);
  if (last <= s.warmupSteps)
    return none(`the learning rate is still warming up (step ${last} of ${s.warmupSteps}): the loss so far says little about the rest of the run`);
  const from = Math.max(s.warmupSteps, Math.floor(tune.fitFrom * last));
  const minSpan = Math.max(40, Math.ceil(0.04 * target));
  if (last - from < minSpan)
    return none(`${last - from} steps since the warm-up ended (step ${s.warmupSteps}); a forecast needs ${minSpan} to fit a curve to`);

  const { S1, S2 } = scheduleAreas(s, target, tune.lambda);
  const bins = binSteps(steps, from, last, Math.min(BINS, last - from));
  const rows: Row[] = bins.map((b) => ({ step: b.step, val: false, y: b.loss, w: 1 }));
  for (const e of evals) if (e.step > from) rows.push({ step: e.step, val: true, y: e.loss, w: EVAL_WEIGHT });
  const withVal = rows.some((r) => r.val);
  if (bins.length < 8) return none(`only ${bins.length} step ranges with losses since step ${from}; a forecast needs 8`);

  // Plateau: the loss has not fallen beyond its noise over the fitted range.
  const half = Math.floor(bins.length / 2);
  const early = bins.slice(0, half).map((b) => b.loss);
  const late = bins.slice(bins.length - half).map((b) => b.loss);
  const meanOf = (xs: number[]) => xs.reduce((t, x) => t + x, 0) / xs.length;
  const resid = bins.slice(1).map((b, i) => b.loss - bins[i].loss);
  const noiseSd = Math.sqrt(meanOf(resid.map((r) => r * r)) / 2); // one bin's noise, from successive differences
  const drop = meanOf(early) - meanOf(late);
  if (drop < Math.max(3 * noiseSd * Math.sqrt(2 / half), 0.005 * meanOf(late)))
    return none(
      `the loss has not fallen since step ${from} (${meanOf(early).toFixed(3)} → ${meanOf(late).toFixed(3)} nats/char): on a plateau, a curve fitted now cannot say when it will leave it`,
    );

  const decayStart = Math.max(1, s.warmupSteps);
  const S2end = S2[target];
  const prior = (alpha: number, theta: number[]): Prior | null => {
    if (!(S2end > 0) || tune.priorScale <= 0) return null;
    if (tune.priorAt === 'absolute') return { C: tune.priorScale, w: tune.priorRows * S2end * S2end };
    const k = tune.priorAt === 'decay' ? decayStart : tune.priorAt === 'target' ? target : last;
    const slope = tune.family === 'boxcox' ? theta[1] * S1[k] ** (-alpha - 1) : alpha === 0 ? theta[1] / S1[k] : theta[1] * alpha * S1[k] ** (-alpha - 1); // −dL/dS1 there
    return { C: tune.priorScale * slope, w: tune.priorRows * S2end * S2end };
  };
  const boxcox = tune.family === 'boxcox';
  const fitted = fitLaw(rows, S1, S2, withVal, prior, tune.alpha, boxcox);
  if (!fitted) return none('the law could not be fitted to these losses');
  const { best } = fitted;
  if (fitted.atEdge || !(best.theta[1] > 0))
    return none(`the losses so far fit no power law in the summed learning rate (α at ${best.alpha.toPrecision(2)}): the curve is not pinned down yet`);
  const term = (x: number, alpha: number) => (boxcox ? -boxCox(x, alpha) : powerTerm(x, alpha));
  const lawAt = (theta: number[], alpha: number, step: number) => theta[0] + theta[1] * term(S1[step], alpha) - theta[2] * S2[step] + theta[3];
  const final = lawAt(best.theta, best.alpha, target);
  if (!(final > 0 && Number.isFinite(final))) return none('the fitted law gives no positive loss at the target');
  const leaving = leavingPlateau(bins, (k) => lawAt([...best.theta.slice(0, 3), 0], best.alpha, k), S1, tune.accel);
  if (leaving)
    return none(
      `the loss is falling ${leaving.toFixed(1)}× faster over the last steps than any law fitted to the run so far: it is leaving a plateau, and where it will settle cannot be read yet`,
    );

  // Noise: wild bootstrap (Rademacher signs on the residuals), refit, spread of log final.
  const rng = new Rng(opts.seed ?? 0);
  const fitY = rows.map((r) => lawAt(r.val ? best.theta : [...best.theta.slice(0, 3), 0], best.alpha, r.step));
  const samples = opts.samples ?? 100;
  const logs: number[] = [];
  for (let k = 0; k < samples; k++) {
    const boot = rows.map((r, i) => ({ ...r, y: fitY[i] + (r.y - fitY[i]) * (rng.next() < 0.5 ? -1 : 1) }));
    const f = fitLaw(boot, S1, S2, withVal, prior, tune.alpha, boxcox);
    if (!f) continue;
    const v = lawAt(f.best.theta, f.best.alpha, target);
    if (v > 0) logs.push(Math.log(v));
  }
  const m = logs.reduce((t, x) => t + x, 0) / Math.max(1, logs.length);
  const noise = logs.length > 1 ? Math.sqrt(logs.reduce((t, x) => t + (x - m) ** 2, 0) / (logs.length - 1)) : 0;
  const misfit = opts.misfit === false ? 0 : misfitAt(last / target);
  const level = opts.level ?? 0.9;
  const z = normalQuantile((1 + level) / 2);
  const sd = Math.hypot(noise, misfit);
  if (sd > 0.25)
    return none(`the curve so far leaves the final loss spread by ±${Math.round(100 * z * sd)}%: too little to say yet`);
  const band: Interval = [final * Math.exp(-z * sd), final * Math.exp(z * sd)];
  const law: ScheduleLaw = { L0: best.theta[0], A: best.theta[1], alpha: best.alpha, C: best.theta[2], valOffset: best.theta[3], lambda: tune.lambda };
  const predict = (step: number) => {
    const k = Math.min(target, Math.max(1, Math.round(step)));
    return lawAt(best.theta, best.alpha, k);
  };
  const curve: [number, number][] = [];
  const every = Math.max(1, Math.ceil((target - last) / 200));
  for (let k = last + 1; k < target; k += every) curve.push([k, predict(k)]);
  curve.push([target, final]);
  return { kind: 'forecast', step: last, target, final, band, level, law, noise, misfit, predict, curve };
}
