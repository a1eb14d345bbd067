import { describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import type { ChartView } from '../../src/lib/chart-series.ts';
import type { RunRecord } from '../../src/lib/history.ts';
import {
  forecastReading,
  forecastRecord,
  forecastShape,
  maxFitPoints,
  minForecastPoints,
  postWarmupCount,
  refitDue,
  SpikeWatch,
  spikePoints,
} from '../../src/lib/learning-curve.ts';

const curve = (step: number) => 1.5 + (5 / step) ** 0.4;

/** A record of `n` steps of the curve with multiplicative noise, 20 tokens and 1e6 FLOPs a step. */
function record(n: number, { noise = 0.03, seed = 1, maxSteps = 2000 } = {}): RunRecord {
  const rng = new Rng(seed);
  const steps = Array.from({ length: n }, (_, i) => i + 1);
  return {
    id: 1,
    label: '#1',
    corpus: 'test',
    sampling: 'random',
    tokensPerStep: 20,
    flopsPerStep: 1e6,
    maxSteps,
    steps,
    losses: steps.map((s) => curve(s) * Math.exp(noise * rng.normal())),
    evals: [],
  };
}

describe('refitDue', () => {
  test('waits for enough losses, then fits once', () => {
    expect(refitDue(null, minForecastPoints - 1)).toBe(false);
    expect(refitDue(null, minForecastPoints)).toBe(true);
  });

  test('refits every max(25, 5% of the losses so far)', () => {
    expect(refitDue(100, 124)).toBe(false);
    expect(refitDue(100, 125)).toBe(true);
    expect(refitDue(2000, 2100)).toBe(false); // 5% of 2100 is 105
    expect(refitDue(2000, 2106)).toBe(true);
  });

  test('counts over all steps of a refit schedule stay few', () => {
    let fitted: number | null = null;
    let fits = 0;
    for (let n = 1; n <= 10_000; n++) {
      if (refitDue(fitted, n)) {
        fitted = n;
        fits++;
      }
    }
    expect(fits).toBeGreaterThan(20);
    expect(fits).toBeLessThan(100);
  });
});

describe('forecastRecord', () => {
  test('none until 50 losses after the first 10% of steps', () => {
    expect(postWarmupCount([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toBe(9);
    expect(forecastRecord(record(40))).toBeNull();
  });

  test('brackets the true final loss of a noisy curve', () => {
    const f = forecastRecord(record(600))!;
    expect(f).not.toBeNull();
    expect(f.band[0]).toBeLessThanOrEqual(f.final);
    expect(f.band[1]).toBeGreaterThanOrEqual(f.final);
    expect(Math.abs(f.final / curve(2000) - 1)).toBeLessThan(0.03);
  });

  test('thins a long record evenly, from its last step back, before fitting', () => {
    const long = record(50_000, { maxSteps: 100_000 });
    const f = forecastRecord(long);
    expect(f).not.toBeNull();
    // The same forecast as the record of every k-th step counted back from the last, which is short enough to fit whole.
    const k = Math.ceil(long.steps.length / maxFitPoints);
    const keep = long.steps.map((_, i) => i).filter((i) => (long.steps.length - 1 - i) % k === 0);
    expect(keep.length).toBeLessThanOrEqual(maxFitPoints);
    const thinned = forecastRecord({ ...long, steps: keep.map((i) => long.steps[i]), losses: keep.map((i) => long.losses[i]) })!;
    expect(f!.final).toBe(thinned.final);
    expect(f!.band).toEqual(thinned.band);
  });
});

describe('forecastShape', () => {
  const f = { predict: curve, band: [1.6, 1.7] as [number, number] };
  const rec = { tokensPerStep: 20, flopsPerStep: 1e6 };
  const view = (v: Partial<ChartView> = {}): ChartView => ({ x: 'step', y: 'nats', logX: false, logY: false, smoothing: 0.9, ...v });

  test('runs from the last step to maxSteps in steps and nats', () => {
    const s = forecastShape(f, 100, 2000, rec, view(), 10);
    expect(s.curve).toHaveLength(11);
    expect(s.curve[0]).toEqual({ x: 100, y: curve(100) });
    expect(s.curve[10].x).toBe(2000);
    expect(s.curve[10].y).toBeCloseTo(curve(2000), 12);
    expect(s.band).toEqual({ x: 2000, lo: 1.6, hi: 1.7 });
  });

  test('scales x to tokens and FLOPs, and y to bits', () => {
    const tokens = forecastShape(f, 100, 2000, rec, view({ x: 'tokens', y: 'bits' }), 10);
    expect(tokens.curve[0].x).toBe(2000);
    expect(tokens.curve[0].y).toBeCloseTo(curve(100) / Math.LN2, 12);
    expect(tokens.band!.x).toBe(40_000);
    expect(tokens.band!.hi).toBeCloseTo(1.7 / Math.LN2, 12);
    const flops = forecastShape(f, 100, 2000, rec, view({ x: 'flops' }), 10);
    expect(flops.band!.x).toBe(2e9);
  });

  test('on log axes gives log10 coordinates, evenly spaced on the log x axis', () => {
    const s = forecastShape(f, 100, 10_000, rec, view({ logX: true, logY: true }), 4);
    expect(s.curve.map((p) => p.x)).toEqual([2, 2.5, 3, 3.5, 4].map((x) => expect.closeTo(x, 12)));
    expect(s.curve[0].y).toBeCloseTo(Math.log10(curve(100)), 12);
    expect(s.band!.lo).toBeCloseTo(Math.log10(1.6), 12);
  });

  test('has no curve once the run is at maxSteps, but keeps the band', () => {
    const s = forecastShape(f, 2000, 2000, rec, view());
    expect(s.curve).toEqual([]);
    expect(s.band).not.toBeNull();
  });
});

describe('SpikeWatch', () => {
  test('flags an injected spike fed step by step, and only it', () => {
    const rec = record(0);
    const full = record(1000, { seed: 2 });
    full.losses[600] *= 3;
    const watch = new SpikeWatch();
    const found: number[] = [];
    for (let i = 0; i < 1000; i++) {
      rec.steps.push(full.steps[i]);
      rec.losses.push(full.losses[i]);
      found.push(...watch.update(rec).map((s) => s.step));
    }
    expect(found).toEqual([601]);
    expect(watch.spikes).toEqual([{ step: 601, loss: full.losses[600] }]);
  });

  test('does not flag a clean noisy curve', () => {
    const watch = new SpikeWatch();
    for (let seed = 0; seed < 5; seed++) {
      watch.update(record(3000, { seed, noise: 0.05 }));
      expect(watch.spikes).toEqual([]);
    }
  });

  test('starts afresh on a new run', () => {
    const a = record(300, { seed: 3 });
    a.losses[200] *= 3;
    const watch = new SpikeWatch();
    watch.update(a);
    expect(watch.spikes.map((s) => s.step)).toEqual([201]);
    const b = record(100, { seed: 4 });
    expect(watch.update(b)).toEqual([]);
    expect(watch.spikes).toEqual([]);
    // The new run's window holds only its own losses: a spike relative to them is flagged.
    b.steps.push(101);
    b.losses.push(3 * curve(101));
    expect(watch.update(b).map((s) => s.step)).toEqual([101]);
    watch.update(null);
    expect(watch.spikes).toEqual([]);
  });

  test('spike markers follow the view', () => {
    const marks = spikePoints(
      [{ step: 100, loss: 2 }],
      { tokensPerStep: 20, flopsPerStep: 1e6 },
      { x: 'tokens', y: 'bits', logX: true, logY: false },
    );
    expect(marks[0].x).toBeCloseTo(Math.log10(2000), 12);
    expect(marks[0].y).toBeCloseTo(2 / Math.LN2, 12);
  });
});

describe('the line under the chart', () => {
  const f = forecastRecord(record(400, { maxSteps: 2000 }))!;

  test('while training it gives the forecast at the planned last step', () => {
    expect(forecastReading(f, 2000, null)).toEqual({ kind: 'ahead', at: 2000, final: f.final, band: f.band });
  });

  test('a run that reached its planned step is compared there', () => {
    expect(forecastReading(f, 2000, { steps: 2000, trainLoss: 1.9 })).toEqual({
      kind: 'done',
      at: 2000,
      final: f.final,
      band: f.band,
      actual: 1.9,
    });
  });

  test('a run stopped early is compared at the step it reached, not with the forecast for the planned step', () => {
    const r = forecastReading(f, 2000, { steps: 400, trainLoss: 2.3 });
    expect(r).toMatchObject({ kind: 'stopped', at: 400, planned: 2000, actual: 2.3 });
    if (r.kind !== 'stopped') throw new Error('unreachable');
    expect(r.predicted).toBeCloseTo(f.predict(400), 12);
    // The curve falls, so the prediction at the stop is above the planned end's.
    expect(r.predicted).toBeGreaterThan(f.final);
  });
});
