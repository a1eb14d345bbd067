/**
 * The bundled corpora (Node side). Each is built from an npm package by build.ts into
 * datasets/dist/<name>.txt; the manifest records what the build must reproduce.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import manifest from './manifest.json' with { type: 'json' };

export type CorpusName = keyof typeof manifest;
export interface CorpusEntry {
  title: string; // human-readable title
  package: string; // npm package the text comes from
  file: string; // path of the text inside that package
  licence: string;
  characters: number; // Unicode code points
  vocabSize: number; // distinct code points
  sha256: string; // of the UTF-8 bytes
}

export const corpora: Record<CorpusName, CorpusEntry> = manifest;
export const distDir = join(dirname(fileURLToPath(import.meta.url)), 'dist');

export function isCorpusName(name: string): name is CorpusName {
  return Object.hasOwn(corpora, name);
}

/** Reads the corpus text straight from its source package and checks it against the manifest. */
export function buildCorpus(name: CorpusName): string {
  const entry = corpora[name];
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve(`${entry.package}/package.json`));
  const bytes = readFileSync(join(pkgDir, entry.file));
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== entry.sha256) {
    throw new Error(`corpus ${name}: ${entry.package}/${entry.file} has sha256 ${sha}, the manifest expects ${entry.sha256}`);
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

/** The built corpus text; builds it from its package when datasets/dist has no copy. */
export function loadCorpus(name: CorpusName): string {
  const path = join(distDir, `${name}.txt`);
  return existsSync(path) ? readFileSync(path, 'utf8') : buildCorpus(name);
}
