/**
 * The Scaling lab on the built app: a micro sweep on the wasm backend (in the lab's own worker)
 * on the synthetic corpus, whose points reach the chart; the lab says beforehand that such a plan
 * gives no law, and its fit is refused as not identifiable: drawn as points, nothing predicted.
 * Any console error or page error fails it. A screenshot of the refused fit is left in
 * tests/e2e/artifacts/.
 */
import type { Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
  app = await openApp();
  ({ page, problems } = app);
});

afterAll(async () => {
  await app?.close();
});

test('a micro sweep on wasm streams points onto the chart; its fit is no law and predicts nothing', async () => {
  if (missingChromium) throw missingChromium;
  // A link opens the Scaling lab's view.
  await page.goto(`${app.baseUrl}?backend=wasm&corpus=markov#lab`);
  await page.getByTestId('view-lab-panel').waitFor({ state: 'visible' });
  expect(await page.getByTestId('view-train-panel').isHidden()).toBe(true);
  expect(await page.getByTestId('view-lab').getAttribute('aria-current')).toBe('page');
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
  // Before it runs, the lab says this plan will not give a law, and offers one that would.
  await waitFor('sweep-advice', /unlikely to give a law to fit/);
  expect(await text('sweep-advice')).toMatch(
    /1x8 trains 24 steps, 1x16 trains 24 steps, 2x16 trains 24 steps: runs here stay near the unigram level/,
  );
  expect(await text('sweep-advice')).toMatch(/2 points a model: B and β need 3 token counts or more/);
  await waitFor('sweep-suggestion', /Instead, give every model 3,907 steps \(500,000 tokens at batch 8 × context 16\), 4 points each: /);
  await page.getByTestId('sweep-start').click();

  await page.waitForFunction(() => Number(document.querySelector('[data-testid="sweep-count"]')?.textContent) >= 1, undefined, {
    timeout: 120_000,
  });
  await waitFor('sweep-status', /^done$/, 240_000);
  expect(Number(await text('sweep-count'))).toBe(6); // 3 models × 2 points
  expect(await page.getByTestId('sweep-progress').getAttribute('value')).toBe('1');
  // Each point took the in-context probe: against N, each model's loss and probe score (3 + 3 points), and the sentence that contrasts them.
  await page.waitForFunction(
    () => document.querySelector('[data-testid="emergence-chart"]')?.getAttribute('data-points') === '6',
    undefined,
    {
      timeout: 60_000,
    },
  );
  await waitFor(
    'emergence-reading',
    /^From N = \S+ to \S+ the loss (fell|rose) \d+% \(\d\.\d{3} → \d\.\d{3}\) while the probe score went from -?\d+% to -?\d+% of chance\.$/,
  );
  await page.getByTestId('emergence-axis').selectOption('D');
  await page.waitForFunction(
    () => document.querySelector('[data-testid="emergence-chart"]')?.getAttribute('data-points') === '12',
    undefined,
    {
      timeout: 60_000,
    },
  );

  // The fit is made in the worker once the ladder is measured: 24-step models on the plateau, 2 token counts: no law.
  await waitFor('fit-degenerate', /This fit is not a law/, 120_000);
  expect(await text('fit-degenerate')).toMatch(/only 2 distinct token counts \(D\): B and β need 3 or more/);
  expect(await text('fit-refused-cell')).toMatch(/not identifiable: no law is drawn or predicted from these 6 points/);
  expect(await page.getByTestId('fit-floor').count()).toBe(0);
  expect(await page.getByTestId('fit-A').count()).toBe(0);
  // Drawn as points only, with no compute-optimal row from it.
  expect(await page.getByTestId('scaling-chart').getAttribute('aria-label')).toMatch(/published laws as dashed curves, 6 sweep points/);
  expect(await page.getByTestId('scaling-chart').getAttribute('aria-label')).not.toMatch(/your fit/);
  await waitFor('optimal-refused', /Your fit gives no allocation: it is not identifiable/);

  // Nothing is predicted from it: the prediction is refused with the reasons.
  await page.getByTestId('target-size').fill('2x32');
  await page.getByTestId('target-tokens').fill('4096');
  await page.getByTestId('predict-button').click();
  await waitFor(
    'predict-error',
    /^no prediction: the fit is not identifiable \(.*only 2 distinct token counts.*\); train the sweep longer or on more sizes first$/,
  );
  expect(await page.locator('[data-testid="predictions-table"] tbody tr').count()).toBe(0);
  expect(Number(await text('sweep-count'))).toBe(6);
  mkdirSync(artifacts, { recursive: true });
  await page.getByTestId('scaling-lab').screenshot({ path: `${artifacts}refused-fit.png` });

  // A reload loses nothing measured: the sweep's settings, its points and its fit come back from IndexedDB.
  await page.reload();
  await waitFor('corpus-stats', /characters/);
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-count"]')?.textContent === '6', undefined, {
    timeout: 60_000,
  });
  await waitFor('sweep-status', /^done$/);
  await waitFor('fit-degenerate', /This fit is not a law/);
  expect(await page.getByTestId('sweep-sizes').inputValue()).toBe('1x8,1x16,2x16');
  expect(await page.getByTestId('fit-degenerate').count()).toBe(1);
  await waitFor('emergence-reading', /^From N = /);
  expect(await page.getByTestId('lab-store-error').count()).toBe(0);

  expect(problems).toEqual([]);
});
