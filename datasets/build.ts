/**
 * Builds every corpus in manifest.json from its npm package into datasets/dist/<name>.txt
 * (run by `npm install` as postinstall). Expected output:
 *   moby-dick: 1190317 characters, vocabulary 83
 *   sotu: 10760296 characters, vocabulary 98
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCorpus, corpora, distDir, type CorpusName } from './corpora.ts';

mkdirSync(distDir, { recursive: true });
for (const name of Object.keys(corpora) as CorpusName[]) {
  const text = buildCorpus(name);
  const chars = Array.from(text);
  const vocab = new Set(chars).size;
  const entry = corpora[name];
  if (chars.length !== entry.characters || vocab !== entry.vocabSize) {
    throw new Error(`corpus ${name}: built ${chars.length} characters, vocabulary ${vocab}; manifest says ${entry.characters}, ${entry.vocabSize}`);
  }
  writeFileSync(join(distDir, `${name}.txt`), text);
  console.log(`${name}: ${chars.length} characters, vocabulary ${vocab}`);
}
