import { expect, test } from 'vitest';
import {
  ChartSeries,
  defaultView,
  Ema,
  formatX,
  fromAxis,
  linearTicks,
  logTicks,
  lossIn,
  RunSeries,
  toAxis,
  type ChartView,
  type Point,
} from '../../src/lib/chart-series.ts';
import type { RunRecord } from '../../src/lib/history.ts';

/** A record of `n` steps with noisy decreasing losses and an eval every 10 steps, step 0 included. */
function record(n: number, { id = 1 } = {}): RunRecord {
  const rec: RunRecord = {
    id,
    label: `#${id} random · 1×16 · ctx 16`,
    corpus: 'moby-dick',
    sampling: 'random',
    tokensPerStep: 64,
    flopsPerStep: 1.5e6,
    maxSteps: n,
    schedule: { learningRate: 1e-3, minLr: 1e-4, warmupSteps: 0, maxSteps: n },
    configKey: '{}',
    floor: null,
    steps: [],
    losses: [],
    evals: [{ step: 0, train: 4.4, val: 4.41 }],
  };
  grow(rec, 0, n);
  return rec;
}

/** Appends steps from+1 … to (and their evals) the way the page's run state does. */
function grow(rec: RunRecord, from: number, to: number) {
  for (let s = from + 1; s <= to; s++) {
    rec.steps.push(s);
    rec.losses.push(1.5 + 3 / Math.sqrt(s) + 0.2 * Math.sin(s * 12.9898));
    if (s % 10 === 0) rec.evals.push({ step: s, train: 1.5 + 3 / Math.sqrt(s), val: 1.6 + 3 / Math.sqrt(s) });
  }
}

const view = (over: Partial<ChartView> = {}): ChartView => ({ ...defaultView, ...over });
const xs = (points: Point[]) => points.map((p) => p.x);

test('the debiased EMA of a constant series is that constant from the first point on', () => {
  for (const weight of [0, 0.5, 0.9, 0.99]) {
    const ema = new Ema(weight);
    for (let i = 0; i < 50; i++) expect(ema.next(3.7)).toBeCloseTo(3.7, 12);
  }
});

test('the EMA weighs the past by the smoothing and the new value by the rest', () => {
  const ema = new Ema(0.9);
  expect(ema.next(2)).toBeCloseTo(2, 12);
  // (0.9·0.1·2 + 0.1·4) / (1 − 0.81): the plain EMA, divided by the weight it has gathered
  expect(ema.next(4)).toBeCloseTo((0.09 * 2 + 0.1 * 4) / 0.19, 12);
});

test('smoothing 0 leaves the losses as they are', () => {
  const rec = record(30);
  const s = new RunSeries(rec, view({ smoothing: 0 }));
  expect(s.smoothed).toEqual(s.train);
});

test('a loss in bits is the loss in nats divided by ln 2', () => {
  expect(lossIn(Math.LN2, 'bits')).toBe(1);
  expect(lossIn(Math.log(83), 'bits')).toBeCloseTo(Math.log2(83), 12);
  expect(lossIn(4.2, 'nats')).toBe(4.2);
  const rec = record(20);
  const nats = new RunSeries(rec, view({ y: 'nats' }));
  const bits = new RunSeries(rec, view({ y: 'bits' }));
  bits.train.forEach((p, i) => expect(p.y).toBeCloseTo(nats.train[i].y / Math.LN2, 12));
  bits.smoothed.forEach((p, i) => expect(p.y).toBeCloseTo(nats.smoothed[i].y / Math.LN2, 12));
  bits.val.forEach((p, i) => expect(p.y).toBeCloseTo(nats.val[i].y / Math.LN2, 12));
});

test('x is the step, the step times tokens per step, or the step times FLOPs per step', () => {
  const rec = record(20);
  expect(xs(new RunSeries(rec, view({ x: 'step' })).train).slice(0, 3)).toEqual([1, 2, 3]);
  expect(xs(new RunSeries(rec, view({ x: 'tokens' })).train).slice(0, 3)).toEqual([64, 128, 192]);
  expect(xs(new RunSeries(rec, view({ x: 'flops' })).val)).toEqual([0, 10 * 1.5e6, 20 * 1.5e6]);
});

test('a log x axis drops x ≤ 0, such as the eval at step 0, and plots log10 of the rest', () => {
  expect(toAxis(0, true)).toBeNull();
  expect(toAxis(-1, true)).toBeNull();
  expect(toAxis(0, false)).toBe(0);
  expect(toAxis(NaN, false)).toBeNull();
  expect(toAxis(1000, true)).toBeCloseTo(3, 12);
  expect(fromAxis(toAxis(640, true)!, true)).toBeCloseTo(640, 9);

  const rec = record(20);
  const s = new RunSeries(rec, view({ logX: true }));
  expect(s.val).toHaveLength(2); // steps 10 and 20
  expect(s.val[0].x).toBeCloseTo(1, 12);
  expect(s.train).toHaveLength(20);
});

test('a log axis hides points without changing the smoothed values of the others', () => {
  const rec = record(40);
  const linear = new RunSeries(rec, view({ smoothing: 0.9 }));
  const logged = new RunSeries(rec, view({ smoothing: 0.9, logX: true, logY: true }));
  logged.smoothed.forEach((p, i) => {
    expect(fromAxis(p.x, true)).toBeCloseTo(linear.smoothed[i].x, 9);
    expect(fromAxis(p.y, true)).toBeCloseTo(linear.smoothed[i].y, 12);
  });
});

test('a loss that is not finite is skipped and does not poison the smoothing', () => {
  const rec = record(5);
  rec.losses[2] = NaN;
  const s = new RunSeries(rec, view());
  expect(xs(s.train)).toEqual([1, 2, 4, 5]);
  expect(s.smoothed.every((p) => Number.isFinite(p.y))).toBe(true);
});

test('appending as a record grows gives the same points as building from the whole record', () => {
  for (const v of [view(), view({ x: 'flops', y: 'bits', logX: true, logY: true, smoothing: 0.97 })]) {
    const rec = record(0);
    const live = new RunSeries(rec, v);
    const count = (r: RunSeries) => r.train.length + r.smoothed.length + r.val.length;
    let added = count(live); // the step-0 eval, unless the log x axis drops it
    for (let s = 0; s < 500; s += 37) {
      const arrays = [live.train, live.smoothed, live.val];
      grow(rec, s, Math.min(s + 37, 500));
      added += live.append();
      // The same arrays, grown: a chart holding them sees the new points.
      expect([live.train, live.smoothed, live.val]).toEqual(arrays);
      expect(live.train).toBe(arrays[0]);
    }
    const whole = new RunSeries(rec, v);
    expect(live.train).toEqual(whole.train);
    expect(live.smoothed).toEqual(whole.smoothed);
    expect(live.val).toEqual(whole.val);
    expect(live.latest).toEqual(whole.latest);
    expect(added).toBe(count(whole)); // append reports what it added
  }
});

test('the latest values are the last step, its loss and smoothed loss, and the last val', () => {
  const rec = record(25);
  const s = new RunSeries(rec, view({ y: 'bits' }));
  expect(s.latest.step).toBe(25);
  expect(s.latest.loss).toBeCloseTo(rec.losses[24] / Math.LN2, 12);
  expect(s.latest.smoothed).toBeCloseTo(s.smoothed.at(-1)!.y, 12);
  expect(s.latest.valStep).toBe(20);
  expect(s.latest.val).toBeCloseTo(rec.evals.at(-1)!.val / Math.LN2, 12);
});

test('the chart series rebuild when the view or the runs change and append otherwise', () => {
  const first = record(50, { id: 1 });
  const cs = new ChartSeries();
  expect(cs.sync([first], true, view())).toBe('rebuilt');
  expect(cs.runs.map((r) => r.current)).toEqual([true]);
  expect(cs.sync([first], true, view())).toBe('unchanged');

  grow(first, 50, 60);
  const smoothed = cs.runs[0].series.smoothed;
  expect(cs.sync([first], true, view())).toBe('appended');
  expect(cs.runs[0].series.smoothed).toBe(smoothed); // the same array, longer
  expect(smoothed).toHaveLength(60);

  expect(cs.sync([first], true, view({ smoothing: 0.5 }))).toBe('rebuilt');
  expect(cs.sync([first], true, view({ smoothing: 0.5, logY: true }))).toBe('rebuilt');

  // A second run: the first becomes an earlier run, drawn without its raw losses.
  const second = record(10, { id: 2 });
  expect(cs.sync([first, second], true, view())).toBe('rebuilt');
  expect(cs.runs.map((r) => [r.id, r.current])).toEqual([
    [1, false],
    [2, true],
  ]);
  expect(cs.runs[0].series.train).toEqual([]);
  expect(cs.runs[0].series.smoothed).toHaveLength(60);
  expect(cs.current?.id).toBe(2);

  // No run active (after a reset): every record is an earlier run.
  expect(cs.sync([first, second], false, view())).toBe('rebuilt');
  expect(cs.current).toBeUndefined();
});

test('log ticks fall on powers of ten, then 1-2-5, then round values within a decade', () => {
  const values = (lo: number, hi: number) => logTicks(Math.log10(lo), Math.log10(hi)).map((t) => Number((10 ** t).toPrecision(6)));
  expect(values(1, 1e5)).toEqual([1, 10, 100, 1000, 1e4, 1e5]);
  expect(values(1, 600)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500]);
  expect(values(2, 9)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  expect(values(1.3, 4.5)).toEqual([1.5, 2, 2.5, 3, 3.5, 4, 4.5]);
  expect(linearTicks(1.4, 1.55, 5)).toEqual([1.4, 1.42, 1.44, 1.46, 1.48, 1.5, 1.52, 1.54]);
});

test('x values read as whole steps, compact token counts and FLOPs in e-notation', () => {
  expect(formatX(1999.9999, 'step')).toBe('2,000');
  expect(formatX(640, 'tokens')).toBe('640');
  expect(formatX(1_250_000, 'tokens')).toBe('1.3M');
  expect(formatX(6.12e12, 'flops')).toBe('6.1e12');
  expect(formatX(5e6, 'flops')).toBe('5e6');
});
