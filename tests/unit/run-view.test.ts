/**
 * The run view's reducer: what each run event does to what the page shows, without a worker.
 * The page's handling around it (autosaves, faults, requests) is tested in page/run-faults.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { emptyView, reduceRun, withoutHistory, withoutRun, type RunEvent, type RunView } from '../../src/lib/run-view.ts';
import { defaultModelConfig, defaultTrainConfig } from '../../src/core/config.ts';
import type { RunInfo } from '../../workers/protocol.ts';
import { riseStep, taskSeries } from '../../src/lib/task-chart.ts';

const info: RunInfo = {
  corpus: 'tiny',
  vocabSize: 10,
  params: 1000,
  nonEmbeddingParams: 900,
  trainChars: 400,
  valChars: 80,
  vocab: [...'helo wrd,'],
  blockSize: 64,
  tokensPerStep: 1024,
  flopsPerStep: 1e6,
  sampling: 'sequential',
  maxSteps: 50,
  nLayer: 2,
  nEmbd: 64,
  references: [],
  config: { model: { ...defaultModelConfig, vocabSize: 10 }, train: { ...defaultTrainConfig, maxSteps: 50 } },
};

const run = (step = 0, losses: number[] = [], evals: { step: number; train: number; val: number }[] = []): RunEvent => ({
  type: 'run',
  id: 1,
  step,
  history: { losses, evals },
  ...info,
});
const step = (s: number, loss = 2): RunEvent => ({ type: 'step', step: s, loss, lr: 1e-3, ms: 5, starts: [s * 3], epoch: 0 });
const play = (events: RunEvent[], from: RunView = emptyView, continuing = false) =>
  events.reduce((v, e) => reduceRun(v, e, continuing && e.type === 'run'), from);

describe('reduceRun', () => {
  test('a new run starts training with an empty curve, its record labelled and numbered after the earlier ones', () => {
    const v = play([run()]);
    expect(v.status).toBe('training');
    expect(v.info).toEqual(info);
    expect(v.maxSteps).toBe(50);
    expect(v.startStep).toBe(0);
    expect(v.runs).toHaveLength(1);
    expect(v.runs[0]).toMatchObject({ id: 1, label: '#1 sequential · 2×64 · ctx 64', steps: [], losses: [], evals: [] });
    const second = play([run()], v);
    expect(second.runs.map((r) => r.id)).toEqual([1, 2]);
  });

  test('steps append to the current record in place and bump the revision; the view object itself is new', () => {
    const v0 = play([run()]);
    const record = v0.runs[0];
    const v1 = reduceRun(v0, step(1, 3.1));
    const v2 = reduceRun(v1, step(2, 2.9));
    expect(v2).not.toBe(v1);
    expect(v2.runs[0]).toBe(record); // grown in place, not copied
    expect(record.steps).toEqual([1, 2]);
    expect(record.losses).toEqual([3.1, 2.9]);
    expect(v2.revision).toBe(v0.revision + 2);
    expect(v2.lastStep).toEqual({ type: 'step', step: 2, loss: 2.9, lr: 1e-3, ms: 5 });
    expect(v2.lastBatch).toEqual({ starts: [6], epoch: 0, step: 2 });
  });

  test('a loaded run brings its curve: losses numbered up to its step, evals, the latest eval shown', () => {
    const v = play([run(10, [2.5, 2.4, 2.3], [{ step: 5, train: 2.6, val: 2.7 }])]);
    expect(v.startStep).toBe(10);
    expect(v.runs[0].steps).toEqual([8, 9, 10]);
    expect(v.runs[0].losses).toEqual([2.5, 2.4, 2.3]);
    expect(v.lastEval).toEqual({ type: 'eval', step: 5, train: 2.6, val: 2.7 });
    expect(v.lastStep).toBeNull();
  });

  test('a restarted run replaces its own curve rather than adding one', () => {
    const before = play([run(), run(), step(1), step(2), step(3)]);
    const after = play([run(2, [2, 2])], before, true);
    expect(after.runs.map((r) => r.id)).toEqual([1, 2]);
    expect(after.runs[1].steps).toEqual([1, 2]);
    expect(after.runs[0]).toBe(before.runs[0]);
  });

  test("a run's own checkpoint loaded again replaces its curve; another run's is a curve of its own", () => {
    const trained = play([run(), step(1, 3), step(2, 2.5), step(3, 2.4)]);
    const again = play([run(2, [3, 2.5])], trained);
    expect(again.runs.map((r) => r.id)).toEqual([1]);
    expect(again.runs[0].losses).toEqual([3, 2.5]);
    const other = play([run(2, [3, 2.6])], trained);
    expect(other.runs.map((r) => r.id)).toEqual([1, 2]);
    const fresh = play([run()], trained); // a new run has no history to match
    expect(fresh.runs.map((r) => r.id)).toEqual([1, 2]);
  });

  test('evals, pauses, the end and a reset', () => {
    let v = play([run(), step(1)]);
    v = reduceRun(v, { type: 'eval', step: 1, train: 2.2, val: 2.3 });
    expect(v.runs[0].evals).toEqual([{ step: 1, train: 2.2, val: 2.3 }]);
    expect(v.lastEval?.val).toBe(2.3);
    expect(reduceRun(v, { type: 'paused', step: 1 }).status).toBe('paused');
    const summary = {
      type: 'summary' as const,
      params: 1000,
      nonEmbeddingParams: 900,
      trainLoss: 2.2,
      valLoss: 2.3,
      tokensPerSec: 100,
      backend: 'cpu',
      steps: 1,
    };
    const done = reduceRun(v, { type: 'done', summary, stopped: true });
    expect(done).toMatchObject({ status: 'done', summary, stoppedEarly: true });
    const reset = reduceRun(done, { type: 'reset' });
    expect(reset).toMatchObject({
      status: 'idle',
      info: null,
      lastStep: null,
      lastEval: null,
      summary: null,
      stoppedEarly: false,
      startStep: 0,
    });
    expect(reset.runs).toHaveLength(1); // the finished run's curve stays for comparison
  });

  test('does not change the view it is given', () => {
    const v = play([run(), step(1)]);
    const copy = { ...v, runs: [...v.runs] };
    reduceRun(v, { type: 'paused', step: 1 });
    reduceRun(v, { type: 'reset' });
    reduceRun(v, run());
    expect(v).toEqual(copy);
  });
});

describe('withoutRun and withoutHistory', () => {
  test('withoutRun keeps the curves and the status but drops the current run', () => {
    const v = withoutRun(play([run(), step(1)]));
    expect(v).toMatchObject({ status: 'training', info: null, lastStep: null });
    expect(v.runs).toHaveLength(1);
  });

  test('withoutHistory keeps only the current run, or nothing when there is none', () => {
    const v = play([run(), run(), step(1)]);
    expect(withoutHistory(v, true).runs.map((r) => r.id)).toEqual([2]);
    expect(withoutHistory(v, false).runs).toEqual([]);
  });
});

describe('task scores', () => {
  const task = (step: number, exactMatch: number) =>
    ({ type: 'task', step, task: 'arith:digits=1', n: 10, exactMatch, charAccuracy: exactMatch, answerNats: 3 - exactMatch }) as const;

  test("a run's task scores are kept in step order; a step scored again replaces its score; a new run starts without them", () => {
    let v: RunView = emptyView;
    for (const e of [task(0, 0), task(200, 0.5), task(100, 0.1), task(200, 0.6)]) v = reduceRun(v, e);
    expect(v.tasks.map((t) => [t.step, t.exactMatch])).toEqual([
      [0, 0],
      [100, 0.1],
      [200, 0.6],
    ]);
    expect(withoutRun(v).tasks).toEqual([]);
  });

  test('the chart reads exact match in percent and the nats beside it, and where exact match rose', () => {
    const tasks = [task(0, 0), task(100, 0.02), task(200, 0.3), task(300, 0.5), { ...task(400, 0), error: 'failed' }];
    expect(taskSeries(tasks).exact).toEqual([
      { x: 0, y: 0 },
      { x: 100, y: 2 },
      { x: 200, y: 30 },
      { x: 300, y: 50 },
    ]); // a failed scoring is not a point
    expect(taskSeries(tasks).nats.map((p) => p.y)).toEqual([3, 2.98, 2.7, 2.5]);
    expect(riseStep(tasks)).toBe(200); // the first step at half the best (0.25 of 0.5)
    expect(riseStep([task(0, 0), task(100, 0)])).toBeNull();
  });
});
