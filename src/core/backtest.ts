/**
 * The forecast's backtest: each recorded run of a bank forecast from a fraction of its steps (the
 * cut) and compared with the val loss it actually reached at its planned last step. Per cut: how
 * many forecasts were made and refused, their median absolute error, and how often the band held
 * the outcome (coverage), both for the forecast as shipped and leave-one-run-out (the misfit part
 * of each run's band measured on the other runs only: what a run never seen can expect).
 * `calibrate` turns the errors into the misfit table (MISFIT in forecast.ts).
 *
 * Each forecast is made once, with the noise part of its band alone; the misfit part is added
 * here from whichever table is being judged, by the same rule the forecast ships with
 * (bandHalfWidth), so calibrating and judging never disagree about which bands are too wide.
 */
import { bandHalfWidth, forecastRun, MISFIT, normalQuantile, type Forecast, type Tuning } from './forecast.ts';
import { quantile } from './fit.ts';
import type { RunLog } from './run-log.ts';

export const BACKTEST_CUTS = [0.1, 0.25, 0.5, 0.75, 0.9] as const;

/** Forecasts a cut needs before its misfit is read from them: fewer say nothing of a 90% tail. */
export const MIN_CALIBRATION = 10;

export interface BacktestItem {
  run: string;
  cut: number; // fraction of the planned steps seen
  step: number; // the last step seen
  target: number;
  actual: number; // the run's val loss at its planned last step
  forecast: Forecast; // with the noise part of the band only
  logError: number | null; // log(forecast / actual); null when the law made none
  noise: number | null; // the band's noise part (σ of log loss)
}

export interface BacktestRow {
  cut: number;
  runs: number;
  forecasts: number; // made, as shipped
  refused: number; // a reason instead of a number, as shipped
  medianAbsError: number | null; // |forecast/actual − 1|, median over the forecasts made
  bias: number | null; // mean of forecast/actual − 1
  coverage: number | null; // share of the forecasts made whose band held the outcome, as shipped
  looForecasts: number; // forecasts made with each run's misfit table calibrated on the other runs
  looCoverage: number | null; // the share of those whose band held
  misfit: number | null; // the misfit σ calibrate gives this cut (never under a later cut's)
}

export interface BacktestOptions {
  cuts?: readonly number[];
  level?: number; // the band's coverage (default 0.9)
  samples?: number; // bootstrap refits per forecast (default 100)
  tuning?: Partial<Tuning>;
}

/** Forecasts every run at every cut. Every run must have its outcome (an evaluation at its last planned step). */
export function backtestItems(runs: { name: string; log: RunLog }[], opts: BacktestOptions = {}): BacktestItem[] {
  const items: BacktestItem[] = [];
  for (const { name, log } of runs) {
    if (log.finalVal === null)
      throw new RangeError(`${name}: the run did not reach its planned last step (${log.schedule.maxSteps}), so it has no outcome`);
    for (const cut of opts.cuts ?? BACKTEST_CUTS) {
      const upto = Math.round(cut * log.schedule.maxSteps);
      const forecast = forecastRun(log, { upto, level: opts.level, samples: opts.samples, tuning: opts.tuning, misfit: false });
      const made = forecast.kind === 'forecast';
      items.push({
        run: name,
        cut,
        step: upto,
        target: log.schedule.maxSteps,
        actual: log.finalVal,
        forecast,
        logError: made ? Math.log(forecast.final / log.finalVal) : null,
        noise: made ? forecast.noise : null,
      });
    }
  }
  return items;
}

/** Whether an item's band, with the misfit of `table`, is made (not too wide) and holds its outcome. */
function judge(i: BacktestItem, level: number, table: readonly (readonly [number, number])[]): { made: boolean; held: boolean } {
  const shipped = shippedItem(i, level, table);
  return { made: shipped.final !== null, held: 'inBand' in shipped && shipped.inBand };
}

/**
 * The misfit σ at a cut from its forecasts' log errors: the least that makes `level` of the bands
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

function errorsAt(items: BacktestItem[], cut: number) {
  return items.filter((i) => i.cut === cut && i.logError !== null).map((i) => ({ logError: i.logError!, noise: i.noise! }));
}

/**
 * The misfit table (fraction seen → σ) that makes each cut's bands hold at `level`, never narrower
 * for less seen, and as wide at the end as at the last cut: the final evaluation has noise of its
 * own that the smooth curve does not.
 */
export function calibrate(items: BacktestItem[], level = 0.9): [number, number][] {
  const cuts = [...new Set(items.map((i) => i.cut))].sort((a, b) => a - b);
  // A cut with too few forecasts to read a tail from is not calibrated: no forecast from there.
  const table: [number, number][] = cuts.map((cut) => {
    const errors = errorsAt(items, cut);
    return [cut, errors.length < MIN_CALIBRATION ? Infinity : misfitFor(errors, level)];
  });
  for (let i = table.length - 2; i >= 0; i--) table[i][1] = Math.max(table[i][1], table[i + 1][1]);
  return [...table, [1, table.at(-1)?.[1] ?? 0]];
}

/** One item as shipped: its forecast and band (noise and the shipped misfit) and whether the band held, or why there was none. */
export function shippedItem(i: BacktestItem, level = 0.9, table: readonly (readonly [number, number])[] = MISFIT) {
  const base = { run: i.run, cut: i.cut, step: i.step, actual: i.actual };
  if (i.forecast.kind === 'none') return { ...base, final: null, reason: i.forecast.reason };
  const h = bandHalfWidth(i.noise!, i.step / i.target, level, table);
  if (h === null) return { ...base, final: null, reason: 'the band would be wider than the forecast gives' };
  const { final } = i.forecast;
  const band: [number, number] = [final * Math.exp(-h), final * Math.exp(h)];
  return { ...base, final, band, error: final / i.actual - 1, inBand: band[0] <= i.actual && i.actual <= band[1] };
}

/** The per-cut table of a backtest's items, judged with `table` (the shipped MISFIT unless given). */
export function backtestTable(items: BacktestItem[], level = 0.9, table: readonly (readonly [number, number])[] = MISFIT): BacktestRow[] {
  const cuts = [...new Set(items.map((i) => i.cut))].sort((a, b) => a - b);
  const runs = [...new Set(items.map((i) => i.run))];
  const looTables = new Map(
    runs.map((r) => [
      r,
      calibrate(
        items.filter((i) => i.run !== r),
        level,
      ),
    ]),
  );
  const calibrated = calibrate(items, level);
  return cuts.map((cut) => {
    const at = items.filter((i) => i.cut === cut);
    const shipped = at.map((i) => ({ i, ...judge(i, level, table) }));
    const made = shipped.filter((j) => j.made);
    const loo = looTables.size ? at.map((i) => judge(i, level, looTables.get(i.run)!)).filter((j) => j.made) : [];
    const ratios = made.map((j) => Math.exp(j.i.logError!) - 1);
    return {
      cut,
      runs: at.length,
      forecasts: made.length,
      refused: at.length - made.length,
      medianAbsError: ratios.length ? quantile(Float64Array.from(ratios, Math.abs).sort(), 0.5) : null,
      bias: ratios.length ? ratios.reduce((t, x) => t + x, 0) / ratios.length : null,
      coverage: made.length ? made.filter((j) => j.held).length / made.length : null,
      looForecasts: loo.length,
      looCoverage: loo.length ? loo.filter((j) => j.held).length / loo.length : null,
      misfit: calibrated.find(([c]) => c === cut)?.[1] ?? null,
    };
  });
}
