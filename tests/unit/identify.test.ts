import { describe, expect, test } from 'vitest';
import { bootstrapChinchilla } from '../../src/core/bootstrap.ts';
import { identifyChinchilla } from '../../src/core/identify.ts';
import { chinchillaLoss } from '../../src/core/scaling.ts';
import { Rng } from '../../src/core/rng.ts';

const law = { E: 1.3, A: 40, B: 90, alpha: 0.5, beta: 0.45 };

/** A grid of points from `law`, times exp(noise·z). */
function grid(Ns: number[], Ds: number[], noise = 0, seed = 1) {
  const rng = new Rng(seed);
  return Ns.flatMap((N) => Ds.map((D) => ({ N, D, loss: chinchillaLoss(law, N, D) * Math.exp(noise * rng.normal()) })));
}

const wide = grid([1e4, 3e4, 1e5, 3e5], [1e5, 3e5, 1e6, 3e6]);

describe('identifiability of an L(N, D) fit', () => {
  test('a fit to points that span the curve is a law', () => {
    const pts = grid([1e4, 3e4, 1e5, 3e5], [1e5, 3e5, 1e6, 3e6], 0.005);
    const b = bootstrapChinchilla(pts, { samples: 40, seed: 1 });
    expect(identifyChinchilla(pts, b.fit, { intervals: b, plateau: 3.1 })).toEqual({ identifiable: true, reasons: [] });
  });

  test('too few distinct sizes or token counts', () => {
    const two = grid([1e4, 1e5], [1e5, 3e5, 1e6]);
    const r = identifyChinchilla(two, law);
    expect(r.identifiable).toBe(false);
    expect(r.reasons).toEqual(['only 2 distinct model sizes (N): A and α need 3 or more']);
    const oneD = grid([1e4, 3e4, 1e5], [1e6]);
    expect(identifyChinchilla(oneD, law).reasons).toEqual(['only 1 distinct token count (D): B and β need 3 or more']);
  });

  test('E at its bound, 0', () => {
    const r = identifyChinchilla(wide, { ...law, E: 2e-18 });
    expect(r.reasons).toEqual(['E → 0 (E = 2.0e-18): the points show no floor, so the law would fall without limit']);
    expect(identifyChinchilla(wide, { ...law, E: 0.05 }).identifiable).toBe(true); // small but a floor
  });

  test('an exponent at 0 or past 5, and parameters that are not finite and positive', () => {
    expect(identifyChinchilla(wide, { ...law, alpha: 0.01 }).reasons).toEqual([
      'α → 0 (α = 0.01): the loss hardly depends on N in these points',
    ]);
    expect(identifyChinchilla(wide, { ...law, beta: 23.66 }).reasons).toContain('β = 23.7: no power law is that steep');
    expect(identifyChinchilla(wide, { ...law, A: Infinity, B: NaN }).reasons).toEqual(['A, B are not a finite positive number']);
    // Their intervals are not read: NaN bounds would say nothing more.
    const nan: [number, number] = [NaN, NaN];
    expect(identifyChinchilla(wide, { ...law, A: Infinity }, { intervals: { A: nan, B: [10, 100] } }).reasons).toEqual([
      'A is not a finite positive number',
    ]);
  });

  test('coefficient intervals spanning more than 12 orders of magnitude; exponent intervals are not judged', () => {
    const iv = (x: number, y: number): [number, number] => [x, y];
    const plateau = { A: iv(1.17, 1.7e66), B: iv(3.52, 8.0e14) }; // sweep --sizes 1x16,1x32,2x32,2x48 --tokens 100000
    expect(identifyChinchilla(wide, law, { intervals: plateau }).reasons).toEqual([
      "A's bootstrap interval [1.17, 1.7e+66] spans 66 orders of magnitude: the points do not pin it",
      "B's bootstrap interval [3.52, 8.0e+14] spans 14 orders of magnitude: the points do not pin it",
    ]);
    // The README's sweeps: markov (A over 9 orders, α from 0.019 to 2.5) and Moby-Dick (α over 11×) are laws.
    expect(identifyChinchilla(wide, law, { intervals: { A: iv(1.06, 1.1e9), B: iv(2555, 1.6e7) } }).identifiable).toBe(true);
    expect(identifyChinchilla(wide, law, { intervals: { A: iv(3.89, 31474), B: iv(11.1, 179) } }).identifiable).toBe(true);
    expect(identifyChinchilla(wide, law, { intervals: { A: iv(0, 10), B: iv(11.1, 179) } }).reasons).toEqual([
      "A's bootstrap interval [0, 10] spans everything: the points do not pin it",
    ]);
  });

  test('points still on the initial plateau', () => {
    // Only the largest model's last points are below the unigram level.
    const pts = wide.map((p) => ({ ...p, loss: p.N === 3e5 && p.D >= 1e6 ? 2.5 : 3.2 }));
    const r = identifyChinchilla(pts, law, { plateau: 3.1 });
    expect(r.reasons).toEqual([
      '14 of 16 points are at or above the unigram level (3.1 nats/char), still on the initial plateau; below it only 2 points from 1 size remain',
    ]);
    expect(identifyChinchilla(pts, law, { plateau: null }).identifiable).toBe(true); // unknown plateau: not judged
  });

  test('a term that does not change the loss across the points: constant losses fit no law', () => {
    const flat = wide.map((p) => ({ ...p, loss: 2 }));
    const r = identifyChinchilla(flat, { E: 2, A: 4e-10, B: 3e-40, alpha: 3.8, beta: 4 });
    expect(r.reasons).toEqual([
      'the fitted A/N^α changes the loss by 2.5e-25 across these sizes: the points show no dependence on N',
      'the fitted B/D^β changes the loss by 3.0e-60 across these token counts: the points show no dependence on D',
    ]);
  });

  test('a sweep of tiny models that stopped on the plateau fits a degenerate law, and is told so', () => {
    // What a 100k-token sweep of 1x16…2x48 on Moby-Dick looks like: losses from 3.3 to 2.7, barely separated by N.
    const rng = new Rng(3);
    const pts = [1.2e3, 3.5e3, 2.4e4, 5.5e4].flatMap((N, i) =>
      [3.4e4, 6.8e4, 1.02e5].map((D, j) => ({ N, D, loss: 3.3 - 0.12 * j - 0.08 * i + 0.01 * rng.normal() })),
    );
    const b = bootstrapChinchilla(pts, { samples: 40, seed: 0 });
    const r = identifyChinchilla(pts, b.fit, { intervals: b, plateau: 3.1176 });
    expect(r.identifiable).toBe(false);
    expect(r.reasons.length).toBeGreaterThan(0);
  });
});
