/**
 * The page's side of the soak: the built app in Chromium trains a micro model on wasm for
 * 5,000 steps while the page's JavaScript heap is measured (after a forced garbage collection)
 * at steps 0, 1,000, … 5,000. What may grow is the metric history (a few numbers per step);
 * anything more is a leak. Prints JSON lines; exits 1 if the heap grows by more than `--slack`
 * bytes per step after step 1,000.
 *
 *   npx tsx tests/e2e/ui-soak.ts [--steps 5000] [--every 1000] [--slack 200]
 */
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { launchChromium, serveBuiltApp } from './browser.ts';
import { outDir, root } from './build-app.ts';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '5000' },
    every: { type: 'string', default: '1000' },
    slack: { type: 'string', default: '200' },
  },
});
const steps = Number(values.steps);
const every = Number(values.every);
const slack = Number(values.slack);

await build({ root, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
const { url, server } = await serveBuiltApp();
const browser = await launchChromium();
const page = await browser.newPage();
const cdp = await page.context().newCDPSession(page);
await cdp.send('Performance.enable');

/** The page's live JS heap in bytes, after a full collection. */
async function heap(): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  return metrics.find((m) => m.name === 'JSHeapUsedSize')!.value;
}

const stepNow = () => page.evaluate(() => Number(document.querySelector('[data-testid="step"]')?.textContent?.split('/')[0] ?? 0));

try {
  await page.goto(`${url}?layers=1&heads=2&embd=16&ctx=16&batch=4&steps=${steps}&backend=wasm`);
  await page.waitForFunction(() => /\S/.test(document.querySelector('[data-testid="backend-name"]')?.textContent ?? ''), undefined, {
    timeout: 120_000,
  });
  await page.waitForFunction(() => /characters/.test(document.querySelector('[data-testid="corpus-stats"]')?.textContent ?? ''));
  const rows: { step: number; heapBytes: number; seconds: number }[] = [];
  const t0 = Date.now();
  rows.push({ step: 0, heapBytes: await heap(), seconds: 0 });
  console.log(JSON.stringify(rows[0]));
  await page.getByTestId('train-button').click();
  for (let target = every; target <= steps; target += every) {
    await page.waitForFunction(
      (t) => Number(document.querySelector('[data-testid="step"]')?.textContent?.split('/')[0] ?? 0) >= t,
      target,
      { timeout: 0, polling: 250 },
    );
    // Pause so the heap is read at a quiet moment, not mid-message.
    if (target < steps) await page.getByTestId('pause-button').click();
    await page.waitForFunction(
      () => /^(paused|done)$/.test(document.querySelector('[data-testid="status"]')?.getAttribute('data-status') ?? ''),
      undefined,
      { timeout: 0 },
    );
    const row = { step: await stepNow(), heapBytes: await heap(), seconds: Math.round((Date.now() - t0) / 1000) };
    rows.push(row);
    console.log(JSON.stringify(row));
    if (target < steps) await page.getByTestId('resume-button').click();
  }
  const base = rows.find((r) => r.step >= every) ?? rows[0];
  const last = rows.at(-1)!;
  const perStep = (last.heapBytes - base.heapBytes) / Math.max(1, last.step - base.step);
  console.log(JSON.stringify({ type: 'summary', growthBytesPerStep: Math.round(perStep), slack }));
  process.exitCode = perStep > slack ? 1 : 0;
} finally {
  await browser.close();
  await server.close();
}
