/**
 * Faults injected into the built app's training worker, in Chromium, the way they happen to
 * users: the GPU device is destroyed mid-run (WebGPU on the software adapter), a weight turns
 * NaN, the worker throws past its handlers, the worker's thread hangs. Each time the run must
 * come back from its latest autosave, and say what happened.
 * The faults go in through Playwright's handle on the worker, so the app carries no test hooks.
 */
import type { Page, Worker } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { missingChromium, openApp, type AppPage } from './browser.ts';

let app: AppPage;
let page: Page;
const text = (testId: string) => app.text(testId);
const waitFor = (testId: string, pattern: RegExp, timeout?: number) => app.waitFor(testId, pattern, timeout);

beforeAll(async () => {
  if (missingChromium) return;
  app = await openApp();
  ({ page } = app);
});

afterAll(async () => {
  await app?.close();
});

/** The worker that holds the run's model: tfjs is loaded there and has variables. */
async function trainingWorker(): Promise<Worker> {
  for (const w of page.workers()) {
    const holds = await w
      .evaluate(() => {
        const engine = (globalThis as { _tfengine?: { state: { registeredVariables: object } } })._tfengine;
        return engine !== undefined && Object.keys(engine.state.registeredVariables).length > 0;
      })
      .catch(() => false);
    if (holds) return w;
  }
  throw new Error(`no worker holds a model among ${page.workers().length}`);
}

const stepNow = async () => Number((await text('step')).split('/')[0]);

/** Opens a micro model with autosaves every 5 steps, trains to a checkpoint, and returns its step. */
async function trainToCheckpoint(query: string): Promise<number> {
  await page.goto(`${app.baseUrl}?layers=1&heads=2&embd=16&ctx=16&batch=4&steps=100000&${query}`);
  await waitFor('backend-name', /\S/);
  await waitFor('corpus-stats', /characters/);
  await app.view('data');
  await page.getByTestId('autosave-every').fill('5');
  await page.getByTestId('train-button').click();
  await waitFor('autosave-status', /at step (1\d|[2-9]\d)\b/, 180_000);
  return Number((await text('autosave-status')).match(/at step (\d+)/)![1]);
}

async function stopRun() {
  await page.getByTestId('stop-button').click();
  await waitFor('status', /^(finished|stopped at step [\d,]+ of [\d,]+)$/);
  await page.getByTestId('reset-button').click();
  await waitFor('status', /^idle$/);
}

test('a lost GPU device: the run restarts by itself on WebGPU from its last autosave', async () => {
  if (missingChromium) throw missingChromium;
  await trainToCheckpoint('backend=webgpu');
  expect(await text('backend-name')).toBe('webgpu');
  const worker = await trainingWorker();
  await worker.evaluate(() => {
    const engine = (globalThis as unknown as { _tfengine: { backend: { device: { destroy: () => void } } } })._tfengine;
    engine.backend.device.destroy();
  });
  await waitFor(
    'recovery-note',
    /GPU device failed at step \d+ .*restarted on webgpu from the checkpoint at step \d+ \(\d+ steps lost\)/,
    180_000,
  );
  const note = await text('recovery-note');
  const [, lostAt, from] = note.match(/at step (\d+) .*checkpoint at step (\d+)/)!.map(Number);
  expect(lostAt - from).toBeLessThanOrEqual(5 + 4); // an autosave interval, plus the steps in flight
  await waitFor('status', /^training$/);
  expect(await text('backend-name')).toBe('webgpu');
  const resumedAt = await stepNow();
  await page.waitForFunction((s) => Number(document.querySelector('[data-testid="step"]')?.textContent?.split('/')[0]) > s + 3, resumedAt, {
    timeout: 180_000,
  });
  await stopRun();
});

test('a NaN: the run stops naming the step and the learning rate, and rolls back at half the rate', async () => {
  if (missingChromium) throw missingChromium;
  await trainToCheckpoint('backend=wasm');
  const worker = await trainingWorker();
  await worker.evaluate(() => {
    type V = { assign: (t: unknown) => void; mul: (x: number) => { dispose: () => void } };
    const engine = (globalThis as unknown as { _tfengine: { state: { registeredVariables: Record<string, V> } } })._tfengine;
    const weight = Object.values(engine.state.registeredVariables)[0];
    const broken = weight.mul(NaN);
    weight.assign(broken);
    broken.dispose();
  });
  await waitFor('run-error', /training diverged: the loss became NaN at step \d+ \(learning rate [\d.e-]+\)/);
  expect(await page.getByTestId('fault').getAttribute('data-kind')).toBe('divergence');
  await page.getByTestId('fault-rollback').click();
  await waitFor('recovery-note', /Rolled back to step \d+ after the divergence at step \d+; the learning rate is halved/);
  await waitFor('status', /^training$/);
  const at = await stepNow();
  await page.waitForFunction((s) => Number(document.querySelector('[data-testid="step"]')?.textContent?.split('/')[0]) > s + 3, at, {
    timeout: 60_000,
  });
  expect(Number.isFinite(Number(await text('loss')))).toBe(true);
  expect(await page.getByTestId('run-error').count()).toBe(0);
  await stopRun();
});

test('a worker that crashes is reported, and Restart resumes from the last autosave', async () => {
  if (missingChromium) throw missingChromium;
  const saved = await trainToCheckpoint('backend=wasm');
  const worker = await trainingWorker();
  await worker.evaluate(() => {
    setTimeout(() => {
      throw new Error('injected crash');
    });
  });
  await waitFor('run-error', /injected crash/);
  expect(await page.getByTestId('fault').getAttribute('data-kind')).toBe('crash');
  await page.getByTestId('fault-restart').click();
  await waitFor('recovery-note', /worker crashed at step \d+; restarted on wasm from the checkpoint at step \d+/);
  const from = Number((await text('recovery-note')).match(/checkpoint at step (\d+)/)![1]);
  expect(from).toBeGreaterThanOrEqual(saved);
  await waitFor('status', /^training$/);
  await stopRun();
});

test('Stop ends a worker whose step hangs, and the page offers its last checkpoint back, paused', async () => {
  if (missingChromium) throw missingChromium;
  const saved = await trainToCheckpoint('backend=wasm');
  const worker = await trainingWorker();
  // The worker's thread never returns, as a step that hangs: Stop cannot be taken between two steps.
  void worker.evaluate(() => {
    setTimeout(() => {
      for (;;);
    });
  });
  // Stop once the hang has begun (an evaluation in the worker no longer answers), not before it.
  const answers = () => Promise.race([worker.evaluate(() => true), new Promise<false>((r) => setTimeout(() => r(false), 3_000))]);
  while (await answers());
  await page.getByTestId('stop-button').click();
  // The page's answer to a Stop not taken (not the heartbeat's, which waits 30 s and says so).
  await waitFor('run-error', /did not take the stop within 2 s, so it was ended/, 20_000);
  expect(await page.getByTestId('fault').getAttribute('data-kind')).toBe('unstoppable');
  const offer = page.getByTestId('fault-restart');
  expect(await offer.textContent()).toMatch(/Take back the checkpoint at step \d+, paused/);
  await offer.click();
  await waitFor('status', /^paused at step [\d,]+$/);
  expect(Number((await text('step')).split(' ')[0])).toBeGreaterThanOrEqual(saved);
  await page.getByTestId('reset-button').click();
  await waitFor('status', /^idle$/);
});

test('a worker that hangs is found by its missed heartbeats, and Restart replaces it', async () => {
  if (missingChromium) throw missingChromium;
  await trainToCheckpoint('backend=wasm');
  const worker = await trainingWorker();
  // Not awaited: the worker's thread never comes back to answer.
  void worker.evaluate(() => {
    setTimeout(() => {
      for (;;);
    });
  });
  await waitFor('fault-message', /the training worker has not answered for \d+ s/, 90_000);
  await page.getByTestId('fault-restart').click();
  await waitFor('recovery-note', /worker stopped answering at step \d+; restarted on wasm from the checkpoint at step \d+/);
  await waitFor('status', /^training$/);
  await stopRun();
});
