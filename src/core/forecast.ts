/**
 * A run's forecast: its held-out loss at every later step of its planned learning-rate schedule,
 * fitted to the run so far, with a band whose coverage is measured, or a reason why there is
 * too little to say.
 *
 * The law. Tissue et al. 2024 (Scaling Law with Learning Rate Annealing, arXiv 2408.11029) find
 * that a run's loss depends on its schedule through two areas,
 *
 *   L(s) = L0 + A·S1(s)^(−α) − C·S2(s),
 *
 * S1(s) = Σ_{i<s} η_i the forward area (the learning rate summed over the updates so far, here in
 * units of the peak rate, so a step at the peak adds 1) and S2(s) = Σ_{i≤s} m_i the annealing area
 * with momentum, m_i = λ·m_{i−1} + (η_{i−1} − η_i): each drop of the rate lowers the loss, a little
 * later, and a full anneal is worth about C/(1 − λ). A step-only law L∞ + (S_c/s)^α cannot see a
 * cosine decay coming and misses both ways (too high early, too low late); this one reads the
 * whole schedule in advance, so the curve it draws bends where the schedule does. Warm-up adds to
 * S1 but not to S2 (its rate rises).
 *
 * At tab scale (minutes of training, 10⁴–10⁵-parameter models) α fitted on a partial run is
 * unstable (it swings between 0.02 and 3 from one cut to the next), and the fitted α of whole runs
 * is near 0, so the law is used at its α → 0 limit, L0 − A·ln S1 − C·S2 (law 'log'): linear in its
 * parameters. The power law with α profiled is kept as law 'power' for `npm run cli -- backtest --law power`
 * (README, "Forecasts": it missed by about twice as much at 25% of a run).
 *
 * The fit (schedule-law.ts, with the areas): least squares with A, C ≥ 0 over the per-step train losses in 40 bins (trimmed means)
 * and the evaluations, with δ, the held-out loss's offset from the train loss, as one more
 * parameter. Before the rate has decayed, C cannot be read off the run, so a ridge row pulls it
 * toward PRIOR_C (a full anneal worth ~0.2 nats/char, as on the bank), with the weight of
 * PRIOR_ROWS observations at the end of the schedule: a run that has annealed shows its own C.
 *
 * The band is two parts added in log loss: the noise of this run (a wild bootstrap of the fit's
 * residuals: what other minibatches would have given) and the law's misfit, which no resampling of
 * one run can see: how far the law missed on the bank of recorded runs at the same fraction of a
 * run (MISFIT, measured by `npm run cli -- backtest`). Where the run has not shown enough (still
 * warming up, flat on a plateau, dropping off one, below a known entropy floor, or earlier in the
 * run than the bank gave enough forecasts to calibrate), the forecast is a reason instead of a number.
 */
import type { Interval } from './fit.ts';
import { Rng } from './rng.ts';
import type { Schedule } from './schedule.ts';
import { fitLaw, LAMBDA, meanOver, scheduleAreas, term, type Row } from './schedule-law.ts';

export { scheduleAreas };

export interface CurvePoint {
  step: number; // updates applied so far (1-based for a train step's loss)
  loss: number; // nats/char
}

/** What the forecast reads of a run. */
export interface RunCurve {
  schedule: Schedule; // the planned schedule: its maxSteps is the step forecast
  steps: readonly CurvePoint[]; // per-step minibatch train losses
  evals: readonly CurvePoint[]; // held-out (val) losses after `step` updates
  floor?: number | null; // the corpus's exact entropy rate, where it is known (a synthetic corpus): no loss goes below it
}

export interface ForecastOptions {
  upto?: number; // forecast from what was known after this step (default: everything given)
  level?: number; // the band's central coverage (default 0.9)
  samples?: number; // bootstrap refits for the noise part (default 100)
  seed?: number; // the bootstrap's (default 0)
  misfit?: boolean; // add the bank's measured misfit to the band (default true; off only to test the noise part alone)
  tuning?: Partial<Tuning>; // the law's settings (defaults below, chosen on the bank): open so the backtest can compare others
}

export interface Tuning {
  law: 'log' | 'power'; // L0 − A·ln S1 − C·S2, or L0 + A·S1^−α − C·S2 with α profiled
  lambda: number; // S2's momentum
  fitFrom: number; // the fit skips this fraction of the steps seen (or the warm-up, if longer)
  priorC: number; // the C prior's value (0: none)
  priorRows: number; // its weight, in observations at the schedule's last S2
  accel: number; // refuse when the last bins fall this many times faster than the law (Infinity: never)
}

/** The fitted law, in the units above (S1, S2 in peak-rate steps; alpha 0 for the log law). */
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
      predict(step: number): number; // val loss forecast at any step of the schedule up to target
      curve: [number, number][]; // [step, val loss] from the step after `step` to target, at most ~200 points
    }
  | { kind: 'none'; step: number; target: number; reason: string };

/** The settings the forecast ships with, each chosen by the backtest on datasets/runs (README, "Forecasts"). */
export const TUNING: Tuning = {
  law: 'log',
  lambda: LAMBDA,
  fitFrom: 0.1, // the fall from ln V to the unigram level is no part of the law
  priorC: 0.002, // nats/char per peak-rate step of S2: a full anneal worth ~0.2 nats/char
  priorRows: 5,
  accel: 1.5,
};
/** Train-loss bins fitted (the evaluations come on top). */
const BINS = 40;
/** Each evaluation counts as this many bins: it is a mean over many more tokens than one bin's steps. */
const EVAL_WEIGHT = 2;
/** A band wider than ±this (in log loss, at the band's level) says too little: no forecast. */
export const MAX_HALF_WIDTH = 0.4;

/**
 * The law's misfit, one standard deviation of log(forecast/actual) by the fraction of the run seen
 * (interpolated in log fraction; as at 90% to the end, where the final evaluation's own noise remains): the σ that makes 90% of the bank's bands hold
 * their outcome at each cut. `npm run cli -- backtest` prints it as "misfit"; the README has the table.
 */
export const MISFIT: readonly (readonly [number, number])[] = [
  [0.1, Infinity], // 6 of the 22 runs gave a forecast from 10%: too few to measure a tail, so none is given
  [0.25, 0.0615],
  [0.5, 0.0172],
  [0.75, 0.0169],
  [0.9, 0.0117],
  [1, 0.0117],
];
/** Finished runs of the bank that MISFIT was measured on. */
export const MISFIT_RUNS = 22;

/**
 * The band's half-width in log loss: the run's noise and the law's misfit at fraction f of the run
 * seen, added in quadrature, at the band's level; null when it is wider than MAX_HALF_WIDTH.
 */
export function bandHalfWidth(
  noise: number,
  f: number,
  level: number,
  table: readonly (readonly [number, number])[] | null = MISFIT,
): number | null {
  const h = normalQuantile((1 + level) / 2) * Math.hypot(noise, table ? misfitAt(f, table) : 0);
  return h > MAX_HALF_WIDTH ? null : h;
}

/** The misfit part of the band at fraction f of the run seen. */
export function misfitAt(f: number, table: readonly (readonly [number, number])[] = MISFIT): number {
  if (f >= 1) return table.at(-1)![1];
  if (f <= table[0][0]) return table[0][1];
  for (let i = 1; i < table.length; i++) {
    const [f1, s1] = table[i];
    const [f0, s0] = table[i - 1];
    if (f <= f1) {
      if (!Number.isFinite(s0)) return f === f1 ? s1 : Infinity; // not measured from this early
      const t = (Math.log(f) - Math.log(f0)) / (Math.log(f1) - Math.log(f0));
      return s0 + t * (s1 - s0);
    }
  }
  return table.at(-1)![1];
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
    x =
      ((((((a[0] * r2 + a[1]) * r2 + a[2]) * r2 + a[3]) * r2 + a[4]) * r2 + a[5]) * r) /
      (((((b[0] * r2 + b[1]) * r2 + b[2]) * r2 + b[3]) * r2 + b[4]) * r2 + 1);
    return p < 0.5 ? x : -x;
  }
  return p < 0.5 ? x : -x;
}

/**
 * Whether the loss is falling clearly faster at the end of the fitted range than the law fitted to
 * it (the start of a phase change, such as the drop from a plateau at an n-gram level): the drop
 * over the last quarter of the bins (at least 4), from a least-squares line in ln S1, against the
 * law's drop over the same steps. Returns the ratio when it exceeds `ratio` by more than twice the
 * line's standard error, else null.
 */
function leavingPlateau(bins: Bin[], law: (step: number) => number, S1: Float64Array, ratio: number): number | null {
  const tail = bins.slice(-Math.max(4, Math.floor(bins.length / 4)));
  const x = tail.map((b) => meanOver(b.steps, (k) => Math.log(S1[k])));
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
  const lawDrop = meanOver(tail[0].steps, law) - meanOver(tail[n - 1].steps, law);
  if (dataDrop - 2 * se * span > ratio * Math.max(lawDrop, 0)) return dataDrop / Math.max(lawDrop, 1e-9);
  return null;
}

/**
 * Equal-width step bins of the per-step losses in (from, to]. Each bin keeps the steps whose losses
 * are its middle 80% (a trimmed mean: what the minibatches estimate, without a spike's pull), and
 * its row is the mean of their losses against the mean of the law's terms over the same steps:
 * the law is linear in its parameters, so a noiseless run is fitted exactly, however curved.
 */
function binSteps(points: readonly CurvePoint[], from: number, to: number, bins: number): Bin[] {
  const width = (to - from) / bins;
  const groups: CurvePoint[][] = Array.from({ length: bins }, () => []);
  for (const p of points) {
    if (p.step <= from || p.step > to) continue;
    groups[Math.min(bins - 1, Math.floor((p.step - from - 1e-9) / width))].push(p);
  }
  return groups
    .filter((g) => g.length > 0)
    .map((g) => {
      const sorted = g.slice().sort((p, q) => p.loss - q.loss);
      const cut = Math.floor(sorted.length * 0.1);
      const kept = sorted.slice(cut, sorted.length - cut);
      return { steps: kept.map((p) => p.step), loss: kept.reduce((t, p) => t + p.loss, 0) / kept.length };
    });
}

/** A bin of train losses: the steps it averages and their mean loss. */
interface Bin {
  steps: number[];
  loss: number;
}

/** Forecasts a run's val loss at its planned last step from its losses up to opts.upto. */
export function forecastRun(run: RunCurve, opts: ForecastOptions = {}): Forecast {
  const s = run.schedule;
  const tune: Tuning = { ...TUNING, ...opts.tuning };
  const target = s.maxSteps;
  if (!(Number.isInteger(target) && target > 0))
    throw new RangeError(`the schedule's last step (maxSteps) must be a positive whole number, got ${target}`);
  const level = opts.level ?? 0.9;
  if (!(level > 0 && level < 1)) throw new RangeError(`the band's level must be in (0, 1), got ${level}`);
  const seen = (p: CurvePoint) => p.step <= (opts.upto ?? Infinity) && Number.isFinite(p.loss) && p.loss > 0;
  const steps = run.steps.filter(seen);
  const evals = run.evals.filter(seen);
  const last = Math.max(steps.at(-1)?.step ?? 0, evals.at(-1)?.step ?? 0, 0);
  const none = (reason: string): Forecast => ({ kind: 'none', step: last, target, reason });
  if (last >= target) return none(`the run is at step ${last}, its target is ${target}: there is nothing left to forecast`);
  if (last <= s.warmupSteps)
    return none(
      `the learning rate is still warming up (step ${last} of ${s.warmupSteps}): the loss so far says little about the rest of the run`,
    );
  const from = Math.max(s.warmupSteps, Math.floor(tune.fitFrom * last));
  const minSpan = Math.max(40, Math.ceil(0.04 * target));
  if (last - from < minSpan)
    return none(
      `${last - from} steps to fit since step ${from}${s.warmupSteps > 0 && from === s.warmupSteps ? ', the end of the warm-up' : ''}; a forecast needs ${minSpan}`,
    );

  const { S1, S2 } = scheduleAreas(s, target, tune.lambda);
  const bins = binSteps(steps, from, last, Math.min(BINS, last - from));
  if (bins.length < 8) return none(`losses in only ${bins.length} of the stretches since step ${from}; a forecast needs 8`);
  const rows: Row[] = bins.map((b) => ({ steps: b.steps, val: false, y: b.loss, w: 1 }));
  for (const e of evals) if (e.step > from) rows.push({ steps: [e.step], val: true, y: e.loss, w: EVAL_WEIGHT });
  const withVal = rows.some((r) => r.val);

  // A plateau: over the fitted range the loss has not fallen beyond its noise (from successive bins' differences).
  const half = Math.floor(bins.length / 2);
  const meanOf = (xs: Bin[]) => xs.reduce((t, x) => t + x.loss, 0) / xs.length;
  const early = meanOf(bins.slice(0, half));
  const late = meanOf(bins.slice(bins.length - half));
  const binNoise = Math.sqrt(bins.slice(1).reduce((t, b, i) => t + (b.loss - bins[i].loss) ** 2, 0) / (bins.length - 1) / 2);
  if (early - late < Math.max(3 * binNoise * Math.sqrt(2 / half), 0.005 * late))
    return none(
      `the loss has not fallen since step ${from} (${early.toFixed(3)} → ${late.toFixed(3)} nats/char): on a plateau, a curve fitted now cannot say when it will leave it`,
    );

  const S2end = S2[target];
  const prior = S2end > 0 && tune.priorC > 0 ? { C: tune.priorC, w: tune.priorRows * S2end * S2end } : null;
  const fitted = fitLaw(rows, S1, S2, withVal, prior, tune.law);
  if (!fitted) return none('the law could not be fitted to these losses');
  const { best } = fitted;
  if (fitted.atEdge || !(best.theta[1] > 0))
    return none('the losses so far do not fall with the summed learning rate as the law has it: the curve is not pinned down yet');
  const lawAt = (theta: number[], alpha: number, step: number) =>
    theta[0] + theta[1] * term(S1[step], alpha) - theta[2] * S2[step] + theta[3];
  const final = lawAt(best.theta, best.alpha, target);
  if (!(final > 0 && Number.isFinite(final))) return none('the fitted law gives no positive loss at the target');
  const floor = run.floor ?? null;
  if (floor !== null && final < floor)
    return none(
      `the law fitted so far falls to ${final.toFixed(3)} nats/char by step ${target}, below this corpus's entropy floor (${floor.toFixed(3)}): it is extrapolating past what the corpus allows`,
    );
  const leaving = leavingPlateau(bins, (k) => lawAt(best.theta, best.alpha, k), S1, tune.accel);
  if (leaving)
    return none(
      `the loss is falling ${leaving.toFixed(1)}× faster over the last steps than the law fitted to the run so far: it is leaving a plateau, and where it will settle cannot be read yet`,
    );

  // Noise: wild bootstrap (Rademacher signs on the residuals, scaled by √(n/(n − p)) for the
  // parameters they were fitted with), refit, spread of log final.
  const rng = new Rng(opts.seed ?? 0);
  const inflate = Math.sqrt(rows.length / Math.max(1, rows.length - (withVal ? 4 : 3)));
  const fitY = rows.map((r) => meanOver(r.steps, (k) => lawAt(r.val ? best.theta : [...best.theta.slice(0, 3), 0], best.alpha, k)));
  const logs: number[] = [];
  for (let k = 0; k < (opts.samples ?? 100); k++) {
    const boot = rows.map((r, i) => ({ ...r, y: fitY[i] + inflate * (r.y - fitY[i]) * (rng.next() < 0.5 ? -1 : 1) }));
    const f = fitLaw(boot, S1, S2, withVal, prior, tune.law);
    const v = f ? lawAt(f.best.theta, f.best.alpha, target) : NaN;
    if (v > 0) logs.push(Math.log(v));
  }
  const m = logs.reduce((t, x) => t + x, 0) / Math.max(1, logs.length);
  const noise = logs.length > 1 ? Math.sqrt(logs.reduce((t, x) => t + (x - m) ** 2, 0) / (logs.length - 1)) : 0;
  const misfit = opts.misfit === false ? 0 : misfitAt(last / target);
  const halfWidth = bandHalfWidth(noise, last / target, level, opts.misfit === false ? null : MISFIT);
  if (halfWidth === null)
    return none(
      Number.isFinite(misfit)
        ? `from ${Math.round((100 * last) / target)}% of the run, forecasts like this one have missed by more than ±${Math.round(100 * (Math.exp(MAX_HALF_WIDTH) - 1))}%: too little to say yet`
        : `from ${Math.round((100 * last) / target)}% of the run too few recorded runs gave a forecast to measure how far one misses: too little to say yet`,
    );
  // No val loss goes below a known entropy floor: the band stops there.
  const band: Interval = [Math.max(final * Math.exp(-halfWidth), floor ?? 0), final * Math.exp(halfWidth)];
  const law: ScheduleLaw = {
    L0: best.theta[0],
    A: best.theta[1],
    alpha: best.alpha,
    C: best.theta[2],
    valOffset: best.theta[3],
    lambda: tune.lambda,
  };
  const predict = (step: number) => lawAt(best.theta, best.alpha, Math.min(target, Math.max(1, Math.round(step))));
  const curve: [number, number][] = [];
  const every = Math.max(1, Math.ceil((target - last) / 200));
  for (let k = last + 1; k < target; k += every) curve.push([k, predict(k)]);
  curve.push([target, final]);
  return { kind: 'forecast', step: last, target, final, band, level, law, noise, misfit, predict, curve };
}
