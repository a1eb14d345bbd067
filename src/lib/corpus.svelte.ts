/**
 * The corpus the page trains on: a bundled one, fetched as a static asset and checked the
 * same way the CLI checks a file.
 */
import manifest from '../../datasets/manifest.json';
import mobyDickUrl from '../../datasets/dist/moby-dick.txt?url';
import { corpusStats, decodeCorpus } from '../core/text.ts';

/** The bundled corpora: built into datasets/dist by `npm install`, served by Vite. */
export const bundledCorpora = {
  'moby-dick': { title: manifest['moby-dick'].title, url: mobyDickUrl },
} as const;
export type BundledCorpus = keyof typeof bundledCorpora;

export class CorpusState {
  name = $state<BundledCorpus>('moby-dick');
  /** The whole text; null until it has loaded. Replaced, never edited. */
  text = $state.raw<string | null>(null);
  characters = $state(0); // Unicode code points
  vocabSize = $state(0); // distinct code points
  error = $state<string | null>(null);

  readonly title = $derived(bundledCorpora[this.name].title);

  async load(name: BundledCorpus) {
    this.name = name;
    this.text = null;
    this.error = null;
    try {
      const res = await fetch(bundledCorpora[name].url);
      if (!res.ok) throw new Error(`could not fetch the ${name} corpus: HTTP ${res.status} (run npm install to build it)`);
      const text = decodeCorpus(new Uint8Array(await res.arrayBuffer()), name);
      if (this.name !== name) return; // another corpus was picked meanwhile
      const stats = corpusStats(text);
      this.characters = stats.characters;
      this.vocabSize = stats.vocabSize;
      this.text = text;
    } catch (err) {
      if (this.name === name) this.error = err instanceof Error ? err.message : String(err);
    }
  }
}
