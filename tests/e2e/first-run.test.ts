/**
 * A new user's first run, untouched: the default settings on the default corpus, on wasm, trained
 * to the end. It must teach what a transformer adds: a final validation loss below the trigram's
 * line, and a Score panel that prefers its default grammatical sentence to the same words in a
 * scrambled order. A screenshot of the finished page is left in tests/e2e/artifacts/.
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
    await app.waitFor('status', /^done$/, 15 * 60_000);
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

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: `${artifacts}default-run-1280.png`, fullPage: true });
    console.log(`default run: val ${val} against the trigram's ${trigram}`);
    expect(app.problems).toEqual([]);
  },
  20 * 60_000,
); // the whole default run: minutes, more on a loaded machine
