import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { configDiff, runFacts, runRow, runsCsv, summaryFacts } from '../../src/lib/runs-table.ts';
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
});
