/**
 * The page as a desktop (1280×800) and a phone (390×844) show it: full-page screenshots of the
 * first load, the default run under way and stopped, and every view after a Scaling lab sweep,
 * each also as the screen shows it (-screen.png), saved under tests/e2e/artifacts/ with the page
 * height of each (page-heights-WIDTH.json). The page never scrolls sideways; on the desktop, a
 * first visitor who presses Train sees the loss chart and a sample without scrolling.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, test } from 'vitest';
import { missingChromium, openApp, startSweep, type AppPage } from './browser.ts';
import { views } from '../../src/lib/views.ts';

const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url));
const opened: AppPage[] = [];

afterAll(async () => {
  for (const app of opened) await app.close();
});

/** How far the page scrolls sideways, in CSS pixels (0: it fits). */
const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

/** Where an element's top is, from the top of the page. */
const top = (page: Page, testId: string) =>
  page.evaluate((id) => document.querySelector(`[data-testid="${id}"]`)!.getBoundingClientRect().top + window.scrollY, testId);

/** Whether an element lies wholly inside the screen as it is scrolled now. */
const onScreen = (page: Page, testId: string) =>
  page.evaluate((id) => {
    const r = document.querySelector(`[data-testid="${id}"]`)!.getBoundingClientRect();
    return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
  }, testId);

for (const [name, width, height] of [
  ['desktop', 1280, 800],
  ['phone', 390, 844],
] as const) {
  describe(`on a ${name} (${width}×${height})`, () => {
    test('fits the screen in every view, before, during and after a run and a sweep; screenshots of each', async () => {
      if (missingChromium) throw missingChromium;
      const app = await openApp({ width, height });
      opened.push(app);
      const { page } = app;
      mkdirSync(artifacts, { recursive: true });
      const heights: Record<string, number> = {};
      const shot = async (what: string) => {
        expect(await overflow(page), `${what}: the page scrolls sideways`).toBeLessThanOrEqual(0);
        heights[what] = await page.evaluate(() => document.documentElement.scrollHeight);
        await page.screenshot({ path: `${artifacts}${what}-${width}.png`, fullPage: true });
        await page.screenshot({ path: `${artifacts}${what}-${width}-screen.png` }); // what is in view
      };

      // A first visit, every setting at its default.
      await page.goto(`${app.baseUrl}?backend=wasm`);
      await app.waitFor('corpus-stats', /characters/);
      await shot('first-load');
      if (name === 'desktop') {
        expect(await top(page, 'train-button')).toBeLessThan(height);
        expect(await top(page, 'loss-chart')).toBeLessThan(height);
      } else {
        // On a phone the chart comes right after the run bar, before the settings.
        expect(await top(page, 'loss-chart')).toBeLessThan(await top(page, 'cfg-nLayer'));
      }

      // Train, and nothing else: the loss falls on the chart beside its n-gram lines, and a sample
      // written at an evaluation appears, on a desktop without scrolling.
      await page.getByTestId('train-button').click();
      await app.waitFor('sample-step', /^by the model at step [1-9][\d,]*, written at its evaluation$/, 300_000);
      await page.waitForFunction(() => document.querySelector('[data-testid="sample-status"]')?.textContent === '');
      expect((await app.text('sample-output')).length).toBeGreaterThan(0);
      expect(await page.getByTestId('loss-chart').getAttribute('aria-label')).toMatch(
        /reference lines: unigram [\d.]+, bigram [\d.]+, trigram/,
      );
      if (name === 'desktop') {
        expect(await page.evaluate(() => window.scrollY)).toBe(0);
        expect(await onScreen(page, 'loss-chart'), 'the loss chart is in the first screen').toBe(true);
        expect(await onScreen(page, 'sample-output'), 'the sample is in the first screen').toBe(true);
      }
      await shot('mid-run');
      // The run bar's controls stay in view wherever the page is scrolled; on a phone they take at most 72 px.
      await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight / 2));
      const sticky = await page.evaluate(() => {
        // The whole bar sticks on a desktop; on a phone it lends its row the stickiness (display: contents).
        const bar = document.querySelector('[data-testid="run-bar"]')!;
        const el = getComputedStyle(bar).display === 'contents' ? document.querySelector('[data-testid="run-bar-sticky"]')! : bar;
        const r = el.getBoundingClientRect();
        return { top: r.top, height: r.height };
      });
      expect(sticky.top).toBe(0);
      if (width < 500) expect(sticky.height).toBeLessThanOrEqual(72);
      expect(await page.getByTestId('train-button').isVisible()).toBe(true);
      await page.evaluate(() => window.scrollTo(0, 0));

      // Stopped early, the run says where it stopped and what can come next.
      await page.getByTestId('stop-button').click();
      await app.waitFor('status', /^stopped at step [\d,]+ of 2,000$/);
      await app.waitFor('next-steps', /\S/);
      await shot('after-run');

      await app.view('lab');
      await startSweep(page, { sizes: '1x8,1x16,2x16', tokens: 3072, ctx: 16, batch: 8, points: 2 });
      await app.waitFor('sweep-status', /^done$/, 240_000);

      // Every view, as it stands after the run and the sweep.
      for (const v of views) {
        await app.view(v.id);
        await shot(`view-${v.id}`);
      }
      writeFileSync(`${artifacts}page-heights-${width}.json`, `${JSON.stringify(heights, null, 2)}\n`);
      console.log(`${name}: page heights ${JSON.stringify(heights)}`);
      expect(app.problems).toEqual([]);
    });
  });
}
