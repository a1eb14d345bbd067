/**
 * One user's visit, on the built app with WebGPU (Chromium's software adapter): train a micro
 * model for a few steps, watch the chart receive them, sample, score a sentence. Any console
 * error or page error fails it. It leaves a screenshot and the main thread's long tasks during
 * training in tests/e2e/artifacts/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { generateText, missingChromium, openApp, type AppPage } from './browser.ts';

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
  // Long tasks (> 50 ms) on the main thread: a frozen page would show here.
  await page.addInitScript(() => {
    const w = window as unknown as { longTasks: number[] };
    w.longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longTasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
});

afterAll(async () => {
  await app?.close();
});

test('a visitor trains a micro model on WebGPU, watches the chart, samples and scores', async () => {
  if (missingChromium) throw missingChromium;
  // A link that sets up a micro model on WebGPU (named: left to choose, the app skips SwiftShader's software adapter for wasm).
  await page.goto(`${app.baseUrl}?layers=1&heads=2&embd=16&ctx=16&batch=4&steps=8&backend=webgpu`);
  await waitFor('backend-name', /\S/);
  expect(await text('backend-name')).toBe('webgpu');
  expect(await page.getByTestId('cfg-nEmbd').inputValue()).toBe('16');
  await waitFor('corpus-stats', /characters/);

  await page.evaluate(() => ((window as unknown as { longTasks: number[] }).longTasks = []));
  await page.getByTestId('train-button').click();
  await waitFor('status', /^(finished|stopped at step [\d,]+ of [\d,]+)$/);
  const longTasks = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
  expect(await text('step')).toBe('8 / 8');
  expect(Number.isFinite(Number(await text('loss')))).toBe(true);
  expect(Number.isFinite(Number(await text('val-loss')))).toBe(true);
  // 8 raw and 8 smoothed train points, and the evals at steps 0 and 8.
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points')) >= 18,
    undefined,
    {
      timeout: 120_000,
    },
  );

  expect(Array.from(await generateText(page, 20, { prompt: 'The ' }))).toHaveLength(20);

  await page.getByTestId('score-a').fill('Call me Ishmael.');
  await page.getByTestId('score-button').click();
  await waitFor('score-logprob-a', /\d/);
  await waitFor('score-logprob-b', /\d/);
  const logProb = parseFloat(await text('score-logprob-a'));
  const bpc = parseFloat(await text('score-bpc-a'));
  expect(logProb).toBeLessThan(0);
  expect(bpc).toBeCloseTo(-logProb / 15 / Math.LN2, 2);

  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: `${artifacts}app.png`, fullPage: true });
  const longest = longTasks.length ? Math.max(...longTasks) : 0;
  writeFileSync(
    `${artifacts}long-tasks.json`,
    JSON.stringify({ backend: 'webgpu', steps: 8, count: longTasks.length, longestMs: longest, all: longTasks }, null, 2),
  );
  console.log(`main-thread long tasks while training: ${longTasks.length}, longest ${longest.toFixed(0)} ms`);

  expect(problems).toEqual([]);
});
