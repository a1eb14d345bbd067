/**
 * Saved runs in the browser's IndexedDB: one record per run, replaced by each autosave, so a
 * closed or reloaded tab can take a run up again. Plain IndexedDB behind promises; every failure
 * (a full disk above all) is an Error whose message says what to do, never an exception that
 * reaches the training loop.
 */
import type { CorpusSource } from './corpus.svelte.ts';
import { errorMessage } from '../core/errors.ts';
import { committed, isQuotaError, request } from './idb.ts';
import { runFacts, summaryFacts, type RunSummaryFacts } from './runs-table.ts';

/** How to get a run's corpus back: by name for bundled and synthetic ones, the text itself for a file. */
export interface StoredCorpus {
  name: string;
  source: CorpusSource;
  text?: string; // only for file corpora
}

export interface SavedRun {
  key: string;
  name: string; // "moby-dick · 2×64 · ctx 64"
  date: number; // ms since the epoch, of the last save
  step: number;
  valLoss: number | null;
  valStep?: number | null; // the step valLoss was measured at (absent in runs saved before it was kept)
  bytes: Uint8Array; // the checkpoint (safetensors)
  size: number; // bytes.length, listed without reading the bytes back
  corpus: StoredCorpus;
  backend?: string | null; // the backend that trained it (absent in runs saved before it was kept)
  baseline?: { label: string; nats: number } | null; // its corpus's best n-gram on the val split
}

/**
 * What the list shows: everything but the (large) checkpoint and corpus text, and what the
 * checkpoint's header says of the run (absent for runs saved before it was kept).
 */
export type SavedRunSummary = Omit<SavedRun, 'bytes' | 'corpus'> & { corpus: Omit<StoredCorpus, 'text'>; facts?: RunSummaryFacts };

const DB_NAME = 'tabgpt';
const STORE = 'runs';
const INDEX = 'runs-index'; // the summaries, so listing does not read every checkpoint

export class RunStore {
  #db: Promise<IDBDatabase> | null = null;

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise<IDBDatabase>((resolve, reject) => {
      if (typeof indexedDB === 'undefined') {
        reject(new Error('this browser has no IndexedDB (a private window?): runs cannot be kept'));
        return;
      }
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(STORE, { keyPath: 'key' });
        req.result.createObjectStore(INDEX, { keyPath: 'key' });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(new Error(`the saved-runs database could not be opened: ${errorMessage(req.error)}`));
      req.onblocked = () => reject(new Error('the saved-runs database is held by another tab with an older version: close it and reload'));
    }).catch((err: unknown) => {
      this.#db = null; // a later call tries again
      throw err;
    });
    return this.#db;
  }

  /** Summaries of every saved run, newest first. */
  async list(): Promise<SavedRunSummary[]> {
    const db = await this.#open();
    const all = await request(db.transaction(INDEX).objectStore(INDEX).getAll() as IDBRequest<SavedRunSummary[]>);
    return all.sort((a, b) => b.date - a.date);
  }

  async get(key: string): Promise<SavedRun | undefined> {
    const db = await this.#open();
    return request(db.transaction(STORE).objectStore(STORE).get(key) as IDBRequest<SavedRun | undefined>);
  }

  /**
   * Writes (or replaces) a run. Rejects with a message meant for the page: a full disk says so
   * and what to do about it.
   */
  async put(run: Omit<SavedRun, 'size'>): Promise<void> {
    const record: SavedRun = { ...run, size: run.bytes.length, corpus: { ...run.corpus } };
    if (record.corpus.source !== 'file') delete record.corpus.text;
    const { bytes: _, corpus, ...rest } = record;
    const summary: SavedRunSummary = {
      ...rest,
      corpus: { name: corpus.name, source: corpus.source },
      facts: summaryFacts(runFacts(run.bytes)),
    };
    try {
      const db = await this.#open();
      const tx = db.transaction([STORE, INDEX], 'readwrite');
      const done = committed(tx);
      done.catch(() => {}); // observed below, or abandoned when a put throws at once
      try {
        // Some browsers throw here (a full disk, a record they cannot clone) instead of aborting later.
        tx.objectStore(STORE).put(record);
        tx.objectStore(INDEX).put(summary);
        tx.commit?.(); // commit now rather than when the task ends: a page being left may not get another
      } catch (err) {
        try {
          tx.abort(); // neither half is written: the run's previous save stays as it was
        } catch {
          // already finished
        }
        throw err;
      }
      await done;
    } catch (err) {
      if (isQuotaError(err)) {
        throw new Error(
          `storage is full: ${run.name} at step ${run.step} was not saved; the run keeps training. Delete saved runs or download this one.`,
          { cause: err },
        );
      }
      throw new Error(
        `${run.name} at step ${run.step} could not be saved (${errorMessage(err)}); the run keeps training. Delete saved runs or download this one.`,
        { cause: err },
      );
    }
  }

  async delete(key: string): Promise<void> {
    const db = await this.#open();
    const tx = db.transaction([STORE, INDEX], 'readwrite');
    const done = committed(tx);
    tx.objectStore(STORE).delete(key);
    tx.objectStore(INDEX).delete(key);
    await done;
  }

  /** Bytes this origin uses and may use, as the browser reports them (null where it cannot say). */
  async estimate(): Promise<{ usage: number; quota: number } | null> {
    if (typeof navigator === 'undefined' || !navigator.storage?.estimate) return null;
    const { usage, quota } = await navigator.storage.estimate();
    return usage === undefined || quota === undefined ? null : { usage, quota };
  }
}
