/**
 * Storage and visibility in Chromium, not against mocks: a browser whose quota for the app is full
 * (Chromium's own quota, set small through the DevTools protocol) refuses the autosave and the run
 * trains on, saying so; a tab that goes hidden writes the run where it stands, and pauses only when
 * the user asked it to. Each test opens its own browser.
 *
 * A headless Chromium cannot be hidden (minimising or covering its window leaves
 * document.visibilityState 'visible'), so the page is told it is hidden as the browser would tell
 * it: visibilityState reads 'hidden' and a visibilitychange event comes. The rest is real: the
 * worker, its checkpoint and IndexedDB.
 */
import { afterEach, expect, test } from 'vitest';
import { missingChromium, openApp, type AppPage } from './browser.ts';

let app: AppPage | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

const MICRO = 'layers=1&heads=2&embd=16&ctx=16&batch=4&steps=100000&backend=wasm';

async function open(): Promise<AppPage> {
  if (missingChromium) throw missingChromium;
  app = await openApp();
  await app.page.goto(`${app.baseUrl}?${MICRO}`);
  await app.waitFor('backend-name', /^wasm$/);
  await app.waitFor('corpus-stats', /characters/);
  return app;
}

const stepNow = async (a: AppPage) => parseInt(await a.text('step'), 10);

/** Tells the page it is hidden (or shown), as the browser does when its tab is switched away. */
async function setHidden(a: AppPage, hidden: boolean) {
  await a.page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

test('with the quota full, an autosave fails with a message that says so, and the run trains on', async () => {
  const a = await open();
  // Chromium's quota for this origin: a few kilobytes, less than one checkpoint of the micro model.
  const cdp = await a.page.context().newCDPSession(a.page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(a.baseUrl).origin, quotaSize: 4096 });
  await a.view('data');
  await a.page.getByTestId('autosave-every').fill('20');
  await a.page.getByTestId('train-button').click();
  await a.waitFor('checkpoint-error', /^storage is full: .* at step \d+ was not saved; the run keeps training/, 240_000);
  const failedAt = Number(/at step (\d+)/.exec(await a.text('checkpoint-error'))![1]);
  expect(await a.text('status')).toBe('training');
  await a.page.waitForFunction((s) => parseInt(document.querySelector('[data-testid="step"]')?.textContent ?? '0', 10) > s + 20, failedAt, {
    timeout: 240_000,
  });
  expect(await a.text('autosave-status')).toBe(''); // nothing claims a save that did not happen
  await a.page.getByTestId('stop-button').click();
  await a.waitFor('status', /^stopped at step [\d,]+ of 100,000$/);
});

test('a hidden tab writes the run where it stands and trains on; with "pause while hidden", it pauses and showing it resumes', async () => {
  const a = await open();
  await a.view('data');
  await a.page.getByTestId('autosave-every').fill('100000'); // no autosave would come: only hiding saves
  await a.page.getByTestId('train-button').click();
  await a.page.waitForFunction(() => parseInt(document.querySelector('[data-testid="step"]')?.textContent ?? '0', 10) >= 30, undefined, {
    timeout: 240_000,
  });
  const k = await stepNow(a);
  await setHidden(a, true);
  await a.waitFor('autosave-status', /^saved in this browser at step \d+/);
  const saved = Number(/at step (\d+)/.exec(await a.text('autosave-status'))![1]);
  // The in-memory checkpoint, fetched within a 5% share of the worker's time: a recent one, not the
  // run's first. How recent depends on the machine's load (its save's cost sets how often it is fetched).
  expect(saved).toBeGreaterThanOrEqual(Math.floor(k / 2));
  expect(saved).toBeLessThanOrEqual(await stepNow(a));
  expect(await a.text('status')).toBe('training');
  const hiddenAt = await stepNow(a);
  await a.page.waitForFunction((s) => parseInt(document.querySelector('[data-testid="step"]')?.textContent ?? '0', 10) > s + 10, hiddenAt, {
    timeout: 240_000,
  });
  await setHidden(a, false);

  await a.page.getByTestId('pause-hidden').check();
  await setHidden(a, true);
  await a.waitFor('status', /^paused at step [\d,]+$/);
  await setHidden(a, false);
  await a.waitFor('status', /^training$/);
  await a.page.getByTestId('stop-button').click();
  await a.waitFor('status', /^stopped at step [\d,]+ of 100,000$/);
});
