import { svelte } from '@sveltejs/vite-plugin-svelte';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

/**
 * Cross-origin isolation: SharedArrayBuffer, and with it the multithreaded wasm backend, exists
 * only on an isolated page. Everything the app loads is its own, so require-corp costs nothing.
 */
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/**
 * The built app's Content-Security-Policy: nothing from elsewhere, no inline script or style
 * (Svelte and Chart.js set styles through the CSSOM, which the policy allows). Its relaxations,
 * all for the training worker but the last: 'wasm-unsafe-eval' compiles the tfjs .wasm binaries;
 * blob: scripts and workers are the threaded wasm backend's thread pool, which tfjs starts from
 * Blob URLs; data: images are the page's empty icon. PNG exports are downloads, not image loads.
 */
export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval' blob:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** Puts the CSP into the built index.html (not the dev server's, which injects CSS as inline <style> elements). */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'tabgpt:csp',
    apply: 'build',
    // Right after the charset, before any script or stylesheet it must govern.
    transformIndexHtml: (html) =>
      html.replace(/<meta charset[^>]*>/i, (charset) => `${charset}\n    <meta http-equiv="Content-Security-Policy" content="${CSP}" />`),
  };
}

export default defineConfig({
  plugins: [svelte(), contentSecurityPolicy()],
  // navigator.gpu exists only on a secure origin: localhost counts, a LAN address does not.
  server: { host: '127.0.0.1', port: 5173, headers: ISOLATION },
  // Served as headers too, so the workers (which a <meta> policy does not reach) have the policy.
  preview: { host: '127.0.0.1', port: 4173, headers: { ...ISOLATION, 'Content-Security-Policy': CSP } },
  // The threaded wasm backend starts each thread from the source text of its module's factory
  // (Function.prototype.toString); mangling renames the names that function shares with its
  // module, and compressing drops its `typeof` guards, so the worker bundle keeps both intact.
  worker: { format: 'es', rolldownOptions: { output: { minify: { mangle: false, compress: false } } } },
  // Pre-bundle the worker's dependencies up front, not on the first page load. The worker
  // tells tfjs where the .wasm binaries are (imported with ?url), so bundling them is safe.
  optimizeDeps: { entries: ['index.html', 'workers/train.worker.ts'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  test: {
    projects: [
      {
        extends: true,
        // Limits sized for a loaded 2-core machine (a laptop is never idle), not for an idle one:
        // some hooks train a small run before their tests.
        test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], environment: 'node', testTimeout: 300_000, hookTimeout: 300_000 },
      },
      {
        extends: true,
        test: {
          name: 'gpu',
          include: ['tests/gpu/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['tests/gpu/setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false, // one software GPU, one file at a time
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          globalSetup: ['tests/e2e/build-app.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
