import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { cli } from './cli-run.ts';

const dir = mkdtempSync(join(tmpdir(), 'tabgpt-forecast-'));

const bank = 'datasets/runs';
const defaultRun = join(bank, 'moby-default.jsonl.gz');

describe('forecast', () => {
  test("forecasts the default run's val loss from 25% of it, with the outcome inside its band", async () => {
    const r = await cli('forecast', '--run', defaultRun, '--upto', '500');
    expect(r.code).toBe(0);
    const [f] = r.lines;
    expect(f).toMatchObject({ type: 'forecast', step: 500, target: 2000, level: 0.9 });
    const actual = 1.843613862991333; // the run's val loss at step 2000
    expect(f.band[0]).toBeLessThanOrEqual(actual);
    expect(f.band[1]).toBeGreaterThanOrEqual(actual);
    expect(Math.abs(f.final / actual - 1)).toBeLessThan(0.05);
    // The curve: the val loss at every later step of the schedule, thinned, ending at the target.
    expect(f.curve[0][0]).toBe(501);
    expect(f.curve.at(-1)).toEqual([2000, f.final]);
  });

  test('reads a plain log as train prints it, and says why there is no forecast during warm-up', async () => {
    const plain = join(dir, 'run.jsonl');
    writeFileSync(plain, gunzipSync(readFileSync(defaultRun)));
    const r = await cli('forecast', '--run', plain, '--upto', '150');
    expect(r.lines).toEqual([
      {
        type: 'forecast',
        step: 150,
        target: 2000,
        final: null,
        reason: 'the learning rate is still warming up (step 150 of 200): the loss so far says little about the rest of the run',
      },
    ]);
  });

  test('refuses what is not a log', async () => {
    const notLog = join(dir, 'notes.txt');
    writeFileSync(notLog, 'hello\n');
    expect(await cli('forecast', '--run', notLog)).toMatchObject({ code: 2, stderr: expect.stringMatching(/line 1: not JSON/) });
    const oldLog = join(dir, 'old.jsonl');
    writeFileSync(oldLog, '{"type":"start","backend":"wasm"}\n{"type":"step","step":1,"loss":4.4}\n');
    expect((await cli('forecast', '--run', oldLog)).stderr).toMatch(/no run config/);
    expect((await cli('forecast', '--run', defaultRun, '--upto', '5000')).stderr).toMatch(/--upto 5000: the log ends at step 2000/);
    expect((await cli('forecast', '--run', defaultRun, '--level', '0.5')).stderr).toMatch(/unknown flag --level/); // the band is the calibrated 90% one
    // A sweep's log is not a run's; a resumed run's log starts where it resumed.
    const sweepLog = join(dir, 'sweep.jsonl');
    writeFileSync(sweepLog, readFileSync('tests/unit/fixtures/sweep-moby.jsonl'));
    expect((await cli('forecast', '--run', sweepLog)).stderr).toMatch(/a sweep's log, not a run's/);
    expect((await cli('forecast')).stderr).toMatch(/--run is required/);
  });
});

test('train --forecast-every prints a forecast line every N steps, a number or a reason', async () => {
  const r = await cli(
    'train',
    '--corpus',
    'markov:length=30000',
    '--layers',
    '1',
    '--heads',
    '1',
    '--embd',
    '8',
    '--ctx',
    '8',
    '--batch',
    '4',
    '--steps',
    '400',
    '--warmup',
    '20',
    '--eval-every',
    '50',
    '--backend',
    'cpu',
    '--forecast-every',
    '100',
  );
  expect(r.code).toBe(0);
  const lines = r.lines.filter((l) => l.type === 'forecast');
  expect(lines.map((l) => l.step)).toEqual([100, 200, 300]);
  for (const l of lines) {
    expect(l.target).toBe(400);
    if (l.final === null) expect(l.reason).toEqual(expect.any(String));
    else expect(l.band[0]).toBeLessThanOrEqual(l.final);
  }
  expect((await cli('train', '--forecast-every', '-1')).stderr).toMatch(/--forecast-every/);
});

test('backtest on the bank: coverage within 5 points of 90% where forecasts are made, and the median errors the README states', async () => {
  const r = await cli('backtest', '--runs', bank);
  expect(r.code).toBe(0);
  const rows = r.lines.filter((l) => l.type === 'backtest');
  expect(rows.map((l) => l.cut)).toEqual([0.1, 0.25, 0.5, 0.75, 0.9]);
  for (const row of rows) {
    expect(row.runs).toBe(22);
    if (row.forecasts > 0) expect(row.coverage).toBeGreaterThanOrEqual(0.85);
  }
  const at = (cut: number) => rows.find((l) => l.cut === cut);
  expect(at(0.25).forecasts).toBeGreaterThanOrEqual(15);
  expect(at(0.25).medianAbsError).toBeLessThanOrEqual(0.04);
  expect(at(0.5).medianAbsError).toBeLessThanOrEqual(0.02);
  expect(at(0.75).medianAbsError).toBeLessThanOrEqual(0.015);
  expect(at(0.75).forecasts).toBeGreaterThanOrEqual(19);
  expect(at(0.1).forecasts).toBe(0); // too few runs forecast from there to calibrate it
  // --items: each forecast's band as shipped, agreeing with the row's coverage.
  const items = (await cli('backtest', '--runs', bank, '--items')).lines.filter(
    (l) => l.type === 'backtestItem' && l.cut === 0.5 && l.final !== null,
  );
  expect(items.length).toBe(at(0.5).forecasts);
  expect(items.filter((i) => i.inBand).length / items.length).toBeCloseTo(at(0.5).coverage, 12);
  for (const i of items) expect(i.inBand).toBe(i.band[0] <= i.actual && i.actual <= i.band[1]);
  const summary = r.lines.find((l) => l.type === 'backtestSummary');
  expect(summary.runs).toBe(22);
});

describe('fit knows when it cannot know', () => {
  const plateau = 'tests/unit/fixtures/sweep-on-plateau.jsonl'; // sweep --sizes 1x16,1x32,2x32,2x48 --tokens 100000 --points 3

  test('a sweep still on its plateau fits no law: identifiable false with its reasons, and --predict exits 1 naming them', async () => {
    const p = await cli('fit', '--points', plateau, '--bootstrap', '20', '--predict', '1e6:1e6');
    expect(p.lines[0]).toMatchObject({ type: 'fit', identifiable: false, unigram: expect.closeTo(3.1176, 3) });
    expect(p.lines[0].reasons.join('\n')).toMatch(/E → 0/);
    expect(p.code).toBe(1);
    expect(p.lines[0].predictions).toBeUndefined();
    expect(p.stderr).toMatch(/no prediction: this fit is not identifiable \(E → 0/);
  });

  test("the README's markov sweep is a law: E near the true floor, 1.5065", async () => {
    // sweep --corpus markov --sizes 2x16h1,2x24h2,2x32h2,2x48h3,3x64h4 --tokens 600000 --points 8 --ctx 16 --batch 32 --lr 6e-3 --min-lr 6e-4
    const r = await cli('fit', '--points', 'tests/unit/fixtures/sweep-markov.jsonl', '--bootstrap', '50', '--predict', '500000:2000000');
    expect(r.code).toBe(0);
    expect(r.lines[0]).toMatchObject({ identifiable: true, points: 40 });
    expect(Math.abs(r.lines[0].E / 1.5065 - 1)).toBeLessThan(0.01);
    expect(r.lines[0].predictions[0].loss).toBeGreaterThan(1.5);
  });

  test("the README's Moby-Dick sweep is a law: it predicts, with an interval", async () => {
    // sweep --corpus moby-dick --sizes 2x24h2,2x32h2,2x48h3,2x64h4 --tokens 1200000 --points 8 --ctx 32 --batch 32 --lr 4e-3 --min-lr 4e-4
    const r = await cli('fit', '--points', 'tests/unit/fixtures/sweep-moby.jsonl', '--bootstrap', '50', '--predict', '332448:1200128');
    expect(r.code).toBe(0);
    expect(r.lines[0]).toMatchObject({ identifiable: true, points: 32 });
    const [p] = r.lines[0].predictions;
    expect(p.loss).toBeGreaterThan(1.7);
    expect(p.loss).toBeLessThan(1.95);
    expect(p.interval[0]).toBeLessThan(p.loss);
    expect(p.interval[1]).toBeGreaterThan(p.loss);
  });

  test('--ledger keeps a prediction of an identifiable law; train --ledger on its corpus settles it, once', async () => {
    const law = { E: 1.1, A: 30, B: 50, alpha: 0.35, beta: 0.3 };
    // A sweep's lines: its start line names the corpus the law is about.
    const corpus = 'markov:length=20000';
    const lines = [JSON.stringify({ type: 'start', corpus, unigram: 5 })]; // every point below the plateau
    for (const N of [1e3, 3e3, 1e4, 3e4])
      for (const D of [1e4, 3e4, 1e5])
        lines.push(JSON.stringify({ type: 'point', N, D, loss: law.E + law.A / N ** law.alpha + law.B / D ** law.beta }));
    const points = join(dir, 'law.jsonl');
    writeFileSync(points, lines.join('\n'));
    const ledger = join(dir, 'ledger.jsonl');
    // The model train trains below: 1 layer of width 8, ctx 8: N = 792 non-embedding parameters (LayerNorm gains included), D = 40 steps × 4 × 8 tokens.
    const f = await cli('fit', '--points', points, '--bootstrap', '20', '--predict', '792:1280', '--ledger', ledger);
    expect(f.code).toBe(0);
    expect(f.lines[0].identifiable).toBe(true);
    const tiny = [
      '--layers',
      '1',
      '--heads',
      '1',
      '--embd',
      '8',
      '--ctx',
      '8',
      '--batch',
      '4',
      '--steps',
      '40',
      '--warmup',
      '4',
      '--eval-every',
      '10',
      '--backend',
      'cpu',
      '--ledger',
      ledger,
    ];
    // Another corpus with the same N and D does not settle it.
    expect((await cli('train', '--corpus', 'markov:length=20000,seed=2', ...tiny)).code).toBe(0);
    const open = await cli('ledger', '--file', ledger);
    expect(open.lines.find((x) => x.type === 'ledgerRow' && x.kind === 'law')).toMatchObject({ actual: null });
    const t = await cli('train', '--corpus', corpus, ...tiny);
    expect(t.code).toBe(0);
    const start = t.lines[0];
    expect(start.train).toMatchObject({ maxSteps: 40, batchSize: 4, warmupSteps: 4, learningRate: 3e-3 });
    expect(start.model).toMatchObject({ nLayer: 1, nEmbd: 8, blockSize: 8 });
    const final = t.lines.find((x) => x.type === 'summary').valLoss;
    const l = await cli('ledger', '--file', ledger);
    const law792 = l.lines.find((x) => x.type === 'ledgerRow' && x.kind === 'law');
    expect(law792).toMatchObject({ N: 792, target: 1280, corpus, actual: final });
    expect(law792.error).toBeCloseTo(law792.predicted / final - 1, 12);
    expect(l.lines.some((x) => x.type === 'ledgerSummary' && x.kind === 'law' && x.settled === 1)).toBe(true);
    // A second run of the same model settles nothing more: the prediction keeps its first outcome.
    expect((await cli('train', '--corpus', corpus, ...tiny, '--seed', '7')).code).toBe(0);
    const again = await cli('ledger', '--file', ledger);
    expect(again.lines.find((x) => x.type === 'ledgerRow' && x.kind === 'law').actual).toBe(final);
    expect((await cli('fit', '--points', points, '--ledger', ledger)).stderr).toMatch(/--ledger keeps --predict's predictions/);
  });
});
