import { expect, test } from 'vitest';
import { cli } from './cli-run.ts';

const corpus = ['--corpus', 'markov:order=1,alphabet=6,length=40000,seed=2'];
const micro = ['--layers', '1', '--heads', '2', '--embd', '8', '--ctx', '8'];

test('train --noise-scale-every N prints a noise line after every Nth step', async () => {
  const r = await cli('train', ...corpus, ...micro, '--batch', '4', '--steps', '12', '--noise-scale-every', '4', '--backend', 'cpu');
  expect(r.code).toBe(0);
  const noise = r.lines.filter((l) => l.type === 'noise');
  expect(noise.map((l) => l.step)).toEqual([4, 8, 12]);
  for (const l of noise) {
    expect(Object.keys(l)).toEqual(
      expect.arrayContaining(['type', 'step', 'bSimple', 'gSq', 'trSigma', 'bSimpleTokens', 'batch', 'small']),
    );
    expect(l).toMatchObject({ batch: 4, small: 2 });
  }
  // Each right after its own step's line.
  const types = r.lines.map((l) => `${l.type} ${l.step}`);
  expect(types.indexOf('noise 8')).toBe(types.indexOf('step 8') + 1);
});

test('train --noise-scale-every refuses a batch of one and a count that is not whole', async () => {
  const one = await cli('train', ...corpus, ...micro, '--batch', '1', '--steps', '2', '--noise-scale-every', '1', '--backend', 'cpu');
  expect(one.code).toBe(2);
  expect(one.stderr).toMatch(/needs a batch of 2 or more/);
  const half = await cli('train', '--noise-scale-every', '2.5');
  expect(half.code).toBe(2);
  expect(half.stderr).toMatch(/--noise-scale-every must be a whole number/);
});

/** A ladder of three batch sizes, given out of order, on a micro model. */
const LADDER = [
  'batch-ladder',
  ...corpus,
  ...micro,
  '--batches',
  '8,2,4',
  '--target',
  '1.45',
  '--tokens',
  '20000',
  '--eval-tokens',
  '256',
  '--eval-rows',
  '16',
  '--lr',
  '1e-2',
  '--warmup',
  '5',
  '--noise-scale-every',
  '5',
  '--backend',
  'cpu',
];

test('batch-ladder trains each batch size to the target and prints steps and tokens to it, and the fit; --jobs 3 prints the same, bit for bit', async () => {
  const [r, three] = await Promise.all([cli(...LADDER, '--jobs', '1'), cli(...LADDER, '--jobs', '3')]);
  expect(three.code, three.stderr).toBe(0);
  expect(three.lines[0]).toMatchObject({ type: 'start', jobs: 3 });
  // Three threads, each with its own backend, print the lines of one, in batch order.
  const body = (lines: { type: string }[]) => lines.filter((l) => l.type !== 'start').map((l) => JSON.stringify(l));
  expect(body(three.lines)).toEqual(body(r.lines));
  expect(r.code, r.stderr).toBe(0);
  expect(r.lines[0]).toMatchObject({ type: 'start', jobs: 1, batches: [2, 4, 8], target: 1.45 });
  const rungs = r.lines.filter((l) => l.type === 'rung');
  expect(rungs.map((l) => l.batch)).toEqual([2, 4, 8]);
  for (const l of rungs) {
    expect(l.tokensPerStep).toBe((l.batch as number) * 8);
    if (l.reached) {
      expect(l.tokens).toBe((l.steps as number) * (l.tokensPerStep as number));
      expect(l.val as number).toBeLessThanOrEqual(1.45); // it stopped at the evaluation that reached the target
    } else {
      expect(l.steps).toBeNull();
    }
    if ((l.trainedSteps as number) >= 5) expect('bSimple' in l).toBe(true); // measured every 5 steps
  }
  const ladder = r.lines.at(-1)!;
  expect(ladder).toMatchObject({ type: 'ladder', target: 1.45 });
  const fit = ladder.fit as Record<string, unknown>;
  // Fitted where the steps fall with the batch, or else the reason it was not.
  expect(typeof fit.sMin === 'number' || typeof fit.reason === 'string').toBe(true);
}, 180_000);

test('batch-ladder names its bad flags', async () => {
  expect((await cli('batch-ladder', '--batches', '8,x')).stderr).toMatch(/--batches entry "x" is not a whole number/);
  expect((await cli('batch-ladder', '--batches', '8,16')).stderr).toMatch(/--target is required/);
  expect((await cli('batch-ladder', '--target', '2', '--lr-scaling', 'cube')).stderr).toMatch(/--lr-scaling must be none or sqrt/);
  expect((await cli('batch-ladder', '--target', '2', '--jobs', '0')).stderr).toMatch(/--jobs must be/);
  expect((await cli('batch-ladder', '--target', '2', '--jobs', '2', '--backend', 'webgpu')).stderr).toMatch(/webgpu trains on one GPU/);
});
