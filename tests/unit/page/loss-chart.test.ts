/**
 * The loss chart's pieces that need no canvas: the datasets built for the runs shown (order,
 * legend groups, colours, what stays hidden) and the y axis's limits stretched for reference
 * lines and the forecast's band. Its drawing is Chart.js's, checked in the browser by the e2e tests.
 */
import type { ScriptableContext } from 'chart.js';
import { expect, test } from 'vitest';
import { ChartSeries, defaultView, type ChartView } from '../../../src/lib/chart-series.ts';
import type { RunRecord } from '../../../src/lib/history.ts';
import { lossDatasets, yLimits } from '../../../src/lib/loss-chart.ts';
import type { ReferenceLoss } from '../../../workers/protocol.ts';

/** A record of `n` steps with an eval every 10, step 0 included. */
function record(id: number, n: number): RunRecord {
  const rec: RunRecord = {
    id,
    label: `#${id}`,
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
  for (let s = 1; s <= n; s++) {
    rec.steps.push(s);
    rec.losses.push(1.5 + 3 / Math.sqrt(s));
    if (s % 10 === 0) rec.evals.push({ step: s, train: 1.5 + 3 / Math.sqrt(s), val: 1.55 + 3 / Math.sqrt(s) });
  }
  return rec;
}

function shown(records: RunRecord[], active: boolean) {
  const series = new ChartSeries();
  series.sync(records, active, defaultView);
  return series.runs;
}

/** A dataset's point radius for its own points, as Chart.js would ask for it. */
function radius(d: ReturnType<typeof lossDatasets>[number]): number {
  const r = d.pointRadius;
  return typeof r === 'function'
    ? (r as (ctx: ScriptableContext<'line'>) => number)({ dataset: d } as unknown as ScriptableContext<'line'>)
    : (r as number);
}

test('the current run is drawn on top (val, smoothed, raw), then each earlier run as one legend item', () => {
  const ds = lossDatasets(shown([record(1, 50), record(2, 50), record(3, 50)], true), new Set());
  expect(ds.map((d) => [d.label, d.group, d.rank, d.inLegend])).toEqual([
    ['val', 'val', 2, true],
    ['train (smoothed)', 'smoothed', 1, true],
    ['train (minibatch)', 'train', 0, true],
    ['#1', 'run-1', 3, true],
    ['#1 val', 'run-1', 3, false],
    ['#2', 'run-2', 4, true],
    ['#2 val', 'run-2', 4, false],
  ]);
  expect(ds[3].borderColor).toBe('#2a9d8f8c'); // faded, 55% opaque
  expect(ds[5].borderColor).toBe('#8e5ac88c');
});

test('with no current run every record is an earlier one, coloured by its id', () => {
  const ds = lossDatasets(shown([record(2, 50), record(8, 50)], false), new Set());
  expect(ds.map((d) => d.label)).toEqual(['#2', '#2 val', '#8', '#8 val']);
  expect(ds[2].borderColor).toBe('#8e5ac88c'); // id 8 wraps round to the second colour, as id 2 has
});

test('a group switched off in the legend stays hidden when the datasets are rebuilt', () => {
  const ds = lossDatasets(shown([record(1, 50), record(2, 50)], true), new Set(['run-1', 'smoothed']));
  expect(ds.filter((d) => d.hidden).map((d) => d.label)).toEqual(['train (smoothed)', '#1', '#1 val']);
});

test('val losses are dots while there are at most 150 of them', () => {
  const [few] = lossDatasets(shown([record(1, 1490)], true), new Set());
  const [many] = lossDatasets(shown([record(1, 1500)], true), new Set());
  expect(few.data).toHaveLength(150);
  expect(radius(few)).toBe(2.5);
  expect(many.data).toHaveLength(151);
  expect(radius(many)).toBe(0);
  const earlierVal = lossDatasets(shown([record(1, 100)], false), new Set())[1];
  expect(radius(earlierVal)).toBe(1.5);
});

const floor: ReferenceLoss = { label: 'entropy floor', nats: 1.2, kind: 'floor' };
const bigram: ReferenceLoss = { label: 'bigram', nats: 2.6, kind: 'baseline' };

test('reference lines stretch the y axis to stay in view', () => {
  expect(yLimits({ min: 1.5, max: 2 }, [floor, bigram], defaultView, undefined)).toEqual({ min: 1.2, max: 2.6 });
  const bits: ChartView = { ...defaultView, y: 'bits' };
  expect(yLimits({ min: 2, max: 3 }, [floor], bits, undefined).min).toBeCloseTo(1.2 / Math.LN2);
});

test('a reference a log axis cannot show is left out', () => {
  const logY: ChartView = { ...defaultView, logY: true };
  expect(yLimits({ min: 0, max: 0.5 }, [{ ...floor, nats: 0 }], logY, undefined)).toEqual({ min: 0, max: 0.5 });
});

test("the forecast's band stretches the y axis by at most a quarter of its span", () => {
  expect(yLimits({ min: 1, max: 3 }, [], defaultView, { x: 100, lo: 0.8, hi: 3.2 })).toEqual({ min: 0.8, max: 3.2 });
  expect(yLimits({ min: 1, max: 3 }, [], defaultView, { x: 100, lo: -10, hi: 40 })).toEqual({ min: 0.5, max: 3.5 });
  expect(yLimits({ min: 2, max: 2 }, [], defaultView, { x: 100, lo: -10, hi: 40 })).toEqual({ min: 2, max: 2 }); // no span to scale by
});
