/**
 * "Batch size, measured" on the built app: while the default model trains on Moby-Dick (wasm), the
 * noise-scale chart fills in from the worker's measurements, with B_simple in sequences and
 * characters, the batch, Kaplan's B_crit at the current loss and a one-line reading. Any console
 * error or page error fails it. A screenshot of the chart is left in tests/e2e/artifacts/.
 */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { missingChromium, openApp, type AppPage } from './browser.ts';

const artifacts = new URL('./artifacts/', import.meta.url).pathname;

let app: AppPage;
let page: Page;

beforeAll(async () => {
  if (missingChromium) return;
  app = await openApp({ width: 1280, height: 1000 });
  page = app.page;
});

afterAll(async () => {
  await app?.close();
});

test('during a default run the noise-scale chart shows B_simple, the batch, Kaplan’s B_crit and a reading', async () => {
  if (missingChromium) throw missingChromium;
  await page.goto(`${app.baseUrl}?backend=wasm&steps=200`);
  await app.waitFor('corpus-stats', /characters/);
  expect(await app.text('noise-scale')).toMatch(/Once a run trains/);
  await page.getByTestId('train-button').click();

  // Measured every 10 steps: a few measurements in, the readout and the reading are there.
  await app.waitFor('noise-readout', /At step [1-9]\d*:[\s\S]*your batch 16 \(1,024 characters\)/);
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="noise-scale"] [data-points]')?.getAttribute('data-points')) >= 3,
    undefined,
    {
      timeout: 120_000,
    },
  );
  await app.waitFor('noise-readout', /B\s*simple ≈ [\d,.]+ sequences \([\d,.]+ characters\)/);
  await app.waitFor('noise-readout', /Kaplan's B\s*crit at L = \d\.\d\d nats\/char: ~[\d,.]+ sequences/);
  expect(await app.text('noise-reading')).toMatch(/noise scale/);

  mkdirSync(artifacts, { recursive: true });
  await app.view('inside'); // the noise scale is measured behind the Train view, and shown in Inside
  await page.getByTestId('noise-scale').screenshot({ path: `${artifacts}noise-scale.png` });
  await page.getByTestId('stop-button').click();
  await app.waitFor('status', /^(finished|stopped at step [\d,]+ of [\d,]+)$/);
  expect(app.problems).toEqual([]);
}, 300_000);
