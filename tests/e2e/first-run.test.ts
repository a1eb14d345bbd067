/**
 * A new user's first run, untouched: the default settings on the default corpus, on wasm, trained
 * to the end. It must teach what a transformer adds: a final validation loss below the trigram's
 * line, and a Score panel that prefers its default grammatical sentence to the same words in a
 * scrambled order. On the way it shows a forecast of its val loss once warm-up is over, and at the
 * end keeps its forecasts from 25% and 50% of the run beside the outcome. Screenshots of the chart
 * mid-run, of that record and of the finished page are left in tests/e2e/artifacts/.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { defaultTrainConfig } from '../../src/core/config.ts';
import { missingChromium, openApp, type AppPage } from './browser.ts';

const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url));
let app: AppPage;

beforeAll(async () => {
  if (missingChromium) return;
  app = await openApp({ width: 1280, height: 900 });
});

afterAll(async () => {
  await app?.close();
});

test(
  'the default run on wasm ends below the trigram line and prefers the grammatical sentence',
  async () => {
    if (missingChromium) throw missingChromium;
    const { page } = app;
    await page.goto(`${app.baseUrl}?backend=wasm`);
    await app.waitFor('backend-name', /^wasm$/);
    await app.waitFor('corpus-stats', /characters/);
    await page.getByTestId('train-button').click();
    // No forecast during warm-up; past it, the val loss forecast at the last step with its band, drawn as a curve.
    await app.waitFor('chart-forecast', /still warming up/, 5 * 60_000);
    await app.waitFor(
      'chart-forecast',
      /forecast val loss at step 2,000 ≈ \d\.\d+\s+nats\/char, 90% band \d\.\d+–\d\.\d+ \(from step [\d,]+\)/,
      10 * 60_000,
    );
    mkdirSync(artifacts, { recursive: true });
    await page
      .getByTestId('loss-chart')
      .locator('xpath=ancestor::div[contains(@class, "loss")][1]')
      .screenshot({ path: `${artifacts}forecast-mid-run.png` });
    await app.waitFor('status', /^(finished|stopped at step [\d,]+ of [\d,]+)$/, 15 * 60_000);
    expect(await app.text('step')).toBe(`${defaultTrainConfig.maxSteps} / ${defaultTrainConfig.maxSteps}`);

    // The chart names its reference lines; the run's final evaluation is the val loss shown.
    const label = (await page.getByTestId('loss-chart').getAttribute('aria-label')) ?? '';
    const trigram = Number(/trigram (\d+\.\d+)/.exec(label)?.[1]);
    const val = Number(await app.text('val-loss'));
    expect(trigram).toBeGreaterThan(1);
    expect(val).toBeLessThan(trigram);
    expect(await app.text('val-loss-step')).toBe(`at step ${defaultTrainConfig.maxSteps}`);

    // The default pair, as the page shows it: the sentence that makes sense is the more probable.
    expect(await page.getByTestId('score-a').inputValue()).toBe('I went to sea.');
    expect(await page.getByTestId('score-b').inputValue()).toBe('Sea to went I.');
    await page.getByTestId('score-button').click();
    await app.waitFor('score-logprob-a', /\d/);
    await app.waitFor('score-logprob-b', /\d/);
    expect(Number(await app.text('score-logprob-a'))).toBeGreaterThan(Number(await app.text('score-logprob-b')));

    // The forecasts made at 25% and 50% of the run, against the val loss it reached, kept in this browser.
    await app.waitFor('forecast-ledger', /Forecasts vs outcomes \(2 kept in this browser\)/);
    await page.getByTestId('forecast-ledger').locator('summary').click();
    const rows = page.getByTestId('forecast-ledger').locator('tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).textContent()).toMatch(/step 1000 of 2000/);
    expect(await rows.nth(1).textContent()).toMatch(/step 500 of 2000/);
    await page.getByTestId('forecast-ledger').screenshot({ path: `${artifacts}forecast-ledger.png` });
    await page.screenshot({ path: `${artifacts}default-run-1280.png`, fullPage: true });
    console.log(`default run: val ${val} against the trigram's ${trigram}`);
    expect(app.problems).toEqual([]);
  },
  20 * 60_000,
); // the whole default run: minutes, more on a loaded machine
