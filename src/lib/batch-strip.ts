/**
 * Geometry of the batch strip: the train split drawn as a line from 0 to its length, each row
 * of a minibatch as the window [start, start + ctx) on it, and the last few minibatches kept
 * so that random sampling shows as a scatter and sequential partitioning as parallel marches.
 */

/** A minibatch as the strip needs it. */
export interface StripBatch {
  step: number;
  starts: readonly number[]; // [B] row offsets in the train split
}

/** One row's window, as fractions of the strip's width: [x0, x1), both in [0, 1]. */
export interface Window {
  x0: number;
  x1: number;
}

/** Each row's window [start, start + ctx) over a train split of `trainChars` characters. */
export function rowWindows(starts: readonly number[], ctx: number, trainChars: number): Window[] {
  if (!(trainChars > 0)) return [];
  const clamp = (x: number) => Math.min(1, Math.max(0, x));
  return starts.map((s) => ({ x0: clamp(s / trainChars), x1: clamp((s + ctx) / trainChars) }));
}

/**
 * The trail with `batch` appended, at most `keep` long, oldest first. It starts over when the
 * steps go back (a new run), and a batch already at its end is not added twice.
 */
export function pushTrail<T extends StripBatch>(trail: readonly T[], batch: T | null, keep: number): T[] {
  if (batch === null) return [];
  const last = trail.at(-1);
  if (last === batch) return trail as T[];
  const kept = last !== undefined && batch.step > last.step ? trail.slice(Math.max(0, trail.length - keep + 1)) : [];
  return [...kept, batch];
}

/** Opacity of a batch `age` steps behind the newest (age 0) in a trail of `keep`: 1 down to 0.15. */
export function fade(age: number, keep: number): number {
  if (age <= 0) return 1;
  return 0.15 + 0.45 * (1 - age / Math.max(keep, 1));
}
