/**
 * The law a run's forecast fits (forecast.ts has why): Tissue et al. 2024 (Scaling Law with
 * Learning Rate Annealing, arXiv 2408.11029),
 *
 *   L(s) = L0 + A·term(S1(s)) − C·S2(s)   (+ δ for a held-out evaluation),
 *
 * term = S1^−α, or −ln S1 at α = 0, with S1 and S2 the schedule's forward and annealing areas.
 * Here: the areas of a schedule, and the law's constrained least-squares fit. Given α the law is
 * linear in (L0, A, C, δ), so each α is a small non-negative least-squares problem, and α (for
 * the power law) is profiled over a grid and refined.
 */
import { getLr, type Schedule } from './schedule.ts';

/** S2's momentum λ: the rate's drop takes effect over ~1/(1 − λ) steps (0.995 and 0.98 missed more on the bank). */
export const LAMBDA = 0.99;

/** The two areas at every step 0…last of a schedule: S1 (forward) and S2 (annealing, with momentum λ), in peak-rate steps. */
export function scheduleAreas(s: Schedule, last: number, lambda = LAMBDA): { S1: Float64Array; S2: Float64Array } {
  const S1 = new Float64Array(last + 1);
  const S2 = new Float64Array(last + 1);
  const peak = s.learningRate;
  let m = 0;
  let prev = getLr(s, 0) / peak;
  for (let k = 1; k <= last; k++) {
    const eta = getLr(s, k - 1) / peak; // the rate of the k-th update
    S1[k] = S1[k - 1] + eta;
    // Warm-up's rising rate is not annealing: only drops count.
    m = lambda * m + Math.max(0, prev - eta);
    S2[k] = S2[k - 1] + m;
    prev = eta;
  }
  return { S1, S2 };
}

/** One row of the least-squares problem: the steps whose mean it is, whether it is a held-out evaluation (δ applies), the loss, its weight. */
export interface Row {
  steps: number[];
  val: boolean;
  y: number;
  w: number;
}

/** The mean of f over a row's steps. */
export function meanOver(steps: number[], f: (k: number) => number): number {
  let t = 0;
  for (const k of steps) t += f(k);
  return t / steps.length;
}

/** Solves the small dense system M x = v by Gaussian elimination with partial pivoting; null if singular. */
function solve(M: number[][], v: number[]): number[] | null {
  const n = v.length;
  const a = M.map((r, i) => [...r, v[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    if (!(Math.abs(a[p][c]) > 1e-12 * (1 + Math.abs(a[c][c])))) return null;
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let k = c; k <= n; k++) a[r][k] -= f * a[c][k];
    }
  }
  return a.map((r, i) => r[n] / r[i]);
}

/** The term A multiplies: −ln S1 for the log law, S1^−α for the power law. */
export function term(S1: number, alpha: number): number {
  return alpha === 0 ? -Math.log(S1) : S1 ** -alpha;
}

/**
 * Least squares for θ = [L0, A, C, δ] at a fixed α: y ≈ L0 + A·term(S1) − C·S2 + δ·[val], A, C ≥ 0
 * (and L0 ≥ 0 for the power law, where it is the floor; δ is left out without evaluations), with a
 * ridge row √w·(C − prior.C). Four unknowns: every active set is tried, the best feasible kept.
 */
function nnls(rows: Row[], S1: Float64Array, S2: Float64Array, alpha: number, withVal: boolean, prior: { C: number; w: number } | null) {
  const X = rows.map((r) => [1, meanOver(r.steps, (k) => term(S1[k], alpha)), -meanOver(r.steps, (k) => S2[k]), r.val ? 1 : 0]);
  const nonneg = [alpha !== 0, true, true];
  let best: { theta: number[]; sse: number } | null = null;
  for (let mask = 0; mask < 8; mask++) {
    if ([0, 1, 2].some((k) => mask & (1 << k) && !nonneg[k])) continue; // only a constrained parameter is held at 0
    const free = [0, 1, 2, 3].filter((k) => (k < 3 ? !(mask & (1 << k)) : withVal));
    const M = free.map(() => free.map(() => 0));
    const v = free.map(() => 0);
    rows.forEach((r, i) => {
      free.forEach((p, a) => {
        v[a] += r.w * X[i][p] * r.y;
        free.forEach((q, b) => (M[a][b] += r.w * X[i][p] * X[i][q]));
      });
    });
    const ci = free.indexOf(2);
    if (prior && ci >= 0) {
      M[ci][ci] += prior.w;
      v[ci] += prior.w * prior.C;
    }
    const x = solve(M, v);
    if (!x) continue;
    const theta = [0, 0, 0, 0];
    free.forEach((p, a) => (theta[p] = x[a]));
    if ([0, 1, 2].some((k) => nonneg[k] && theta[k] < 0)) continue;
    let sse = 0;
    rows.forEach((r, i) => (sse += r.w * (r.y - X[i].reduce((t, xk, k) => t + xk * theta[k], 0)) ** 2));
    if (prior) sse += prior.w * (theta[2] - prior.C) ** 2;
    if (!best || sse < best.sse) best = { theta, sse };
  }
  return best;
}

const ALPHA_MIN = 0.02;
const ALPHA_MAX = 4;

/** The law fitted to `rows`: at α = 0 for the log law; for the power law, α over a log grid refined by golden-section search. */
export function fitLaw(
  rows: Row[],
  S1: Float64Array,
  S2: Float64Array,
  withVal: boolean,
  prior: { C: number; w: number } | null,
  law: 'log' | 'power',
) {
  const at = (alpha: number) => {
    const f = nnls(rows, S1, S2, alpha, withVal, prior);
    return f && { alpha, ...f };
  };
  if (law === 'log') {
    const f = at(0);
    return f && { best: f, atEdge: false };
  }
  const alphaOf = (u: number) => ALPHA_MIN * (ALPHA_MAX / ALPHA_MIN) ** u;
  const grid = 48;
  let best: ReturnType<typeof at> = null;
  let bestI = 0;
  for (let i = 0; i <= grid; i++) {
    const f = at(alphaOf(i / grid));
    if (f && (!best || f.sse < best.sse)) [best, bestI] = [f, i];
  }
  if (!best) return null;
  let lo = Math.max(0, bestI - 1) / grid;
  let hi = Math.min(grid, bestI + 1) / grid;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 30; it++) {
    const a = hi - g * (hi - lo);
    const b = lo + g * (hi - lo);
    const fa = at(alphaOf(a));
    const fb = at(alphaOf(b));
    if ((fa?.sse ?? Infinity) < (fb?.sse ?? Infinity)) hi = b;
    else lo = a;
    for (const f of [fa, fb]) if (f && f.sse < best.sse) best = f;
  }
  return { best, atEdge: bestI === 0 || bestI === grid };
}
