import { describe, expect, test } from 'vitest';
import { baselines, crossEntropy, fitNgram, type Smoothing } from '../../src/core/ngram.ts';
import { CharTokenizer } from '../../src/core/tokenizer.ts';

const laplace: Smoothing = { kind: 'laplace' };

/** train and val ids of two strings under the vocabulary of both together, as the corpus builds it. */
function splitOf(train: string, val: string) {
  const tok = CharTokenizer.fromText(train + val);
  return { tok, train: tok.encode(train), val: tok.encode(val), V: tok.size };
}

/** A seeded id sequence: every fourth id random, the rest a fixed function of the one before. */
function structuredIds(n: number, V: number, seed = 1): Int32Array {
  const out = new Int32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = i % 4 === 0 ? (s >>> 16) % V : (out[i - 1] * 7 + 3) % V;
  }
  return out;
}

/** Cross-entropy counted the slow, obvious way: string keys, the formula written out. */
function referenceCrossEntropy(train: Int32Array, val: Int32Array, V: number, n: number, k: number): number {
  const pairs = new Map<string, number>();
  const contexts = new Map<string, number>();
  for (let t = n - 1; t < train.length; t++) {
    const c = Array.from(train.subarray(t - n + 1, t)).join(',');
    pairs.set(`${c}|${train[t]}`, (pairs.get(`${c}|${train[t]}`) ?? 0) + 1);
    contexts.set(c, (contexts.get(c) ?? 0) + 1);
  }
  let sum = 0;
  let count = 0;
  for (let t = Math.max(1, n - 1); t < val.length; t++) {
    const c = Array.from(val.subarray(t - n + 1, t)).join(',');
    sum -= Math.log(((pairs.get(`${c}|${val[t]}`) ?? 0) + k) / ((contexts.get(c) ?? 0) + k * V));
    count++;
  }
  return sum / count;
}

describe('n-gram baselines', () => {
  test('a Laplace bigram on a hand-made string gives the hand-computed cross-entropy', () => {
    const { train, val, V } = splitOf('abab', 'aab');
    expect(V).toBe(2);
    // Train "abab" has the bigrams ab, ba, ab: N(a,b) = 2, N(a,a) = 0, N(a) = 2; N(b,a) = 1, N(b) = 1.
    // Val "aab" predicts its characters 2..3 from the one before:
    //   p(a | a) = (N(a,a) + 1) / (N(a) + 1·V) = (0 + 1) / (2 + 2) = 1/4
    //   p(b | a) = (N(a,b) + 1) / (N(a) + 1·V) = (2 + 1) / (2 + 2) = 3/4
    // H = −(ln 1/4 + ln 3/4) / 2 = ln(16/3) / 2 ≈ 0.8370 nats = (4 − log2 3) / 2 ≈ 1.2075 bits.
    const ce = crossEntropy(fitNgram(train, V, 2, laplace), val);
    expect(ce.predicted).toBe(2);
    expect(ce.nats).toBeCloseTo(Math.log(16 / 3) / 2, 12);
    expect(ce.bits).toBeCloseTo((4 - Math.log2(3)) / 2, 12);
  });

  test('an add-k unigram on a hand-made string gives the hand-computed cross-entropy, never predicting the first character', () => {
    const { train, val, V } = splitOf('aaab', 'abc');
    expect(V).toBe(3); // 'c' occurs only in val but is in the corpus's vocabulary
    // k = 0.5, train "aaab": N(a) = 3, N(b) = 1, N(c) = 0, 4 in all; denominator 4 + 0.5·3 = 5.5.
    //   p(a) = 3.5 / 5.5 = 7/11,  p(b) = 1.5 / 5.5 = 3/11,  p(c) = 0.5 / 5.5 = 1/11
    // Val "abc" predicts characters 2..3 (b, c), as the transformer's score does:
    // H = −(ln 3/11 + ln 1/11) / 2 = ln(121/3) / 2 ≈ 1.8487 nats.
    const model = fitNgram(train, V, 1, { kind: 'addk', k: 0.5 });
    expect(Math.exp(model.logProb([], 0))).toBeCloseTo(7 / 11, 12);
    const ce = crossEntropy(model, val);
    expect(ce.predicted).toBe(2);
    expect(ce.nats).toBeCloseTo(Math.log(121 / 3) / 2, 12);
    expect(ce.bits).toBeCloseTo(ce.nats / Math.LN2, 12);
  });

  test('the probabilities of every context sum to 1 over the vocabulary, seen or unseen', () => {
    const V = 6;
    const train = structuredIds(500, V);
    for (const order of [1, 2, 3]) {
      for (const smoothing of [laplace, { kind: 'addk', k: 0.01 }] satisfies Smoothing[]) {
        const model = fitNgram(train, V, order, smoothing);
        for (let c = 0; c < V ** (order - 1); c++) {
          const context = Array.from({ length: order - 1 }, (_, i) => Math.floor(c / V ** (order - 2 - i)) % V);
          const p = model.distribution(context);
          expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
          p.forEach((px, x) => expect(Math.log(px)).toBeCloseTo(model.logProb(context, x), 12));
        }
      }
    }
  });

  test('cross-entropy matches a direct count over string keys, for dense tables and Maps alike', () => {
    // V = 50: orders 1–3 count into typed arrays; order 4 (50^4 pairs) and 5 go to Maps.
    const V = 50;
    const ids = structuredIds(4000, V, 7);
    const train = ids.subarray(0, 3600);
    const val = ids.subarray(3600);
    for (const order of [1, 2, 3, 4, 5]) {
      for (const k of [1, 0.05]) {
        const model = fitNgram(train, V, order, { kind: 'addk', k });
        const ce = crossEntropy(model, val);
        expect(ce.predicted).toBe(val.length - Math.max(1, order - 1));
        expect(ce.nats).toBeCloseTo(referenceCrossEntropy(train, val, V, order, k), 10);
        // The same through the public logProb, one position at a time.
        let sum = 0;
        for (let t = Math.max(1, order - 1); t < val.length; t++) sum -= model.logProb(val.subarray(0, t), val[t]);
        expect(ce.nats).toBeCloseTo(sum / ce.predicted, 10);
      }
    }
  });

  test('a larger k pulls every model toward uniform, and the cross-entropy toward ln V', () => {
    const { train, val, V } = splitOf('the cat sat on the mat, the rat ate the hat. '.repeat(20), 'a cat and a rat on a mat');
    for (const order of [1, 2, 3]) {
      const gaps = [10, 1e3, 1e5, 1e7].map((k) =>
        Math.abs(crossEntropy(fitNgram(train, V, order, { kind: 'addk', k }), val).nats - Math.log(V)),
      );
      for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeLessThan(gaps[i - 1]);
      expect(gaps.at(-1)).toBeLessThan(1e-4);
    }
  });

  test('a trigram on a periodic text with small k predicts it almost surely, where a bigram cannot', () => {
    // "aab" repeated: after "a" comes a or b, so a bigram is unsure; after "aa", "ab" or "ba" the next is certain.
    const { train, val, V } = splitOf('aab'.repeat(300), 'aab'.repeat(30));
    const small: Smoothing = { kind: 'addk', k: 1e-6 };
    expect(crossEntropy(fitNgram(train, V, 3, small), val).nats).toBeLessThan(1e-6);
    // The bigram: train has N(a,a) = N(a,b) = 300, so p(· | a) ≈ 1/2, and p(a | b) ≈ 1. Of the 89
    // predicted val characters, 60 follow an "a" (positions 0, 1, 3, 4, …, 87, 88 before them), so H ≈ (60/89)·ln 2.
    expect(crossEntropy(fitNgram(train, V, 2, small), val).nats).toBeCloseTo((60 / 89) * Math.LN2, 5);
  });

  test('baselines gives unigram, bigram and trigram, each as fitted alone', () => {
    const V = 20;
    const ids = structuredIds(5000, V, 3);
    const train = ids.subarray(0, 4500);
    const val = ids.subarray(4500);
    const b = baselines(train, val, V, laplace);
    expect(b.unigram).toEqual(crossEntropy(fitNgram(train, V, 1, laplace), val));
    expect(b.bigram).toEqual(crossEntropy(fitNgram(train, V, 2, laplace), val));
    expect(b.trigram).toEqual(crossEntropy(fitNgram(train, V, 3, laplace), val));
    expect(b.bigram!.nats).toBeLessThan(b.unigram.nats); // each id is mostly a function of the one before
    expect(b.leftOut).toEqual([]);
  });

  test('an alphabet of 210,000 characters: the trigram is left out, saying why; the bigram, past a Map’s 2^24 keys’ reach, is counted', () => {
    const V = 210_000;
    const ids = Int32Array.from({ length: 6000 }, (_, i) => (i * 7919) % V);
    const [train, val] = [ids.subarray(0, 5000), ids.subarray(5000)];
    const b = baselines(train, val, V, laplace);
    expect(b.trigram).toBeNull();
    expect(b.leftOut).toEqual([
      { label: 'trigram', why: '210000 characters make 210000^3 (context, character) pairs, more than a double indexes exactly' },
    ]);
    expect(b.bigram).toEqual(crossEntropy(fitNgram(train, V, 2, laplace), val));
  });

  test('sparse counts (sorted keys) agree with dense ones', () => {
    // 2,100 characters: 2100^2 pairs pass the dense table's 2^22 cells, so the bigram counts are sparse.
    const V = 2100;
    const ids = Int32Array.from({ length: 50_000 }, (_, i) => ((i * i) % 97) + ((i * 31) % 2003));
    const [train, val] = [ids.subarray(0, 45_000), ids.subarray(45_000)];
    const model = fitNgram(train, V, 2, laplace);
    // The same probabilities counted by hand.
    const pairs = new Map<number, number>();
    const ctx = new Map<number, number>();
    for (let t = 1; t < train.length; t++) {
      pairs.set(train[t - 1] * V + train[t], (pairs.get(train[t - 1] * V + train[t]) ?? 0) + 1);
      ctx.set(train[t - 1], (ctx.get(train[t - 1]) ?? 0) + 1);
    }
    for (let t = 1; t < 200; t++) {
      const [c, x] = [val[t - 1], val[t]];
      expect(model.logProb([c], x)).toBeCloseTo(Math.log(((pairs.get(c * V + x) ?? 0) + 1) / ((ctx.get(c) ?? 0) + V)), 12);
    }
  });

  test.each([
    ['order 0', () => fitNgram(new Int32Array(4), 2, 0, laplace), /order must be a whole number ≥ 1, got 0/],
    ['order 1.5', () => fitNgram(new Int32Array(4), 2, 1.5, laplace), /order must be a whole number ≥ 1, got 1.5/],
    ['order NaN', () => fitNgram(new Int32Array(4), 2, NaN, laplace), /order must be a whole number ≥ 1, got NaN/],
    ['k = 0', () => fitNgram(new Int32Array(4), 2, 2, { kind: 'addk', k: 0 }), /finite k > 0, got 0/],
    ['k < 0', () => fitNgram(new Int32Array(4), 2, 2, { kind: 'addk', k: -1 }), /finite k > 0, got -1/],
    ['k NaN', () => fitNgram(new Int32Array(4), 2, 2, { kind: 'addk', k: NaN }), /finite k > 0, got NaN/],
    ['k ∞', () => fitNgram(new Int32Array(4), 2, 2, { kind: 'addk', k: Infinity }), /finite k > 0, got Infinity/],
    [
      'an unknown smoothing',
      () => fitNgram(new Int32Array(4), 2, 2, { kind: 'kneser-ney' } as unknown as Smoothing),
      /unknown smoothing "kneser-ney"/,
    ],
    ['vocabulary size 0', () => fitNgram(new Int32Array(0), 0, 2, laplace), /vocabulary size must be a whole number ≥ 1, got 0/],
    [
      'a train id outside the vocabulary',
      () => fitNgram(Int32Array.from([0, 1, 2]), 2, 2, laplace),
      /train id 2 at position 2 is outside the vocabulary \(size 2\)/,
    ],
    [
      'a val id outside the vocabulary',
      () => crossEntropy(fitNgram(Int32Array.from([0, 1]), 2, 2, laplace), Int32Array.from([0, -1])),
      /val id -1 at position 1/,
    ],
    [
      'a val split too short to predict one character',
      () => crossEntropy(fitNgram(Int32Array.from([0, 1]), 2, 3, laplace), Int32Array.from([0, 1])),
      /at least 3 characters/,
    ],
    [
      'a context too short for the order',
      () => fitNgram(Int32Array.from([0, 1]), 2, 3, laplace).logProb([1], 0),
      /needs 2 characters of context, got 1/,
    ],
    ['an order too high to pack exactly', () => fitNgram(new Int32Array(4), 100, 9, laplace), /100\^9 .* use a lower order/],
  ])('%s is a clear error', (_, f, message) => {
    expect(f).toThrow(message);
  });

  test('a 1M-character input fits and scores at every order up to 5', () => {
    // Orders 4 and 5 (90^4, 90^5 pairs) count into Maps, the rest into typed arrays.
    const V = 90;
    const ids = structuredIds(1_000_000, V, 11);
    const train = ids.subarray(0, 900_000);
    const val = ids.subarray(900_000);
    const nats = [1, 2, 3, 4, 5].map((order) => {
      const ce = crossEntropy(fitNgram(train, V, order, laplace), val);
      expect(ce.predicted).toBe(val.length - Math.max(1, order - 1));
      return ce.nats;
    });
    for (const h of nats) expect(h).toBeGreaterThan(0);
    expect(nats[1]).toBeLessThan(nats[0] - 1); // three ids in four follow from the one before
  });
});
