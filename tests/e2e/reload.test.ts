/**
 * A reload in the middle of a run, long before its next autosave: hiding the page saves the run
 * as it stands, so the offer after the reload names that run and resumes it no more than one
 * loss read-back (logEvery steps) behind where it was.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { defaultTrainConfig } from '../../src/core/config.ts';
import { missingChromium, openApp, type AppPage } from './browser.ts';

let app: AppPage;
let page: Page;

beforeAll(async () => {
  if (missingChromium) return;
  app = await openApp(); // one context: its IndexedDB outlives the reload, as a tab's does
  ({ page } = app);
});

afterAll(async () => {
  await app?.close();
});

test('a run reloaded at step k, before any autosave, is offered back at step ≥ k − logEvery and resumes there', async () => {
  if (missingChromium) throw missingChromium;
  await page.goto(`${app.baseUrl}?layers=1&heads=2&embd=16&ctx=16&batch=4&steps=3000&backend=wasm`);
  await app.waitFor('backend-name', /^wasm$/);
  await app.waitFor('corpus-stats', /characters/);
  expect(await page.getByTestId('autosave-every').inputValue()).toBe('200');
  await page.getByTestId('train-button').click();
  await page.waitForFunction(() => parseInt(document.querySelector('[data-testid="step"]')?.textContent ?? '0', 10) >= 40, undefined, {
    timeout: 240_000, // training: minutes on a loaded machine
  });
  const k = parseInt(await app.text('step'), 10);
  expect(k).toBeLessThan(200); // no autosave has happened yet
  expect(await app.text('autosave-status')).toBe('');

  await page.reload();
  await app.waitFor('backend-name', /^wasm$/);
  await app.waitFor('resume-offer-what', /moby-dick · 1×16 · ctx 16 at step \d+, val loss/);
  const offer = await app.text('resume-offer-what');
  const saved = parseInt(/at step (\d+)/.exec(offer)![1], 10);
  expect(saved).toBeGreaterThanOrEqual(k - defaultTrainConfig.logEvery);

  await page.getByTestId('resume-last').click();
  await app.waitFor('status', /^paused at step [\d,]+$/);
  expect(await app.text('step')).toBe(`${saved} / 3000`);
  expect(app.problems).toEqual([]);
});
