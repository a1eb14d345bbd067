/**
 * The current run's learning curve on the loss chart: when to refit the forecast of its val loss
 * (forecast.ts), the forecasts kept at fixed fractions of the run for the predicted-vs-actual
 * record, the forecast as chart points in the chart's units, and the loss spikes of the run,
 * found step by step as its record grows.
 */
import { forecastRun, type CurvePoint, type Forecast } from '../core/forecast.ts';
import { SpikeDetector } from '../core/spikes.ts';
import { lossIn, toAxis, xPerStep, type ChartView, type Point } from './chart-series.ts';
import type { RunRecord } from './history.ts';

/** Losses needed before the first fit is tried: the forecast itself says when it still has too little. */
export const minForecastPoints = 50;

/**
 * Whether to refit after `count` losses when the last fit saw `fitted` (null: none yet). Refits
 * are spaced by max(25, 5% of the losses so far): a forecast that changes every step would only
 * flicker.
 */
export function refitDue(fitted: number | null, count: number): boolean {
  if (count < minForecastPoints) return false;
  if (fitted === null) return true;
  if (count < fitted) return true; // a shorter record: another run
  return count - fitted >= Math.max(25, 0.05 * count);
}

/** A record as the forecast reads it: its train losses, its evaluations' val losses and its schedule. */
export function curveOf(rec: Pick<RunRecord, 'steps' | 'losses' | 'evals' | 'schedule'> & { floor?: number | null }) {
  const n = Math.min(rec.steps.length, rec.losses.length);
  const steps: CurvePoint[] = [];
  for (let i = 0; i < n; i++) steps.push({ step: rec.steps[i], loss: rec.losses[i] });
  return { schedule: rec.schedule, steps, evals: rec.evals.map((e) => ({ step: e.step, loss: e.val })), floor: rec.floor ?? null };
}

/**
 * The forecast of a record's val loss at its planned last step from everything it holds so far
 * (or up to step `upto`), null before it has minForecastPoints losses. The band's noise part
 * comes from 60 bootstrap refits (the CLI's 100), so a refit stays near a few hundredths of a
 * second on the main thread.
 */
export function forecastRecord(
  rec: Pick<RunRecord, 'steps' | 'losses' | 'evals' | 'schedule'> & { floor?: number | null },
  upto?: number,
): Forecast | null {
  if (Math.min(rec.steps.length, rec.losses.length) < minForecastPoints) return null;
  return forecastRun(curveOf(rec), { samples: 60, ...(upto === undefined ? {} : { upto }) });
}

/**
 * What the line under the chart says of a forecast: while the run trains, the val loss it
 * predicts at the planned last step, or why it predicts none yet; once the run has ended, what the
 * forecasts kept at 25% and 50% of it said against the val loss it reached.
 */
export type ForecastReading =
  | { kind: 'ahead'; from: number; at: number; final: number; band: readonly [number, number]; level: number }
  | { kind: 'none'; from: number; at: number; reason: string };

export function forecastReading(f: Forecast): ForecastReading {
  if (f.kind === 'none') return { kind: 'none', from: f.step, at: f.target, reason: f.reason };
  return { kind: 'ahead', from: f.step, at: f.target, final: f.final, band: f.band, level: f.level };
}

/** A forecast as the chart draws it, in axis coordinates. */
export interface ForecastShape {
  curve: Point[]; // the predicted val loss from the step after the last seen to the target
  band: { x: number; lo: number; hi: number } | null; // the final loss's band at the target
}

/**
 * The forecast's curve (its points thinned to `n`, spaced evenly on the drawn x axis) and its band
 * at the target, in the units and log axes of `view`; points an axis cannot show are left out.
 */
export function forecastShape(
  f: Extract<Forecast, { kind: 'forecast' }>,
  rec: Pick<RunRecord, 'tokensPerStep' | 'flopsPerStep'>,
  view: Pick<ChartView, 'x' | 'y' | 'logX' | 'logY'>,
  n = 64,
): ForecastShape {
  const k = xPerStep(rec, view.x);
  const curve: Point[] = [];
  const from = f.step;
  const to = f.target;
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
