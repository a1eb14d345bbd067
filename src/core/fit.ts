/**
 * Fitting scaling laws the way Hoffmann et al. 2022 (Training Compute-Optimal Large Language
 * Models, §3.3 and Appendix D.2) describe, as corrected by Besiroglu et al. 2024 (Chinchilla
 * Scaling: A replication attempt, Epoch AI):
 *
 *   L(N, D) = E + A/N^α + B/D^β,  parameterised as  log L̂ = LSE(a − α·log N, b − β·log D, e)
 *
 * with A = eᵃ, B = eᵇ, E = eᵉ (LSE is log-sum-exp), so every parameter is unconstrained and
 * A, B, E stay positive. The objective is the SUM over points of Huber_δ(log L̂ᵢ − log Lᵢ),
 * δ = 1e-3. Summing matters in practice: the mean has the same minimiser, but its values and
 * gradients are n times smaller, so an optimiser with absolute stopping tolerances stops it
 * early; Besiroglu et al. trace Hoffmann et al.'s poorly fitting estimates to such a premature
 * stop ("a poor choice of loss scale").
 * It is minimised by L-BFGS from a grid of starting points, keeping the best.
 */
import { chinchillaLoss, type ChinchillaLaw } from './scaling.ts';
import { lbfgs, type MinimizeOptions } from './optimize.ts';

export interface ChinchillaPoint {
  N: number; // parameters
  D: number; // training tokens
  loss: number; // nats per token
}

export interface LNPoint {
  N: number;
  loss: number;
}

/** L(N) = E + A/N^α. */
export interface LNLaw {
  E: number;
  A: number;
  alpha: number;
}

export interface FitOptions extends MinimizeOptions {
  delta?: number; // Huber δ; default 1e-3
  reduction?: 'sum' | 'mean'; // default 'sum'; 'mean' only to reproduce the pitfall above
  /** Starting points [a, b, e, α, β] (fitChinchilla) or [a, e, α] (fitLN); default the grid. */
  starts?: number[][];
}

export interface ChinchillaFit extends ChinchillaLaw {
  a: number;
  b: number;
  e: number;
  loss: number; // the objective at the optimum
  converged: boolean;
  predict(N: number, D: number): number;
}

export interface LNFit extends LNLaw {
  a: number;
  e: number;
  loss: number;
  converged: boolean;
  predict(N: number): number;
}

export const HUBER_DELTA = 1e-3;

// Hoffmann et al.'s grid (Appendix D.2), as Besiroglu et al. reran it.
const EXPONENTS = [0, 0.5, 1, 1.5, 2];
const E_GRID = [-1, -0.5, 0, 0.5, 1];
const LOG_COEFFS = [0, 5, 10, 15, 20, 25];

/** Huber_δ(r) = r²/2 for |r| ≤ δ, δ·(|r| − δ/2) beyond. */
export function huber(r: number, delta: number): number {
  const ar = Math.abs(r);
  return ar <= delta ? 0.5 * r * r : delta * (ar - 0.5 * delta);
}

/** dHuber_δ/dr: r clipped to [−δ, δ]. */
function huberGrad(r: number, delta: number): number {
  return r > delta ? delta : r < -delta ? -delta : r;
}

/** The grid of starting points [a, b, e, α, β]: 6·6·5·5·5 = 4500. */
export function chinchillaGrid(): number[][] {
  const out: number[][] = [];
  for (const a of LOG_COEFFS)
    for (const b of LOG_COEFFS) for (const e of E_GRID) for (const al of EXPONENTS) for (const be of EXPONENTS) out.push([a, b, e, al, be]);
  return out;
}

/** The grid of starting points [a, e, α]: 6·5·5 = 150. */
export function lnGrid(): number[][] {
  const out: number[][] = [];
  for (const a of LOG_COEFFS) for (const e of E_GRID) for (const al of EXPONENTS) out.push([a, e, al]);
  return out;
}

/**
 * The objective and its gradient over parameters p = [a, b, e, α, β] (or [a, e, α] when D is
 * absent). With uᵢ = (a − α·log Nᵢ, b − β·log Dᵢ, e), rᵢ = LSE(uᵢ) − log Lᵢ and softmax weights
 * wᵢₖ = exp(uᵢₖ − LSE(uᵢ)):
 *   ∂rᵢ/∂a = wᵢ₁, ∂rᵢ/∂α = −wᵢ₁·log Nᵢ, ∂rᵢ/∂b = wᵢ₂, ∂rᵢ/∂β = −wᵢ₂·log Dᵢ, ∂rᵢ/∂e = wᵢ₃,
 * and ∇ Σᵢ Huber_δ(rᵢ) = Σᵢ clip(rᵢ, ±δ)·∇rᵢ.
 */
class Objective {
  readonly logN: Float64Array;
  readonly logD: Float64Array | null;
  readonly logL: Float64Array;
  constructor(
    N: ArrayLike<number>,
    D: ArrayLike<number> | null,
    loss: ArrayLike<number>,
    readonly delta: number,
    readonly scale: number, // 1 for the sum, 1/n for the mean
  ) {
    this.logN = Float64Array.from(N, Math.log);
    this.logD = D ? Float64Array.from(D, Math.log) : null;
    this.logL = Float64Array.from(loss, Math.log);
  }

  /** Writes ∇ into grad (same layout as p) and returns the objective. */
  eval(p: ArrayLike<number>, grad: Float64Array): number {
    const { logN, logD, logL, delta } = this;
    grad.fill(0);
    let total = 0;
    if (logD) {
      const [a, b, e, al, be] = p as [number, number, number, number, number];
      for (let i = 0; i < logL.length; i++) {
        const u1 = a - al * logN[i];
        const u2 = b - be * logD[i];
        const m = Math.max(u1, u2, e);
        const x1 = Math.exp(u1 - m);
        const x2 = Math.exp(u2 - m);
        const x3 = Math.exp(e - m);
        const s = x1 + x2 + x3;
        const r = m + Math.log(s) - logL[i];
        total += huber(r, delta);
        const h = huberGrad(r, delta) / s;
        grad[0] += h * x1;
        grad[1] += h * x2;
        grad[2] += h * x3;
        grad[3] -= h * x1 * logN[i];
        grad[4] -= h * x2 * logD[i];
      }
    } else {
      const [a, e, al] = p as [number, number, number];
      for (let i = 0; i < logL.length; i++) {
        const u1 = a - al * logN[i];
        const m = Math.max(u1, e);
        const x1 = Math.exp(u1 - m);
        const x3 = Math.exp(e - m);
        const s = x1 + x3;
        const r = m + Math.log(s) - logL[i];
        total += huber(r, delta);
        const h = huberGrad(r, delta) / s;
        grad[0] += h * x1;
        grad[1] += h * x3;
        grad[2] -= h * x1 * logN[i];
      }
    }
    for (let k = 0; k < grad.length; k++) grad[k] *= this.scale;
    return total * this.scale;
  }
}

/** The L(N, D) objective over these points; 'mean' divides the sum by n (kept only to test that it is not used). */
function chinchillaObjectiveOf(points: ChinchillaPoint[], opts: { delta?: number; reduction?: 'sum' | 'mean' }): Objective {
  const scale = opts.reduction === 'mean' ? 1 / points.length : 1;
  return new Objective(
    points.map((q) => q.N),
    points.map((q) => q.D),
    points.map((q) => q.loss),
    opts.delta ?? HUBER_DELTA,
    scale,
  );
}

/** The L(N) objective over these points. */
function lnObjectiveOf(points: LNPoint[], opts: { delta?: number; reduction?: 'sum' | 'mean' }): Objective {
  const scale = opts.reduction === 'mean' ? 1 / points.length : 1;
  return new Objective(
    points.map((q) => q.N),
    null,
    points.map((q) => q.loss),
    opts.delta ?? HUBER_DELTA,
    scale,
  );
}

/**
 * The fitting objective Σᵢ Huber_δ(LSE(a − α·log Nᵢ, b − β·log Dᵢ, e) − log Lᵢ) at
 * p = [a, b, e, α, β], with its analytic gradient.
 */
export function chinchillaObjective(
  p: ArrayLike<number>,
  points: ChinchillaPoint[],
  opts: { delta?: number; reduction?: 'sum' | 'mean' } = {},
): { value: number; grad: Float64Array } {
  const obj = chinchillaObjectiveOf(points, opts);
  const grad = new Float64Array(5);
  return { value: obj.eval(p, grad), grad };
}

/** The one-variable objective Σᵢ Huber_δ(LSE(a − α·log Nᵢ, e) − log Lᵢ) at p = [a, e, α]. */
export function lnObjective(p: ArrayLike<number>, points: LNPoint[], opts: { delta?: number } = {}): { value: number; grad: Float64Array } {
  const obj = lnObjectiveOf(points, opts);
  const grad = new Float64Array(3);
  return { value: obj.eval(p, grad), grad };
}

/**
 * Minimises obj from each start and keeps the lowest. The optimiser works in centred
 * coordinates a' = a + α·c_N, b' = b + β·c_D (c = mean log), so a and α are not nearly
 * collinear (log N spans e.g. 16…23, far from 0); the minimiser is the same.
 * `exps` are the indices of the exponents in p and `coefs` those of the coefficients they pair with.
 */
function minimizeFromStarts(
  obj: Objective,
  starts: number[][],
  coefs: number[],
  exps: number[],
  centres: number[],
  opts: MinimizeOptions,
): { p: number[]; value: number; converged: boolean } {
  const dim = starts[0].length;
  const p = new Float64Array(dim);
  const toP = (z: ArrayLike<number>) => {
    for (let k = 0; k < dim; k++) p[k] = z[k];
    coefs.forEach((c, j) => (p[c] = z[c] - z[exps[j]] * centres[j]));
  };
  const f = (z: Float64Array, gz: Float64Array): number => {
    toP(z);
    const v = obj.eval(p, gz);
    // ∂f/∂α' = ∂f/∂α − c·∂f/∂a (since a = a' − α·c); ∂f/∂a' = ∂f/∂a.
    coefs.forEach((c, j) => (gz[exps[j]] -= centres[j] * gz[c]));
    return v;
  };
  let best: { p: number[]; value: number; converged: boolean } | null = null;
  const z0s = starts.map((start) => {
    const z0 = start.slice();
    coefs.forEach((c, j) => (z0[c] = start[c] + start[exps[j]] * centres[j]));
    return z0;
  });
  for (const z0 of screenStarts(f, z0s, obj.logN.length)) {
    const r = lbfgs(f, z0, opts);
    if (best === null || better(r.value, best.value)) {
      toP(r.x);
      best = { p: Array.from(p), value: r.value, converged: r.converged };
    }
  }
  return best!;
}

/** Whether a minimum `value` replaces the best so far: strictly lower, and a number beats NaN. */
function better(value: number, best: number): boolean {
  return value < best || (Number.isNaN(best) && !Number.isNaN(value));
}

/**
 * The starts worth a minimisation. All of them while the grid times the points is small (every
 * fit of a sweep's few dozen points: the grid as the paper runs it); past that, a fit of thousands
 * of points (a merged log) would run 4,500 minimisations over every point, minutes each thousand:
 * the objective is evaluated once at every start and only the SCREENED best are minimised.
 */
const SCREEN_ABOVE = 2e6; // starts × points
const SCREENED = 64;

function screenStarts(f: (z: Float64Array, g: Float64Array) => number, z0s: number[][], points: number): number[][] {
  if (z0s.length * points <= SCREEN_ABOVE || z0s.length <= SCREENED) return z0s;
  const g = new Float64Array(z0s[0].length);
  const scored = z0s.map((z0) => ({ z0, value: f(Float64Array.from(z0), g) }));
  scored.sort((x, y) => (Number.isNaN(x.value) ? 1 : Number.isNaN(y.value) ? -1 : x.value - y.value));
  return scored.slice(0, SCREENED).map((s) => s.z0);
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

function checkPositive(points: object[], keys: string[], minPoints: number, what: string) {
  if (points.length < minPoints) {
    throw new RangeError(`${what} has ${minPoints} parameters and needs at least ${minPoints} points, got ${points.length}`);
  }
  points.forEach((q, i) => {
    for (const k of keys) {
      const v = (q as Record<string, unknown>)[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
        throw new RangeError(`point ${i}: ${k} must be a finite positive number, got ${String(v)}`);
      }
    }
  });
}

function distinct(xs: number[]): number {
  return new Set(xs).size;
}

/** What fitChinchilla needs of its points, as the RangeError it throws otherwise. */
export function checkChinchillaPoints(points: ChinchillaPoint[]) {
  checkPositive(points, ['N', 'D', 'loss'], 5, 'L(N, D) = E + A/N^α + B/D^β');
  if (distinct(points.map((q) => q.N)) < 2 || distinct(points.map((q) => q.D)) < 2) {
    throw new RangeError('fitting α and β needs at least two distinct N and two distinct D');
  }
}

/** Fits L(N, D) = E + A/N^α + B/D^β by Huber regression on log loss (see the top of the file). */
export function fitChinchilla(points: ChinchillaPoint[], opts: FitOptions = {}): ChinchillaFit {
  checkChinchillaPoints(points);
  const obj = chinchillaObjectiveOf(points, opts);
  const starts = opts.starts ?? chinchillaGrid();
  const best = minimizeFromStarts(obj, starts, [0, 1], [3, 4], [mean(obj.logN), mean(obj.logD!)], opts);
  const [a, b, e, alpha, beta] = best.p;
  return chinchillaFitOf({
    E: Math.exp(e),
    A: Math.exp(a),
    B: Math.exp(b),
    alpha,
    beta,
    a,
    b,
    e,
    loss: best.value,
    converged: best.converged,
  });
}

/** A fit's numbers (as a worker thread posts them) with its predict function again. */
export function chinchillaFitOf(fit: Omit<ChinchillaFit, 'predict'>): ChinchillaFit {
  const law = { E: fit.E, A: fit.A, B: fit.B, alpha: fit.alpha, beta: fit.beta };
  return { ...fit, predict: (N, D) => chinchillaLoss(law, N, D) };
}

/**
 * `starts` cut into `n` runs of consecutive starts for fitChinchilla on several threads, whose
 * best (bestChinchillaFit, in this order) is the fit of all of them on one: each part keeps the
 * first of its lowest minima, as the whole grid would. One part where the grid would be screened
 * (its best few of all, which parts screening alone would not pick).
 */
export function gridSplits(starts: number[][], points: number, n: number): number[][][] {
  if (n <= 1 || starts.length * points > SCREEN_ABOVE) return [starts];
  const size = Math.ceil(starts.length / n);
  return Array.from({ length: Math.ceil(starts.length / size) }, (_, i) => starts.slice(i * size, (i + 1) * size));
}

/** The best of the fits of gridSplits' parts, in their order: the fit of the whole grid. */
export function bestChinchillaFit<F extends { loss: number }>(parts: F[]): F {
  return parts.reduce((best, part) => (better(part.loss, best.loss) ? part : best));
}

/** Fits L(N) = E + A/N^α by the same Huber regression, log L̂ = LSE(a − α·log N, e). */
export function fitLN(points: LNPoint[], opts: FitOptions = {}): LNFit {
  checkPositive(points, ['N', 'loss'], 3, 'L(N) = E + A/N^α');
  if (distinct(points.map((q) => q.N)) < 3) throw new RangeError('fitting L(N) = E + A/N^α needs at least three distinct N');
  const obj = lnObjectiveOf(points, opts);
  const best = minimizeFromStarts(obj, opts.starts ?? lnGrid(), [0], [2], [mean(obj.logN)], opts);
  const [a, e, alpha] = best.p;
  const law = { E: Math.exp(e), A: Math.exp(a), alpha };
  return { ...law, a, e, loss: best.value, converged: best.converged, predict: (N) => law.E + law.A / N ** law.alpha };
}

/** The q-quantile of sorted xs, interpolating linearly between order statistics. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export type Interval = [number, number];
