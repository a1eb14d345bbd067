/**
 * The Runs table in Chromium: two runs trained in this browser are listed from IndexedDB; selecting
 * both overlays their validation curves and shows only the settings that differ; the table exports
 * as CSV.
 */
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';
import { missingChromium, openApp, type AppPage } from './browser.ts';

const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url));
let app: AppPage | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

test('two runs are listed, their config diff shows what differs, their curves overlay, and the table exports as CSV', async () => {
  if (missingChromium) throw missingChromium;
  app = await openApp();
  const { page } = app;
  await page.goto(`${app.baseUrl}?layers=1&heads=2&embd=16&ctx=16&batch=4&steps=40&backend=wasm`);
  await app.waitFor('backend-name', /^wasm$/);
  await app.waitFor('corpus-stats', /characters/);
  expect(await page.getByTestId('runs-empty').count()).toBe(1);

  for (const width of ['16', '32']) {
    await page.getByTestId('cfg-nEmbd').fill(width);
    await page.getByTestId('train-button').click();
    await app.waitFor('status', /^finished$/);
    await app.waitFor('autosave-status', /at step 40/); // saved at the end, into IndexedDB
  }
  await app.view('runs');
  const rows = page.getByTestId('runs-row');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="runs-row"]').length === 2);
  expect(await rows.nth(0).textContent()).toMatch(/1×32 .*40 of 40/); // newest first
  expect(await rows.nth(1).textContent()).toMatch(/1×16 .*40 of 40/);

  await page.getByTestId('runs-select').nth(0).check();
  await page.getByTestId('runs-select').nth(1).check();
  await app.waitFor('runs-diff', /width/);
  expect(await page.getByTestId('runs-diff-row').count()).toBe(1); // the one setting that differs
  expect(await page.getByTestId('runs-diff-row').locator('th, td').allTextContents()).toEqual(['width', '32', '16']);
  await page.waitForFunction(() => document.querySelector('[data-testid="runs-chart"]')?.getAttribute('data-lines') === '2');
  mkdirSync(artifacts, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 2000 }); // the whole table and chart in one view, clear of the sticky bar
  await page.getByTestId('runs').scrollIntoViewIfNeeded();
  await page.getByTestId('runs').screenshot({ path: `${artifacts}runs-table.png` });

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('runs-csv').click()]);
  expect(download.suggestedFilename()).toBe('tabgpt-runs.csv');
  const csv = (await readFile((await download.path())!, 'utf8')).trim().split('\n');
  expect(csv).toHaveLength(3);
  expect(csv[0]).toMatch(
    /^run,corpus,saved,step,max steps,N,tokens,train loss,val loss,eval step,schedule,backend,best n-gram,best n-gram val loss,forecast at 25%,/,
  );
  // Each run's schedule, and whether its first quarter gave a forecast to hold against its outcome.
  expect(await rows.nth(0).textContent()).toMatch(/gram[^\d]*\d\.\d{3}\s*warm-up \d+, cosine 0\.003 → 0\.0003 over 40\s*wasm/);
  expect(await page.getByTestId('runs-forecast').nth(0).textContent()).toMatch(
    /none from its first quarter|reached \d\.\d{3} \((in|out)side the band\)/,
  );

  // Renamed, a run keeps its name across a reload; deleted (after a second click), it is gone.
  await page.getByTestId('runs-rename').nth(0).click();
  await page.getByTestId('runs-name-input').fill('the wider one');
  await page.getByTestId('runs-name-input').press('Enter');
  expect(await page.getByTestId('runs-name').nth(0).textContent()).toBe('the wider one');
  await page.reload();
  await app.waitFor('backend-name', /^wasm$/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="runs-row"]').length === 2);
  expect(await page.getByTestId('runs-name').nth(0).textContent()).toBe('the wider one');
  await page.getByTestId('runs-delete').nth(1).click();
  expect(await page.getByTestId('runs-row').count()).toBe(2); // asked to confirm first
  await page.getByTestId('runs-delete-confirm').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="runs-row"]').length === 1);
  expect(await page.getByTestId('runs-name').nth(0).textContent()).toBe('the wider one');
  expect(app.problems).toEqual([]);
});
