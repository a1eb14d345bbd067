/**
 * Checkpoints in the built app, on wasm: a micro model autosaves into IndexedDB and downloads as
 * a file; after a reload the page offers the run back, resumes it at its step, and trains it to
 * the end. A corrupt file is refused with the loader's reason while the current run stays.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { missingChromium, openApp, type AppPage } from './browser.ts';

const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url));
let app: AppPage;
let page: Page;
let problems: string[];
const text = (testId: string) => app.text(testId);
const waitFor = (testId: string, pattern: RegExp, timeout?: number) => app.waitFor(testId, pattern, timeout);

beforeAll(async () => {
  if (missingChromium) return;
  app = await openApp({ width: 1280, height: 1000 }); // one context: its IndexedDB outlives the reload, as a tab's does
  ({ page, problems } = app);
});

afterAll(async () => {
  await app?.close();
});

test('a run autosaves, survives a reload, resumes at its step and finishes; a corrupt file is refused', async () => {
  if (missingChromium) throw missingChromium;
  const url = `${app.baseUrl}?layers=1&heads=2&embd=16&ctx=16&batch=4&steps=400&backend=wasm#data`; // the Data view holds the checkpoints
  await page.goto(url);
  await waitFor('backend-name', /^wasm$/);
  await waitFor('corpus-stats', /characters/);
  expect(await page.getByTestId('resume-offer').count()).toBe(0); // a first visit has nothing to offer

  await page.getByTestId('autosave-every').fill('10');
  await page.getByTestId('train-button').click();
  await waitFor('autosave-status', /at step \d+/);
  await page.getByTestId('pause-button').click();
  await waitFor('status', /^paused at step [\d,]+$/);
  const pausedAt = parseInt(await text('step'), 10);
  expect(pausedAt).toBeGreaterThan(0);
  expect(pausedAt).toBeLessThan(400);
  // Pausing saves the run as it stands.
  await waitFor('autosave-status', new RegExp(`at step ${pausedAt},`));
  await waitFor('saved-runs', new RegExp(`moby-dick · 1×16 · ctx 16.*step ${pausedAt}`));
  await waitFor('storage', /used of/);

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-checkpoint').click()]);
  expect(download.suggestedFilename()).toBe(`tabgpt-moby-dick-step${pausedAt}.safetensors`);
  await waitFor('checkpoint-message', /downloaded/);
  const downloaded = await download.path();

  await page.reload();
  await waitFor('backend-name', /^wasm$/);
  expect(await page.getByTestId('autosave-every').inputValue()).toBe('10'); // the interval is remembered
  await waitFor(
    'resume-offer-what',
    new RegExp(`^moby-dick · 1×16 · ctx 16 at step ${pausedAt}, val loss \\d\\.\\d{3}( at step \\d+)?, saved (just now|1 min ago)$`),
  );
  await page.getByTestId('resume-last').click();
  await waitFor('status', /^paused at step [\d,]+$/);
  expect(await text('step')).toBe(`${pausedAt} / 400`);
  await waitFor('run-bar-note', /resumed at step \d+; press Resume to train/);
  // The chart (in the Train view) holds the steps before the reload.
  await app.view('train');
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points')) >= n,
    2 * pausedAt,
  );
  await app.view('data');
  await page.getByTestId('resume-button').click();
  await waitFor('status', /^(finished|stopped at step [\d,]+ of [\d,]+)$/);
  expect(await text('step')).toBe('400 / 400');
  await waitFor('autosave-status', /at step 400,/);
  expect(await page.getByTestId('saved-run').count()).toBe(1); // the same run, saved again under its key

  // A finished run is no dead end: reloaded, it comes back at its last step, and Extend trains it on.
  await page.reload();
  await waitFor('backend-name', /\S/);
  await page.getByTestId('resume-last').click();
  await waitFor('status', /^paused at step 400$/);
  expect(await page.getByTestId('resume-button').isDisabled()).toBe(true); // nothing left of its plan
  await waitFor('next-steps', /every step it planned/);
  await page.getByTestId('extend-steps').fill('20');
  await page.getByTestId('extend-run').click();
  await waitFor('status', /^finished$/, 60_000);
  expect(await text('step')).toBe('420 / 420');
  await waitFor('autosave-status', /at step 420,/);
  expect(await page.getByTestId('saved-run').count()).toBe(1); // still the same run

  // A file that is not a checkpoint is refused when picked, with the reason, and offers no Resume.
  await page
    .getByTestId('checkpoint-file')
    .setInputFiles({ name: 'broken.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('not a checkpoint at all') });
  await waitFor('checkpoint-error', /^broken\.safetensors: not a tabgpt checkpoint: its header length does not fit the file/);
  expect(await page.getByTestId('load-resume').count()).toBe(0);
  expect(await text('status')).toBe('finished');
  expect(await text('step')).toBe('420 / 420');

  // The downloaded file resumes too, at its own step, as a second saved run.
  // The file says what it holds before it is loaded; once loaded, the form and the link show its settings.
  await app.view('train');
  await page.getByTestId('cfg-nEmbd').fill('32');
  await app.view('data');
  await page.getByTestId('checkpoint-file').setInputFiles(downloaded);
  await waitFor(
    'picked-summary',
    new RegExp(`1 layer × 16 wide, 2 heads, context 16 · step ${pausedAt} of 400 · moby-dick · \\d+ characters$`),
  );
  expect(await page.getByTestId('picked-mismatch').count()).toBe(0);
  await page.getByTestId('load-resume').click();
  await waitFor('status', /^paused at step [\d,]+$/);
  expect(await text('step')).toBe(`${pausedAt} / 400`);
  await waitFor('checkpoint-error', /^$/);
  expect(await page.getByTestId('cfg-nEmbd').inputValue()).toBe('16');
  await page.waitForFunction(() => new URLSearchParams(location.search).get('embd') === '16');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="saved-run"]').length === 2);

  mkdirSync(artifacts, { recursive: true });
  await page.getByRole('region', { name: 'Checkpoints' }).screenshot({ path: `${artifacts}checkpoints.png` });
  expect(problems).toEqual([]);
});
