/**
 * The page as a desktop (1280×900) and a phone (390×844) show it: full-page screenshots of the
 * first load, a run under way, a finished run and the Scaling lab after a sweep, each also as the
 * screen shows it (-screen.png), saved under tests/e2e/artifacts/. At every one of them the page
 * must not scroll sideways, and on the desktop Train and the loss chart must be in the first
 * screen, without scrolling.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, test } from 'vitest';
import { missingChromium, openApp, type AppPage } from './browser.ts';

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

for (const [name, width, height] of [
  ['desktop', 1280, 900],
  ['phone', 390, 844],
] as const) {
  describe(`on a ${name} (${width}×${height})`, () => {
    test('fits the screen before, during and after a run and a sweep; screenshots of each', async () => {
      if (missingChromium) throw missingChromium;
      const app = await openApp({ width, height });
      opened.push(app);
      const { page } = app;
      mkdirSync(artifacts, { recursive: true });
      const shot = async (what: string) => {
        expect(await overflow(page), `${what}: the page scrolls sideways`).toBeLessThanOrEqual(0);
        await page.screenshot({ path: `${artifacts}${what}-${width}.png`, fullPage: true });
        await page.screenshot({ path: `${artifacts}${what}-${width}-screen.png` }); // what is in view
      };

      await page.goto(`${app.baseUrl}?backend=wasm&layers=1&heads=2&embd=16&ctx=16&batch=4&steps=400`);
      await app.waitFor('corpus-stats', /characters/);
      await shot('first-load');
      if (name === 'desktop') {
        expect(await top(page, 'train-button')).toBeLessThan(height);
        expect(await top(page, 'loss-chart')).toBeLessThan(height);
      } else {
        // On a phone the chart comes right after the run bar, before the settings.
        expect(await top(page, 'loss-chart')).toBeLessThan(await top(page, 'corpus-stats'));
      }

      await page.getByTestId('train-button').click();
      await page.waitForFunction(() => parseInt(document.querySelector('[data-testid="step"]')?.textContent ?? '0', 10) >= 150, undefined, {
        timeout: 240_000, // training: minutes on a loaded machine
      });
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

      await app.waitFor('status', /^(finished|stopped at step [\d,]+ of [\d,]+)$/);
      await shot('after-run');

      await page.getByTestId('sweep-sizes').fill('1x8,1x16,2x16');
      await page.getByTestId('sweep-tokens').fill('3072');
      await page.getByTestId('sweep-ctx').fill('16');
      await page.getByTestId('sweep-batch').fill('8');
      await page.getByTestId('sweep-points').fill('2');
      await page.getByTestId('sweep-start').click();
      await app.waitFor('sweep-status', /^done$/, 240_000);
      await page.getByTestId('scaling-lab').scrollIntoViewIfNeeded();
      await shot('scaling-lab');
      expect(app.problems).toEqual([]);
    });
  });
}
