/** The Scaling lab's pure parts: ladders, units, the log–log series, progress and exports. */
import { parsePoints } from '../../src/cli/points.ts';
import { describe, expect, test } from 'vitest';
import { countParams } from '../../src/core/config.ts';
import { chinchilla, kaplanLossN } from '../../src/core/scaling.ts';
import {
  buildSeries,
  computeOf,
  errorPercent,
  fitsCsv,
  formatCount,
  labJson,
  logSpace,
  pointsCsv,
  publishedPerChar,
  xRange,
} from '../../src/lib/scaling-chart.ts';
import {
  DEFAULT_LADDER,
  DEFAULT_SIZES,
  formatShape,
  parseLadder,
  planSweep,
  sweepConfig,
  sweepFraction,
  sweepWorkers,
  sweepTrainConfig,
} from '../../src/core/sweep.ts';
import type { FittedLaw, SweepPoint } from '../../workers/protocol.ts';

const base = { charsPerToken: 4.3, vocabSize: 65, refD: 1e6, refN: 1e5, fit: null, sweep: [], run: null, verified: [] };

describe('ladders', () => {
  test('sizes parse as layers x width, with one head per 16 channels unless h says otherwise', () => {
    expect(parseLadder('2x32, 3x96h6,4×128')).toEqual([
      { nLayer: 2, nHead: 2, nEmbd: 32 },
      { nLayer: 3, nHead: 6, nEmbd: 96 },
      { nLayer: 4, nHead: 8, nEmbd: 128 },
    ]);
  });

  test('a bad entry is refused with its reason', () => {
    expect(() => parseLadder('2x32,big')).toThrow(/"big" is not LAYERSxWIDTH/);
    expect(() => parseLadder('2x30h4')).toThrow(/divisible/);
    expect(() => parseLadder(' , ')).toThrow(/empty/);
  });

  test('the default ladder reads back from its text, and every shape prints as it parses', () => {
    expect(parseLadder(DEFAULT_SIZES)).toEqual(DEFAULT_LADDER);
    expect(DEFAULT_SIZES).toBe('2x32,2x48,2x64,3x96,4x128');
    for (const s of parseLadder('1x8,3x96h6,2x64h1')) expect(parseLadder(formatShape(s))).toEqual([s]);
  });

  test('steps per model follow the budget, and each model warms up for 10% of its own steps', () => {
    const base = { ladder: parseLadder('1x16,2x32'), blockSize: 16, batchSize: 8, learningRate: 1e-3, minLr: 1e-4, points: 4 };
    const fixed = planSweep(sweepConfig({ ...base, budget: { tokens: 1000 } }), 10);
    expect(fixed.steps).toEqual([8, 8]); // ⌈1000 / (8·16)⌉
    expect(fixed.warmupSteps).toEqual([0, 0]);
    const N = countParams({ nLayer: 2, nHead: 2, nEmbd: 32, vocabSize: 10, blockSize: 16, dropout: 0 }).nonEmbedding;
    const cfg = sweepConfig({ ...base, budget: { tokensPerParam: 20 } });
    const plan = planSweep(cfg, 10);
    expect(plan.N[1]).toBe(N);
    expect(plan.steps[1]).toBe(Math.ceil((20 * N) / 128));
    expect(plan.warmupSteps[1]).toBe(Math.floor(0.1 * plan.steps[1]));
    expect(sweepTrainConfig(cfg, plan, 1)).toMatchObject({
      maxSteps: plan.steps[1],
      warmupSteps: plan.warmupSteps[1],
      evalEvery: Math.floor(plan.steps[1] / 4),
    });
    expect(() => planSweep({ ...cfg, warmupFraction: 1 }, 10)).toThrow(/warm-up fraction/);
  });

  test('one progress fraction covers the whole sweep', () => {
    expect(sweepFraction([10, 30], [], [{ model: 0, step: 5 }])).toBeCloseTo(5 / 40);
    expect(sweepFraction([10, 30], [0], [{ model: 1, step: 15 }])).toBeCloseTo(25 / 40);
    expect(sweepFraction([10, 30], [0, 1], [])).toBe(1);
    expect(sweepFraction([], [], [])).toBe(0);
    // Models that end out of order, two workers at once: a worker's step past its model's end counts its end.
    expect(
      sweepFraction(
        [10, 30, 20],
        [1],
        [
          { model: 0, step: 4 },
          { model: 2, step: 50 },
          { model: null, step: 0 },
        ],
      ),
    ).toBeCloseTo(54 / 60);
    expect(sweepFraction([10, 30], [0], [{ model: 0, step: 10 }])).toBeCloseTo(10 / 40); // a model done is counted once
  });

  test("a sweep's models share the cores: a worker each up to the cores (at most 4), the cores split among them as wasm threads; one worker on a GPU", () => {
    expect(sweepWorkers('wasm', 4, 2)).toEqual({ workers: 2, threads: 1 });
    expect(sweepWorkers('wasm', 4, 8)).toEqual({ workers: 4, threads: 2 });
    expect(sweepWorkers('wasm', 3, 16)).toEqual({ workers: 3, threads: 5 });
    expect(sweepWorkers('wasm', 1, 8)).toEqual({ workers: 1, threads: 8 });
    expect(sweepWorkers('cpu', 5, 2)).toEqual({ workers: 2, threads: 1 });
    expect(sweepWorkers('webgpu', 4, 8)).toEqual({ workers: 1, threads: 8 });
    expect(sweepWorkers(null, 4, 8)).toEqual({ workers: 1, threads: 8 }); // not yet known: one, as before
    expect(sweepWorkers('wasm', 0, 0)).toEqual({ workers: 1, threads: 1 });
  });
});

describe('units', () => {
  test('a published loss per token becomes a loss per character by dividing by characters per token', () => {
    expect(publishedPerChar(4.3, 4.3, 65)).toBeCloseTo(1);
    expect(publishedPerChar(2, 2, 65)).toBeCloseTo(1);
  });

  test('a prediction at or above ln V is meaningless and becomes null', () => {
    expect(publishedPerChar(4.3 * Math.log(6), 4.3, 6)).toBeNull();
    expect(publishedPerChar(4.3 * Math.log(6) * 0.99, 4.3, 6)).not.toBeNull();
  });

  test('counts read in SI prefixes', () => {
    expect(formatCount(1234567)).toBe('1.23M');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(6e15)).toBe('6P');
  });
});

describe('log–log series', () => {
  test('samples are log-spaced and span the measurements a decade each way', () => {
    const xs = logSpace(10, 1000, 3);
    expect(xs[1]).toBeCloseTo(100);
    expect(xRange('N', [1e4, 1e5])).toEqual([1e3, 1e6]);
    expect(xRange('D', [])).toEqual([1e4, 1e9]);
  });

  test('on the N axis the published laws are per character, with gaps where they mean nothing', () => {
    const { curves } = buildSeries({ ...base, axis: 'N', vocabSize: 4 });
    const k = curves.find((c) => c.kind === 'kaplan')!;
    for (const p of k.points) {
      const perChar = kaplanLossN(p.x) / 4.3;
      if (perChar >= Math.log(4)) expect(p.y).toBeNull();
      else expect(p.y).toBeCloseTo(perChar, 10);
    }
    // At 10^3 parameters Kaplan's L(N) is about 6.8 nats/token, 1.58 per character: above ln 4 ≈ 1.39.
    expect(k.points[0].y).toBeNull();
    expect(k.points.at(-1)!.y).not.toBeNull();
    expect(curves.map((c) => c.kind)).toEqual(['kaplan', 'chinchilla']);
    // Chinchilla at D = 10^6 is above 2.39 nats/char for any N: nothing to draw, and its label says so.
    expect(curves[1].points.every((p) => p.y === null)).toBe(true);
    expect(curves[1].label).toMatch(/not drawn/);
    expect(k.label).toBe('Kaplan L(N)');
  });

  test('Chinchilla is drawn at the given D, and a fit joins the curves in nats per character', () => {
    const fit = { E: 1, A: 10, B: 20, alpha: 0.4, beta: 0.3 };
    const { curves } = buildSeries({ ...base, axis: 'N', fit, vocabSize: 1e6 }); // ln V ≈ 13.8: nothing is cut
    const ch = curves.find((c) => c.kind === 'chinchilla')!;
    const p = ch.points[10];
    expect(p.y).toBeCloseTo((chinchilla.E + chinchilla.A / p.x ** chinchilla.alpha + chinchilla.B / 1e6 ** chinchilla.beta) / 4.3, 10);
    const f = curves.find((c) => c.kind === 'fit')!;
    expect(f.points[0].y).toBeCloseTo(fit.E + fit.A / f.points[0].x ** fit.alpha + fit.B / 1e6 ** fit.beta, 10);
  });

  test("a sweep's points are one set per model, each in order along x, so each model's points can be joined", () => {
    const sweep = [
      { model: 1, N: 4e4, D: 2e5, loss: 1.6 },
      { model: 0, N: 1e4, D: 2e5, loss: 1.9 },
      { model: 1, N: 4e4, D: 1e5, loss: 1.8 },
      { model: 0, N: 1e4, D: 1e5, loss: 2.1 },
    ];
    const sets = buildSeries({ ...base, axis: 'D', sweep, run: null }).measured.filter((m) => m.kind === 'sweep');
    expect(sets.map((m) => m.model)).toEqual([0, 1]);
    expect(sets[0].points).toEqual([
      { x: 1e5, y: 2.1 },
      { x: 2e5, y: 1.9 },
    ]);
    expect(sets[1].points.map((p) => p.y)).toEqual([1.8, 1.6]);
    expect(sets[1].label).toMatch(/model 2/);
  });

  test('measurements land at their N, D or C = 6ND, and the current run is its own set', () => {
    const sweep = [
      { N: 1e4, D: 1e5, loss: 2 },
      { N: 1e5, D: 1e5, loss: 1.5 },
    ];
    const run = { N: 3e4, D: 2e5, loss: 1.8 };
    for (const axis of ['N', 'D', 'C'] as const) {
      const { measured, curves } = buildSeries({ ...base, axis, sweep, run });
      const xs = measured.find((m) => m.kind === 'sweep')!.points.map((p) => p.x);
      expect(xs).toEqual(axis === 'N' ? [1e4, 1e5] : axis === 'D' ? [1e5, 1e5] : sweep.map(computeOf));
      expect(measured.find((m) => m.kind === 'run')!.points).toEqual([
        { x: axis === 'N' ? 3e4 : axis === 'D' ? 2e5 : 6 * 3e4 * 2e5, y: 1.8 },
      ]);
      expect(curves).toHaveLength(2);
    }
  });
});

describe('exports', () => {
  const points: SweepPoint[] = [
    { model: 0, N: 1000, params: 1500, D: 2048, step: 16, loss: 1.5 },
    { model: 1, N: 4000, params: 4800, D: 4096, step: 32, loss: 1.25 },
  ];
  const fitted: FittedLaw = {
    law: { E: 1, A: 2, B: 3, alpha: 0.3, beta: 0.4 },
    converged: true,
    identifiable: true,
    reasons: [],
    intervals: { E: [0.9, 1.1], A: [1, 3], B: [2, 4], alpha: [0.2, 0.4], beta: [0.3, 0.5] },
    predictions: [],
  };

  test('points CSV has a header and one row per point, readable by the CLI fit', () => {
    expect(pointsCsv(points)).toBe(
      'model,N,params,D,step,loss,probe_score,probe_chance,task_exact_match,task_char_accuracy,task_answer_nats\n0,1000,1500,2048,16,1.5,,,,,\n1,4000,4800,4096,32,1.25,,,,,\n',
    );
    const probed = [{ ...points[0], probe: { score: 0.5, chance: 2 } }];
    expect(pointsCsv(probed)).toBe(
      'model,N,params,D,step,loss,probe_score,probe_chance,task_exact_match,task_char_accuracy,task_answer_nats\n0,1000,1500,2048,16,1.5,0.5,2,,,\n',
    );
    const tasked = [{ ...points[0], task: { n: 50, exactMatch: 0.25, charAccuracy: 0.5, answerNats: 3.5 } }];
    expect(pointsCsv(tasked)).toBe(
      'model,N,params,D,step,loss,probe_score,probe_chance,task_exact_match,task_char_accuracy,task_answer_nats\n0,1000,1500,2048,16,1.5,,,0.25,0.5,3.5\n',
    );
    expect(parsePoints(pointsCsv(probed), 'points.csv')).toEqual([{ N: 1000, D: 2048, loss: 1.5 }]);
  });

  test('fits CSV gives each parameter with its interval, quoting labels that need it', () => {
    const csv = fitsCsv([{ label: 'fit 1 (a, b)', points: 2, fitted }])
      .trim()
      .split('\n');
    expect(csv[0]).toBe('label,points,E,E_lo,E_hi,A,A_lo,A_hi,B,B_lo,B_hi,alpha,alpha_lo,alpha_hi,beta,beta_lo,beta_hi');
    expect(csv[1]).toBe('"fit 1 (a, b)",2,1,0.9,1.1,2,1,3,3,2,4,0.3,0.2,0.4,0.4,0.3,0.5');
  });

  test('JSON holds the points, the fits and the published laws, with units', () => {
    const j = JSON.parse(labJson({ corpus: 'markov', points, fits: [{ label: 'fit 1', points: 2, fitted }], predictions: [] }));
    expect(j.points).toEqual(points);
    expect(j.fits[0]).toMatchObject({ label: 'fit 1', law: fitted.law });
    expect(j.published.chinchilla.E).toBe(1.69);
    expect(j.units).toMatch(/nats per character/);
  });

  test('a prediction error is in percent of the actual loss', () => {
    expect(errorPercent({ predicted: 1.1, actual: 1 })).toBeCloseTo(10);
    expect(errorPercent({ predicted: 1, actual: null })).toBeNull();
  });
});
