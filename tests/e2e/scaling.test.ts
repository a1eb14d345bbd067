/**
 * The Scaling lab on the built app: a micro sweep on the wasm backend (in the lab's own worker)
 * on the synthetic corpus, whose points reach the chart and whose fitted law is shown beside the
 * corpus's entropy floor. Any console error or page error fails it.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { missingChromium, openApp, type AppPage } from './browser.ts';

let app: AppPage;
let page: Page;
let problems: string[];
const text = (testId: string) => app.text(testId);
const waitFor = (testId: string, pattern: RegExp, timeout?: number) => app.waitFor(testId, pattern, timeout);

beforeAll(async () => {
  if (missingChromium) return;
  app = await openApp();
  ({ page, problems } = app);
});

afterAll(async () => {
  await app?.close();
});

test('a micro sweep on wasm streams points onto the chart and fits a law shown beside the entropy floor', async () => {
  if (missingChromium) throw missingChromium;
  await page.goto(`${app.baseUrl}?backend=wasm&corpus=markov`);
  await waitFor('corpus-stats', /characters/);
  await waitFor('sweep-status', /no sweep yet/);

  // Published curves are drawn before any measurement.
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="scaling-chart"]')?.getAttribute('data-points')) > 0);

  await page.getByTestId('sweep-sizes').fill('1x8,1x16,2x16');
  await page.getByTestId('sweep-tokens').fill('3072');
  await page.getByTestId('sweep-ctx').fill('16');
  await page.getByTestId('sweep-batch').fill('8');
  await page.getByTestId('sweep-lr').fill('0.01');
  await page.getByTestId('sweep-points').fill('2');
  await page.getByTestId('sweep-start').click();

  await page.waitForFunction(() => Number(document.querySelector('[data-testid="sweep-count"]')?.textContent) >= 1, undefined, {
    timeout: 120_000,
  });
  await waitFor('sweep-status', /^done$/, 240_000);
  expect(Number(await text('sweep-count'))).toBe(6); // 3 models × 2 points
  expect(await page.getByTestId('sweep-progress').getAttribute('value')).toBe('1');
  // Each point took the in-context probe: against N, each model's loss and probe score (3 + 3 points), and the sentence that contrasts them.
  await page.waitForFunction(() => document.querySelector('[data-testid="emergence-chart"]')?.getAttribute('data-points') === '6');
  await waitFor(
    'emergence-reading',
    /^From N = \S+ to \S+ the loss (fell|rose) \d+% \(\d\.\d{3} → \d\.\d{3}\) while the probe score went from -?\d+% to -?\d+% of chance\.$/,
  );
  await page.getByTestId('emergence-axis').selectOption('D');
  await page.waitForFunction(() => document.querySelector('[data-testid="emergence-chart"]')?.getAttribute('data-points') === '12');

  // The law is fitted in the worker once the ladder is measured.
  await waitFor('fit-floor', /Fitted E = \d/, 120_000);
  expect(await text('fit-floor')).toMatch(/entropy floor \(exact\), \d\.\d{3} nats\/char/);
  for (const k of ['E', 'A', 'B', 'alpha', 'beta']) expect(await text(`fit-${k}`)).toMatch(/\d|∞/);
  // 24-step models are still on the plateau near the bigram loss: the law they fit is flagged, not trusted.
  await waitFor('fit-degenerate', /This fit is degenerate \([^)]+\): [\s\S]* Train longer/);
  expect(await page.getByTestId('scaling-chart').getAttribute('aria-label')).toMatch(/your fit as a solid curve, 6 sweep points/);

  // Nothing is predicted from a law that says nothing: the prediction is refused with the reason.
  await page.getByTestId('target-size').fill('2x32');
  await page.getByTestId('target-tokens').fill('4096');
  await page.getByTestId('predict-button').click();
  await waitFor('predict-error', /^the fitted law is degenerate \([^)]+\): train the sweep longer before predicting from it$/);
  expect(await page.locator('[data-testid="predictions-table"] tbody tr').count()).toBe(0);
  expect(Number(await text('sweep-count'))).toBe(6);

  // A reload loses nothing measured: the sweep's settings, its points and its fit come back from IndexedDB.
  await page.reload();
  await waitFor('corpus-stats', /characters/);
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-count"]')?.textContent === '6');
  await waitFor('sweep-status', /^done$/);
  await waitFor('fit-floor', /Fitted E = \d/);
  expect(await page.getByTestId('sweep-sizes').inputValue()).toBe('1x8,1x16,2x16');
  expect(await page.getByTestId('fit-degenerate').count()).toBe(1);
  await waitFor('emergence-reading', /^From N = /);
  expect(await page.getByTestId('lab-store-error').count()).toBe(0);

  expect(problems).toEqual([]);
});
