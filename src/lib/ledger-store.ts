/**
 * The predicted-vs-actual ledger in the browser's IndexedDB: one entry per key (a run's forecast at
 * one fraction of it), replaced when the same run is settled again, so a run loaded twice is kept
 * once. A full disk or a private window is said, not thrown at the page: the ledger is a record,
 * never a reason for a run to fail.
 */
import type { LedgerEntry } from '../core/ledger.ts';
import { errorMessage } from '../core/errors.ts';
import { committed, isQuotaError, request } from './idb.ts';

const DB_NAME = 'tabgpt-ledger';
const STORE = 'entries';

export class LedgerStore {
  #db: Promise<IDBDatabase> | null = null;

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise<IDBDatabase>((resolve, reject) => {
      if (typeof indexedDB === 'undefined') return reject(new Error('this browser has no IndexedDB (a private window?)'));
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(new Error(`the ledger's database could not be opened: ${errorMessage(req.error)}`));
      req.onblocked = () => reject(new Error("the ledger's database is held by another tab with an older version: close it and reload"));
    }).catch((err: unknown) => {
      this.#db = null;
      throw err;
    });
    return this.#db;
  }

  /** Every entry, oldest first. */
  async all(): Promise<LedgerEntry[]> {
    const db = await this.#open();
    const entries = await request(db.transaction(STORE).objectStore(STORE).getAll() as IDBRequest<LedgerEntry[]>);
    return entries.sort((a, b) => a.time.localeCompare(b.time));
  }

  /** Writes entries (replacing those with the same key); rejects with a message for the page. */
  async put(entries: LedgerEntry[]): Promise<void> {
    try {
      const db = await this.#open();
      const tx = db.transaction(STORE, 'readwrite');
      const done = committed(tx);
      done.catch(() => {});
      for (const e of entries) tx.objectStore(STORE).put(e);
      await done;
    } catch (err) {
      throw new Error(
        `the forecasts' record could not be kept in this browser (${isQuotaError(err) ? 'storage is full' : errorMessage(err)})`,
        { cause: err },
      );
    }
  }
}
