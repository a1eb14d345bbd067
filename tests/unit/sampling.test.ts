import { describe, expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { annealedDistribution, MAX_GENERATE_LENGTH, sampleIndex, sampleRequestIssues } from '../../src/core/sampling.ts';

const p = [0.1, 0.2, 0.6, 0.1];

describe('annealedDistribution', () => {
  test('T = 1 leaves the distribution unchanged', () => {
    annealedDistribution(p, 1).forEach((q, i) => expect(q).toBeCloseTo(p[i], 12));
  });

  test('matches p^(1/T) normalised', () => {
    for (const T of [0.5, 2, 3.7]) {
      const raw = p.map((x) => x ** (1 / T));
      const z = raw.reduce((a, b) => a + b);
      annealedDistribution(p, T).forEach((q, i) => expect(q).toBeCloseTo(raw[i] / z, 12));
    }
  });

  test('T = 0 is argmax, and tiny T approaches it without NaN', () => {
    expect(annealedDistribution(p, 0)).toEqual([0, 0, 1, 0]);
    const q = annealedDistribution(p, 1e-9);
    expect(q.every(Number.isFinite)).toBe(true);
    expect(q[2]).toBe(1);
  });

  test('T = 0 splits the mass between tied maxima', () => {
    expect(annealedDistribution([0.4, 0.4, 0.2], 0)).toEqual([0.5, 0.5, 0]);
  });

  test('very large T approaches uniform', () => {
    for (const q of [annealedDistribution(p, 1e6), annealedDistribution(p, Infinity)]) {
      q.forEach((x) => expect(x).toBeCloseTo(0.25, 5));
    }
  });

  test('characters with probability 0 stay impossible at any temperature', () => {
    expect(annealedDistribution([0, 1, 3], 1e6)[0]).toBe(0);
  });

  test('negative or NaN temperature, or a bad distribution, is an error', () => {
    expect(() => annealedDistribution(p, -1)).toThrow(/temperature/);
    expect(() => annealedDistribution(p, NaN)).toThrow(/temperature/);
    expect(() => annealedDistribution([], 1)).toThrow();
    expect(() => annealedDistribution([0, 0], 1)).toThrow(/sum to 0/);
    expect(() => annealedDistribution([0.5, NaN], 1)).toThrow();
  });
});

describe('sampleIndex', () => {
  test('draws with the given frequencies', () => {
    const rng = new Rng(3);
    const counts = [0, 0, 0, 0];
    const n = 40000;
    for (let i = 0; i < n; i++) counts[sampleIndex(p, rng)]++;
    counts.forEach((c, i) => expect(c / n).toBeCloseTo(p[i], 2));
  });

  test('never draws a zero-probability index', () => {
    const rng = new Rng(4);
    for (let i = 0; i < 1000; i++) expect(sampleIndex([0, 1, 0], rng)).toBe(1);
  });
});

describe('sample request settings, as the Sample panel checks them', () => {
  const ok = { prompt: 'The ', temperature: 0.8, length: 200, seed: 1 };
  test('good settings, and the edges that are allowed, have no issue', () => {
    for (const r of [
      ok,
      { ...ok, temperature: 0 },
      { ...ok, temperature: 1e6 },
      { ...ok, length: 0 },
      { ...ok, length: MAX_GENERATE_LENGTH },
    ]) {
      expect(sampleRequestIssues(r)).toEqual([]);
    }
  });
  test.each([
    ['an empty prompt', { prompt: '' }, 'prompt'],
    ['a negative temperature', { temperature: -0.1 }, 'temperature'],
    ['a NaN temperature', { temperature: NaN }, 'temperature'],
    ['an emptied temperature field', { temperature: null as unknown as number }, 'temperature'],
    ['a length over the limit', { length: MAX_GENERATE_LENGTH + 1 }, 'length'],
    ['a fractional length', { length: 2.5 }, 'length'],
    ['a negative seed', { seed: -1 }, 'seed'],
  ])('%s is an issue of its own field', (_, change, field) => {
    const issues = sampleRequestIssues({ ...ok, ...change });
    expect(issues.map((i) => i.field)).toEqual([field]);
  });
});
