/**
 * The saved-runs store's error handling, against a stand-in for IndexedDB whose writes fail the
 * way a full disk makes them fail: the message says what happened and that training goes on.
 */
import { afterEach, expect, test } from 'vitest';
import { failingIndexedDB } from './failing-indexeddb.ts';

/** The part of the store these tests use. */
interface Store {
  put(run: unknown): Promise<void>;
  list(): Promise<unknown[]>;
}
// A path in a variable: the store is type-checked with the DOM's types (tsconfig.json), not under this file's Node types.
const storeModule = '../../src/lib/run-store.ts';
const { RunStore } = (await import(/* @vite-ignore */ storeModule)) as { RunStore: new () => Store };

const run = {
  key: 'run-1',
  name: 'moby-dick · 2×64 · ctx 64',
  date: 0,
  step: 200,
  valLoss: 2.5,
  bytes: new Uint8Array(8),
  corpus: { name: 'moby-dick', source: 'bundled' as const },
};

afterEach(() => {
  delete (globalThis as { indexedDB?: unknown }).indexedDB;
});

test('a full disk is reported as such, with what to do, and that the run keeps training', async () => {
  (globalThis as { indexedDB?: unknown }).indexedDB = failingIndexedDB(new DOMException('quota', 'QuotaExceededError'));
  await expect(new RunStore().put(run)).rejects.toThrow(
    /^storage is full: moby-dick · 2×64 · ctx 64 at step 200 was not saved; the run keeps training\. Delete saved runs or download this one\.$/,
  );
});

test('any other write failure says so too, with its reason', async () => {
  (globalThis as { indexedDB?: unknown }).indexedDB = failingIndexedDB(new DOMException('disk I/O', 'UnknownError'));
  await expect(new RunStore().put(run)).rejects.toThrow(/could not be saved \(disk I\/O\); the run keeps training/);
});

test('without IndexedDB the store says why it cannot keep runs', async () => {
  await expect(new RunStore().list()).rejects.toThrow(/no IndexedDB/);
});
