/**
 * The page's saved runs: a checkpoint file loaded back is found among them by its bytes, so
 * resuming it continues its own entry rather than listing the same run twice.
 */
import { afterEach, expect, test, vi } from 'vitest';
import { RunCheckpoints } from '../../../src/lib/run-checkpoints.svelte.ts';
import { RunStore, type SavedRun } from '../../../src/lib/run-store.ts';

afterEach(() => vi.restoreAllMocks());

const saved = (key: string, bytes: number[]): SavedRun => ({
  key,
  name: 'moby-dick · 1×16 · ctx 16',
  date: 0,
  step: 250,
  valLoss: 3.1,
  valStep: 200,
  bytes: Uint8Array.from(bytes),
  size: bytes.length,
  corpus: { name: 'moby-dick', source: 'bundled' },
});

test('a loaded file is matched to the saved run holding the very same bytes, and only to it', async () => {
  // Node has no IndexedDB: a store of three runs, two of the same size.
  const runs = [saved('a', [1, 2, 3, 4]), saved('b', [1, 2, 3, 5]), saved('c', [9, 9])];
  vi.spyOn(RunStore.prototype, 'list').mockResolvedValue(runs.map(({ bytes: _bytes, ...rest }) => rest));
  vi.spyOn(RunStore.prototype, 'estimate').mockResolvedValue(null);
  const get = vi.spyOn(RunStore.prototype, 'get').mockImplementation(async (key) => runs.find((r) => r.key === key));
  const checkpoints = new RunCheckpoints({ current: () => null, save: () => Promise.reject(new Error('unused')), recovered: () => {} });
  await checkpoints.refreshSaved();

  expect(await checkpoints.findSaved(Uint8Array.from([1, 2, 3, 5]))).toBe('b');
  expect(await checkpoints.findSaved(Uint8Array.from([9, 9]))).toBe('c');
  expect(await checkpoints.findSaved(Uint8Array.from([1, 2, 3, 6]))).toBeUndefined(); // same size, other bytes
  expect(await checkpoints.findSaved(Uint8Array.from([7]))).toBeUndefined();
  // Only runs of the file's size are read back from the store.
  get.mockClear();
  await checkpoints.findSaved(Uint8Array.from([9, 9]));
  expect(get.mock.calls.map((c) => c[0])).toEqual(['c']);
});
