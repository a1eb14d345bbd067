import { describe, expect, test } from 'vitest';
import {
  copyEntropyRate,
  defaultCopyParams,
  formatCopySpec,
  generateCopy,
  isCopySpec,
  parseCopySpec,
  type CopyParams,
} from '../../src/core/copy.ts';
import { buildChain, stationaryDistribution } from '../../src/core/markov.ts';

describe('the copy corpus', () => {
  test('every line is a span of min..max letters of the alphabet, written twice', () => {
    const p: CopyParams = { ...defaultCopyParams, alphabet: 5, min: 2, max: 7, length: 20_000, seed: 3 };
    const { text } = generateCopy(p);
    expect(text).toHaveLength(20_000);
    const lines = text.split('\n').slice(0, -1); // the last one may be cut off
    const lengths = new Set<number>();
    for (const line of lines) {
      const L = line.length / 2;
      expect(Number.isInteger(L) && L >= 2 && L <= 7, line).toBe(true);
      expect(line.slice(L)).toBe(line.slice(0, L));
      expect(line).toMatch(/^[a-e]+$/);
      lengths.add(L);
    }
    expect([...lengths].sort()).toEqual([2, 3, 4, 5, 6, 7]);
    expect(new Set(text)).toEqual(new Set('abcde\n'));
  });

  test('the same parameters give the same text; another seed another one; a shorter length a prefix', () => {
    const a = generateCopy({ length: 5000, seed: 1 }).text;
    expect(generateCopy({ length: 5000, seed: 1 }).text).toBe(a);
    expect(generateCopy({ length: 5000, seed: 2 }).text).not.toBe(a);
    expect(generateCopy({ length: 1234, seed: 1 }).text).toBe(a.slice(0, 1234));
  });

  test('the entropy rate is a line’s entropy over its mean length: 1.442 nats for the defaults', () => {
    expect(copyEntropyRate(defaultCopyParams)).toBeCloseTo((Math.log(13) + 10 * Math.log(16)) / 21, 12);
    expect(copyEntropyRate(defaultCopyParams)).toBeCloseTo(1.4424, 4);
    // One span length: only the span's letters are news.
    expect(copyEntropyRate({ ...defaultCopyParams, min: 3, max: 3 })).toBeCloseTo((3 * Math.log(16)) / 7, 12);
  });

  test("the text's own log-probability per character, line by line, converges to the entropy rate", () => {
    // Each whole line costs ln(max − min + 1) + L·ln V nats under the source; averaged over many
    // lines and their characters that is the renewal-reward estimate of H.
    const p = { ...defaultCopyParams, length: 400_000, seed: 7 };
    const { text, entropyRate } = generateCopy(p);
    const lines = text.split('\n').slice(0, -1);
    let nats = 0;
    let chars = 0;
    for (const line of lines) {
      nats += Math.log(p.max - p.min + 1) + (line.length / 2) * Math.log(p.alphabet);
      chars += line.length + 1;
    }
    expect(Math.abs(nats / chars - entropyRate)).toBeLessThan(0.01);
  });

  test('repeats: each span written that many times', () => {
    const { text, entropyRate } = generateCopy({ repeats: 3, length: 3000 });
    for (const line of text.split('\n').slice(0, -1)) {
      const L = line.length / 3;
      expect(line).toBe(line.slice(0, L).repeat(3));
    }
    expect(entropyRate).toBeCloseTo((Math.log(13) + 10 * Math.log(16)) / 31, 12);
  });

  test('spans from an order-k chain: the log-probability of the text under the chain converges to the entropy rate', () => {
    for (const order of [1, 2]) {
      const p = { ...defaultCopyParams, alphabet: 6, min: 3, max: 9, order, alpha: 0.3, length: 400_000, seed: 5 };
      const { text, entropyRate } = generateCopy(p);
      const chain = buildChain({ alphabet: 'abcdef', order, alpha: 0.3, seed: 5 });
      const pi = stationaryDistribution(chain);
      const V = 6;
      let nats = 0;
      let chars = 0;
      for (const line of text.split('\n').slice(0, -1)) {
        const span = Array.from(line.slice(0, line.length / 2), (c) => c.charCodeAt(0) - 97);
        let s = 0;
        for (let i = 0; i < order; i++) s = s * V + span[i]; // the first state: its letters, oldest first
        nats -= Math.log(pi[s]);
        for (let i = order; i < span.length; i++) {
          nats -= Math.log(chain.probs[s * V + span[i]]);
          s = (s * V + span[i]) % V ** order;
        }
        nats += Math.log(p.max - p.min + 1);
        chars += line.length + 1;
      }
      expect(Math.abs(nats / chars - entropyRate), `order ${order}`).toBeLessThan(0.01);
      expect(entropyRate).toBeLessThan(copyEntropyRate({ ...p, order: 0 })); // a chain's letters are more predictable than uniform ones
    }
  });

  test('specs: defaults, every key, round trips and refusals that name the key', () => {
    expect(isCopySpec('copy')).toBe(true);
    expect(isCopySpec('copy:min=2')).toBe(true);
    expect(isCopySpec('copy.txt')).toBe(false);
    expect(parseCopySpec('copy')).toEqual(defaultCopyParams);
    const p = parseCopySpec('copy:alphabet=8,min=3,max=9,length=5000,seed=4');
    expect(p).toEqual({ ...defaultCopyParams, alphabet: 8, min: 3, max: 9, length: 5000, seed: 4 });
    expect(parseCopySpec(formatCopySpec(p))).toEqual(p);
    expect(() => parseCopySpec('copy:span=3')).toThrow(/unknown key "span"/);
    expect(() => parseCopySpec('copy:min=3,min=4')).toThrow(/min is given twice/);
    expect(() => parseCopySpec('copy:min=x')).toThrow(/min must be a non-negative integer/);
    expect(() => parseCopySpec('copy:min=9,max=3')).toThrow(/max \(3\) must be at least min \(9\)/);
    expect(() => parseCopySpec('copy:alphabet=1')).toThrow(/alphabet must be an integer from 2 to 62/);
    expect(() => parseCopySpec('copy:length=0')).toThrow(/length must be an integer from 1/);
    expect(parseCopySpec('copy:order=2,alpha=0.25')).toMatchObject({ order: 2, alpha: 0.25 });
    expect(() => parseCopySpec('copy:order=4')).toThrow(/order must be an integer from 0 to 3/);
    expect(() => parseCopySpec('copy:alpha=0')).toThrow(/alpha must be a number from 0.05/);
  });
});
