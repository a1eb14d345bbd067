/**
 * A synthetic corpus that rewards copying: lines that are a random span written twice, e.g.
 * `kdoakdoa⏎hbmpfcjhbmpfcj⏎`. A span's characters are uniform over a small alphabet and its
 * length is uniform on min..max, so nothing in a first copy can be predicted from what came
 * before it, and everything in the second copy but its first character can, by finding where
 * the current character occurred before and copying the one after it: the in-context learning
 * an induction head does (Olsson et al. 2022, "In-context learning and induction heads"). A model
 * that cannot copy stays near the n-gram levels; once it learns to, its loss drops toward the
 * floor, suddenly: the phase change the in-context probe (workers/inspect.ts) watches for.
 *
 * Its entropy rate is exact. The text is a sequence of independent lines, and a line's text
 * determines its length and its span, so the entropy per character is the entropy of a line over
 * its mean length (a renewal process; Cover & Thomas, ch. 4):
 *   H = (ln(max − min + 1) + E[L]·ln V) / (2·E[L] + 1),   E[L] = (min + max) / 2
 * nats per character, the newline counted. For the defaults (V = 16, L in 4..16) that is
 * (ln 13 + 10·ln 16) / 21 = 1.442 nats against 2.830 for the best n-gram (order 2, Laplace). A model with a
 * window of ctx characters sits a little above H: a window that starts inside a line's first copy
 * cannot copy the characters it cut off.
 *
 * Named by a spec like markov's: `copy:alphabet=16,min=4,max=16,length=1000000,seed=1`
 * (or just `copy` for the defaults), which the CLI's --corpus and the app both accept.
 */
import {
  ALPHABET_POOL,
  buildChain,
  entropyRate,
  MAX_ALPHA,
  MAX_ALPHABET,
  MAX_LENGTH,
  MIN_ALPHA,
  stationaryDistribution,
  type MarkovChain,
} from './markov.ts';
import { Rng } from './rng.ts';

export interface CopyParams {
  alphabet: number; // V: the first V letters of ALPHABET_POOL, 2 ≤ V ≤ 62 (the newline comes on top)
  min: number; // shortest span, ≥ 1
  max: number; // longest span, ≥ min
  repeats: number; // copies of each span on its line, ≥ 2
  order: number; // 0: a span's letters are uniform and independent; k ≥ 1: an order-k Markov chain draws them (markov.ts)
  alpha: number; // that chain's Dirichlet concentration (see markov.ts)
  length: number; // characters of text
  seed: number; // uint32
}

export const MAX_SPAN = 1024;

export const defaultCopyParams: CopyParams = {
  alphabet: 16,
  min: 4,
  max: 16,
  repeats: 2,
  order: 0,
  alpha: 0.5,
  length: 1_000_000,
  seed: 1,
};

export interface CopyCorpus {
  text: string;
  entropyRate: number; // H, nats per character
  params: CopyParams; // with defaults filled in
}

/** Throws an Error naming the first bad key; returns the parameters unchanged otherwise. */
export function validateCopyParams(p: CopyParams): CopyParams {
  const whole = (key: keyof CopyParams, lo: number, hi: number) => {
    const v = p[key];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`copy ${key} must be an integer from ${lo} to ${hi}, got ${v}`);
  };
  whole('alphabet', 2, MAX_ALPHABET);
  whole('min', 1, MAX_SPAN);
  whole('max', 1, MAX_SPAN);
  if (p.max < p.min) throw new Error(`copy max (${p.max}) must be at least min (${p.min})`);
  whole('repeats', 2, 64);
  whole('order', 0, 3);
  if (!(Number.isFinite(p.alpha) && p.alpha >= MIN_ALPHA && p.alpha <= MAX_ALPHA))
    throw new Error(`copy alpha must be a number from ${MIN_ALPHA} to ${MAX_ALPHA}, got ${p.alpha}`);
  whole('length', 1, MAX_LENGTH);
  whole('seed', 0, 0xffffffff);
  return p;
}

/** How a span's letters are drawn: uniform, or by the chain (with its stationary distribution and cumulative rows). */
interface SpanSource {
  V: number;
  chain: MarkovChain | null;
  pi: Float64Array; // over the chain's states
  cdf: Float64Array; // cumulative rows, [state][letter]
  piCdf: Float64Array;
}

function spanSource(p: CopyParams): SpanSource {
  const V = p.alphabet;
  if (p.order === 0) return { V, chain: null, pi: Float64Array.of(1), cdf: new Float64Array(0), piCdf: Float64Array.of(1) };
  const chain = buildChain({ alphabet: ALPHABET_POOL.slice(0, V), order: p.order, alpha: p.alpha, seed: p.seed });
  const pi = stationaryDistribution(chain);
  const cdf = new Float64Array(chain.probs.length);
  for (let s = 0; s < pi.length; s++) {
    let acc = 0;
    for (let x = 0; x < V; x++) cdf[s * V + x] = acc += chain.probs[s * V + x];
  }
  let acc = 0;
  const piCdf = pi.map((q) => (acc += q));
  return { V, chain, pi, cdf, piCdf };
}

/**
 * H(span | its length L), nats: L·ln V for uniform letters; for an order-k chain started from its
 * stationary distribution, the entropy of the first min(L, k) letters' stationary marginal, then
 * the entropy rate for each letter after them.
 */
function spanEntropy(L: number, src: SpanSource): number {
  if (!src.chain) return L * Math.log(src.V);
  const k = src.chain.order;
  const m = Math.min(L, k);
  const Vm = src.V ** m;
  const marginal = new Float64Array(Vm);
  for (let s = 0; s < src.pi.length; s++) marginal[s % Vm] += src.pi[s]; // a state's last m letters are its low m digits
  let h = 0;
  for (const q of marginal) if (q > 0) h -= q * Math.log(q);
  return h + Math.max(0, L - k) * entropyRate(src.chain, src.pi);
}

/** H = (ln(max − min + 1) + E[H(span | L)]) / (r·E[L] + 1): nats per character, exact. */
export function copyEntropyRate(p: CopyParams): number {
  return entropyOf(p, spanSource(p));
}

function entropyOf(p: CopyParams, src: SpanSource): number {
  const n = p.max - p.min + 1;
  let span = 0;
  for (let L = p.min; L <= p.max; L++) span += spanEntropy(L, src) / n;
  const meanSpan = (p.min + p.max) / 2;
  return (Math.log(n) + span) / (p.repeats * meanSpan + 1);
}

/** The index of the first entry of a cumulative distribution above u (the last one if rounding left it short). */
function pick(cdf: Float64Array, from: number, n: number, u: number): number {
  let x = 0;
  while (x < n - 1 && u >= cdf[from + x]) x++;
  return x;
}

/** The text: lines of a span written `repeats` times and a newline, from Rng(seed), cut at `length` characters. */
export function generateCopy(params: Partial<CopyParams> = {}): CopyCorpus {
  const p = validateCopyParams({ ...defaultCopyParams, ...params });
  const letters = ALPHABET_POOL.slice(0, p.alphabet);
  const src = spanSource(p);
  const V = p.alphabet;
  const k = p.order;
  const S = V ** k;
  // Its own stream (as markov's text has), so that the chain does not depend on the text's draws.
  const rng = new Rng((p.seed ^ 0x2c1b3c6d) >>> 0);
  const parts: string[] = [];
  let n = 0;
  while (n < p.length) {
    const L = p.min + rng.int(p.max - p.min + 1);
    let span = '';
    if (k === 0) for (let i = 0; i < L; i++) span += letters[rng.int(V)];
    else {
      // The first state from π (its k letters open the span, oldest first), then one letter at a time.
      let s = pick(src.piCdf, 0, S, rng.next());
      for (let i = k - 1; i >= 0 && span.length < L; i--) span += letters[Math.floor(s / V ** i) % V];
      while (span.length < L) {
        const x = pick(src.cdf, s * V, V, rng.next());
        span += letters[x];
        s = (s * V + x) % S;
      }
    }
    const line = `${span.repeat(p.repeats)}\n`;
    parts.push(line);
    n += line.length;
  }
  const text = parts.join('').slice(0, p.length);
  return { text, entropyRate: entropyOf(p, src), params: p };
}

// ---- specs: `copy:alphabet=16,min=4,max=16,length=1000000,seed=1` ----

const SPEC_KEYS = [
  'alphabet',
  'min',
  'max',
  'repeats',
  'order',
  'alpha',
  'length',
  'seed',
] as const satisfies readonly (keyof CopyParams)[];

/** True for 'copy' and 'copy:…': a name, not a file path such as 'copy.txt'. */
export function isCopySpec(s: string): boolean {
  return s === 'copy' || s.startsWith('copy:');
}

/** 'copy' or 'copy:key=value,…' → parameters, defaults for keys left out; any bad key or value is an Error naming it. */
export function parseCopySpec(spec: string): CopyParams {
  if (!isCopySpec(spec)) throw new Error(`copy spec must be "copy" or "copy:key=value,…", got ${JSON.stringify(spec)}`);
  const p: CopyParams = { ...defaultCopyParams };
  if (spec === 'copy') return p;
  const seen = new Set<string>();
  for (const pair of spec.slice('copy:'.length).split(',')) {
    const eq = pair.indexOf('=');
    if (eq < 0) throw new Error(`copy spec: expected key=value, got ${JSON.stringify(pair)} (keys: ${SPEC_KEYS.join(', ')})`);
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (!(SPEC_KEYS as readonly string[]).includes(key))
      throw new Error(`copy spec: unknown key ${JSON.stringify(key)} (keys: ${SPEC_KEYS.join(', ')})`);
    if (seen.has(key)) throw new Error(`copy spec: ${key} is given twice`);
    seen.add(key);
    if (key === 'alpha') {
      if (!/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value))
        throw new Error(`copy spec: alpha must be a positive number, got ${JSON.stringify(value)}`);
    } else if (!/^\d+$/.test(value)) throw new Error(`copy spec: ${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
    p[key as (typeof SPEC_KEYS)[number]] = Number(value);
  }
  return validateCopyParams(p);
}

/** Parameters → the spec parseCopySpec reads back to the same parameters, every key written. */
export function formatCopySpec(params: CopyParams): string {
  const p = validateCopyParams(params);
  return `copy:${SPEC_KEYS.map((k) => `${k}=${p[k]}`).join(',')}`;
}
