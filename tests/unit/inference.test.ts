import { describe, expect, test } from 'vitest';
import {
  charLabel,
  displayChar,
  formatPercent,
  heatColours,
  heatIntensity,
  nextCharChart,
  refreshEvery,
  toBits,
  topK,
} from '../../src/lib/inference.ts';

const vocab = ['\n', ' ', 'a', 'b', 'c'];

describe('topK', () => {
  test('returns the k most probable characters, most probable first', () => {
    const top = topK([0.05, 0.4, 0.1, 0.3, 0.15], vocab, 3);
    expect(top.map((r) => r.char)).toEqual([' ', 'b', 'c']);
    expect(top.map((r) => r.index)).toEqual([1, 3, 4]);
    expect(top.map((r) => r.p)).toEqual([0.4, 0.3, 0.15]);
  });

  test('keeps vocabulary order between equal probabilities', () => {
    expect(topK([0.2, 0.2, 0.2, 0.2, 0.2], vocab, 5).map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
    expect(topK([0.1, 0.3, 0.1, 0.3, 0.2], vocab, 4).map((r) => r.index)).toEqual([1, 3, 4, 0]);
  });

  test('returns the whole vocabulary when k is larger, and nothing when k is 0', () => {
    expect(topK([0.1, 0.2, 0.3, 0.2, 0.2], vocab, 99)).toHaveLength(5);
    expect(topK([0.1, 0.2, 0.3, 0.2, 0.2], vocab, 0)).toEqual([]);
  });

  test('refuses probabilities that do not match the vocabulary', () => {
    expect(() => topK([0.5, 0.5], vocab, 2)).toThrow(/2 probabilities for a vocabulary of 5/);
  });
});

describe('nextCharChart', () => {
  const probs = [0.05, 0.4, 0.1, 0.3, 0.15];

  test('at T = 1 both columns are the model distribution', () => {
    const { rows, restP, restPT } = nextCharChart(probs, vocab, 1, 2);
    for (const r of rows) expect(r.pT).toBeCloseTo(r.p, 12);
    expect(restP).toBeCloseTo(0.3, 12);
    expect(restPT).toBeCloseTo(0.3, 12);
  });

  test('at T = 0 the most probable character gets all the mass', () => {
    const { rows, restPT } = nextCharChart(probs, vocab, 0, 3);
    expect(rows.map((r) => r.pT)).toEqual([1, 0, 0]);
    expect(restPT).toBe(0);
  });

  test('a low temperature sharpens and a high one flattens, without changing which characters are shown', () => {
    const cold = nextCharChart(probs, vocab, 0.5, 3);
    const hot = nextCharChart(probs, vocab, 3, 3);
    expect(cold.rows.map((r) => r.char)).toEqual(hot.rows.map((r) => r.char));
    expect(cold.rows[0].pT).toBeGreaterThan(0.4);
    expect(hot.rows[0].pT).toBeLessThan(0.4);
    expect(hot.restPT).toBeGreaterThan(cold.restPT);
  });

  test('the rest is never negative when the shown characters hold all the mass', () => {
    const { restP, restPT } = nextCharChart([0.1, 0.2, 0.3, 0.3, 0.1], vocab, 0.7, 5);
    expect(restP).toBeGreaterThanOrEqual(0);
    expect(restPT).toBeGreaterThanOrEqual(0);
    expect(restP).toBeLessThan(1e-12);
  });
});

describe('displayChar', () => {
  test('shows space, newline, tab and carriage return as symbols', () => {
    expect([' ', '\n', '\t', '\r'].map(displayChar)).toEqual(['␣', '↵', '⇥', '␍']);
  });

  test('shows other control characters as their control pictures', () => {
    expect(displayChar('\u0000')).toBe('␀');
    expect(displayChar('\u001b')).toBe('␛');
    expect(displayChar('\u007f')).toBe('␡');
  });

  test('leaves printable characters, accented and astral ones included, as they are', () => {
    for (const ch of ['a', 'Z', '.', '"', 'é', '😀']) expect(displayChar(ch)).toBe(ch);
  });
});

describe('charLabel', () => {
  test('names whitespace in words and gives the code point', () => {
    expect(charLabel(' ')).toBe('space (U+0020)');
    expect(charLabel('\n')).toBe('newline (U+000A)');
  });

  test('quotes other characters with their code point, astral ones as one code point', () => {
    expect(charLabel('é')).toBe('"é" (U+00E9)');
    expect(charLabel('😀')).toBe('"😀" (U+1F600)');
  });
});

describe('surprisal colours', () => {
  test('one bit is ln 2 nats', () => {
    expect(toBits(Math.LN2)).toBeCloseTo(1, 12);
    expect(toBits(Math.log(256))).toBeCloseTo(8, 12);
  });

  test('intensity grows linearly with bits and is clamped to [0, 1]', () => {
    expect(heatIntensity(0)).toBe(0);
    expect(heatIntensity(4, 8)).toBe(0.5);
    expect(heatIntensity(20, 8)).toBe(1);
    expect(heatIntensity(Infinity)).toBe(1);
    expect(heatIntensity(-1)).toBe(0);
    expect(heatIntensity(NaN)).toBe(1);
  });

  test('darker shades have a lower lightness and switch to white text', () => {
    const lightness = (c: string) => Number(/(\d+(?:\.\d+)?)%\)$/.exec(c)![1]);
    const shades = [0, 0.25, 0.5, 0.75, 1].map(heatColours);
    for (let i = 1; i < shades.length; i++) {
      expect(lightness(shades[i].background)).toBeLessThan(lightness(shades[i - 1].background));
    }
    expect(shades[0].color).toBe('#222');
    expect(shades[4].color).toBe('#fff');
  });
});

describe('formatPercent', () => {
  test('gives one decimal, and says when a probability is below what that can show', () => {
    expect(formatPercent(0.2314)).toBe('23.1%');
    expect(formatPercent(1)).toBe('100.0%');
    expect(formatPercent(0.004)).toBe('0.4%');
    expect(formatPercent(0.0004)).toBe('<0.1%');
    expect(formatPercent(0)).toBe('0%');
  });
});

describe('refreshEvery', () => {
  test('is a twentieth of the run, from 10 to 250 steps', () => {
    expect(refreshEvery(600)).toBe(30);
    expect(refreshEvery(10)).toBe(10);
    expect(refreshEvery(100_000)).toBe(250);
    expect(refreshEvery(0)).toBe(10);
  });
});
