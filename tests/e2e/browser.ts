/**
 * What every e2e test needs: the built app served on 127.0.0.1 (WebGPU exists only on a secure
 * origin, and localhost is one) and Debian's Chromium with WebGPU on the software adapter.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';
import { outDir, root } from './build-app.ts';
import { CHROMIUM, launchChromium } from './chromium.ts';
import type { ViewId } from '../../src/lib/views.ts';

export { launchChromium };

/** Thrown by each test when Chromium is missing: a failure that says why, never a skip. */
export const missingChromium = existsSync(CHROMIUM)
  ? null
  : new Error(`the e2e tests need Chromium at ${CHROMIUM}, and it is not there (on Debian: apt-get install chromium)`);

export async function serveBuiltApp(): Promise<{ url: string; server: PreviewServer }> {
  const server = await preview({ root, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  const address = server.httpServer.address() as AddressInfo;
  return { url: `http://127.0.0.1:${address.port}/`, server };
}

/**
 * Generates `length` characters with the sample box (after `prompt`, when given) and returns
 * them once the stream has ended: tokens arrive before the end, so once "generating…" is gone
 * every character is in.
 */
export async function generateText(
  page: Page,
  length: number,
  { prompt, timeout = 120_000 }: { prompt?: string; timeout?: number } = {},
): Promise<string> {
  if (prompt !== undefined) await page.getByTestId('sample-prompt').fill(prompt);
  await page.getByTestId('sample-length').fill(String(length));
  await page.getByTestId('generate-button').click();
  await page.waitForFunction(
    () =>
      document.querySelector('[data-testid="sample-status"]')?.textContent === '' &&
      (document.querySelector('[data-testid="sample-output"]')?.textContent ?? '') !== '',
    undefined,
    { timeout },
  );
  return (await page.getByTestId('sample-output').textContent()) ?? '';
}

/** The Scaling lab's sweep fields, as a user fills them in (the lab's view must be open); then its Run. */
export async function startSweep(
  page: Page,
  { sizes, tokens, ctx, batch, points, lr }: { sizes: string; tokens: number; ctx: number; batch: number; points: number; lr?: number },
) {
  await page.getByTestId('sweep-sizes').fill(sizes);
  await page.getByTestId('sweep-tokens').fill(String(tokens));
  await page.getByTestId('sweep-ctx').fill(String(ctx));
  await page.getByTestId('sweep-batch').fill(String(batch));
  if (lr !== undefined) await page.getByTestId('sweep-lr').fill(String(lr));
  await page.getByTestId('sweep-points').fill(String(points));
  await page.getByTestId('sweep-start').click();
}

/** A page of the built app in Chromium, collecting every console error and page error. */
export interface AppPage {
  page: Page;
  baseUrl: string;
  problems: string[]; // console errors and uncaught page errors, in order
  /** The text of the first element with this test id. */
  text(testId: string): Promise<string>;
  /** Waits until that text matches; on a timeout, says what it showed and any error the app reported. */
  waitFor(testId: string, pattern: RegExp, timeout?: number): Promise<void>;
  /** Opens one of the page's views (src/lib/views.ts) from its navigation, as a user would. */
  view(id: ViewId): Promise<void>;
  close(): Promise<void>;
}

/** Serves the build, starts Chromium and opens one page (one context: IndexedDB outlives a reload). */
export async function openApp(viewport = { width: 1280, height: 900 }): Promise<AppPage> {
  const { url: baseUrl, server } = await serveBuiltApp();
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000); // clicks and fills: a control that stays disabled should fail soon
  const problems: string[] = [];
  // Leaving a page whose run has unsaved steps asks first ("leave site?"): the tests leave, as a user may.
  page.on('dialog', (d) => void (d.type() === 'beforeunload' ? d.accept() : d.dismiss()));
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  const text = async (testId: string) => (await page.getByTestId(testId).first().textContent()) ?? '';
  const shown = async (testId: string) =>
    (await page.getByTestId(testId).count()) ? JSON.stringify(await text(testId)) : '(not on the page)';
  return {
    page,
    baseUrl,
    problems,
    text,
    async waitFor(testId, pattern, timeout = 120_000) {
      try {
        await page.waitForFunction(
          ([id, source, flags]) => new RegExp(source, flags).test(document.querySelector(`[data-testid="${id}"]`)?.textContent ?? ''),
          [testId, pattern.source, pattern.flags] as const,
          { timeout },
        );
      } catch (err) {
        const reported = [];
        for (const id of ['run-error', 'fault-action-error', 'checkpoint-error', 'corpus-error'])
          if ((await page.getByTestId(id).count()) && (await text(id))) reported.push(`${id}: ${await text(id)}`);
        throw new Error(
          `${testId} did not match ${pattern} within ${timeout} ms: it shows ${await shown(testId)}${reported.length ? `; ${reported.join('; ')}` : ''}`,
          { cause: err },
        );
      }
    },
    async view(id) {
      await page.getByTestId(`view-${id}`).click();
      await page.getByTestId(`view-${id}-panel`).waitFor({ state: 'visible' });
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
