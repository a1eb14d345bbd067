/**
 * The Scaling lab's work in the browser's IndexedDB: one record holding the latest sweep (its
 * settings, plan and points), every fit and every prediction, replaced after each change, so a
 * reload or a closed tab loses no measured point. A sweep cut short by the reload comes back
 * stopped, to be resumed from the model it was training.
 */
import type { CorpusMessage, FittedLaw, SweepConfig, SweepPoint } from '../../workers/protocol.ts';
import { errorMessage } from '../core/errors.ts';
import { committed, isQuotaError, request } from './idb.ts';
import type { ExportedFit } from './scaling-chart.ts';

/** What the lab keeps; `version` changes with the shape, and an older record is dropped. */
export interface LabSnapshot<Settings = Record<string, unknown>, Prediction = unknown> {
  version: typeof VERSION;
  settings: Settings; // the form's fields
  config: SweepConfig | null; // the sweep the points come from
  corpus: CorpusMessage | null; // its corpus, text included: a resume needs it
  plan: number[];
  points: SweepPoint[];
  finished: number; // models trained to their end
  done?: number[]; // which (absent in a lab kept before models could end out of order: 0 … nextModel − 1)
  nextModel: number; // the first model not trained to its end
  status: 'idle' | 'stopped' | 'done' | 'error';
  fitted: FittedLaw | null;
  fitPoints: number;
  fits: ExportedFit[];
  predictions: Prediction[];
  kept?: { label: string; points: SweepPoint[] } | null; // an earlier sweep kept for comparison
}

const VERSION = 1;
const DB_NAME = 'tabgpt-lab';
const STORE = 'lab';
const KEY = 'current';

export class LabStore {
  #db: Promise<IDBDatabase> | null = null;
  #last: Promise<unknown> = Promise.resolve(); // saves go one after another, the latest last

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise<IDBDatabase>((resolve, reject) => {
      if (typeof indexedDB === 'undefined')
        return reject(new Error('this browser has no IndexedDB (a private window?): the lab cannot be kept'));
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(new Error(`the lab's database could not be opened: ${errorMessage(req.error)}`));
      req.onblocked = () => reject(new Error("the lab's database is held by another tab with an older version: close it and reload"));
    }).catch((err: unknown) => {
      this.#db = null; // a later call tries again
      throw err;
    });
    return this.#db;
  }

  /** The kept lab, or undefined when there is none (or one of an older shape). */
  async load<S, P>(): Promise<LabSnapshot<S, P> | undefined> {
    const db = await this.#open();
    const kept = await request(db.transaction(STORE).objectStore(STORE).get(KEY) as IDBRequest<LabSnapshot<S, P> | undefined>);
    return kept?.version === VERSION ? kept : undefined;
  }

  /** Replaces the kept lab, after any save still under way; rejects with a message for the page (a full disk says so). */
  save<S, P>(snapshot: Omit<LabSnapshot<S, P>, 'version'>): Promise<void> {
    const saved = this.#last.then(() => this.#write(snapshot));
    this.#last = saved.catch(() => {});
    return saved;
  }

  async #write<S, P>(snapshot: Omit<LabSnapshot<S, P>, 'version'>): Promise<void> {
    try {
      const db = await this.#open();
      const tx = db.transaction(STORE, 'readwrite');
      const done = committed(tx);
      done.catch(() => {}); // observed below, or abandoned when put throws at once
      tx.objectStore(STORE).put({ ...snapshot, version: VERSION }, KEY);
      await done;
    } catch (err) {
      const why = isQuotaError(err) ? 'storage is full' : errorMessage(err);
      throw new Error(`the lab's points and fits could not be kept in this browser (${why}); export them to keep them`, { cause: err });
    }
  }
}
