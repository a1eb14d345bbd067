/**
 * Accessibility, checked by axe-core in Chromium at a desktop (1280×800) and a phone (390×844)
 * size: no serious or critical violation on the first screen, and none in any view once a run has
 * trained and its panels (chart, samples, the model's inside, the Runs table) have filled. axe runs as a
 * script the page itself never loads, so its browser context bypasses the page's CSP for it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchChromium, missingChromium, serveBuiltApp } from './browser.ts';
import { views } from '../../src/lib/views.ts';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let server: PreviewServer | undefined;
let browser: Browser | undefined;
let baseUrl: string;

beforeAll(async () => {
  if (missingChromium) return;
  ({ url: baseUrl, server } = await serveBuiltApp());
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Opens a view from the page's navigation. */
async function openView(page: Page, id: string) {
  await page.getByTestId(`view-${id}`).click();
  await page.getByTestId(`view-${id}-panel`).waitFor({ state: 'visible' });
}

/** axe's serious and critical violations on the page as it stands, one line each. */
async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(
    async () => (await (window as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe.run()).violations as never,
  );
  return (violations as Violation[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

test.for([
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
])('no serious or critical violation at $width×$height, on the first screen and after a run', { timeout: 300_000 }, async (viewport) => {
  if (missingChromium) throw missingChromium;
  const context = await browser!.newContext({ viewport, bypassCSP: true });
  try {
    const page = await context.newPage();
    await page.goto(`${baseUrl}?backend=wasm&layers=1&heads=2&embd=16&ctx=16&batch=4&steps=30`);
    await page.waitForFunction(() => /characters/.test(document.querySelector('[data-testid="corpus-stats"]')?.textContent ?? ''));
    await page.waitForFunction(() => document.querySelector('[data-testid="backend-name"]')?.textContent === 'wasm');
    expect(await seriousViolations(page), 'first screen').toEqual([]);

    await page.getByTestId('train-button').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'finished', undefined, {
      timeout: 240_000,
    });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="runs-row"]').length === 1);
    for (const v of views) {
      await openView(page, v.id);
      expect(await seriousViolations(page), `after a run, the ${v.label} view`).toEqual([]);
    }
  } finally {
    await context.close();
  }
});

test('on a phone (390×844) every control of every view is a 44 px target and nothing scrolls sideways', { timeout: 120_000 }, async () => {
  if (missingChromium) throw missingChromium;
  const context = await browser!.newContext({ viewport: { width: 390, height: 844 } });
  try {
    const page = await context.newPage();
    await page.goto(`${baseUrl}?backend=wasm`);
    await page.waitForFunction(() => /characters/.test(document.querySelector('[data-testid="corpus-stats"]')?.textContent ?? ''));
    for (const v of views) {
      await openView(page, v.id);
      const small = await page.evaluate(() => {
        // A checkbox or radio button's target is its label; a word explained in place is a button inside a sentence (inline, exempt).
        const target = (e: Element) => (e.matches('input[type=checkbox], input[type=radio]') ? (e.closest('label') ?? e) : e);
        return [...document.querySelectorAll('button, input, select, summary, nav a')]
          .filter((e) => !e.closest('.term'))
          .map((e) => ({ e, r: target(e).getBoundingClientRect() }))
          .filter(({ r }) => r.width > 0 && r.height > 0 && (r.width < 44 || r.height < 44))
          .map(
            ({ e, r }) =>
              `${e.tagName.toLowerCase()} ${e.getAttribute('data-testid') ?? e.textContent?.trim().slice(0, 30)}: ${Math.round(r.width)}×${Math.round(r.height)}`,
          );
      });
      expect(small, `the ${v.label} view`).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth), `the ${v.label} view`).toBeLessThanOrEqual(390);
    }
  } finally {
    await context.close();
  }
});
