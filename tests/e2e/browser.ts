/**
 * What every e2e test needs: the built app served on 127.0.0.1 (WebGPU exists only on a secure
 * origin, and localhost is one) and Debian's Chromium with WebGPU on the software adapter.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';
import { outDir, root } from './build-app.ts';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Thrown by each test when Chromium is missing: a failure that says why, never a skip. */
export const missingChromium = existsSync(CHROMIUM)
  ? null
  : new Error(`the e2e tests need Chromium at ${CHROMIUM}, and it is not there (on Debian: apt-get install chromium)`);

export async function serveBuiltApp(): Promise<{ url: string; server: PreviewServer }> {
  const server = await preview({ root, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  const address = server.httpServer.address() as AddressInfo;
  return { url: `http://127.0.0.1:${address.port}/`, server };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
