/**
 * Limits the tab can keep, in Chromium on wasm: a model the wasm heap (or the tab's share of the
 * device's memory) cannot hold is refused in the form, with its numbers, before Train; one just
 * under the limit trains. Each test opens its own page.
 */
import { afterEach, expect, test } from 'vitest';
import { capacityOf, capacityProblems } from '../../src/core/footprint.ts';
import { missingChromium, openApp, type AppPage } from './browser.ts';

let app: AppPage | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Opens the app on wasm with these settings, once its backend has said what it can give. */
async function openOnWasm(query: string): Promise<AppPage> {
  app = await openApp();
  await app.page.goto(`${app.baseUrl}?backend=wasm&${query}`);
  await app.waitFor('backend-name', /^wasm$/, 120_000);
  await app.waitFor('corpus-stats', /characters/, 120_000);
  await app.waitFor('cfg-memory', /on wasm/, 120_000);
  return app;
}

test('12 layers × width 1024 (151 M parameters) is refused before Train on wasm, with its numbers', async () => {
  if (missingChromium) throw missingChromium;
  const { page, text } = await openOnWasm('layers=12&heads=16&embd=1024');
  const issue = await text('issue-nEmbd');
  expect(issue).toMatch(
    /^12 layers of width 1024 \(151\.\d M parameters\) with batch 16 × context 64 needs about \d+\.\d GiB on wasm \(weights and AdamW 5\.\d GiB, activations \d+\.\d GiB\); the wasm heap's 4\.0 GiB is the limit: use fewer layers or a smaller width$/,
  );
  expect(await page.getByTestId('train-button').isDisabled()).toBe(true);
});

test('a model just under the limit trains, and one layer more is refused', { timeout: 600_000 }, async () => {
  if (missingChromium) throw missingChromium;
  const { page, text, waitFor } = await openOnWasm('heads=16&embd=1024&ctx=8&batch=1&steps=2');
  // The limit that binds depends on the device's memory as the browser says it: the wasm heap's
  // 4 GiB (9 × 1024 fits) or, below 13 GiB, half the device's memory with a checkpoint's copies.
  const deviceGiB = await page.evaluate(() => (navigator as { deviceMemory?: number }).deviceMemory ?? null);
  const cap = capacityOf('wasm', deviceGiB === null ? null : deviceGiB * 1024 ** 3);
  const fits = (layers: number) =>
    capacityProblems({ nLayer: layers, nHead: 16, nEmbd: 1024, blockSize: 8, vocabSize: 83, dropout: 0 }, 1, cap).length === 0;
  let layers = 1;
  while (fits(layers + 1)) layers++;
  expect(layers, `the largest 1024-wide model this device's ${deviceGiB} GiB passes`).toBeGreaterThanOrEqual(4);

  await page.getByTestId('cfg-nLayer').fill(String(layers + 1));
  await waitFor('issue-nEmbd', /is the limit: use fewer layers or a smaller width$/);
  expect(await page.getByTestId('train-button').isDisabled()).toBe(true);

  await page.getByTestId('cfg-nLayer').fill(String(layers));
  await waitFor('issue-nEmbd', /^$/);
  expect(await text('cfg-memory')).toMatch(
    /^a step about \d\.\d GiB on wasm \(the wasm heap holds 4\.0 GiB\); with a checkpoint's copies \d\.\d GiB, of half of this device's \d+\.0 GiB$/,
  );
  await page.getByTestId('train-button').click();
  await waitFor('status', /^finished$/, 540_000);
  expect(await text('step')).toMatch(/^2\s*\/\s*2/);
});
