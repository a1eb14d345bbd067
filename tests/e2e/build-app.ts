/**
 * Global setup of the e2e project: builds the app once, as `npm run build` would, into a
 * folder the tests serve with `vite preview`. Tests run against what users get, not the dev server.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const outDir = 'node_modules/.e2e-dist';

export default async function setup() {
  await build({ root, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
}
