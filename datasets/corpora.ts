/**
 * The bundled corpora (Node side). Each is built from an npm package by build.ts into
 * datasets/dist/<name>.txt; the manifest records what the build must reproduce.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import manifest from './manifest.json' with { type: 'json' };

export type CorpusName = keyof typeof manifest;
export interface CorpusEntry {
  title: string; // human-readable title
  package: string; // npm package the text comes from
  version: string; // its exact version: the checksum is of that version's text
  files: string[] | string; // paths inside the package, or "dir/*.ext": every such file, by name
  licence: string;
  characters: number; // Unicode code points
  vocabSize: number; // distinct code points
  sha256: string; // of the built text's UTF-8 bytes
}

export const corpora: Record<CorpusName, CorpusEntry> = manifest;
export const distDir = join(dirname(fileURLToPath(import.meta.url)), 'dist');
/** Between the files of a many-file corpus (one address per file): with each file's own final newline, a blank line. */
const FILE_SEPARATOR = '\n';

export function isCorpusName(name: string): name is CorpusName {
  return Object.hasOwn(corpora, name);
}

/** The files of an entry, in the order they are joined. */
function sourceFiles(pkgDir: string, files: CorpusEntry['files']): string[] {
  if (Array.isArray(files)) return files.map((f) => join(pkgDir, f));
  const [dir, pattern] = [dirname(files), files.slice(dirname(files).length + 1)];
  if (!pattern.startsWith('*.')) throw new Error(`unsupported file pattern ${files}: use dir/*.ext`);
  const ext = pattern.slice(1);
  return readdirSync(join(pkgDir, dir))
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => join(pkgDir, dir, f));
}

/** Reads the corpus text straight from its source package and checks it against the manifest. */
export function buildCorpus(name: CorpusName): string {
  const entry = corpora[name];
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve(`${entry.package}/package.json`);
  const { version } = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string };
  if (version !== entry.version) throw new Error(`corpus ${name}: ${entry.package} is ${version}, the manifest expects ${entry.version}`);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const text = sourceFiles(dirname(pkgJson), entry.files)
    .map((f) => decoder.decode(readFileSync(f)))
    .map((t, i, all) => (i < all.length - 1 && !t.endsWith('\n') ? `${t}\n` : t))
    .join(FILE_SEPARATOR);
  const sha = createHash('sha256').update(text).digest('hex');
  if (sha !== entry.sha256) throw new Error(`corpus ${name}: the text built from ${entry.package} has sha256 ${sha}, the manifest expects ${entry.sha256}`);
  return text;
}

/** The built corpus text; builds it from its package when datasets/dist has no copy. */
export function loadCorpus(name: CorpusName): string {
  const path = join(distDir, `${name}.txt`);
  return existsSync(path) ? readFileSync(path, 'utf8') : buildCorpus(name);
}
