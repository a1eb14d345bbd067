import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { cli } from './cli-run.ts';

const dir = mkdtempSync(join(tmpdir(), 'tabgpt-scaling-'));

test('fit recovers a known law from a CSV of points', async () => {
  const law = { E: 1.1, A: 30, B: 50, alpha: 0.35, beta: 0.3 };
  const rows = ['N,D,loss'];
  for (const N of [1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7]) {
    for (const D of [1e5, 1e6, 1e7, 1e8, 1e9, 3e9]) rows.push(`${N},${D},${law.E + law.A / N ** law.alpha + law.B / D ** law.beta}`);
  }
  const path = join(dir, 'points.csv');
  writeFileSync(path, rows.join('\n'));
  const r = await cli('fit', '--points', path, '--bootstrap', '0');
  expect(r.code).toBe(0);
  const fit = r.lines[0];
  expect(fit).toMatchObject({ type: 'fit', points: 42, converged: true, intervals: null });
  for (const k of ['E', 'A', 'B', 'alpha', 'beta'] as const) expect(Math.abs(fit[k] - law[k]) / law[k]).toBeLessThan(1e-3);
});

test('fit refuses a file without usable points, saying which', async () => {
  const path = join(dir, 'bad.csv');
  writeFileSync(path, 'N,D,loss\n1000,1e6,2.5\n-5,1e6,2.4\n');
  const r = await cli('fit', '--points', path);
  expect(r.code).not.toBe(0);
  expect(r.stderr.trim()).toBe(`error: ${path}: line 3: N must be a positive decimal number, got "-5"`);
});

/** A sweep of three micro models on a small Markov corpus: seconds on wasm. */
const MICRO_SWEEP = [
  'sweep',
  '--corpus',
  'markov:order=1,alphabet=6,length=40000,seed=2',
  '--sizes',
  '1x8,1x16,2x16',
  '--tokens',
  '3000',
  '--ctx',
  '16',
  '--batch',
  '8',
  '--points',
  '2',
  '--backend',
  'wasm',
  '--eval-batches',
  '2',
];

test('sweep trains a ladder and prints its points and the law fitted to them', async () => {
  const r = await cli(...MICRO_SWEEP, '--lr', '1e-2', '--min-lr', '1e-3');
  expect(r.code).toBe(0);
  const models = r.lines.filter((l) => l.type === 'model');
  expect(models.map((m) => [m.nLayer, m.nEmbd])).toEqual([
    [1, 8],
    [1, 16],
    [2, 16],
  ]);
  expect(models[2].N).toBeGreaterThan(models[0].N);
  const points = r.lines.filter((l) => l.type === 'point');
  // --points 2: exactly two per model, the last at its final step.
  expect(points).toHaveLength(6);
  models.forEach((m, i) => expect(points.filter((p) => p.model === i).map((p) => p.step)).toEqual([Math.round(m.steps / 2), m.steps]));
  for (const p of points) expect(p.D).toBe(p.step * 8 * 16);
  // Each point carries the in-context probe at its weights: a score in nats and chance, ln(characters drawn from).
  const chances = new Set(points.map((p) => p.probe.chance));
  expect(chances.size).toBe(1);
  const [chance] = chances;
  expect(Math.exp(chance)).toBeCloseTo(Math.round(Math.exp(chance)), 9);
  expect(Math.round(Math.exp(chance))).toBeGreaterThanOrEqual(2);
  for (const p of points) expect(Math.abs(p.probe.score)).toBeLessThan(2 * chance);
  expect(r.lines.find((l) => l.type === 'sweep').points).toHaveLength(points.length);
  const fit = r.lines.at(-1);
  expect(fit.type).toBe('fit');
  expect(fit.entropyRate).toBeGreaterThan(0);
  for (const k of ['E', 'A', 'B', 'alpha', 'beta']) expect(Number.isFinite(fit[k])).toBe(true);
  // A law of the points it was fitted to: non-negative terms under the lowest loss, and each point's loss
  // predicted within 10% (a short, noisy sweep; a fit of the wrong points or columns misses by far more).
  for (const k of ['E', 'A', 'B', 'alpha', 'beta']) expect(fit[k]).toBeGreaterThanOrEqual(0);
  expect(fit.E).toBeLessThanOrEqual(Math.min(...points.map((p) => p.loss)));
  for (const p of points) {
    const predicted = fit.E + fit.A / p.N ** fit.alpha + fit.B / p.D ** fit.beta;
    expect(Math.abs(predicted / p.loss - 1)).toBeLessThan(0.1);
  }
}, 120_000);

test('fit predicts the loss at a new (N, D) with a bootstrap interval', async () => {
  const law = { E: 1.1, A: 30, B: 50, alpha: 0.35, beta: 0.3 };
  const rows = ['N,D,loss'];
  let s = 7;
  const noise = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.02; // ±1%
  for (const N of [1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7]) {
    for (const D of [1e5, 1e6, 1e7, 1e8, 1e9, 3e9])
      rows.push(`${N},${D},${(law.E + law.A / N ** law.alpha + law.B / D ** law.beta) * (1 + noise())}`);
  }
  const path = join(dir, 'noisy.csv');
  writeFileSync(path, rows.join('\n'));
  const r = await cli('fit', '--points', path, '--bootstrap', '40', '--predict', '1e8:1e10');
  const [p] = r.lines[0].predictions;
  const truth = law.E + law.A / 1e8 ** law.alpha + law.B / 1e10 ** law.beta;
  expect(Math.abs(p.loss - truth) / truth).toBeLessThan(0.025);
  expect(p.interval[0]).toBeLessThan(p.loss);
  expect(p.interval[1]).toBeGreaterThan(p.loss);
}, 60_000);

test('fit refuses a file it cannot read as points, each with its reason and exit 2, before reading much', async () => {
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const fifo = join(dir, 'points.fifo');
  execFileSync('mkfifo', [fifo]); // a reader of a FIFO with no writer would wait forever
  const cases: [string[], RegExp][] = [
    [['--points', '/dev/zero'], /--points \/dev\/zero is not a regular file$/],
    [['--points', fifo], /points.fifo is not a regular file$/],
    [['--points', dir], /is a directory, not a file$/],
    [['--points', file('null.json', '[null]')], /point 1: expected \{N, D, loss\}, got null$/],
    [['--points', file('string.json', '[{"N": "0x10", "D": 1, "loss": 2}]')], /point 1: N must be a positive number, got "0x10"$/],
    [
      ['--points', file('big.json', '[{"N": 1e400, "D": 1, "loss": 2}]')],
      /point 1: N must be a positive number, got one too large for a double$/,
    ],
    [['--points', file('object.json', '[{"N": 1}')], /the file: not valid JSON$/],
    [['--points', file('lines.jsonl', '{"type":"point","N":1,"D":2,"loss":3}\n\nnull\n')], /line 3: expected a JSON object, got null$/],
    [['--points', file('none.jsonl', '{"type":"start"}\n')], /no points/],
    [
      ['--points', file('ok.csv', 'N,D,loss\n1e4,1e5,3\n'), '--predict', '1e400:1e5'],
      /--predict entry "1e400:1e5" is not N:D with positive, finite numbers$/,
    ],
  ];
  for (const [args, stderr] of cases) {
    const r = await cli('fit', ...args);
    expect(r.code, args.join(' ')).toBe(2);
    expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    expect(r.stderr.trim(), args.join(' ')).toMatch(stderr);
  }
});

test('sweep --jobs 2 trains the models in two threads and prints the lines of --jobs 1, in their order, bit for bit', async () => {
  const [one, two] = await Promise.all([cli(...MICRO_SWEEP, '--jobs', '1'), cli(...MICRO_SWEEP, '--jobs', '2')]);
  expect(one.code).toBe(0);
  expect(two.code).toBe(0);
  expect(one.lines.find((l) => l.type === 'start').jobs).toBe(1);
  expect(two.lines.find((l) => l.type === 'start').jobs).toBe(2);
  const body = (lines: { type: string }[]) => lines.filter((l) => l.type !== 'start').map((l) => JSON.stringify(l));
  expect(body(two.lines)).toEqual(body(one.lines));
  expect(two.lines.filter((l) => l.type === 'point')).toHaveLength(6);
  // The law too, fitted on the two threads (its grid and its bootstrap split between them).
  expect(two.lines.filter((l) => l.type === 'fit')).toHaveLength(1);
});

test('sweep --jobs refuses a count that is not whole, and more than one on webgpu', async () => {
  for (const [jobs, backend, message] of [
    ['0', 'wasm', /--jobs must be/],
    ['1.5', 'wasm', /--jobs must be/],
    ['2', 'webgpu', /one GPU/],
  ]) {
    const r = await cli(
      'sweep',
      '--sizes',
      '1x8,1x16',
      '--tokens',
      '3000',
      '--ctx',
      '16',
      '--batch',
      '8',
      '--jobs',
      jobs as string,
      '--backend',
      backend as string,
    );
    expect(r.code, `--jobs ${jobs} --backend ${backend}`).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
  }
});

test('fit on constant losses: no law in them, so no intervals either (a degenerate bootstrap would print zero-width ones that miss the estimate)', async () => {
  const path = join(dir, 'constant.csv');
  const rows = ['N,D,loss'];
  for (const N of [1000, 2000, 4000]) for (const D of [10000, 20000, 40000]) rows.push(`${N},${D},2`);
  writeFileSync(path, rows.join('\n'));
  const r = await cli('fit', '--points', path);
  expect(r.code).toBe(0);
  expect(r.lines[0]).toMatchObject({ type: 'fit', identifiable: false, intervals: null });
  expect(r.lines[0].reasons.length).toBeGreaterThan(0); // each says why, in words
});
