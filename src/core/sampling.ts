/**
 * Temperature sampling in plain TypeScript (tfjs multinomial is wrong on webgpu, and a
 * seeded RNG here makes samples reproducible on every backend).
 */
import type { Rng } from './rng.ts';

/**
 * The distribution p_T ∝ p^(1/T). T = 1 leaves p unchanged; T = 0 is argmax (ties share the
 * mass equally, the limit of p^(1/T)); T → ∞ tends to uniform over the characters with p > 0.
 * Computed in log space so neither end overflows or gives NaN.
 */
export function annealedDistribution(probs: number[], temperature: number): number[] {
  if (typeof temperature !== 'number' || Number.isNaN(temperature) || temperature < 0) {
    throw new RangeError(`temperature must be a number ≥ 0, got ${temperature}`);
  }
  if (probs.length === 0) throw new RangeError('cannot anneal an empty distribution');
  let total = 0;
  for (const p of probs) {
    if (!(p >= 0) || !Number.isFinite(p)) throw new RangeError(`probabilities must be finite and ≥ 0, got ${p}`);
    total += p;
  }
  if (total <= 0) throw new RangeError('probabilities sum to 0');

  let maxP = 0;
  for (const p of probs) if (p > maxP) maxP = p;
  const scaled = probs.map((p) => {
    if (p === 0) return 0;
    if (temperature === 0) return p === maxP ? 1 : 0;
    if (temperature === Infinity) return 1;
    // (p/maxP)^(1/T) = exp((log p - log maxP) / T), at most 1: no overflow at tiny T.
    return Math.exp((Math.log(p) - Math.log(maxP)) / temperature);
  });
  const z = scaled.reduce((a, b) => a + b, 0); // ≥ 1: the largest entry maps to 1
  return scaled.map((q) => q / z);
}

/** Draws an index from a distribution that sums to 1. */
export function sampleIndex(dist: ArrayLike<number>, rng: Rng): number {
  const u = rng.next();
  let acc = 0;
  let last = 0;
  for (let i = 0; i < dist.length; i++) {
    if (dist[i] <= 0) continue;
    acc += dist[i];
    last = i;
    if (u < acc) return i;
  }
  return last; // rounding left u just above the total
}

/** The longest completion one request may ask for. */
export const MAX_GENERATE_LENGTH = 100_000;

/** What is wrong with a sample request's settings, per field (empty when it can run). */
export function sampleRequestIssues(r: {
  prompt: string;
  temperature: number;
  length: number;
  seed: number;
}): { field: 'prompt' | 'temperature' | 'length' | 'seed'; message: string }[] {
  const issues: { field: 'prompt' | 'temperature' | 'length' | 'seed'; message: string }[] = [];
  if (r.prompt.length === 0) issues.push({ field: 'prompt', message: 'give at least one character to continue from' });
  if (typeof r.temperature !== 'number' || !Number.isFinite(r.temperature) || r.temperature < 0) {
    issues.push({ field: 'temperature', message: 'temperature must be a number ≥ 0 (0 = greedy)' });
  }
  if (typeof r.length !== 'number' || !Number.isInteger(r.length) || r.length < 0 || r.length > MAX_GENERATE_LENGTH) {
    issues.push({ field: 'length', message: `length must be a whole number from 0 to ${MAX_GENERATE_LENGTH.toLocaleString('en-US')}` });
  }
  if (typeof r.seed !== 'number' || !Number.isInteger(r.seed) || r.seed < 0 || r.seed > 0xffffffff) {
    issues.push({ field: 'seed', message: 'seed must be a whole number from 0 to 4294967295' });
  }
  return issues;
}
