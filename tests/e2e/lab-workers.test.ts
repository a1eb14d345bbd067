/**
 * The Scaling lab trains a sweep's models in several workers at once where the cores allow
 * (sweepWorkers, src/core/sweep.ts), and the points are those of one worker, bit for bit: the same
 * micro sweep on wasm in a page that reports one core (one worker) and in one that reports the
 * machine's cores, each exported as CSV, compared whole.
 */
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, expect, test } from 'vitest';
import { missingChromium, openApp, startSweep, type AppPage } from './browser.ts';

let app: AppPage | undefined;

afterAll(async () => {
  await app?.close();
});

/** Runs the micro sweep in the lab of `page` and returns its points as the lab exports them, and how it shared the cores. */
async function sweepPoints(page: Page, baseUrl: string): Promise<{ csv: string; sharing: string }> {
  await page.goto(`${baseUrl}?backend=wasm&corpus=markov#lab`);
  // The lab shares the cores by what the page's worker runs on: it has said so before the sweep starts.
  await page.waitForFunction(() => document.querySelector('[data-testid="backend-name"]')?.textContent === 'wasm', undefined, {
    timeout: 120_000,
  });
  await page.waitForFunction(() => /characters/.test(document.querySelector('[data-testid="corpus-stats"]')?.textContent ?? ''));
  await startSweep(page, { sizes: '1x8,1x16,2x16', tokens: 3072, ctx: 16, batch: 8, points: 2 });
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-status"]')?.textContent === 'done', undefined, {
    timeout: 240_000,
  });
  const sharing = (await page.getByTestId('sweep-workers').textContent()) ?? '';
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-points-csv').click()]);
  return { csv: await readFile((await download.path())!, 'utf8'), sharing };
}

test("a sweep's models train in a worker per core, and its points are those of one worker, bit for bit", { timeout: 600_000 }, async () => {
  if (missingChromium) throw missingChromium;
  app = await openApp({ width: 1280, height: 900 });
  const cores = await app.page.evaluate(() => navigator.hardwareConcurrency);
  expect(cores, 'this test needs a machine of two cores or more').toBeGreaterThanOrEqual(2);

  // A page told it has one core: one worker, one model after another.
  const context = await app.page
    .context()
    .browser()!
    .newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 1 }));
  const one = await sweepPoints(await context.newPage(), app.baseUrl);
  await context.close();
  expect(one.sharing).toMatch(/^one worker, 1 wasm thread \(/);

  const many = await sweepPoints(app.page, app.baseUrl);
  expect(many.sharing).toMatch(new RegExp(`^${Math.min(3, cores, 4)} workers at once, \\d+ wasm threads? each`));

  const lines = one.csv.trim().split('\n');
  expect(lines).toHaveLength(1 + 6); // a header, 3 models × 2 points
  expect(many.csv).toBe(one.csv);
  expect(app.problems).toEqual([]);
});
