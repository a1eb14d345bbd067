/**
 * "Inside the model" on the built app: while a model trains on the copy corpus (wasm), the
 * attention grid fills in at the first evaluation, a head opens large and names the cell under
 * the pointer, the loss-by-position chart and the in-context probe show their measurements, and a
 * typed text is looked at on demand. Any console error or page error fails it. Screenshots of the
 * grid, the loss by position and the probe's chart are left in tests/e2e/artifacts/.
 */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { missingChromium, openApp, type AppPage } from './browser.ts';

const artifacts = new URL('./artifacts/', import.meta.url).pathname;

let app: AppPage;
let page: Page;
let problems: string[];
const text = (testId: string) => app.text(testId);
const waitFor = (testId: string, pattern: RegExp, timeout?: number) => app.waitFor(testId, pattern, timeout);

beforeAll(async () => {
  if (missingChromium) return;
  app = await openApp({ width: 1280, height: 1000 });
  ({ page, problems } = app);
});

afterAll(async () => {
  await app?.close();
});

test('while a model trains, the attention grid, loss by position and the probe show what is inside it', async () => {
  if (missingChromium) throw missingChromium;
  // The default model (2 layers × 4 heads, context 64) on the copy corpus; 300 steps: evaluations at 0, 100, 200 and 300.
  await page.goto(`${app.baseUrl}?backend=wasm&corpus=copy&steps=300`);
  await waitFor('corpus-stats', /characters/);
  await page.getByTestId('train-button').click();
  await app.view('inside');

  // The first evaluation (step 0) brings the first look inside, while the run trains on.
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="attention-head"]').length === 8, undefined, {
    timeout: 120_000,
  });
  expect(await text('status')).toMatch(/training|starting/);
  const labels = await page.getByTestId('attention-head').allTextContents();
  for (const l of labels) expect(l).toMatch(/(previous char|same char|first char|itself|spread) .*entropy \d\.\d\d/);

  // A head enlarged: hovering a cell names its query, key and weight.
  await page.getByTestId('attention-head').nth(5).click();
  const canvas = page.getByTestId('attention-large-canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = (await canvas.boundingBox())!;
  // Axis labels take the first 14 px; cells are 9 px: the cell of query 10, key 3.
  await page.mouse.move(box.x + 14 + 3 * 9 + 4, box.y + 14 + 10 * 9 + 4);
  await waitFor('attention-hover', /query “.” \(position 11\) → key “.” \(position 4\): weight \d/);

  await waitFor('loss-by-position', /step \d+:[\s\S]*From \d\.\d\d at 1 to \d\.\d\d at 64 nats/);
  await waitFor('icl-probe-now', /Step \d+: first copy \d\.\d\d, second copy \d\.\d\d nats/);
  await waitFor('embedding-map', /At step \d+: each character's embedding[\s\S]*lower case[\s\S]*digits/);

  // Any text, on demand: its characters head the grid.
  await page.getByTestId('inside-text').fill('abcabcabc');
  await page.getByTestId('inside-text').press('Enter');
  await waitFor('attention-grid', /On “abcabcabc” at step/);
  await page.getByTestId('attention-head').first().waitFor();

  // Later evaluations add probe points, the grid follows the run.
  await waitFor('status', /^(finished|stopped at step [\d,]+ of [\d,]+)$/, 300_000);
  await waitFor('icl-probe-now', /Step 300:/);
  await waitFor('loss-by-position', /step 300:/);

  mkdirSync(artifacts, { recursive: true });
  await page.getByTestId('attention-grid').screenshot({ path: `${artifacts}attention-grid.png` });
  await page.getByTestId('loss-by-position').screenshot({ path: `${artifacts}loss-by-position.png` });
  await page.getByTestId('icl-probe').screenshot({ path: `${artifacts}icl-probe.png` });
  expect(problems).toEqual([]);
});
