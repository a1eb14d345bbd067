/**
 * The names a user gave saved runs in the Runs view, by run key, in localStorage: a label is a few
 * bytes beside a checkpoint of megabytes, and kept apart from it an autosave (which rewrites the
 * run's record) can never undo a rename. A missing or unreadable store is an empty one.
 */

const KEY = 'tabgpt-run-labels';
/** The longest name kept: a table cell, not a note. */
export const MAX_LABEL = 80;

interface LabelStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

function storage(): LabelStorage | null {
  try {
    return (globalThis as { localStorage?: LabelStorage }).localStorage ?? null;
  } catch {
    return null; // a sandboxed frame may refuse even to say
  }
}

/** Every label, by run key. */
export function readLabels(store: LabelStorage | null = storage()): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(store?.getItem(KEY) ?? '{}');
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

/** Names run `key` (an empty or blank name clears it); returns every label as now stored. */
export function writeLabel(key: string, label: string | null, store: LabelStorage | null = storage()): Record<string, string> {
  const labels = readLabels(store);
  const name = (label ?? '').trim().slice(0, MAX_LABEL);
  if (name) labels[key] = name;
  else delete labels[key];
  store?.setItem(KEY, JSON.stringify(labels)); // a full store throws: the caller says so
  return labels;
}
