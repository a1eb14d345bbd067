/**
 * The forecast's backtest: each recorded run of a bank forecast from a fraction of its steps (the
 * cut) and compared with the val loss it actually reached at its planned last step. Per cut: how
 * many forecasts were made and refused, their median absolute error, and how often the band held
 * the outcome (coverage), both for the forecast as shipped and leave-one-run-out (the misfit part
 * of each run's band measured on the other runs only: what a run never seen can expect).
 * `calibrate` turns the errors into the misfit table (MISFIT in forecast.ts).
 */
import { forecastRun, misfitAt, normalQuantile, type Forecast, type Tuning } from './forecast.ts';
import { quantile } from './fit.ts';
import type { RunLog } from './run-log.ts';

export const BACKTEST_CUTS = [0.1, 0.25, 0.5, 0.75] as const;

export interface BacktestItem {
  run: string;
  cut: number; // fraction of the planned steps seen
  step: number; // the last step seen
  actual: number; // the run's val loss at its planned last step
  forecast: Forecast;
  logError: number | null; // log(forecast / actual); null when refused
  noise: number | null; // the band's noise part (σ of log loss)
}

export interface BacktestRow {
  cut: number;
  runs: number;
  forecasts: number;
  refused: number;
  medianAbsError: number | null; // |forecast/actual − 1|, median over the forecasts made
  bias: number | null; // mean of forecast/actual − 1
  coverage: number | null; // share of the forecasts whose band held the outcome, as shipped
  looCoverage: number | null; // the same with each run's misfit part calibrated on the other runs
  misfit: number | null; // σ of log error this cut's errors call for (calibrate)
}

export interface BacktestOptions {
  cuts?: readonly number[];
  level?: number; // the band's coverage (default 0.9)
  samples?: number; // bootstrap refits per forecast (default 100)
  tuning?: Partial<Tuning>;
}

/** Forecasts every run at every cut. Runs that never reached their planned last step are left out by the caller. */
export function backtestItems(runs: { name: string; log: RunLog }[], opts: BacktestOptions = {}): BacktestItem[] {
  const items: BacktestItem[] = [];
  for (const { name, log } of runs) {
    if (log.finalVal === null) throw new RangeError(`${name}: the run did not reach its planned last step (${log.schedule.maxSteps}), so it has no outcome`);
    for (const cut of opts.cuts ?? BACKTEST_CUTS) {
      const upto = Math.round(cut * log.schedule.maxSteps);
      const forecast = forecastRun(log, { upto, level: opts.level, samples: opts.samples, tuning: opts.tuning });
      const made = forecast.kind === 'forecast';
      items.push({
        run: name,
        cut,
        step: upto,
        actual: log.finalVal,
        forecast,
        logError: made ? Math.log(forecast.final / log.finalVal) : null,
        noise: made ? forecast.noise : null,
      });
    }
  }
  return items;
}

/**
 * The misfit σ at a cut from its forecasts' log errors: the one that makes `level` of the bands
 * hold the outcome given each forecast's own noise part (found by bisection), so a heavy tail
 * widens it as much as it must.
 */
export function misfitFor(errors: { logError: number; noise: number }[], level: number): number {
  if (errors.length === 0) return 0;
  const z = normalQuantile((1 + level) / 2);
  const held = (m: number) => errors.filter((e) => Math.abs(e.logError) <= z * Math.hypot(e.noise, m)).length / errors.length;
  if (held(0) >= level) return 0;
  let lo = 0;
  let hi = 1;
  while (held(hi) < level) hi *= 2;
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (held(mid) >= level) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The misfit table (fraction seen → σ) that makes each cut's bands hold at `level`, ending at 0 at the run's end. */
export function calibrate(items: BacktestItem[], level = 0.9): [number, number][] {
  const cuts = [...new Set(items.map((i) => i.cut))].sort((a, b) => a - b);
  const table: [number, number][] = cuts.map((cut) => [cut, misfitFor(madeAt(items, cut), level)]);
  // Less seen is never surer: the table only rises toward the start.
  for (let i = table.length - 2; i >= 0; i--) table[i][1] = Math.max(table[i][1], table[i + 1][1]);
  return [...table, [1, 0]];
}

function madeAt(items: BacktestItem[], cut: number, exceptRun?: string) {
  return items
    .filter((i) => i.cut === cut && i.logError !== null && i.run !== exceptRun)
    .map((i) => ({ logError: i.logError!, noise: i.noise! }));
}

/** The per-cut table of a backtest's items. */
export function backtestTable(items: BacktestItem[], level = 0.9): BacktestRow[] {
  const cuts = [...new Set(items.map((i) => i.cut))].sort((a, b) => a - b);
  const z = normalQuantile((1 + level) / 2);
  const runs = [...new Set(items.map((i) => i.run))];
  // Leave one run out: each run's misfit table from the others' errors.
  const looTables = new Map(runs.map((r) => [r, calibrate(items.filter((i) => i.run !== r), level)]));
  return cuts.map((cut) => {
    const at = items.filter((i) => i.cut === cut);
    const made = at.filter((i) => i.forecast.kind === 'forecast');
    const share = (pred: (i: BacktestItem) => boolean) => (made.length ? made.filter(pred).length / made.length : null);
    const abs = Float64Array.from(made, (i) => Math.abs(Math.exp(i.logError!) - 1)).sort();
    return {
      cut,
      runs: at.length,
      forecasts: made.length,
      refused: at.length - made.length,
      medianAbsError: made.length ? quantile(abs, 0.5) : null,
      bias: made.length ? made.reduce((t, i) => t + Math.exp(i.logError!) - 1, 0) / made.length : null,
      coverage: share((i) => i.forecast.kind === 'forecast' && i.forecast.band[0] <= i.actual && i.actual <= i.forecast.band[1]),
      looCoverage: share((i) => {
        const f = i.forecast.kind === 'forecast' ? i.forecast : null;
        if (!f) return false;
        const sd = Math.hypot(i.noise!, misfitAt(f.step / f.target, looTables.get(i.run)!));
        return Math.abs(i.logError!) <= z * sd;
      }),
      misfit: made.length ? misfitFor(madeAt(items, cut), level) : null,
    };
  });
}
