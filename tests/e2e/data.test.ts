/**
 * The data panel in Chromium, on the built app: bad files are refused with their reason while
 * the loaded corpus stays, odd Unicode is counted by code point, and the synthetic corpus
 * states its entropy floor.
 */
import type { Browser, Page } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { launchChromium, missingChromium, serveBuiltApp } from './browser.ts';

let server: PreviewServer | undefined;
let browser: Browser | undefined;
let page: Page;
const problems: string[] = [];

const text = async (id: string) => (await page.getByTestId(id).textContent()) ?? '';

async function upload(name: string, bytes: Uint8Array | string) {
  const buffer = Buffer.from(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
  await page.getByTestId('corpus-file').setInputFiles({ name, mimeType: 'text/plain', buffer });
}

/** Waits until the panel has finished with the last file: an error, or that file loaded. */
async function settled(name: string) {
  await page.waitForFunction(
    (n) =>
      (document.querySelector('[data-testid="corpus-error"]')?.textContent ?? '') !== '' ||
      ((document.querySelector('[data-testid="corpus-name"]')?.textContent ?? '').includes(n) &&
        !(document.querySelector('[data-testid="corpus-name"]')?.textContent ?? '').includes('reading')),
    name,
    { timeout: 60_000 },
  );
}

beforeAll(async () => {
  if (missingChromium) return;
  let url: string;
  ({ server, url } = await serveBuiltApp());
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  await page.goto(`${url}?backend=wasm#data`); // the Data view holds the corpus
  await page.waitForFunction(() => /vocabulary of 83/.test(document.querySelector('[data-testid="corpus-stats"]')?.textContent ?? ''));
});

beforeEach(() => {
  if (missingChromium) throw missingChromium;
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

test.each([
  ['empty.txt', new Uint8Array(0), /empty\.txt is empty/],
  ['image.txt', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 1, 2, 3]), /binary/],
  ['latin1.txt', Uint8Array.from([...new TextEncoder().encode('caf'), 0xe9, 0x20, 0x61]), /not valid UTF-8 \(first bad byte at offset 3\)/],
  ['short.txt', 'far too short for a context of 64', /must have at least 641/],
])('%s is refused with its reason, and Moby-Dick stays loaded', async (name, bytes, message) => {
  await upload(name, bytes);
  await settled(name);
  expect(await text('corpus-error')).toMatch(message);
  expect(await text('corpus-stats')).toMatch(/1,190,317 characters, vocabulary of 83/);
  expect(await page.getByTestId('train-button').isEnabled()).toBe(true);
});

test('a file of emoji, CJK and combining marks is counted by code point and previewed as text', async () => {
  const line = '春眠不覺曉 🐳🐋 e\u0301 <b>not bold</b>\n';
  await upload('mixed.txt', line.repeat(40));
  await settled('mixed.txt');
  expect(await text('corpus-error')).toBe('');
  expect(await text('corpus-stats')).toContain(
    `${(Array.from(line).length * 40).toLocaleString('en')} characters, vocabulary of ${new Set(line).size}`,
  );
  expect(await text('corpus-preview')).toContain('<b>not bold</b>'); // shown as text, not markup
  expect(await page.locator('[data-testid="corpus-preview"] b').count()).toBe(0);
});

test('the synthetic corpus states its exact entropy rate', async () => {
  await page.getByTestId('corpus-select').selectOption('markov');
  await page.waitForFunction(
    () => /entropy rate/.test(document.querySelector('[data-testid="corpus-entropy"]')?.textContent ?? ''),
    undefined,
    { timeout: 60_000 },
  );
  expect(await text('corpus-entropy')).toMatch(/true entropy rate 1\.5065 nats = 2\.1734 bits per character/);
  expect(problems).toEqual([]);
});
