import { describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import type { ChartView } from '../../src/lib/chart-series.ts';
import type { RunRecord } from '../../src/lib/history.ts';
import { forecastRun, scheduleAreas, TUNING, type Forecast } from '../../src/core/forecast.ts';
import {
  curveOf,
  forecastReading,
  forecastRecord,
  forecastShape,
  minForecastPoints,
  refitDue,
  SpikeWatch,
  spikePoints,
} from '../../src/lib/learning-curve.ts';

const curve = (step: number) => 1.5 + (5 / step) ** 0.4;

const schedule = { learningRate: 3e-3, minLr: 3e-4, warmupSteps: 100, maxSteps: 2000 };

/**
 * A record of `n` steps with multiplicative noise, 20 tokens and 1e6 FLOPs a step: the spike tests'
 * curve, or with `law`, the forecast's own law (val 0.02 above train, evaluated every 100 steps).
 */
function record(n: number, { noise = 0.03, seed = 1, maxSteps = 2000, law = false } = {}): RunRecord {
  const rng = new Rng(seed);
  const steps = Array.from({ length: n }, (_, i) => i + 1);
  const s = { ...schedule, maxSteps };
  const { S1, S2 } = scheduleAreas(s, maxSteps);
  const train = (k: number) => (law ? 3.5 - 0.2 * Math.log(S1[k]) - TUNING.priorC * S2[k] : curve(k));
  return {
    id: 1,
    label: '#1',
    corpus: 'test',
    sampling: 'random',
    tokensPerStep: 20,
    flopsPerStep: 1e6,
    maxSteps,
    schedule: s,
    configKey: '{}',
    floor: null,
    steps,
    losses: steps.map((k) => train(k) * Math.exp(noise * rng.normal())),
    evals: steps.filter((k) => k % 100 === 0).map((k) => ({ step: k, train: train(k), val: train(k) + 0.02 })),
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
  test('none until 50 losses, then the forecast of its train losses, evaluations and schedule', () => {
    expect(forecastRecord(record(minForecastPoints - 1, { law: true }))).toBeNull();
    const rec = record(700, { law: true });
    const f = forecastRecord(rec)!;
    if (f.kind !== 'forecast') throw new Error(f.reason);
    const { S1, S2 } = scheduleAreas(rec.schedule, 2000);
    expect(Math.abs(f.final / (3.5 - 0.2 * Math.log(S1[2000]) - TUNING.priorC * S2[2000] + 0.02) - 1)).toBeLessThan(0.01);
    expect(f.band[0]).toBeLessThanOrEqual(f.final);
    expect(f.band[1]).toBeGreaterThanOrEqual(f.final);
    // The same forecast the CLI makes of the same losses (60 bootstrap refits here, as the page does).
    expect(f.final).toBe((forecastRun(curveOf(rec), { samples: 60 }) as Extract<Forecast, { kind: 'forecast' }>).final);
  });

  test('forecasts from a given step, as the ledger does at 25% and 50% of a run', () => {
    const rec = record(2000, { law: true });
    const f = forecastRecord(rec, 500)!;
    expect(f.step).toBe(500);
  });

  test('says why there is none during warm-up', () => {
    const f = forecastRecord(record(80, { law: true }))!;
    expect(f).toMatchObject({ kind: 'none', step: 80 });
  });
});

describe('forecastShape', () => {
  const f = { kind: 'forecast', step: 100, target: 2000, predict: curve, band: [1.6, 1.7] } as unknown as Extract<
    Forecast,
    { kind: 'forecast' }
  >;
  const at = (step: number, target: number) => ({ ...f, step, target });
  const rec = { tokensPerStep: 20, flopsPerStep: 1e6 };
  const view = (v: Partial<ChartView> = {}): ChartView => ({ x: 'step', y: 'nats', logX: false, logY: false, smoothing: 0.9, ...v });

  test('runs from the last step seen to the target in steps and nats', () => {
    const s = forecastShape(f, rec, view(), 10);
    expect(s.curve).toHaveLength(11);
    expect(s.curve[0]).toEqual({ x: 100, y: curve(100) });
    expect(s.curve[10].x).toBe(2000);
    expect(s.curve[10].y).toBeCloseTo(curve(2000), 12);
    expect(s.band).toEqual({ x: 2000, lo: 1.6, hi: 1.7 });
  });

  test('scales x to tokens and FLOPs, and y to bits', () => {
    const tokens = forecastShape(f, rec, view({ x: 'tokens', y: 'bits' }), 10);
    expect(tokens.curve[0].x).toBe(2000);
    expect(tokens.curve[0].y).toBeCloseTo(curve(100) / Math.LN2, 12);
    expect(tokens.band!.x).toBe(40_000);
    expect(tokens.band!.hi).toBeCloseTo(1.7 / Math.LN2, 12);
    const flops = forecastShape(f, rec, view({ x: 'flops' }), 10);
    expect(flops.band!.x).toBe(2e9);
  });

  test('on log axes gives log10 coordinates, evenly spaced on the log x axis', () => {
    const s = forecastShape(at(100, 10_000), rec, view({ logX: true, logY: true }), 4);
    expect(s.curve.map((p) => p.x)).toEqual([2, 2.5, 3, 3.5, 4].map((x) => expect.closeTo(x, 12)));
    expect(s.curve[0].y).toBeCloseTo(Math.log10(curve(100)), 12);
    expect(s.band!.lo).toBeCloseTo(Math.log10(1.6), 12);
  });

  test('has no curve once the run is at its target, but keeps the band', () => {
    const s = forecastShape(at(2000, 2000), rec, view());
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
  test('while training it gives the forecast at the planned last step, from the step it saw', () => {
    const f = forecastRecord(record(700, { law: true }))!;
    if (f.kind !== 'forecast') throw new Error(f.reason);
    expect(forecastReading(f)).toEqual({ kind: 'ahead', from: 700, at: 2000, final: f.final, band: f.band, level: 0.9 });
  });

  test('or why it gives none', () => {
    const f = forecastRecord(record(80, { law: true }))!;
    expect(forecastReading(f)).toMatchObject({ kind: 'none', from: 80, at: 2000, reason: expect.stringMatching(/warming up/) });
  });
});
