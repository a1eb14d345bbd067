/**
 * The current run's learning curve on the loss chart: when to refit the final-loss forecast
 * (forecast.ts), the forecast as chart points in the chart's units, and the loss spikes of the
 * run, found step by step as its record grows.
 */
import { forecastLoss, SpikeDetector, type CurvePoint, type Forecast } from '../core/forecast.ts';
import { lossIn, toAxis, xPerStep, type ChartView, type Point } from './chart-series.ts';
import type { RunRecord } from './history.ts';

/** Post-warm-up losses needed before a forecast is shown: fewer give a band too wide to say anything. */
export const minForecastPoints = 50;

/** Points handed to the fit at most: it bins them anyway, and sorting 100k points costs a frame. */
export const maxFitPoints = 4000;

/**
 * Whether to refit after `count` losses when the last fit saw `fitted` (null: none yet). Refits
 * are spaced by max(25, 5% of the losses so far): a fit blocks the main thread for up to a
 * tenth of a second, and a forecast that changes every step would only flicker.
 */
export function refitDue(fitted: number | null, count: number): boolean {
  if (count < minForecastPoints) return false;
  if (fitted === null) return true;
  if (count < fitted) return true; // a shorter record: another run
  return count - fitted >= Math.max(25, 0.05 * count);
}

/** The losses forecastLoss would fit (after its default warm-up skip: the first 10% of steps). */
export function postWarmupCount(steps: readonly number[]): number {
  const last = steps.at(-1) ?? 0;
  let n = 0;
  for (let i = steps.length - 1; i >= 0 && steps[i] > 0.1 * last; i--) n++;
  return n;
}

/**
 * The final-loss forecast of a record, or null while there are too few losses after warm-up or
 * the fit fails. Long records are thinned evenly first; the band comes from a smaller bootstrap
 * than forecastLoss's default so the fit stays near 0.1 s on the main thread.
 */
export function forecastRecord(rec: Pick<RunRecord, 'steps' | 'losses' | 'maxSteps'>): Forecast | null {
  const n = Math.min(rec.steps.length, rec.losses.length);
  if (postWarmupCount(rec.steps.slice(0, n)) < minForecastPoints) return null;
  const stride = Math.ceil(n / maxFitPoints);
  const points: CurvePoint[] = [];
  for (let i = n - 1; i >= 0; i -= stride) {
    const loss = rec.losses[i];
    if (Number.isFinite(loss) && loss > 0 && rec.steps[i] > 0) points.push({ step: rec.steps[i], loss });
  }
  try {
    return forecastLoss(points, { maxSteps: Math.max(rec.maxSteps, rec.steps[n - 1]), samples: 40, bins: 32 });
  } catch {
    return null; // too few distinct step ranges: the next refit may have them
  }
}

/**
 * What the line under the chart says of a forecast: while the run trains, the final loss it
 * predicts at the planned last step; once done, forecast against the actual train loss. A run
 * stopped early is compared at the step it reached, not with the planned step's forecast.
 */
export type ForecastReading =
  | { kind: 'ahead'; at: number; final: number; band: readonly [number, number] }
  | { kind: 'done'; at: number; final: number; band: readonly [number, number]; actual: number }
  | { kind: 'stopped'; at: number; planned: number; predicted: number; actual: number };

export function forecastReading(
  f: Pick<Forecast, 'final' | 'band' | 'predict'>,
  plannedSteps: number,
  end: { steps: number; trainLoss: number } | null,
): ForecastReading {
  if (end === null) return { kind: 'ahead', at: plannedSteps, final: f.final, band: f.band };
  if (end.steps < plannedSteps)
    return { kind: 'stopped', at: end.steps, planned: plannedSteps, predicted: f.predict(end.steps), actual: end.trainLoss };
  return { kind: 'done', at: end.steps, final: f.final, band: f.band, actual: end.trainLoss };
}

/** A forecast as the chart draws it, in axis coordinates. */
export interface ForecastShape {
  curve: Point[]; // the predicted loss from the last step seen to maxSteps
  band: { x: number; lo: number; hi: number } | null; // the final loss's band at maxSteps
}

/**
 * The predicted curve from step `from` to `to` in `n` points, spaced evenly on the drawn x axis,
 * and the band at `to`, in the units and log axes of `view`; points an axis cannot show are left out.
 */
export function forecastShape(
  f: Pick<Forecast, 'predict' | 'band'>,
  from: number,
  to: number,
  rec: Pick<RunRecord, 'tokensPerStep' | 'flopsPerStep'>,
  view: Pick<ChartView, 'x' | 'y' | 'logX' | 'logY'>,
  n = 64,
): ForecastShape {
  const k = xPerStep(rec, view.x);
  const curve: Point[] = [];
  if (to > from && from > 0) {
    for (let i = 0; i <= n; i++) {
      // Log-spaced steps on a log x axis, so the curve is as smooth at its left as at its right.
      const step = view.logX ? from * (to / from) ** (i / n) : from + ((to - from) * i) / n;
      const x = toAxis(step * k, view.logX);
      const y = toAxis(lossIn(f.predict(step), view.y), view.logY);
      if (x !== null && y !== null) curve.push({ x, y });
    }
  }
  const x = toAxis(to * k, view.logX);
  const lo = toAxis(lossIn(f.band[0], view.y), view.logY);
  const hi = toAxis(lossIn(f.band[1], view.y), view.logY);
  return { curve, band: x !== null && lo !== null && hi !== null ? { x, lo, hi } : null };
}

/** A flagged step of the current run. */
export interface SpikeMark {
  step: number;
  loss: number; // nats/char
}

/**
 * The loss spikes of one run: each new train loss of its record goes through a SpikeDetector
 * once, so a redraw costs the steps since the last. Another record starts it afresh.
 */
export class SpikeWatch {
  spikes: SpikeMark[] = [];
  #record: Pick<RunRecord, 'steps' | 'losses'> | null = null;
  #read = 0;
  #detector = new SpikeDetector();

  /** Reads the losses `rec` gained since the last call (all of them for a new record); returns the spikes found among them. */
  update(rec: Pick<RunRecord, 'steps' | 'losses'> | null): SpikeMark[] {
    if (rec !== this.#record) this.reset(rec);
    if (!rec) return [];
    const found: SpikeMark[] = [];
    const n = Math.min(rec.steps.length, rec.losses.length);
    for (; this.#read < n; this.#read++) {
      const loss = rec.losses[this.#read];
      // A NaN stops training with its own error; as a spike it would only repeat it.
      if (!Number.isFinite(loss)) continue;
      if (this.#detector.push(loss)) found.push({ step: rec.steps[this.#read], loss });
    }
    this.spikes.push(...found);
    return found;
  }

  /** Forgets the spikes and the detector's window; `rec` (or nothing) is the run watched next. */
  reset(rec: Pick<RunRecord, 'steps' | 'losses'> | null = null) {
    this.spikes = [];
    this.#record = rec;
    this.#read = 0;
    this.#detector = new SpikeDetector();
  }
}

/** Spike markers in axis coordinates. */
export function spikePoints(
  spikes: readonly SpikeMark[],
  rec: Pick<RunRecord, 'tokensPerStep' | 'flopsPerStep'>,
  view: Pick<ChartView, 'x' | 'y' | 'logX' | 'logY'>,
): Point[] {
  const k = xPerStep(rec, view.x);
  const out: Point[] = [];
  for (const s of spikes) {
    const x = toAxis(s.step * k, view.logX);
    const y = toAxis(lossIn(s.loss, view.y), view.logY);
    if (x !== null && y !== null) out.push({ x, y });
  }
  return out;
}
