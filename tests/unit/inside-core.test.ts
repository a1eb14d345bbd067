import { describe, expect, test } from 'vitest';
import { describeHead, headLabel } from '../../src/core/heads.ts';
import { defaultProbeLength, phaseChangeStep, probeChoices } from '../../src/core/icl.ts';
import { projectRows } from '../../src/core/pca.ts';

/** A T×T attention matrix whose row q puts all its weight on key pick(q). */
function oneHot(T: number, pick: (q: number) => number): Float32Array {
  const w = new Float32Array(T * T);
  for (let q = 0; q < T; q++) w[q * T + pick(q)] = 1;
  return w;
}

describe('head descriptions', () => {
  const ids = [0, 1, 2, 1, 3, 2, 4, 1];
  const T = ids.length;

  test('a head on the previous character, on the first, on itself', () => {
    const prev = describeHead(
      oneHot(T, (q) => Math.max(0, q - 1)),
      ids,
    );
    expect(prev).toMatchObject({ pattern: 'previous char', previous: 1, entropy: 0 });
    expect(headLabel(prev)).toBe('previous char 100% · entropy 0.00');
    expect(
      describeHead(
        oneHot(T, () => 0),
        ids,
      ).pattern,
    ).toBe('first char');
    expect(
      describeHead(
        oneHot(T, (q) => q),
        ids,
      ).pattern,
    ).toBe('itself');
  });

  test('a head on the earlier occurrence of its own character', () => {
    const earlier = (q: number) => {
      const k = ids.lastIndexOf(ids[q], q - 1);
      return k >= 0 ? k : q;
    };
    const s = describeHead(oneHot(T, earlier), ids);
    expect(s.same).toBeCloseTo(3 / 7, 12); // queries 3, 5 and 7 find an earlier one
  });

  test('an even head is spread, its entropy the mean of ln(q + 1)', () => {
    const w = new Float32Array(T * T);
    for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) w[q * T + k] = 1 / (q + 1);
    const s = describeHead(w, ids);
    expect(s.pattern).toBe('spread');
    let h = 0;
    for (let q = 1; q < T; q++) h += Math.log(q + 1);
    expect(s.entropy).toBeCloseTo(h / (T - 1), 6);
  });
});

describe('the probe’s choices', () => {
  test('every character but line breaks; all of them if that leaves fewer than two', () => {
    expect(probeChoices(['\n', ' ', 'a', 'b'])).toEqual([1, 2, 3]);
    expect(probeChoices(['\n', 'a'])).toEqual([0, 1]);
    expect(defaultProbeLength(64)).toBe(16);
    expect(defaultProbeLength(20)).toBe(10);
  });

  test('the phase change is the first probe whose score reaches half of chance', () => {
    const chance = Math.log(16);
    const at = (step: number, second: number) => ({ step, first: chance, second, chance });
    expect(phaseChangeStep([at(0, chance), at(100, chance - 0.2)])).toBeNull();
    expect(phaseChangeStep([at(0, chance), at(100, chance - 0.2), at(200, 1.3), at(300, 0.2)])).toBe(200);
  });
});

describe('principal components', () => {
  test('points on a line in 3-D project onto the first component, with all the variance', () => {
    const rows = [-2, -1, 0, 1, 2].map((t) => [1 + 2 * t, 3 - t, 2 * t]);
    const p = projectRows(rows.flat(), 5, 3);
    const norm = Math.sqrt(4 + 1 + 4);
    p.points.forEach(([x, y], i) => {
      expect(Math.abs(x)).toBeCloseTo(Math.abs([-2, -1, 0, 1, 2][i] * norm), 6);
      expect(y).toBeCloseTo(0, 6);
    });
    expect(p.explained[0]).toBeCloseTo(1, 9);
  });

  test('an axis-aligned cloud: the components are the axes of largest variance, in order', () => {
    const data: number[] = [];
    for (const a of [-3, 3]) for (const b of [-1, 1]) for (const c of [-0.1, 0.1]) data.push(b, c, a);
    const p = projectRows(data, 8, 3);
    expect(p.explained[0]).toBeCloseTo(9 / 10.01, 6);
    expect(p.explained[1]).toBeCloseTo(1 / 10.01, 6);
    p.points.forEach(([x, y], i) => {
      expect(Math.abs(x)).toBeCloseTo(3, 6);
      expect(Math.abs(y)).toBeCloseTo(Math.abs(data[i * 3]), 6);
    });
  });
});
