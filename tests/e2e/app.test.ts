/**
 * The app end to end in real Chromium: the built app served by vite preview, Debian's chromium driven
 * by playwright-core. Each test opens its own page and makes the state it needs (a test that
 * samples trains its own micro model), on the wasm backend for speed: WebGPU on the software
 * adapter is ~100x slower than a GPU.
 */
import type { Browser, Page } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { defaultModelConfig, defaultTrainConfig } from '../../src/core/config.ts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import manifest from '../../datasets/manifest.json' with { type: 'json' };
import { generateText, launchChromium, missingChromium, serveBuiltApp } from './browser.ts';

let server: PreviewServer | undefined;
let browser: Browser | undefined;
let page: Page;
let baseUrl: string;
let pageErrors: string[] = [];
let consoleErrors: string[] = [];

/**
 * Waits until the element's text matches. Gives up early when the app shows a run error, and
 * either way says what the element showed and what the app reported.
 */
async function waitForText(testId: string, pattern: RegExp, timeout = 60_000): Promise<string> {
  const el = page.getByTestId(testId);
  const report = async () => {
    const shown = (await el.count()) > 0 ? await el.first().textContent() : '(not on the page)';
    const runError = (await page.getByTestId('run-error').count()) > 0 ? await page.getByTestId('run-error').textContent() : null;
    return `${testId} shows ${JSON.stringify(shown)}` + (runError ? `; the app reports: ${runError}` : '');
  };
  try {
    await page.waitForFunction(
      ([id, source, flags]) => {
        const text = document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '';
        return new RegExp(source, flags).test(text) || document.querySelector('[data-testid="run-error"]') !== null;
      },
      [testId, pattern.source, pattern.flags] as const,
      { timeout },
    );
  } catch (err) {
    throw new Error(`waited ${timeout} ms for ${testId} to match ${pattern}: ${await report()}`, { cause: err });
  }
  const text = await page.evaluate((id) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? null, testId);
  if (text === null || !pattern.test(text)) throw new Error(`${testId} did not match ${pattern}: ${await report()}`);
  return text;
}

/** The step number in "12 / 600". */
function stepOf(text: string | null): number {
  return parseInt(text ?? '', 10);
}

/** Generates `length` characters with the sample box and returns them once the stream has ended. */
async function generate(length: number): Promise<string> {
  const out = await generateText(page, length, { timeout: 60_000 });
  expect(await page.getByTestId('sample-error').count()).toBe(0);
  return out;
}

async function setField(key: string, value: number) {
  await page.getByTestId(`cfg-${key}`).fill(String(value));
}

beforeAll(async () => {
  if (missingChromium) return;
  ({ url: baseUrl, server } = await serveBuiltApp());
  browser = await launchChromium();
});

/** A page of its own for each test (its own storage too: a new browser context), with the bundled corpus loaded. */
beforeEach(async () => {
  if (missingChromium) throw missingChromium;
  const context = await browser!.newContext();
  page = await context.newPage();
  page.setDefaultTimeout(10_000); // clicks and fills: when a control stays disabled, say so soon
  pageErrors = [];
  consoleErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  await page.goto(baseUrl);
  await waitForText('corpus-stats', /characters/);
});

// Whatever a test did, the page raised no error; then its context goes, run and storage with it.
afterEach(async () => {
  if (missingChromium) return;
  try {
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  } finally {
    await page.context().close();
  }
});

/** Sets up a micro model (1 layer, width 16) on wasm for `steps` steps. */
async function setUpMicro(steps: number) {
  await page.getByTestId('backend-select').selectOption('wasm');
  await waitForText('backend-name', /^wasm$/);
  await setField('nLayer', 1);
  await setField('nEmbd', 16);
  await setField('nHead', 2);
  await setField('blockSize', 16);
  await setField('batchSize', 4);
  await setField('maxSteps', steps);
}

/** Trains the micro model for `steps` steps, to the end. */
async function trainMicro(steps: number) {
  await setUpMicro(steps);
  await page.getByTestId('train-button').click();
  await waitForText('status', /^finished$/, 120_000);
}

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('tabgpt in Chromium', () => {
  test('the page loads the bundled corpus and the worker reports its backend', async () => {
    const corpus = manifest['moby-dick'];
    await waitForText(
      'corpus-stats',
      new RegExp(`${corpus.characters.toLocaleString('en')} characters, vocabulary of ${corpus.vocabSize}`),
    );
    // Left to choose with only SwiftShader's software WebGPU adapter, the app takes wasm and says why.
    const backend = await waitForText('backend-name', /\S/);
    expect(backend).toBe('wasm');
    expect(await page.getByTestId('backend-skipped').textContent()).toMatch(
      /Fell back from webgpu: the only WebGPU adapter is a software renderer \(.*\), slower than wasm on this CPU/i,
    );
    expect(await page.getByTestId('backend-adapter').textContent()).not.toBe('');
    // The defaults of src/core/config.ts, ready to train.
    const { nLayer, nHead, nEmbd, blockSize } = defaultModelConfig;
    const { batchSize, maxSteps, learningRate } = defaultTrainConfig;
    for (const [key, value] of Object.entries({ nLayer, nHead, nEmbd, blockSize, batchSize, maxSteps, learningRate })) {
      expect(Number(await page.getByTestId(`cfg-${key}`).inputValue()), key).toBe(value);
    }
    expect(await page.getByTestId('train-button').isEnabled()).toBe(true);
    expect(await page.getByTestId('status').textContent()).toBe('idle');
    // A word a learner may not know explains itself where it stands, on a tap as on hover.
    const term = page.getByTestId('term-nonEmbedding');
    const tip = term.getByTestId('term-tip');
    expect(await tip.isVisible()).toBe(false);
    await term.getByRole('button').click();
    expect(await term.getByRole('button').getAttribute('aria-expanded')).toBe('true');
    expect(await tip.isVisible()).toBe(true);
    expect(await tip.textContent()).toMatch(/every weight except the token and position embeddings/);
  });

  test('a micro model trains to the end on wasm, and learns', async () => {
    await trainMicro(100);
    expect(await page.getByTestId('step').textContent()).toBe('100 / 100');
    const loss = Number(await page.getByTestId('loss').textContent());
    const val = Number(await page.getByTestId('val-loss').textContent());
    expect(Number.isFinite(loss) && loss > 0).toBe(true);
    // Untrained, a model is the uniform one: ln 83 = 4.42 nats on Moby-Dick. A hundred steps take
    // this one to about 3.2 (the character frequencies); a run that did not learn stays above 3.9.
    expect(val).toBeLessThan(3.9);
    const canvas = page.getByTestId('loss-chart');
    expect(await canvas.count()).toBe(1);
    const size = await canvas.evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
    expect(size[0]).toBeGreaterThan(0);
    expect(size[1]).toBeGreaterThan(0);
  });

  test('Generate streams 20 characters from a trained model', async () => {
    await trainMicro(10);
    expect(Array.from(await generate(20))).toHaveLength(20);
  });

  test('Pause, Resume, Stop and Reset control a run, and a paused model can be sampled', async () => {
    await setUpMicro(100_000);
    await page.getByTestId('train-button').click();
    await waitForText('step', /^[1-9]\d* \/ 100000$/);
    await page.getByTestId('pause-button').click();
    await waitForText('status', /^paused at step [\d,]+$/);
    const pausedAt = stepOf(await page.getByTestId('step').textContent());
    // Paused means no step comes: a sample (a round trip through the worker) comes back, and the step is where it was.
    expect(Array.from(await generate(5))).toHaveLength(5);
    expect(stepOf(await page.getByTestId('step').textContent())).toBe(pausedAt);

    await page.getByTestId('resume-button').click();
    await waitForText('status', /^training$/);
    await page.waitForFunction(
      (before) => parseInt(document.querySelector('[data-testid="step"]')?.textContent ?? '', 10) > before,
      pausedAt,
      { timeout: 30_000 },
    );
    await page.getByTestId('stop-button').click();
    await waitForText('status', /^(finished|stopped at step [\d,]+ of [\d,]+)$/);
    const stoppedAt = stepOf(await page.getByTestId('step').textContent());
    expect(stoppedAt).toBeGreaterThan(pausedAt);
    expect(stoppedAt).toBeLessThan(100_000);
    expect(Number.isFinite(Number(await page.getByTestId('val-loss').textContent()))).toBe(true);

    await page.getByTestId('reset-button').click();
    await waitForText('status', /^idle$/);
    expect(await page.getByTestId('loss').textContent()).toBe('—');
    expect(await page.getByTestId('generate-button').isDisabled()).toBe(true);
  });

  test('an invalid config shows its error beside the field and disables Train', async () => {
    await setField('nEmbd', 16);
    await setField('nHead', 3);
    const issue = await waitForText('issue-nHead', /divisible/, 5_000);
    expect(issue).toContain('width (16) must be divisible by heads (3)');
    expect(await page.getByTestId('cfg-nHead').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByTestId('train-button').isDisabled()).toBe(true);

    await setField('nHead', 2);
    await waitForText('issue-nHead', /^$/, 5_000);
    expect(await page.getByTestId('train-button').isEnabled()).toBe(true);
  });

  test('tfjs runs only in the worker', async () => {
    await trainMicro(5);
    // Importing tfjs anywhere creates its engine as a global of that realm (tfjs-core engine.js).
    // Resource timing cannot tell: Chromium lists a module worker's imports under the document.
    const hasTfjs = () => '_tfengine' in globalThis || 'tf' in globalThis;
    expect(await page.evaluate(hasTfjs)).toBe(false);
    // The same check in the worker finds it, so the one above could have.
    // The threaded wasm backend's pool workers start from blob: URLs; the training worker is a file.
    // Choosing wasm restarted the worker: the ended one leaves the page's list when its close event comes.
    const fileWorkers = () => page.workers().filter((w) => !w.url().startsWith('blob:'));
    await expect.poll(() => fileWorkers().length, { timeout: 30_000 }).toBe(1);
    expect(await fileWorkers()[0].evaluate(hasTfjs)).toBe(true);
  });
});
