/**
 * The in-context learning probe's choices, shared by the worker, the page and the CLI: which
 * characters its random sequences draw from, how long they are by default, and where a curve of
 * its scores has its phase change. The measurement itself (one forward pass) is workers/inspect.ts.
 *
 * The probe is the repeated-random-tokens test of Olsson et al. 2022, "In-context learning and
 * induction heads": random characters shown twice in a row. Without in-context learning the loss
 * on both copies sits near ln(characters drawn from); a model that has learnt to look back one
 * period and copy (an induction head) predicts the second copy almost for free.
 */

/** Characters a probe sequence never holds: a line break ends a line of the copy corpus (and a paragraph of prose), not a span. */
const LINE_BREAKS = new Set(['\n', '\r', '\u2028', '\u2029']);

/** Ids of the vocabulary's characters a probe draws from: every one but line breaks (all of them if that leaves fewer than 2). */
export function probeChoices(vocab: readonly string[]): number[] {
  const ids = vocab.flatMap((c, i) => (LINE_BREAKS.has(c) ? [] : [i]));
  return ids.length >= 2 ? ids : vocab.map((_, i) => i);
}

/** The default length of each copy: 16 characters, or half the context if that is shorter. */
export const PROBE_LENGTH = 16;
export const PROBE_TRIALS = 8;

export function defaultProbeLength(blockSize: number): number {
  return Math.min(PROBE_LENGTH, Math.floor(blockSize / 2));
}

/** One probe over training: its step and the losses on the two copies. */
export interface ProbePoint {
  step: number;
  first: number; // nats, first copy
  second: number; // nats, second copy
  chance: number; // ln(characters drawn from)
}

/**
 * The step at which in-context learning appeared: the first probe whose score (first − second)
 * reached half the chance level, ln(choices)/2, i.e. the second copy cost at most half of what the
 * first did in bits a model has to guess; null while none has. A threshold rather than the
 * steepest drop, so it does not move once it has been seen.
 */
export function phaseChangeStep(points: readonly ProbePoint[]): number | null {
  return points.find((p) => p.first - p.second >= p.chance / 2)?.step ?? null;
}
