/**
 * A synthetic corpus whose entropy rate is known exactly: text from a seeded random order-k
 * Markov chain over a small alphabet. No model can average less than the entropy rate
 *   H = −Σ_s π(s) Σ_x P(x|s) log P(x|s)      (nats per character)
 * on such text (π: the stationary distribution over the V^k states, a state being the last k
 * characters), so a model's loss minus H is exactly how much it has left to learn.
 *
 * Each row P(·|s) is a Dirichlet(α, …, α) draw (V independent Gamma(α) draws, normalised):
 * α → 0 makes rows nearly one-hot (H → 0), α → ∞ makes them uniform (H → log V). A Dirichlet
 * row has expected entropy ψ(Vα + 1) − ψ(α + 1); for V = 8, α = 0.5 that is 1.47 nats against
 * log 8 = 2.08, so the default text is clearly predictable but far from deterministic.
 * Every probability is > 0, so the chain is irreducible and aperiodic (any state reaches any
 * other in exactly k steps) and π exists, is unique and is reached by power iteration.
 *
 * A corpus is named by a spec, `markov:order=2,alphabet=8,length=300000,seed=1,alpha=0.5`
 * (or just `markov` for the defaults), which the CLI's --corpus and the app both accept.
 */
import { Rng } from './rng.ts';

export interface MarkovParams {
  alphabet: string; // the V distinct characters (code points) the chain emits, 2 ≤ V ≤ 62
  order: number; // k: characters of context each draw depends on (0 = i.i.d.); V^k ≤ 65,536
  length: number; // characters of text to generate
  seed: number; // uint32: the same parameters and seed give the same chain and the same text
  alpha: number; // Dirichlet concentration of every row: small = peaked rows, large = near uniform
}

/** The letters an alphabet size picks from, in order: `alphabet=8` is 'abcdefgh'. */
export const ALPHABET_POOL = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const MAX_ALPHABET = ALPHABET_POOL.length; // 62
export const MAX_STATES = 65_536; // V^k: the transition table is then at most 65,536 × 62 doubles (32 MB)
export const MAX_LENGTH = 100_000_000; // as many characters as the largest corpus file accepted
export const MIN_ALPHA = 0.05; // below this a row's smallest Gamma draws can underflow to 0 (see gammaLog)
export const MAX_ALPHA = 1e6;

export const defaultMarkovParams: MarkovParams = {
  alphabet: 'abcdefgh',
  order: 2,
  length: 1_000_000,
  seed: 1,
  alpha: 0.5,
};

/** A chain as a table: probs[s·V + x] = P(x | s). */
export interface MarkovChain {
  symbols: string[]; // the V characters; symbol x of the text is symbols[x]
  order: number; // k
  // (V^k, V) row-major. State s encodes the last k characters in base V, the most recent as
  // the lowest digit, so after emitting x the state becomes (s·V + x) mod V^k.
  probs: Float64Array;
}

export interface MarkovCorpus {
  text: string; // `length` characters, stationary from the first
  entropyRate: number; // H, nats per character: the lowest loss any model can average
  entropyRateBits: number; // H / ln 2
  stationary: Float64Array; // π over the V^k states (for order 0, [1])
  chain: MarkovChain;
  params: MarkovParams; // the parameters with defaults filled in
}

/** The first n letters of ALPHABET_POOL. */
export function firstLetters(n: number): string {
  if (!Number.isInteger(n) || n < 2 || n > MAX_ALPHABET) {
    throw new RangeError(`alphabet size must be an integer from 2 to ${MAX_ALPHABET}, got ${n}`);
  }
  return ALPHABET_POOL.slice(0, n);
}

/** Throws an Error naming the first bad key; returns the parameters unchanged otherwise. */
export function validateMarkovParams(p: MarkovParams): MarkovParams {
  const symbols = Array.from(p.alphabet);
  const V = symbols.length;
  if (V < 2 || V > MAX_ALPHABET) throw new Error(`markov alphabet must have 2 to ${MAX_ALPHABET} characters, got ${V}`);
  const dup = symbols.find((c, i) => symbols.indexOf(c) !== i);
  if (dup !== undefined) throw new Error(`markov alphabet must have distinct characters; ${JSON.stringify(dup)} repeats`);
  if (!Number.isInteger(p.order) || p.order < 0) throw new Error(`markov order must be an integer ≥ 0, got ${p.order}`);
  const states = V ** p.order;
  if (states > MAX_STATES) {
    throw new Error(
      `markov order=${p.order} with alphabet size ${V} gives ${V}^${p.order} = ${states.toLocaleString('en-US')} states; ` +
        `at most ${MAX_STATES.toLocaleString('en-US')} (order ≤ ${Math.floor(Math.log(MAX_STATES) / Math.log(V) + 1e-9)})`,
    );
  }
  if (!Number.isInteger(p.length) || p.length < 1 || p.length > MAX_LENGTH) {
    throw new Error(`markov length must be an integer from 1 to ${MAX_LENGTH.toLocaleString('en-US')}, got ${p.length}`);
  }
  if (!Number.isInteger(p.seed) || p.seed < 0 || p.seed > 0xffffffff)
    throw new Error(`markov seed must be an integer from 0 to 4294967295, got ${p.seed}`);
  if (!(Number.isFinite(p.alpha) && p.alpha >= MIN_ALPHA && p.alpha <= MAX_ALPHA)) {
    throw new Error(`markov alpha must be a number from ${MIN_ALPHA} to ${MAX_ALPHA}, got ${p.alpha}`);
  }
  return p;
}

/**
 * log of a Gamma(a, 1) draw. Marsaglia & Tsang (2000) for a ≥ 1; for a < 1 the boost
 * G(a) = G(a + 1)·U^(1/a), in logs so that U^(1/a) cannot underflow before normalising.
 * U = 1 − next() ∈ [2^-32, 1], so log U / a ≥ −22.2/a ≥ −444 for a ≥ MIN_ALPHA, and after
 * normalising each probability is at least about e^-450 > 0: every row keeps full support.
 */
function gammaLog(a: number, rng: Rng): number {
  if (a < 1) return gammaLog(a + 1, rng) + Math.log(1 - rng.next()) / a;
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = rng.normal();
    const t = 1 + c * z;
    if (t <= 0) continue;
    const v = t * t * t;
    const u = 1 - rng.next(); // (0, 1]
    if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) return Math.log(d * v);
  }
}

/** Draws the chain: V^k rows, each Dirichlet(α) from Rng(seed). Depends on alphabet, order, alpha, seed. */
export function buildChain(params: Partial<MarkovParams> = {}): MarkovChain {
  const p = validateMarkovParams({ ...defaultMarkovParams, ...params });
  const symbols = Array.from(p.alphabet);
  const V = symbols.length;
  const S = V ** p.order;
  const rng = new Rng(p.seed);
  const probs = new Float64Array(S * V);
  const logs = new Float64Array(V);
  for (let s = 0; s < S; s++) {
    let max = -Infinity;
    for (let x = 0; x < V; x++) max = Math.max(max, (logs[x] = gammaLog(p.alpha, rng)));
    let z = 0;
    for (let x = 0; x < V; x++) z += probs[s * V + x] = Math.exp(logs[x] - max); // softmax of log-Gammas = Dirichlet
    for (let x = 0; x < V; x++) probs[s * V + x] /= z;
  }
  return { symbols, order: p.order, probs };
}

/** Checks a chain's shape and that every row is a distribution; returns V and the state count. */
function chainShape(chain: MarkovChain): { V: number; S: number } {
  const V = chain.symbols.length;
  const S = V ** chain.order;
  if (V < 1 || !Number.isInteger(chain.order) || chain.order < 0) throw new RangeError(`a chain needs ≥ 1 symbol and an integer order ≥ 0`);
  if (chain.probs.length !== S * V)
    throw new RangeError(`a ${V}-symbol order-${chain.order} chain needs ${S}×${V} probabilities, got ${chain.probs.length}`);
  for (let s = 0; s < S; s++) {
    let sum = 0;
    for (let x = 0; x < V; x++) {
      const q = chain.probs[s * V + x];
      if (!(q >= 0 && q <= 1)) throw new RangeError(`P(${x} | state ${s}) = ${q} is not a probability`);
      sum += q;
    }
    if (Math.abs(sum - 1) > 1e-9) throw new RangeError(`row of state ${s} sums to ${sum}, not 1`);
  }
  return { V, S };
}

/**
 * π over the V^k states, by power iteration π ← πP from uniform until ‖πP − π‖₁ < tol.
 * The step from state s by character x lands in (s·V + x) mod V^k = (s·V mod V^k) + x, so one
 * iteration costs V^(k+1) multiply-adds. The chain must be irreducible and aperiodic (true for
 * every chain buildChain makes); a chain that does not settle in maxIter steps is an Error.
 */
export function stationaryDistribution(chain: MarkovChain, tol = 1e-13, maxIter = 100_000): Float64Array {
  const { V, S } = chainShape(chain);
  const P = chain.probs;
  if (S === 1) return Float64Array.of(1); // order 0: one state
  let pi = new Float64Array(S).fill(1 / S);
  let next = new Float64Array(S);
  for (let iter = 0; iter < maxIter; iter++) {
    next.fill(0);
    for (let s = 0; s < S; s++) {
      const ps = pi[s];
      if (ps === 0) continue;
      const to = (s * V) % S;
      const row = s * V;
      for (let x = 0; x < V; x++) next[to + x] += ps * P[row + x];
    }
    let total = 0;
    for (let s = 0; s < S; s++) total += next[s];
    let diff = 0;
    for (let s = 0; s < S; s++) {
      next[s] /= total; // keep Σπ = 1 against rounding drift
      diff += Math.abs(next[s] - pi[s]);
    }
    [pi, next] = [next, pi];
    if (diff < tol) return pi;
  }
  throw new Error(`the stationary distribution did not converge in ${maxIter} iterations (is the chain irreducible and aperiodic?)`);
}

/** H = −Σ_s π(s) Σ_x P(x|s) log P(x|s), nats per character (0·log 0 = 0). */
export function entropyRate(chain: MarkovChain, pi: Float64Array = stationaryDistribution(chain)): number {
  const { V, S } = chainShape(chain);
  let h = 0;
  for (let s = 0; s < S; s++) {
    let row = 0;
    for (let x = 0; x < V; x++) {
      const q = chain.probs[s * V + x];
      if (q > 0) row -= q * Math.log(q);
    }
    h += pi[s] * row;
  }
  return h;
}

/**
 * The lowest mean loss a model can reach on ctx-character training windows. Target j of a
 * window (j = 1..ctx) is predicted from the j characters before it (there is no start token),
 * so the floor is (1/ctx)·Σ_j H(X_{j+1} | X_1..X_j). Once j ≥ k that term is H; for j < k it
 * is the block-entropy difference H_{j+1} − H_j, where H_m is the entropy of the stationary
 * m-character marginal (π summed over the states with the same last m characters). So a
 * window floor sits slightly above H for order ≥ 2 and equals it for order ≤ 1.
 */
export function windowFloor(chain: MarkovChain, ctx: number, pi: Float64Array = stationaryDistribution(chain)): number {
  if (!Number.isInteger(ctx) || ctx < 1) throw new RangeError(`ctx must be an integer ≥ 1, got ${ctx}`);
  const { V } = chainShape(chain);
  const k = chain.order;
  const h = entropyRate(chain, pi);
  const blockEntropy = (m: number): number => {
    const Vm = V ** m;
    const marginal = new Float64Array(Vm);
    for (let s = 0; s < pi.length; s++) marginal[s % Vm] += pi[s]; // the last m characters are the low m digits
    let e = 0;
    for (const q of marginal) if (q > 0) e -= q * Math.log(q);
    return e;
  };
  let sum = 0;
  let prev = k > 1 ? blockEntropy(1) : 0; // only needed when some target sees fewer than k characters
  for (let j = 1; j <= ctx; j++) {
    if (j >= k) {
      sum += h * (ctx - j + 1); // every remaining target sees at least k characters
      break;
    }
    const cur = blockEntropy(j + 1);
    sum += cur - prev;
    prev = cur;
  }
  return sum / ctx;
}

/**
 * `length` characters from the chain. The first state is drawn from π and its k characters
 * open the text, so every window of the text, the first included, has the stationary
 * distribution; each next character is drawn from its state's row by inverse CDF. A shorter
 * length gives a prefix of a longer one (same rng).
 */
export function sampleText(chain: MarkovChain, length: number, rng: Rng, pi: Float64Array = stationaryDistribution(chain)): string {
  const { V, S } = chainShape(chain);
  const k = chain.order;
  const cdf = new Float64Array(S * V);
  for (let s = 0; s < S; s++) {
    let acc = 0;
    for (let x = 0; x < V; x++) cdf[s * V + x] = acc += chain.probs[s * V + x];
  }
  // The first state, from π by inverse CDF.
  let u = rng.next();
  let s = 0;
  while (s < S - 1 && u >= pi[s]) u -= pi[s++];
  const idx = new Uint8Array(length);
  let t = 0;
  for (let i = k - 1; i >= 0 && t < length; i--) idx[t++] = Math.floor(s / V ** i) % V; // oldest character first
  for (; t < length; t++) {
    const v = rng.next();
    const row = s * V;
    let x = 0;
    while (x < V - 1 && v >= cdf[row + x]) x++; // the guard takes rounding that left the last cdf < 1
    idx[t] = x;
    s = (s * V + x) % S;
  }
  return decodeSymbols(idx, chain.symbols);
}

/** Indices → text, in chunks: one String.fromCharCode per 8,192 characters when every symbol is one UTF-16 unit. */
function decodeSymbols(idx: Uint8Array, symbols: string[]): string {
  const CHUNK = 8192;
  const parts: string[] = [];
  if (symbols.every((c) => c.length === 1)) {
    const codes = Uint16Array.from(symbols, (c) => c.charCodeAt(0));
    const buf = new Uint16Array(CHUNK);
    for (let i = 0; i < idx.length; i += CHUNK) {
      const n = Math.min(CHUNK, idx.length - i);
      for (let j = 0; j < n; j++) buf[j] = codes[idx[i + j]];
      parts.push(String.fromCharCode.apply(null, buf.subarray(0, n) as unknown as number[]));
    }
  } else {
    for (let i = 0; i < idx.length; i += CHUNK) {
      const n = Math.min(CHUNK, idx.length - i);
      const chunk = new Array<string>(n);
      for (let j = 0; j < n; j++) chunk[j] = symbols[idx[i + j]];
      parts.push(chunk.join(''));
    }
  }
  return parts.join('');
}

/** The chain, its exact entropy rate and its text; missing parameters take their defaults. */
export function generateMarkov(params: Partial<MarkovParams> = {}): MarkovCorpus {
  const p = validateMarkovParams({ ...defaultMarkovParams, ...params });
  const chain = buildChain(p);
  const stationary = stationaryDistribution(chain);
  const h = entropyRate(chain, stationary);
  // The text has its own stream, so the chain does not depend on length and the text does not
  // depend on how many draws the Gamma rejection sampler happened to take.
  const text = sampleText(chain, p.length, new Rng((p.seed ^ 0x6d2b79f5) >>> 0), stationary);
  return { text, entropyRate: h, entropyRateBits: h / Math.LN2, stationary, chain, params: p };
}

// ---- specs: `markov:order=2,alphabet=8,length=300000,seed=1,alpha=0.5` ----

const SPEC_KEYS = ['order', 'alphabet', 'length', 'seed', 'alpha'] as const satisfies readonly (keyof MarkovParams)[];
const SPEC_UNSAFE = /[\s,=:]/u; // characters that would break the key=value list

/** True for 'markov' and 'markov:…': a name, not a file path such as 'markov.txt'. */
export function isMarkovSpec(s: string): boolean {
  return s === 'markov' || s.startsWith('markov:');
}

function parseInteger(key: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`markov spec: ${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** 'markov' or 'markov:key=value,…' → parameters, defaults for keys left out; any bad key or value is an Error naming it. */
export function parseMarkovSpec(spec: string): MarkovParams {
  if (!isMarkovSpec(spec)) throw new Error(`markov spec must be "markov" or "markov:key=value,…", got ${JSON.stringify(spec)}`);
  const p: MarkovParams = { ...defaultMarkovParams };
  if (spec === 'markov') return p;
  const body = spec.slice('markov:'.length);
  const seen = new Set<string>();
  for (const pair of body.split(',')) {
    const eq = pair.indexOf('=');
    if (eq < 0) throw new Error(`markov spec: expected key=value, got ${JSON.stringify(pair)} (keys: ${SPEC_KEYS.join(', ')})`);
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (!(SPEC_KEYS as readonly string[]).includes(key)) {
      throw new Error(`markov spec: unknown key ${JSON.stringify(key)} (keys: ${SPEC_KEYS.join(', ')})`);
    }
    if (seen.has(key)) throw new Error(`markov spec: ${key} is given twice`);
    seen.add(key);
    if (value === '') throw new Error(`markov spec: ${key} has no value`);
    switch (key as (typeof SPEC_KEYS)[number]) {
      case 'order':
        p.order = parseInteger(key, value);
        break;
      case 'length':
        p.length = parseInteger(key, value);
        break;
      case 'seed':
        p.seed = parseInteger(key, value);
        break;
      case 'alpha':
        if (!/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value))
          throw new Error(`markov spec: alpha must be a positive number, got ${JSON.stringify(value)}`);
        p.alpha = Number(value);
        break;
      case 'alphabet':
        // Digits only: a size, the first letters of ALPHABET_POOL. Anything else: the characters.
        p.alphabet = /^\d+$/.test(value) ? sizeToAlphabet(Number(value)) : value;
        break;
    }
  }
  return validateMarkovParams(p);
}

function sizeToAlphabet(n: number): string {
  if (n < 2 || n > MAX_ALPHABET) throw new Error(`markov spec: alphabet size must be from 2 to ${MAX_ALPHABET}, got ${n}`);
  return firstLetters(n);
}

/** Parameters → the spec parseMarkovSpec reads back to the same parameters, every key written. */
export function formatMarkovSpec(params: MarkovParams): string {
  const p = validateMarkovParams(params);
  const V = Array.from(p.alphabet).length;
  let alphabet: string;
  if (p.alphabet === ALPHABET_POOL.slice(0, V)) alphabet = String(V);
  else if (SPEC_UNSAFE.test(p.alphabet) || /^\d+$/.test(p.alphabet)) {
    throw new Error(
      `markov alphabet ${JSON.stringify(p.alphabet)} cannot be written in a spec (it has spaces, ",", "=" or ":", or only digits)`,
    );
  } else alphabet = p.alphabet;
  return `markov:order=${p.order},alphabet=${alphabet},length=${p.length},seed=${p.seed},alpha=${p.alpha}`;
}
