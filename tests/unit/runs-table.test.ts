import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  configDiff,
  describeSchedule,
  earlyForecast,
  runExtras,
  runFacts,
  runRow,
  runsCsv,
  summaryFacts,
} from '../../src/lib/runs-table.ts';
import { forecastRun } from '../../src/core/forecast.ts';
import { defaultTrainConfig } from '../../src/core/config.ts';
import { readLabels, writeLabel } from '../../src/lib/run-labels.ts';
import { Rng } from '../../src/core/rng.ts';
import { saveCheckpoint } from '../../workers/checkpoint.ts';
import { GPT } from '../../workers/model.ts';
import { microModel, microTrain } from '../helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const summary = (key: string, step: number) => ({
  key,
  name: `run ${key}`,
  date: Date.UTC(2026, 11, 6),
  step,
  corpus: { name: 'moby-dick' },
});

describe('the Runs table', () => {
  test("a row is read from the checkpoint's header: shape, N, tokens, the last evaluation", async () => {
    const model = new GPT(microModel, 1);
    const history = {
      losses: [3, 2.5, 2.2],
      evals: [
        { step: 0, train: 2.4, val: 2.4 },
        { step: 3, train: 2.1, val: 2.25 },
      ],
    };
    const bytes = await saveCheckpoint(model, { vocab: [...'abcdefghijk'], train: { ...microTrain, batchSize: 4 }, history });
    model.dispose();
    const facts = runFacts(bytes);
    expect(facts.model).toEqual(microModel);
    expect(facts.history?.evals).toHaveLength(2);
    const row = runRow(summary('a', 3), summaryFacts(facts));
    expect(row).toMatchObject({
      step: 3,
      maxSteps: microTrain.maxSteps,
      tokens: 3 * 4 * microModel.blockSize,
      train: 2.1,
      val: 2.25,
      evalStep: 3,
    });
    expect(row.params).toBeGreaterThan(0);
    expect(row.settings).toMatchObject({
      layers: String(microModel.nLayer),
      width: String(microModel.nEmbd),
      batch: '4',
      corpus: 'moby-dick',
    });
  });

  test('a file that is not a checkpoint gives a row of what the listing knows, no error', () => {
    const row = runRow(summary('b', 7), summaryFacts(runFacts(new Uint8Array([1, 2, 3]))));
    expect(row).toMatchObject({ step: 7, params: null, tokens: null, val: null, settings: { corpus: 'moby-dick' } });
  });

  test('the config diff shows only the settings that differ, with each run’s value', () => {
    const facts = (nEmbd: number, seed: number) => ({ model: { ...microModel, nEmbd }, train: { ...microTrain, seed }, lastEval: null });
    const rows = [runRow(summary('a', 5), facts(8, 1)), runRow(summary('b', 5), facts(16, 1)), runRow(summary('c', 5), facts(16, 2))];
    expect(configDiff(rows)).toEqual([
      { setting: 'width', values: ['8', '16', '16'] },
      { setting: 'seed', values: ['1', '1', '2'] },
    ]);
    expect(configDiff(rows.slice(1, 2))).toEqual([]); // one run: nothing to compare
    expect(configDiff([rows[1], rows[1]])).toEqual([]);
  });

  test('CSV: a header and a line per run, fields with commas or quotes quoted', () => {
    const row = {
      ...runRow(summary('a', 5), { model: microModel, train: microTrain, lastEval: { step: 5, train: 2, val: 2.5 } }),
      name: 'moby, "dick"',
    };
    const csv = runsCsv([row]);
    const [header, line, end] = csv.split('\n');
    expect(header.split(',').slice(0, 10)).toEqual([
      'run',
      'corpus',
      'saved',
      'step',
      'max steps',
      'N',
      'tokens',
      'train loss',
      'val loss',
      'eval step',
    ]);
    expect(line.startsWith('"moby, ""dick""",moby-dick,2026-12-06T00:00:00.000Z,5,')).toBe(true);
    expect(line).toContain(',2,2.5,5,');
    expect(end).toBe('');
  });

  /** A finished 2,000-step run whose loss falls as 1.6 + 2.4·e^(−step/250), with minibatch noise; evaluated every 100 steps. */
  function finishedRun(maxSteps = 2000) {
    const train = { ...defaultTrainConfig, maxSteps, warmupSteps: 100 };
    const rng = new Rng(3);
    const clean = (s: number) => 1.6 + 2.4 * Math.exp(-s / 250);
    const losses = Array.from({ length: maxSteps }, (_, i) => clean(i + 1) + 0.05 * (rng.next() - 0.5));
    const evals = [];
    for (let s = 0; s <= maxSteps; s += 100) evals.push({ step: s, train: clean(s), val: clean(s) + 0.05 });
    return { train, history: { losses, evals } };
  }

  test("a finished run's forecast is made from its first quarter alone, and set against the val loss it reached", () => {
    const run = finishedRun();
    const f = earlyForecast(run)!;
    expect(f).not.toBeNull();
    expect(f.seen).toBeLessThanOrEqual(500);
    expect(f.actual).toBe(run.history.evals.at(-1)!.val);
    expect(f.band[0]).toBeLessThan(f.predicted);
    expect(f.band[1]).toBeGreaterThan(f.predicted);
    // Nothing after step 500 reaches it: the forecast of the record cut there is the same.
    const cut = forecastRun({
      schedule: run.train,
      steps: run.history.losses.slice(0, 500).map((loss, i) => ({ step: i + 1, loss })),
      evals: run.history.evals.filter((e) => e.step <= 500).map((e) => ({ step: e.step, loss: e.val })),
    });
    expect(cut.kind === 'forecast' && cut.final).toBe(f.predicted);
  });

  test('a run that has not reached its last evaluation has no forecast to set against an outcome yet', () => {
    const run = finishedRun();
    const unfinished = { ...run, history: { ...run.history, evals: run.history.evals.slice(0, -1) } };
    expect(earlyForecast(unfinished)).toBeNull();
    expect(earlyForecast({ train: null, history: run.history })).toBeNull();
  });

  test('a schedule reads in words: warm-up, then cosine to its floor, or constant', () => {
    expect(describeSchedule({ learningRate: 0.003, minLr: 0.0003, warmupSteps: 100, maxSteps: 2000 })).toBe(
      'warm-up 100, cosine 0.003 → 0.0003 over 2,000',
    );
    expect(describeSchedule({ learningRate: 0.01, minLr: 0.01, warmupSteps: 0, maxSteps: 50 })).toBe('constant 0.01');
  });

  test("a run's name given in the table is kept apart from its checkpoint; a blank one gives the run its own back", () => {
    const data = new Map<string, string>();
    const store = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
    expect(readLabels(store)).toEqual({});
    writeLabel('a', '  wide model  ', store);
    writeLabel('b', 'x'.repeat(200), store);
    expect(readLabels(store)).toEqual({ a: 'wide model', b: 'x'.repeat(80) });
    writeLabel('a', '   ', store);
    expect(readLabels(store)).toEqual({ b: 'x'.repeat(80) });
    data.set('tabgpt-run-labels', 'not json');
    expect(readLabels(store)).toEqual({}); // an unreadable store is an empty one
  });

  test('a saved run keeps the backend that trained it and its best n-gram (never the entropy floor), and its row shows them', () => {
    const info = {
      references: [
        { label: 'unigram', nats: 3.1, kind: 'baseline' as const },
        { label: 'trigram', nats: 2.05, kind: 'baseline' as const },
        { label: 'bigram', nats: 2.47, kind: 'baseline' as const },
        { label: 'entropy floor', nats: 1.5, kind: 'floor' as const },
      ],
    } as unknown as Parameters<typeof runExtras>[0];
    const extras = runExtras(info, 'wasm');
    expect(extras).toEqual({ backend: 'wasm', baseline: { label: 'trigram', nats: 2.05 } });
    expect(runExtras({ references: [] } as unknown as Parameters<typeof runExtras>[0], null)).toEqual({ backend: null, baseline: null });
    const row = runRow({ ...summary('a', 5), ...extras }, { model: microModel, train: microTrain, lastEval: null });
    expect(row).toMatchObject({ backend: 'wasm', baseline: { label: 'trigram', nats: 2.05 } });
    expect(runRow(summary('b', 5), undefined)).toMatchObject({ backend: null, baseline: null }); // a run saved before they were kept
    expect(runsCsv([row]).split('\n')[1]).toContain(',wasm,trigram,2.05,');
  });
});
