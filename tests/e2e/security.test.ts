/**
 * What the built app promises about security, in Chromium: it is served cross-origin isolated
 * with its Content-Security-Policy (so wasm runs on threads, and nothing violates the policy);
 * every request is a GET on its own origin, reading a file asks only for the app's own reader
 * worker, and training (on webgpu with autosave too), sampling and scoring ask for nothing at all, a
 * Scaling lab sweep only for its worker's script; and HTML in a file, its
 * name, a prompt or a scored sentence is shown as text, never run. Each test has its own
 * browser and page, and ends with no policy violation and no error logged.
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Page, Request } from 'playwright-core';
import { preview } from 'vite';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { CSP } from '../../vite.config.ts';
import { generateText, missingChromium, openApp, type AppPage } from './browser.ts';
import { outDir, root } from './build-app.ts';

// Each would set window.__pwned if the page ever parsed it as HTML.
const PAYLOADS = [
  '<img src=x onerror="window.__pwned=1">',
  '<script>window.__pwned=1</script>',
  '"><svg onload="window.__pwned=1">',
  '\'><iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
];
const FILE_NAME = '<img src=x onerror=window.__pwned=1>.txt';
const CORPUS = Array.from({ length: 30 }, (_, i) => `Call me Ishmael ${i}. ${PAYLOADS.join(' and ')} said the whale.\n`).join('');
const PROMPT = `${PAYLOADS[1]} `;
const SENTENCE = `Call me ${PAYLOADS[0]}.`;

interface Flags {
  __pwned?: unknown;
  __violations: string[];
}

let app: AppPage;
let page: Page;
let origin: string;
let requests: string[] = []; // every request of the page and its workers, in order: "GET url"

beforeEach(async () => {
  if (missingChromium) throw missingChromium;
  app = await openApp();
  page = app.page;
  origin = new URL(app.baseUrl).origin;
  requests = [];
  page.context().on('request', (r: Request) => requests.push(`${r.method()} ${r.url()}`));
  await page.addInitScript(() => {
    const w = window as unknown as Flags;
    w.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      w.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`),
    );
  });
});

// Whatever a test did, nothing broke the policy and the page logged no error.
afterEach(async () => {
  if (missingChromium) return;
  try {
    // (A test that works in a page of its own leaves this one blank, with nothing to report.)
    if (page.url().startsWith('http')) expect(await page.evaluate(() => (window as unknown as Flags).__violations)).toEqual([]);
    expect(app.problems).toEqual([]);
  } finally {
    await app.close();
  }
});

/** Opens the app with a micro model on wasm and waits for its backend and corpus. */
async function openMicro() {
  const response = await page.goto(`${app.baseUrl}?backend=wasm&layers=1&heads=2&embd=16&ctx=16&batch=4&steps=4`);
  await app.waitFor('backend-name', /\S/);
  await app.waitFor('corpus-stats', /characters/);
  return response;
}

/** Puts every payload on the page: reads them as a file (with a payload for a name), trains on it, samples from a payload prompt and scores a payload sentence. */
async function payloadsOnThePage() {
  await page.getByTestId('corpus-file').setInputFiles({ name: FILE_NAME, mimeType: 'text/plain', buffer: Buffer.from(CORPUS) });
  await page.waitForFunction(() => /your file/.test(document.querySelector('[data-testid="corpus-name"]')?.textContent ?? ''));
  expect(await app.text('corpus-error')).toBe('');
  const readAt = requests.length;
  await page.getByTestId('train-button').click();
  await app.waitFor('status', /^(finished|stopped at step [\d,]+ of [\d,]+)$/);
  expect(await app.text('step')).toBe('4 / 4');
  await generateText(page, 30, { prompt: PROMPT });
  expect(await page.getByTestId('sample-error').count()).toBe(0); // shown only on a failure
  await page.getByTestId('score-a').fill(SENTENCE);
  await page.getByTestId('score-button').click();
  await app.waitFor('score-logprob-a', /\d/);
  return readAt;
}

/** The requests in `list` that are not a GET on the page's origin (a blob: URL belongs to the origin that made it). */
const foreign = (list: string[]) => list.filter((r) => !r.startsWith('GET ') || new URL(r.slice(4)).origin !== origin);

test('the page is cross-origin isolated, carries its CSP, and wasm runs on every core', async () => {
  const response = await openMicro();
  expect(response?.headers()['content-security-policy']).toBe(CSP);
  expect(response?.headers()['cross-origin-opener-policy']).toBe('same-origin');
  expect(response?.headers()['cross-origin-embedder-policy']).toBe('require-corp');
  expect(await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toBe(CSP);
  expect(CSP).not.toMatch(/unsafe-inline|'unsafe-eval'|\*/);

  expect(await app.text('backend-name')).toBe('wasm');
  const { isolated, cores } = await page.evaluate(() => ({ isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency }));
  expect(isolated).toBe(true);
  const threads = Number(/(\d+) threads?/.exec(await app.text('backend-adapter'))?.[1]);
  expect(threads).toBe(Math.min(cores, 8));
  console.log(`wasm on ${cores} logical cores: ${await app.text('backend-adapter')}`);

  // Loading the page, its workers, the corpus and the wasm binary stayed on this origin.
  expect(requests.length).toBeGreaterThan(0);
  expect(foreign(requests)).toEqual([]);
});

test('reading a file asks only for the reader worker; training, sampling and scoring make no request', async () => {
  await openMicro();
  const before = requests.length;
  const readAt = await payloadsOnThePage();
  // The file is read in a worker of the app's own: its script is the one thing fetched, and the text goes nowhere.
  expect(requests.slice(before, readAt).filter((r) => !/^GET .*\/assets\/corpus\.worker-[\w-]+\.js$/.test(r))).toEqual([]);
  expect(foreign(requests)).toEqual([]);
  // Training, sampling and scoring: nothing at all.
  expect(requests.slice(readAt)).toEqual([]);
});

test('under the policy the charts still save as PNG, and the downloads stay in the tab', async () => {
  await openMicro();
  await page.getByTestId('train-button').click();
  await app.waitFor('status', /^finished$/);
  const before = requests.length;
  const png = async (testId: string, name: string) => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
    expect(download.suggestedFilename()).toMatch(name);
    const bytes = await readFile((await download.path())!);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  };
  await png('chart-png', 'tabgpt-loss.png'); // canvas.toBlob, saved from a blob: URL
  await app.view('lab');
  await png('export-png', 'scaling-'); // canvas.toDataURL, saved from a data: URL
  // A download from a blob: or data: URL may show as a request; none leaves the tab.
  expect(requests.slice(before).filter((r) => !/^GET (blob:|data:image\/png)/.test(r))).toEqual([]);
});

test('HTML in a file, its name, a prompt or a scored sentence is shown as text and never runs', async () => {
  await openMicro();
  await payloadsOnThePage();
  expect(await page.evaluate(() => (window as unknown as Flags).__pwned)).toBeUndefined();
  expect(await page.locator('img, iframe, script:not([src]), [onerror], [onload]').count()).toBe(0);

  expect(await app.text('corpus-name')).toContain(FILE_NAME);
  for (const p of PAYLOADS) expect(await app.text('corpus-preview')).toContain(p);
  expect(await page.locator('pre[aria-label="generated text"] .prompt').textContent()).toBe(PROMPT);
  // The strip's characters, without the bits printed under each.
  const chars = await page.locator('[data-testid="score-result-a"] .strip :is(.given, .ch)').allTextContents();
  expect(chars.join('').replace(/\s/g, ' ')).toContain(PAYLOADS[0]);
});

test('served without the isolation headers, wasm runs on one thread and the page says why', async () => {
  // Any static server: the built files alone, without this project's preview headers.
  const bare = await preview({
    root,
    configFile: false,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, headers: {} },
  });
  const other = await page.context().newPage();
  try {
    const problems: string[] = [];
    other.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    other.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
    });
    const { port } = bare.httpServer.address() as AddressInfo;
    await other.goto(`http://127.0.0.1:${port}/?backend=wasm`);
    await other.getByTestId('backend-adapter').waitFor();
    expect(await other.evaluate(() => crossOriginIsolated)).toBe(false);
    expect(await other.getByTestId('backend-adapter').textContent()).toMatch(/^WebAssembly SIMD, 1 thread, not cross-origin isolated$/);
    const cores = await other.evaluate(() => navigator.hardwareConcurrency);
    expect(await other.getByTestId('backend-unthreaded').count()).toBe(cores > 1 ? 1 : 0);
    expect(problems).toEqual([]);
  } finally {
    await other.close();
    await bare.close();
  }
});

test('on webgpu, a run that autosaves and a Scaling lab sweep request nothing but the scripts of the app', async () => {
  // WebGPU named (SwiftShader here: left to choose, the app takes wasm).
  const first = requests.length;
  await page.goto(`${app.baseUrl}?layers=1&heads=2&embd=16&ctx=16&batch=4&steps=6&backend=webgpu`);
  await app.waitFor('backend-name', /\S/);
  await app.waitFor('corpus-stats', /characters/);
  expect(await app.text('backend-name')).toBe('webgpu');
  await app.view('data');
  await page.getByTestId('autosave-every').fill('2');
  let before = requests.length;
  await page.getByTestId('train-button').click();
  await app.waitFor('status', /^(finished|stopped at step [\d,]+ of [\d,]+)$/);
  await app.waitFor('saved-step', /^6$/); // autosaved into IndexedDB, in the tab
  expect(requests.slice(before), 'training on webgpu with autosave').toEqual([]);

  before = requests.length;
  await app.view('lab');
  await page.getByTestId('sweep-sizes').fill('1x8');
  await page.getByTestId('sweep-tokens').fill('512');
  await page.getByTestId('sweep-ctx').fill('16');
  await page.getByTestId('sweep-batch').fill('4');
  await page.getByTestId('sweep-points').fill('1');
  await page.getByTestId('sweep-start').click();
  await app.waitFor('sweep-status', /^done$/, 240_000);
  expect(Number(await app.text('sweep-count'))).toBe(1);
  // The lab's worker is the app's own script (and, on wasm, its binary), fetched from this origin; nothing else.
  expect(
    requests.slice(before).filter((r) => !/^GET .*\/assets\/[\w.-]+\.(js|wasm)$/.test(r)),
    'a sweep',
  ).toEqual([]);
  expect(foreign(requests.slice(first))).toEqual([]);
});
