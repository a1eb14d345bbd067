/**
 * `npm run bench -- --browser`: builds the bench page (bench.html), serves the build with
 * `vite preview` on 127.0.0.1 (a secure origin, so WebGPU exists; cross-origin isolated, so
 * wasm may use threads), runs the plan in Debian's Chromium and returns what the page measured.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';
import { CHROMIUM, launchChromium } from '../e2e/chromium.ts'; // the same browser and flags as the e2e tests
import type { BenchReport } from '../../src/bench/report.ts';
import type { BenchPlan } from '../../src/bench/plan.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = 'node_modules/.bench-dist';

/** Hours: webgpu on a software adapter is slow, and the page reports progress as it goes. */
const TIMEOUT_MS = 4 * 3600_000;

export async function benchInChromium(
  plan: BenchPlan,
  corpus: string,
  progress: (line: string) => void,
  wasmThreads?: number,
): Promise<Pick<BenchReport, 'results' | 'skipped' | 'runtime' | 'machine'>> {
  if (corpus !== 'moby-dick') throw new Error('the bench page has only the moby-dick corpus');
  if (!existsSync(CHROMIUM)) throw new Error(`--browser needs Chromium at ${CHROMIUM} (on Debian: apt-get install chromium)`);
  progress('building the bench page');
  // The app's own build config, with the bench page as its entry.
  await build({ root, logLevel: 'warn', build: { outDir, emptyOutDir: true, rollupOptions: { input: { bench: `${root}/bench.html` } } } });
  const server = await preview({ root, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      const text = msg.text();
      if (text.startsWith('bench: ')) progress(`chromium ${text.slice('bench: '.length)}`);
      else if (msg.type() === 'error') problems.push(text);
    });
    page.on('pageerror', (err) => problems.push(err.message));
    const { port } = server.httpServer.address() as AddressInfo;
    await page.goto(
      `http://127.0.0.1:${port}/bench.html?run&plan=${encodeURIComponent(JSON.stringify(plan))}${wasmThreads ? `&threads=${wasmThreads}` : ''}`,
    );
    const report = page.locator('#report');
    await page.locator('#report[data-state="done"], #report[data-state="error"]').waitFor({ state: 'attached', timeout: TIMEOUT_MS });
    if ((await report.getAttribute('data-state')) === 'error') {
      throw new Error(
        `the bench page failed: ${await report.getAttribute('data-error')}${problems.length ? ` (${problems.join('; ')})` : ''}`,
      );
    }
    const r = JSON.parse((await report.getAttribute('data-json'))!) as BenchReport;
    return { results: r.results, skipped: r.skipped, runtime: `chromium: ${r.runtime}`, machine: r.machine };
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }
}
