/**
 * The loss chart's points, apart from Chart.js: x in steps, tokens or training FLOPs, y in nats
 * or bits per character, the train loss smoothed by a debiased exponential moving average, and
 * log axes. Points are appended as a run's record grows, so a redraw costs the new steps, not
 * the whole run; only a change of view or of the runs shown rebuilds them.
 *
 * A log axis is drawn as a linear axis over log10 of the values: Chart.js's decimation plugin
 * thins only linear and time x axes, and 100k points on a logarithmic one would be drawn one by one.
 */
import type { RunRecord } from './history.ts';

export type XMode = 'step' | 'tokens' | 'flops';
export type YUnit = 'nats' | 'bits';

/** How the chart shows the runs. */
export interface ChartView {
  x: XMode;
  y: YUnit;
  logX: boolean;
  logY: boolean;
  smoothing: number; // EMA weight of the past: 0 draws the raw losses, 0.99 averages ~100 steps
}

export const defaultView: ChartView = { x: 'step', y: 'nats', logX: false, logY: false, smoothing: 0.9 };

/** A point in axis coordinates: log10 of the value on a log axis. */
export interface Point {
  x: number;
  y: number;
}

/** What the series read from a run's record. */
export type SeriesSource = Pick<RunRecord, 'steps' | 'losses' | 'evals' | 'tokensPerStep' | 'flopsPerStep'>;

/** How much x one step is worth: 1 step, tokensPerStep tokens, or flopsPerStep training FLOPs. */
export function xPerStep(rec: Pick<RunRecord, 'tokensPerStep' | 'flopsPerStep'>, mode: XMode): number {
  switch (mode) {
    case 'step':
      return 1;
    case 'tokens':
      return rec.tokensPerStep;
    case 'flops':
      return rec.flopsPerStep;
    default:
      return mode satisfies never;
  }
}

/** A loss in nats per character, in the chosen unit: bits = nats / ln 2. */
export function lossIn(nats: number, unit: YUnit): number {
  return unit === 'bits' ? nats / Math.LN2 : nats;
}

/** Where a value sits on an axis: itself, or log10 of it on a log axis; null where it cannot be drawn (x ≤ 0 on a log axis, NaN). */
export function toAxis(value: number, log: boolean): number | null {
  if (!Number.isFinite(value)) return null;
  if (!log) return value;
  return value > 0 ? Math.log10(value) : null;
}

/** The value at an axis coordinate: the inverse of toAxis. */
export function fromAxis(coord: number, log: boolean): number {
  return log ? 10 ** coord : coord;
}

/**
 * An exponential moving average debiased as TensorBoard's smoothing is: it starts from 0, so
 * after n values it holds (1 − wⁿ) of their weight, and dividing by that keeps the first points
 * at the data instead of dragging them toward 0.
 */
export class Ema {
  #weight: number;
  #sum = 0; // the plain EMA, started at 0
  #pastWeight = 1; // wⁿ: the share of the missing start value

  /** `weight` in [0, 1): the share of the past in each new value. */
  constructor(weight: number) {
    this.#weight = weight;
  }

  /** Adds a value and returns the smoothed value up to it. */
  next(value: number): number {
    this.#sum = this.#weight * this.#sum + (1 - this.#weight) * value;
    this.#pastWeight *= this.#weight;
    return this.#sum / (1 - this.#pastWeight);
  }
}

/** The latest values of a run, in the chart's y unit; null until there is one. */
export interface Latest {
  step: number | null;
  loss: number | null; // the last minibatch loss
  smoothed: number | null;
  val: number | null;
  valStep: number | null;
}

/**
 * The points one run contributes: raw and smoothed train losses and val losses, appended to as
 * its record grows. The arrays only grow, so a chart may keep them as its datasets' data.
 */
export class RunSeries {
  readonly train: Point[] = []; // raw minibatch losses; left empty without `raw`
  readonly smoothed: Point[] = [];
  readonly val: Point[] = [];
  readonly latest: Latest = { step: null, loss: null, smoothed: null, val: null, valStep: null };
  readonly record: SeriesSource;
  readonly view: ChartView;
  #raw: boolean;
  #ema: Ema;
  #steps = 0; // record.steps read so far
  #evals = 0; // record.evals read so far

  /** `raw: false` skips the raw curve, which earlier runs do not draw. */
  constructor(record: SeriesSource, view: ChartView, { raw = true } = {}) {
    this.record = record;
    this.view = view;
    this.#raw = raw;
    this.#ema = new Ema(view.smoothing);
    this.append();
  }

  /** Adds the points of the steps and evals recorded since the last call; returns how many were added. */
  append(): number {
    const { record: rec, view } = this;
    const k = xPerStep(rec, view.x);
    const before = this.train.length + this.smoothed.length + this.val.length;
    const n = Math.min(rec.steps.length, rec.losses.length); // they grow together; read only pairs
    for (; this.#steps < n; this.#steps++) {
      const nats = rec.losses[this.#steps];
      if (!Number.isFinite(nats)) continue; // a NaN would poison every later smoothed value
      const loss = lossIn(nats, view.y);
      // Smoothed whatever the axes drop, so a log axis hides points without changing the curve.
      const smoothed = this.#ema.next(loss);
      const step = rec.steps[this.#steps];
      this.latest.step = step;
      this.latest.loss = loss;
      this.latest.smoothed = smoothed;
      const x = toAxis(step * k, view.logX);
      if (x === null) continue;
      const y = toAxis(loss, view.logY);
      if (this.#raw && y !== null) this.train.push({ x, y });
      const ys = toAxis(smoothed, view.logY);
      if (ys !== null) this.smoothed.push({ x, y: ys });
    }
    for (; this.#evals < rec.evals.length; this.#evals++) {
      const e = rec.evals[this.#evals];
      const val = lossIn(e.val, view.y);
      if (Number.isFinite(val)) {
        this.latest.val = val;
        this.latest.valStep = e.step;
      }
      const x = toAxis(e.step * k, view.logX);
      const y = toAxis(val, view.logY);
      if (x !== null && y !== null) this.val.push({ x, y });
    }
    return this.train.length + this.smoothed.length + this.val.length - before;
  }
}

/** A run on the chart: the current one is drawn in full, earlier ones faded, without raw losses. */
export interface ShownRun {
  id: number;
  label: string;
  current: boolean;
  series: RunSeries;
}

type ShownRecord = SeriesSource & Pick<RunRecord, 'id' | 'label'>;

/**
 * The series of every run on the chart. `sync` says what a redraw has to do: 'rebuilt' when the
 * runs or the view changed and the datasets must be replaced, 'appended' when points were added
 * to the arrays the datasets already hold, 'unchanged' when there is nothing to draw.
 */
export class ChartSeries {
  runs: ShownRun[] = [];
  #records: readonly ShownRecord[] = [];
  #active = false;
  #view: ChartView | null = null;

  /**
   * `records` oldest first; while a run is active the last one is it, otherwise every record is
   * an earlier run.
   */
  sync(records: readonly ShownRecord[], active: boolean, view: ChartView): 'rebuilt' | 'appended' | 'unchanged' {
    const same =
      this.#view !== null &&
      sameView(this.#view, view) &&
      this.#active === active &&
      this.#records.length === records.length &&
      records.every((r, i) => r === this.#records[i]);
    if (!same) {
      this.#records = records.slice();
      this.#active = active;
      this.#view = { ...view };
      const last = records.length - 1;
      this.runs = records.map((r, i) => {
        const current = active && i === last;
        return { id: r.id, label: r.label, current, series: new RunSeries(r, this.#view!, { raw: current }) };
      });
      return 'rebuilt';
    }
    let added = 0;
    for (const run of this.runs) added += run.series.append();
    return added > 0 ? 'appended' : 'unchanged';
  }

  /** The run being trained, if one is shown. */
  get current(): ShownRun | undefined {
    return this.runs.find((r) => r.current);
  }
}

function sameView(a: ChartView, b: ChartView): boolean {
  return a.x === b.x && a.y === b.y && a.logX === b.logX && a.logY === b.logY && a.smoothing === b.smoothing;
}

/**
 * Tick positions for a log axis, in log10 coordinates between lo and hi: powers of ten, or
 * 1-2-5 or 1…9 times them when fewer decades leave too few ticks; over less than a decade,
 * evenly spaced round values as a linear axis would have.
 */
export function logTicks(lo: number, hi: number): number[] {
  if (!(hi >= lo)) return [];
  const eps = 1e-9 * Math.max(1, Math.abs(lo), Math.abs(hi));
  for (const mantissas of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const ticks: number[] = [];
    for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
      for (const m of mantissas) {
        const t = e + Math.log10(m);
        if (t >= lo - eps && t <= hi + eps) ticks.push(t);
      }
    }
    if (ticks.length >= 4) return ticks;
  }
  return linearTicks(10 ** lo, 10 ** hi, 5).map(Math.log10);
}

/** About `count` round values (1, 2 or 5 × 10ᵏ apart) between lo and hi. */
export function linearTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return Number.isFinite(lo) ? [lo] : [];
  const raw = (hi - lo) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  // The step nearest the raw one on a log scale, so the count stays near the asked one.
  const step = [1, 2, 5, 10].map((m) => m * pow).reduce((a, b) => (Math.abs(Math.log(b / raw)) < Math.abs(Math.log(a / raw)) ? b : a));
  const ticks: number[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + 1e-9 * step; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

/** An x value as the axis and tooltip show it: whole steps, tokens as 12K or 3.4M, FLOPs as 6.1e12 or 5e6. */
export function formatX(x: number, mode: XMode): string {
  if (mode === 'step') return Math.round(x).toLocaleString('en');
  if (Math.abs(x) < 1e4) return String(Number(x.toPrecision(3)));
  return mode === 'tokens' ? compact.format(x) : x.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
}

/** A loss as the axis shows it: at most three significant digits. */
export function formatLoss(y: number): string {
  return String(Number(y.toPrecision(3)));
}
