import { describe, expect, test } from 'vitest';
import {
  buildChain,
  defaultMarkovParams,
  entropyRate,
  formatMarkovSpec,
  generateMarkov,
  isMarkovSpec,
  type MarkovChain,
  parseMarkovSpec,
  sampleText,
  stationaryDistribution,
  windowFloor,
} from '../../src/core/markov.ts';
import { Rng } from '../../src/core/rng.ts';

/** −Σ p log p over a distribution, nats. */
const entropyOf = (p: ArrayLike<number>) => Array.from(p).reduce((h, q) => (q > 0 ? h - q * Math.log(q) : h), 0);

/**
 * Plug-in estimate of H(X_t | previous m characters) from counts of (m+1)-grams:
 * −Σ n(c,x)/N · log(n(c,x)/n(c)). Its bias is about −(cells − contexts)/(2N), ~1e-4 nats here.
 */
function empiricalConditionalEntropy(text: string, m: number): number {
  const codes = Array.from(new Set(text)).sort();
  const V = codes.length;
  const index = new Map(codes.map((c, i) => [c, i]));
  const idx = Uint8Array.from(text, (c) => index.get(c)!);
  const C = V ** m;
  const joint = new Float64Array(C * V);
  let ctx = 0;
  for (let i = 0; i < m; i++) ctx = ctx * V + idx[i];
  for (let t = m; t < idx.length; t++) {
    joint[ctx * V + idx[t]]++;
    ctx = (ctx * V + idx[t]) % C;
  }
  const N = idx.length - m;
  let h = 0;
  for (let c = 0; c < C; c++) {
    let nc = 0;
    for (let x = 0; x < V; x++) nc += joint[c * V + x];
    for (let x = 0; x < V; x++) {
      const n = joint[c * V + x];
      if (n > 0) h -= (n / N) * Math.log(n / nc);
    }
  }
  return h;
}

describe('entropy rate from the chain', () => {
  test('an i.i.d. source has the entropy of its single row', () => {
    // Dyadic probabilities: H = 1/2·1 + 1/4·2 + 2·1/8·3 = 1.75 bits exactly.
    const dyadic: MarkovChain = { symbols: ['a', 'b', 'c', 'd'], order: 0, probs: Float64Array.of(0.5, 0.25, 0.125, 0.125) };
    expect(entropyRate(dyadic)).toBeCloseTo(1.75 * Math.LN2, 14);

    const drawn = buildChain({ order: 0, alphabet: 'abcdef', seed: 3 });
    expect(drawn.probs.length).toBe(6);
    expect(entropyRate(drawn)).toBeCloseTo(entropyOf(drawn.probs), 14);
  });

  test('a two-state chain has stationary (5/6, 1/6) and the entropy rate worked out by hand', () => {
    // P(a|a)=0.9, P(b|a)=0.1, P(a|b)=P(b|b)=0.5. Balance: π_a·0.1 = π_b·0.5, so π = (5/6, 1/6).
    const chain: MarkovChain = { symbols: ['a', 'b'], order: 1, probs: Float64Array.of(0.9, 0.1, 0.5, 0.5) };
    const pi = stationaryDistribution(chain);
    expect(pi[0]).toBeCloseTo(5 / 6, 12);
    expect(pi[1]).toBeCloseTo(1 / 6, 12);
    // H = 5/6·(−0.9 ln 0.9 − 0.1 ln 0.1) + 1/6·ln 2 = 0.3864270…
    const byHand = (5 / 6) * (-0.9 * Math.log(0.9) - 0.1 * Math.log(0.1)) + (1 / 6) * Math.log(2);
    expect(entropyRate(chain)).toBeCloseTo(byHand, 12);
    expect(byHand).toBeCloseTo(0.386427, 6);
  });

  test('uniform rows give log V at any order', () => {
    const V = 3;
    const chain: MarkovChain = { symbols: ['x', 'y', 'z'], order: 2, probs: new Float64Array(V ** 3).fill(1 / V) };
    expect(entropyRate(chain)).toBeCloseTo(Math.log(V), 14);
  });

  test('the stationary distribution is a fixed point of the chain', () => {
    const chain = buildChain({ order: 3, alphabet: 'abcde', seed: 11 });
    const pi = stationaryDistribution(chain);
    const V = 5;
    const S = V ** 3;
    const next = new Float64Array(S);
    for (let s = 0; s < S; s++) for (let x = 0; x < V; x++) next[(s * V + x) % S] += pi[s] * chain.probs[s * V + x];
    let l1 = 0;
    for (let s = 0; s < S; s++) l1 += Math.abs(next[s] - pi[s]);
    expect(l1).toBeLessThan(1e-12);
    expect(pi.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  test('the entropy rate lies strictly between 0 and log V', () => {
    for (const [order, alphabet, alpha] of [
      [0, 'ab', 0.5],
      [1, 'abcdefgh', 0.05],
      [2, 'abcdefgh', 0.5],
      [3, 'abcdefghijklmnop', 5],
      [16, 'ab', 0.5],
    ] as const) {
      const { entropyRate: h } = generateMarkov({ order, alphabet, alpha, length: 10 });
      expect(h).toBeGreaterThan(0);
      expect(h).toBeLessThan(Math.log(alphabet.length));
    }
  });

  test('alpha sets how peaked the rows are: mean row entropy ≈ ψ(Vα+1) − ψ(α+1)', () => {
    // V = 8, α = 0.5: ψ(5) − ψ(1.5) = (H_4 − γ) − (2 − 2 ln 2 − γ) = 25/12 − 2 + 2 ln 2 = 1.4696 nats.
    const chain = buildChain({ order: 3, alphabet: 'abcdefgh', alpha: 0.5, seed: 5 });
    let mean = 0;
    for (let s = 0; s < 512; s++) mean += entropyOf(chain.probs.subarray(s * 8, s * 8 + 8)) / 512;
    expect(mean).toBeCloseTo(25 / 12 - 2 + 2 * Math.LN2, 1);
  });
});

describe('generated text', () => {
  test('an order-2 sample of 2M characters has the reported entropy rate within 0.5%', () => {
    const { text, entropyRate: h, stationary } = generateMarkov({ order: 2, alphabet: 'abcdefgh', length: 2_000_000, seed: 7 });
    const estimate = empiricalConditionalEntropy(text, 2);
    expect(Math.abs(estimate - h) / h).toBeLessThan(0.005);
    // The weights too: each two-character state's frequency is π(s) (standard error ≲ 1e-4 here).
    const freq = new Float64Array(64);
    for (let t = 1; t < text.length; t++) freq[(text.charCodeAt(t - 1) - 97) * 8 + (text.charCodeAt(t) - 97)] += 1 / (text.length - 1);
    for (let s = 0; s < 64; s++) expect(Math.abs(freq[s] - stationary[s])).toBeLessThan(1e-3);
  });

  test('the ctx-window floor matches the sample: first targets see fewer than k characters', () => {
    const { text, chain, stationary } = generateMarkov({ order: 2, alphabet: 'abcd', length: 1_000_000, seed: 9 });
    const h = entropyRate(chain, stationary);
    // ctx = 1: every target sees one character, so the floor is H(X_2 | X_1), above H.
    const h1 = windowFloor(chain, 1, stationary);
    expect(h1).toBeGreaterThan(h);
    expect(h1).toBeCloseTo(empiricalConditionalEntropy(text, 1), 2);
    // ctx = 64: one target in 64 sees one character, the rest see ≥ 2.
    expect(windowFloor(chain, 64, stationary)).toBeCloseTo((h1 + 63 * h) / 64, 14);
    // order ≤ 1: every target already sees the whole state.
    const first = buildChain({ order: 1 });
    expect(windowFloor(first, 1)).toBeCloseTo(entropyRate(first), 14);
  });

  test('the text is stationary from its first character', () => {
    // π(a) = 5/6 for this chain: over many streams, P(first char = a) and P(second = a) are 5/6.
    const chain: MarkovChain = { symbols: ['a', 'b'], order: 1, probs: Float64Array.of(0.9, 0.1, 0.5, 0.5) };
    const n = 20_000;
    const a = [0, 0];
    for (let seed = 0; seed < n; seed++) {
      const text = sampleText(chain, 2, new Rng(seed));
      for (let i = 0; i < 2; i++) if (text[i] === 'a') a[i]++;
    }
    // Standard error sqrt(5/6 · 1/6 / n) ≈ 0.0026.
    for (const count of a) expect(Math.abs(count / n - 5 / 6)).toBeLessThan(0.012);
  });

  test('the same seed gives the same chain and text; another seed differs', () => {
    const a = generateMarkov({ length: 5000, seed: 42 });
    const b = generateMarkov({ length: 5000, seed: 42 });
    const c = generateMarkov({ length: 5000, seed: 43 });
    expect(b.text).toBe(a.text);
    expect(b.entropyRate).toBe(a.entropyRate);
    expect(c.text).not.toBe(a.text);
    expect(c.entropyRate).not.toBe(a.entropyRate);
  });

  test('a shorter length gives a prefix of the longer text, over exactly the alphabet', () => {
    const long = generateMarkov({ length: 10_000, order: 3, seed: 2 });
    const short = generateMarkov({ length: 1, order: 3, seed: 2 });
    expect(long.text.length).toBe(10_000);
    expect(long.text.startsWith(short.text)).toBe(true);
    expect(short.text.length).toBe(1);
    expect(new Set(long.text)).toEqual(new Set(defaultMarkovParams.alphabet));
  });

  test('characters outside the BMP are single symbols', () => {
    const { text } = generateMarkov({ alphabet: 'a😀b', order: 1, length: 100 });
    expect(Array.from(text)).toHaveLength(100);
    expect(new Set(text).has('\ud83d')).toBe(false);
    expect(Array.from(text).every((c) => 'a😀b'.includes(c))).toBe(true);
  });
});

describe('corpus specs', () => {
  test('markov alone means every default', () => {
    expect(isMarkovSpec('markov')).toBe(true);
    expect(parseMarkovSpec('markov')).toEqual(defaultMarkovParams);
  });

  test('a spec names order, alphabet size or letters, length, seed and alpha', () => {
    expect(parseMarkovSpec('markov:order=2,alphabet=8,length=300000,seed=1')).toEqual({
      ...defaultMarkovParams,
      order: 2,
      alphabet: 'abcdefgh',
      length: 300000,
      seed: 1,
    });
    expect(parseMarkovSpec('markov:alphabet=xyz,alpha=0.25').alphabet).toBe('xyz');
    expect(parseMarkovSpec('markov:alpha=2e-1').alpha).toBe(0.2);
  });

  test('format and parse round-trip', () => {
    for (const p of [
      defaultMarkovParams,
      { alphabet: 'abcdefghijklmnop', order: 3, length: 12345, seed: 4294967295, alpha: 0.125 },
      { alphabet: 'xyz!', order: 0, length: 1, seed: 0, alpha: 1e-1 },
    ]) {
      const spec = formatMarkovSpec(p);
      expect(parseMarkovSpec(spec)).toEqual(p);
      expect(formatMarkovSpec(parseMarkovSpec(spec))).toBe(spec);
    }
    expect(formatMarkovSpec(defaultMarkovParams)).toBe('markov:order=2,alphabet=8,length=1000000,seed=1,alpha=0.5');
  });

  test('file names and other corpora are not specs', () => {
    expect(isMarkovSpec('markov.txt')).toBe(false);
    expect(isMarkovSpec('moby-dick')).toBe(false);
    expect(isMarkovSpec('markov:order=1')).toBe(true);
  });

  test('bad specs are errors that name the key', () => {
    expect(() => parseMarkovSpec('markov:colour=red')).toThrow(/unknown key "colour"/);
    expect(() => parseMarkovSpec('markov:order=two')).toThrow(/order must be a non-negative integer, got "two"/);
    expect(() => parseMarkovSpec('markov:order=-1')).toThrow(/order must be/);
    expect(() => parseMarkovSpec('markov:order=6')).toThrow(
      /order=6 with alphabet size 8 gives 8\^6 = 262,144 states; at most 65,536 \(order ≤ 5\)/,
    );
    expect(() => parseMarkovSpec('markov:length=0')).toThrow(/length must be an integer from 1/);
    expect(() => parseMarkovSpec('markov:length=1.5')).toThrow(/length must be a non-negative integer/);
    expect(() => parseMarkovSpec('markov:seed=4294967296')).toThrow(/seed must be an integer from 0 to 4294967295/);
    expect(() => parseMarkovSpec('markov:alpha=0')).toThrow(/alpha must be a number from 0.05/);
    expect(() => parseMarkovSpec('markov:alpha=abc')).toThrow(/alpha must be a positive number/);
    expect(() => parseMarkovSpec('markov:alphabet=1')).toThrow(/alphabet size must be from 2 to 62/);
    expect(() => parseMarkovSpec('markov:alphabet=abca')).toThrow(/distinct characters; "a" repeats/);
    expect(() => parseMarkovSpec('markov:order=1,order=2')).toThrow(/order is given twice/);
    expect(() => parseMarkovSpec('markov:order')).toThrow(/expected key=value, got "order"/);
    expect(() => parseMarkovSpec('markov:order=')).toThrow(/order has no value/);
    expect(() => parseMarkovSpec('markov:')).toThrow(/expected key=value/);
    expect(() => parseMarkovSpec('markov:order=1,')).toThrow(/expected key=value/);
    expect(() => parseMarkovSpec('markovian')).toThrow(/must be "markov" or "markov:key=value,…"/);
  });

  test('an alphabet a spec cannot hold is refused when formatting', () => {
    expect(() => formatMarkovSpec({ ...defaultMarkovParams, alphabet: 'a,b' })).toThrow(/cannot be written in a spec/);
    expect(() => formatMarkovSpec({ ...defaultMarkovParams, alphabet: '0123' })).toThrow(/cannot be written in a spec/);
  });
});
