/**
 * A run on a task's corpus (arith: held-out sums, src/core/tasks.ts) draws the task chart while it
 * trains: exact match and the answer's nats after each evaluation, the latest in words, and no
 * console error. A screenshot of the chart is left in tests/e2e/artifacts/task-chart.png.
 */
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { missingChromium, openApp, startSweep, type AppPage } from './browser.ts';

const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url));
let app: AppPage | undefined;

afterAll(async () => {
  await app?.close();
});

test('a run on arith draws its task chart while it trains', { timeout: 600_000 }, async () => {
  if (missingChromium) throw missingChromium;
  app = await openApp({ width: 1280, height: 900 });
  const { page } = app;
  await page.goto(`${app.baseUrl}?backend=wasm&corpus=arith&layers=1&heads=2&embd=32&ctx=32&batch=16&steps=1000`);
  await app.waitFor('corpus-stats', /characters/);
  // Before training, the chart says what it will show.
  await app.waitFor('task-readout', /held-out problems are scored after each evaluation/);
  await page.getByTestId('train-button').click();
  // The untrained model's score, then the first evaluation's, while the run trains on.
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="task-chart"] canvas')?.getAttribute('data-points')) >= 2,
    undefined,
    {
      timeout: 300_000,
    },
  );
  expect(await app.text('status')).toBe('training');
  expect(await app.text('task-readout')).toMatch(
    /At step [1-9][\d,]*, on 50 held-out problems: exact match \d+%, characters in place\s+\d+%, answer \d+\.\d\d nats/,
  );
  mkdirSync(artifacts, { recursive: true });
  await page.getByTestId('task-chart').screenshot({ path: `${artifacts}task-chart.png` });
  await page.getByTestId('stop-button').click();
  await app.waitFor('status', /^stopped at step/);
  expect(app.problems).toEqual([]);
});

test(
  'a Scaling lab sweep on arith scores the task at every point and draws it against N under either metric',
  { timeout: 600_000 },
  async () => {
    if (missingChromium) throw missingChromium;
    const { page } = app!;
    await page.goto(`${app!.baseUrl}?backend=wasm&corpus=arith#lab`);
    await app!.waitFor('corpus-stats', /characters/);
    await startSweep(page, { sizes: '1x8,1x16', tokens: 3072, ctx: 16, batch: 8, points: 2 });
    await app!.waitFor('sweep-status', /^done$/, 300_000);
    // A task's sweep shows its exact match first; the answer nats are the same points, continuous.
    expect(await page.getByTestId('emergence-metric').inputValue()).toBe('exact');
    await page.waitForFunction(() => document.querySelector('[data-testid="emergence-chart"]')?.getAttribute('data-points') === '4');
    await app!.waitFor('emergence-reading', /the task's exact match went from \d+% to \d+%/);
    await page.getByTestId('emergence-metric').selectOption('nats');
    await app!.waitFor('emergence-reading', /the task's answer went from \d+\.\d\d to \d+\.\d\d nats/);
    // Kept for comparison, the same ladder on the same sums with a scratchpad: both on one chart.
    await page.getByTestId('emergence-keep').click();
    await app!.view('data');
    await page.getByTestId('corpus-select').selectOption('arith:digits=3,scratchpad=1');
    await app!.waitFor('corpus-name', /scratchpad/);
    await app!.view('lab');
    await page.getByTestId('sweep-start').click();
    await app!.waitFor('sweep-status', /^done$/, 300_000);
    await app!.waitFor('emergence-kept', /kept for comparison, arith · 1x8,1x16 \(4 points\)/);
    await page.waitForFunction(() => document.querySelector('[data-testid="emergence-chart"]')?.getAttribute('data-points') === '8');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-points-csv').click()]);
    const csv = (await readFile((await download.path())!, 'utf8')).trim().split('\n');
    expect(csv[0]).toMatch(/task_exact_match,task_char_accuracy,task_answer_nats$/);
    expect(csv[1]).toMatch(/,\d(\.\d+)?,\d(\.\d+)?,\d+(\.\d+)?$/); // every point carries its scores
    expect(app!.problems).toEqual([]);
  },
);
