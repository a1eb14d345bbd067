/**
 * The corpus the page trains on: a bundled one, fetched as a static asset, or a user's .txt
 * file, both checked the way the CLI checks a file. A corpus that fails a check is never
 * swapped in: the previous one stays loaded, and `error` says what was wrong.
 */
import { errorMessage } from '../core/errors.ts';
import manifest from '../../datasets/manifest.json';
import mobyDickUrl from '../../datasets/dist/moby-dick.txt?url';
import sotuUrl from '../../datasets/dist/sotu.txt?url';
import { minCorpusLength, TRAIN_FRACTION } from '../core/batching.ts';
import { defaultModelConfig } from '../core/config.ts';
import { generateCopy, isCopySpec, parseCopySpec } from '../core/copy.ts';
import { generateMarkov, parseMarkovSpec } from '../core/markov.ts';
import { generateTask, isTaskSpec } from '../core/tasks.ts';
import { corpusStats, decodeCorpus, formatBytes, MAX_CORPUS_BYTES } from '../core/text.ts';
import type { CorpusReply, CorpusRequest } from '../../workers/protocol.ts';

/** The bundled corpora: built into datasets/dist by `npm install`, served by Vite. */
export const bundledCorpora = {
  'moby-dick': { title: manifest['moby-dick'].title, url: mobyDickUrl },
  sotu: { title: manifest.sotu.title, url: sotuUrl },
} as const;

/**
 * Synthetic corpora, generated in the page from a seed: markov's and copy's true entropy rate is
 * known exactly; a task's (src/core/tasks.ts) held-out problems are scored as the run trains.
 */
export const syntheticCorpora = {
  markov: { title: 'synthetic: an order-2 Markov chain over 8 letters, 1M characters (its entropy rate is known)' },
  copy: {
    title: 'synthetic: lines of a random span of 4–16 letters written twice, 1M characters (rewards copying; its entropy rate is known)',
  },
  arith: { title: 'task: 3-digit addition, one sum a line (scored on held-out sums as it trains)' },
  'arith:digits=3,scratchpad=1': { title: 'task: the same sums with the column sums written first, a scratchpad (scored as it trains)' },
  'arith:digits=2,sub=1': {
    title: 'task: 2-digit addition and subtraction, one problem a line (scored on held-out problems as it trains)',
  },
  instruct: { title: 'task: string instructions on unseen words; "upper" never shown in its format (scored as it trains)' },
  memo: { title: 'task: a memo trap, sayings asked to end otherwise (an inverse-scaling candidate; scored as it trains)' },
} as const;

/** Every corpus the select lists, by key. */
export const corpusKeys = [...Object.keys(bundledCorpora), ...Object.keys(syntheticCorpora)];
export type BundledCorpus = keyof typeof bundledCorpora;

export function isBundledCorpus(name: string): name is BundledCorpus {
  return Object.hasOwn(bundledCorpora, name);
}

/** Decodes and counts a file in a worker of its own (workers/corpus.worker.ts): seconds for 100 MB, off the main thread. */
function readInWorker(file: File): Promise<{ text: string; characters: number; vocabSize: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../../workers/corpus.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<CorpusReply>) => {
      worker.terminate();
      if (e.data.ok) resolve(e.data);
      else reject(new Error(e.data.message));
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(`${file.name} could not be read: ${e.message || 'the reading worker failed'}`));
    };
    worker.postMessage({ file } satisfies CorpusRequest);
  });
}

/** Characters the preview shows. */
const PREVIEW_CHARS = 300;

/** Where a corpus comes from. */
export type CorpusSource = 'bundled' | 'synthetic' | 'file';

/** A corpus that passed its checks, ready to swap in. */
interface Loaded {
  text: string;
  stats: { characters: number; vocabSize: number };
  name: string;
  source: CorpusSource;
  entropyRate?: number;
}

export class CorpusState {
  /** The bundled corpus's key, or the file's name. */
  name = $state<string>('moby-dick');
  source = $state<CorpusSource>('bundled');
  /** A synthetic corpus's exact entropy rate, nats/char: the floor no model can beat; null otherwise. */
  entropyRate = $state<number | null>(null);
  /** The whole text; null until the first corpus has loaded. Replaced, never edited. */
  text = $state.raw<string | null>(null);
  characters = $state(0); // Unicode code points: an emoji or a CJK character counts once
  vocabSize = $state(0); // distinct code points
  /** Why the last corpus asked for was refused or could not be fetched. */
  error = $state<string | null>(null);
  /** What is being read or fetched right now, if anything. */
  loading = $state<string | null>(null);

  readonly title = $derived(
    this.source === 'bundled' && isBundledCorpus(this.name)
      ? bundledCorpora[this.name].title
      : this.source === 'synthetic' && Object.hasOwn(syntheticCorpora, this.name)
        ? syntheticCorpora[this.name as keyof typeof syntheticCorpora].title
        : this.name,
  );
  /** The train split is the first 90% of the characters (splitTrainVal's rule), the rest is held out. */
  readonly trainChars = $derived(Math.floor(this.characters * TRAIN_FRACTION));
  readonly valChars = $derived(this.characters - this.trainChars);
  /** The first few hundred characters, whole code points. */
  readonly preview = $derived(
    this.text === null
      ? ''
      : Array.from(this.text.slice(0, 4 * PREVIEW_CHARS))
          .slice(0, PREVIEW_CHARS)
          .join(''),
  );
  /** A single distinct character: there is nothing to learn but repetition. */
  readonly trivial = $derived(this.text !== null && this.vocabSize === 1);

  #context: () => number;
  #request = 0; // the latest load: an older one that finishes later is dropped

  /**
   * `context` reads the form's context length: a file too short for it is refused. `initial`
   * names the bundled corpus the page starts on.
   */
  constructor(initial: string = 'moby-dick', context: () => number = () => defaultModelConfig.blockSize) {
    this.name = corpusKeys.includes(initial) ? initial : 'moby-dick';
    this.#context = context;
  }

  /** Loads a bundled or synthetic corpus by its key. */
  async load(name: string) {
    await this.#swap(name, async () => {
      if (Object.hasOwn(syntheticCorpora, name)) {
        if (isTaskSpec(name)) {
          const { text } = generateTask(name);
          return { text, stats: corpusStats(text), name, source: 'synthetic' };
        }
        const { text, entropyRate } = isCopySpec(name) ? generateCopy(parseCopySpec(name)) : generateMarkov(parseMarkovSpec(name));
        return { text, stats: corpusStats(text), name, source: 'synthetic', entropyRate };
      }
      if (!isBundledCorpus(name)) throw new Error(`there is no bundled corpus named ${JSON.stringify(name)}`);
      const res = await fetch(bundledCorpora[name].url);
      if (!res.ok) throw new Error(`could not fetch the ${name} corpus: HTTP ${res.status} (run npm install to build it)`);
      const text = decodeCorpus(new Uint8Array(await res.arrayBuffer()), name);
      return { text, stats: corpusStats(text), name, source: 'bundled' };
    });
  }

  /** Loads a user's text file, refusing it (and keeping the current corpus) when it cannot train. */
  async loadFile(file: File) {
    await this.#swap(file.name, async () => {
      // Refused on its size alone: reading 100+ MB only to refuse it would stall the tab.
      if (file.size > MAX_CORPUS_BYTES) {
        throw new Error(`${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(MAX_CORPUS_BYTES)}. It was not read.`);
      }
      const { text, ...stats } = await readInWorker(file);
      const ctx = this.#context();
      const blockSize = Number.isInteger(ctx) && ctx >= 1 ? ctx : defaultModelConfig.blockSize;
      const need = minCorpusLength(blockSize);
      const characters = stats.characters;
      if (characters < need) {
        throw new Error(
          `${file.name} has ${characters.toLocaleString('en')} characters; with a context of ${blockSize} it must have ` +
            `at least ${need.toLocaleString('en')} (its 10% validation split must hold ${blockSize + 1}).`,
        );
      }
      return { text, stats, name: file.name, source: 'file' };
    });
  }

  /** Loads a file's text kept from an earlier visit (a saved run's corpus); it passed loadFile's checks then. */
  async loadText(name: string, text: string) {
    await this.#swap(name, async () => ({ text, stats: corpusStats(text), name, source: 'file' }));
  }

  /** Runs `read`, and swaps its corpus in only if it succeeds and is still the latest request. */
  async #swap(label: string, read: () => Promise<Loaded>) {
    const request = ++this.#request;
    this.loading = label;
    this.error = null;
    try {
      const next = await read();
      if (request !== this.#request) return;
      this.name = next.name;
      this.source = next.source;
      this.entropyRate = next.entropyRate ?? null;
      this.characters = next.stats.characters;
      this.vocabSize = next.stats.vocabSize;
      this.text = next.text;
    } catch (err) {
      if (request === this.#request) this.error = errorMessage(err);
    } finally {
      if (request === this.#request) this.loading = null;
    }
  }
}
