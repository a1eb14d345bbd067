import { describe, expect, test } from 'vitest';
import {
  forecastRun,
  MISFIT,
  misfitAt,
  normalQuantile,
  scheduleAreas,
  TUNING,
  type CurvePoint,
  type RunCurve,
} from '../../src/core/forecast.ts';
import { Rng } from '../../src/core/rng.ts';
import type { Schedule } from '../../src/core/schedule.ts';

/** The default run's schedule: 2,000 steps, 200 of warm-up, cosine 3e-3 → 3e-4. */
const cosine: Schedule = { learningRate: 3e-3, minLr: 3e-4, warmupSteps: 200, maxSteps: 2000 };
const { S1, S2 } = scheduleAreas(cosine, cosine.maxSteps);

/** A known law: L0 − A·ln S1 − C·S2, and the held-out loss δ above it. C is the prior's, unless given. */
function law({ L0 = 3.5, A = 0.2, C = TUNING.priorC, delta = 0.02 } = {}) {
  return { L0, A, C, delta, train: (s: number) => L0 - A * Math.log(S1[s]) - C * S2[s] };
}

/** A run of the law: per-step train losses with additive noise `noise` (nats), evaluations every 100 steps with noise/4. */
function run(l: ReturnType<typeof law>, noise: number, seed: number, schedule = cosine): RunCurve {
  const rng = new Rng(seed);
  const steps: CurvePoint[] = [];
  const evals: CurvePoint[] = [];
  for (let s = 1; s <= schedule.maxSteps; s++) {
    steps.push({ step: s, loss: l.train(s) + noise * rng.normal() });
    if (s % 100 === 0) evals.push({ step: s, loss: l.train(s) + l.delta + (noise / 4) * rng.normal() });
  }
  return { schedule, steps, evals };
}

describe('the schedule areas', () => {
  test('S1 sums the rate in peak units; S2 accumulates its drops with momentum λ', () => {
    // Constant after a 10-step warm-up: S1 grows by 1 a step, and nothing anneals.
    const flat = scheduleAreas({ learningRate: 1e-3, minLr: 1e-3, warmupSteps: 10, maxSteps: 100 }, 100, 0.9);
    expect(flat.S1[10]).toBeCloseTo(55 / 11, 12); // warm-up: (k+1)/11 of the peak for k = 0…9
    expect(flat.S1[60] - flat.S1[10]).toBeCloseTo(50, 12);
    expect(Math.max(...flat.S2)).toBe(0);
    // A 100-step cosine from the first step: with λ = 0, S2 is the drop so far, 1 − η₉₉/peak after 100 updates.
    const s = { learningRate: 1, minLr: 0.1, warmupSteps: 0, maxSteps: 100 };
    const noMomentum = scheduleAreas(s, 100, 0);
    expect(noMomentum.S2[100]).toBeCloseTo(1 - (0.1 + 0.45 * (1 + Math.cos((Math.PI * 99) / 100))), 12);
    // With momentum, each drop keeps acting: S2 is the drops' sum weighted by (1 − λ^(steps since))/(1 − λ).
    const lambda = 0.9;
    const withMomentum = scheduleAreas(s, 100, lambda);
    let expected = 0;
    for (let k = 1; k < 100; k++) {
      const drop = 0.45 * (Math.cos((Math.PI * (k - 1)) / 100) - Math.cos((Math.PI * k) / 100));
      expected += (drop * (1 - lambda ** (100 - k))) / (1 - lambda);
    }
    expect(withMomentum.S2[100]).toBeCloseTo(expected, 9);
  });
});

describe('forecastRun', () => {
  test('recovers a known law from a noiseless run exactly, and forecasts the val loss at every later step', () => {
    const l = law();
    for (const upto of [500, 1000, 1500]) {
      const f = forecastRun(run(l, 0, 1), { upto });
      if (f.kind !== 'forecast') throw new Error(f.reason);
      expect(f.law.L0).toBeCloseTo(l.L0, 8);
      expect(f.law.A).toBeCloseTo(l.A, 8);
      expect(f.law.C).toBeCloseTo(l.C, 8);
      expect(f.law.valOffset).toBeCloseTo(l.delta, 8);
      expect(f.final).toBeCloseTo(l.train(2000) + l.delta, 8);
      for (const s of [upto + 1, 1234, 1999]) expect(f.predict(s)).toBeCloseTo(l.train(s) + l.delta, 8);
      expect(f.curve[0][0]).toBe(upto + 1);
      expect(f.curve.at(-1)).toEqual([2000, f.final]);
      expect(f.curve.length).toBeLessThanOrEqual(202);
    }
  });

  test("recovers a law whose C is not the prior's once the run has annealed, and without the prior at any cut", () => {
    const l = law({ C: 0.004 });
    const noPrior = forecastRun(run(l, 0, 1), { upto: 600, tuning: { priorC: 0 } });
    if (noPrior.kind !== 'forecast') throw new Error(noPrior.reason);
    expect(noPrior.law.C).toBeCloseTo(0.004, 8);
    expect(noPrior.final).toBeCloseTo(l.train(2000) + l.delta, 8);
    // With the prior, C is pulled toward it: less and less as the run anneals.
    const err = (upto: number) => {
      const f = forecastRun(run(l, 0, 1), { upto });
      if (f.kind !== 'forecast') throw new Error(f.reason);
      return Math.abs(f.law.C - 0.004);
    };
    expect(err(1800)).toBeLessThan(err(1000));
    expect(err(1000)).toBeLessThan(err(600));
  });

  test('its band (the noise part alone) holds the true final val loss of noisy runs at its nominal level', () => {
    const l = law();
    const truth = l.train(2000) + l.delta;
    for (const level of [0.9, 0.8]) {
      let held = 0;
      const n = 200;
      for (let seed = 0; seed < n; seed++) {
        const f = forecastRun(run(l, 0.08, seed), { upto: 700, misfit: false, level, seed, samples: 100 });
        if (f.kind !== 'forecast') throw new Error(f.reason);
        if (f.band[0] <= truth && truth <= f.band[1]) held++;
      }
      expect(Math.abs(held / n - level)).toBeLessThanOrEqual(0.05);
    }
  });

  test("the band adds the bank's misfit at the fraction of the run seen", () => {
    const f = forecastRun(run(law(), 0.05, 3), { upto: 1000 });
    if (f.kind !== 'forecast') throw new Error(f.reason);
    expect(f.misfit).toBe(misfitAt(0.5));
    const half = normalQuantile(0.95) * Math.hypot(f.noise, f.misfit);
    expect(f.band[0]).toBeCloseTo(f.final * Math.exp(-half), 12);
    expect(f.band[1]).toBeCloseTo(f.final * Math.exp(half), 12);
    expect(misfitAt(0.25)).toBe(MISFIT[1][1]);
    expect(misfitAt(1)).toBe(MISFIT.at(-1)![1]); // the final evaluation's own noise stays
    expect(misfitAt(0.35)).toBeLessThan(misfitAt(0.25));
    expect(misfitAt(0.35)).toBeGreaterThan(misfitAt(0.5));
    expect(misfitAt(0.2)).toBe(Infinity); // before the first cut the bank calibrates: no forecast
  });

  test('says why instead of a number: during warm-up, at the end, too early, on a plateau, and when the loss drops off one', () => {
    const l = law();
    const none = (r: RunCurve, upto: number) => {
      const f = forecastRun(r, { upto });
      if (f.kind === 'forecast') throw new Error(`a forecast at step ${upto}`);
      return f.reason;
    };
    expect(none(run(l, 0.02, 1), 150)).toMatch(/still warming up \(step 150 of 200\)/);
    expect(none(run(l, 0.02, 1), 2000)).toMatch(/nothing left to forecast/);
    expect(none(run(l, 0.02, 1), 220)).toMatch(/^20 steps to fit since step 200, the end of the warm-up; a forecast needs 80$/);
    // 10% of a run seen after no warm-up: too few of the bank's runs gave a forecast from there to measure its misses.
    const early = { ...cosine, warmupSteps: 0 };
    const e = scheduleAreas(early, 2000);
    const earlyRun = run({ ...l, train: (s: number) => 3.5 - 0.2 * Math.log(e.S1[s]) - TUNING.priorC * e.S2[s] }, 0.02, 1, early);
    expect(none(earlyRun, 200)).toMatch(
      /^from 10% of the run too few recorded runs gave a forecast to measure how far one misses: too little to say yet$/,
    );
    // Flat at the unigram level after warm-up.
    const flat: RunCurve = {
      ...run(l, 0.05, 2),
      steps: run(l, 0.05, 2).steps.map((p, i) => ({ step: p.step, loss: 3.1 + 0.05 * Math.sin(i) })),
    };
    expect(none(flat, 800)).toMatch(/has not fallen since step 200.*on a plateau/);
    // Flat, then dropping fast over the last 100 steps seen (a phase change beginning).
    const rng = new Rng(5);
    const dropping: RunCurve = {
      schedule: cosine,
      steps: Array.from({ length: 900 }, (_, i) => ({
        step: i + 1,
        loss: (i < 700 ? 2.5 - 0.0001 * i : 2.43 - 0.004 * (i - 700)) + 0.01 * rng.normal(),
      })),
      evals: [],
    };
    expect(none(dropping, 900)).toMatch(/falling .*× faster over the last steps .* leaving a plateau/);
  });

  test('a known entropy floor: the band stops at it, and a law that falls below it forecasts nothing', () => {
    const l = law();
    const truth = l.train(2000) + l.delta;
    const r = run(l, 0.05, 6);
    const f = forecastRun({ ...r, floor: truth - 0.01 }, { upto: 1000 });
    if (f.kind !== 'forecast') throw new Error(f.reason);
    expect(f.band[0]).toBe(truth - 0.01);
    const below = forecastRun({ ...r, floor: truth + 0.2 }, { upto: 1000 });
    expect(below).toMatchObject({
      kind: 'none',
      reason: expect.stringMatching(/below this corpus's entropy floor \(\d\.\d{3}\): it is extrapolating past what the corpus allows$/),
    });
  });

  test('ignores losses past the cut, non-finite ones and a spike', () => {
    const l = law();
    const r = run(l, 0.03, 4);
    const at = forecastRun(r, { upto: 800 });
    const cut: RunCurve = { ...r, steps: r.steps.slice(0, 800), evals: r.evals.filter((e) => e.step <= 800) };
    expect(forecastRun(cut)).toEqual({ ...at, predict: expect.any(Function) });
    const spiked: RunCurve = {
      ...cut,
      steps: cut.steps.map((p) => (p.step === 600 ? { ...p, loss: 40 } : p.step === 601 ? { ...p, loss: NaN } : p)),
    };
    const f = forecastRun(spiked);
    if (f.kind !== 'forecast' || at.kind !== 'forecast') throw new Error('no forecast');
    expect(Math.abs(f.final - at.final)).toBeLessThan(0.01);
  });
});

test('normalQuantile', () => {
  expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
  expect(normalQuantile(0.95)).toBeCloseTo(1.644854, 5);
  expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
  expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
  expect(() => normalQuantile(1)).toThrow(RangeError);
});
