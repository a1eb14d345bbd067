/**
 * Limited-memory BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed., Alg. 7.4 and 7.5)
 * with a strong-Wolfe line search (Alg. 3.5 and 3.6), for small smooth problems such as
 * fitting scaling laws. Pure TypeScript: it runs in Node, the page and a worker alike.
 */

/** f(x), writing ∇f(x) into `grad`. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface MinimizeOptions {
  maxIterations?: number; // default 1000
  memory?: number; // (s, y) pairs kept; default 10
  gradTol?: number; // stop when max |∂f/∂xᵢ| ≤ gradTol (absolute); default 1e-12
  relTol?: number; // stop when f_k − f_{k+1} ≤ relTol·max(|f_k|, |f_{k+1}|); default 1e-12
}

export type StopReason = 'gradient' | 'function' | 'noDecrease' | 'maxIterations';

export interface MinimizeResult {
  x: Float64Array;
  value: number;
  gradNorm: number; // max |∂f/∂xᵢ| at x
  iterations: number;
  evaluations: number;
  reason: StopReason;
  converged: boolean; // reason is not 'maxIterations'
}

// Sufficient decrease and curvature constants of the Wolfe conditions; c2 = 0.9 is the usual
// choice for quasi-Newton methods (N&W §3.1).
const C1 = 1e-4;
const C2 = 0.9;

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** The minimiser of the cubic through (a, fa, da) and (b, fb, db), or NaN (N&W eq. 3.59). */
function cubicMin(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - (b - a) * ((db + d2 - d1) / (db - da + 2 * d2));
}

/** Minimises f from x0 by L-BFGS; returns the last iterate (never worse than x0). */
export function lbfgs(f: Objective, x0: ArrayLike<number>, opts: MinimizeOptions = {}): MinimizeResult {
  const n = x0.length;
  const maxIterations = opts.maxIterations ?? 1000;
  const m = opts.memory ?? 10;
  const gradTol = opts.gradTol ?? 1e-12;
  const relTol = opts.relTol ?? 1e-12;

  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  const d = new Float64Array(n);
  const xt = new Float64Array(n); // trial point of the line search
  const gt = new Float64Array(n);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alphas = new Float64Array(m);
  let evaluations = 0;
  const evalAt = (t: number): number => {
    for (let i = 0; i < n; i++) xt[i] = x[i] + t * d[i];
    evaluations++;
    const v = f(xt, gt);
    return Number.isFinite(v) ? v : Infinity;
  };

  evaluations++;
  let fx = f(x, g);
  if (!Number.isFinite(fx)) throw new RangeError('the objective is not finite at the starting point');
  let reason: StopReason = 'maxIterations';
  let iterations = 0;

  for (; iterations < maxIterations; iterations++) {
    if (maxAbs(g) <= gradTol) {
      reason = 'gradient';
      break;
    }
    // Two-loop recursion: d = −H·g with H₀ = γI, γ = sᵀy / yᵀy of the newest pair.
    for (let i = 0; i < n; i++) d[i] = -g[i];
    for (let k = S.length - 1; k >= 0; k--) {
      alphas[k] = rho[k] * dot(S[k], d);
      for (let i = 0; i < n; i++) d[i] -= alphas[k] * Y[k][i];
    }
    const last = S.length - 1;
    const gamma = last >= 0 ? dot(S[last], Y[last]) / dot(Y[last], Y[last]) : 1 / Math.sqrt(dot(g, g));
    for (let i = 0; i < n; i++) d[i] *= gamma;
    for (let k = 0; k < S.length; k++) {
      const beta = rho[k] * dot(Y[k], d);
      for (let i = 0; i < n; i++) d[i] += (alphas[k] - beta) * S[k][i];
    }
    let dg0 = dot(g, d);
    if (!(dg0 < 0)) {
      // Not a descent direction (round-off in H): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      const scale = 1 / Math.sqrt(dot(g, g));
      for (let i = 0; i < n; i++) d[i] = -g[i] * scale;
      dg0 = dot(g, d);
    }

    const step = lineSearch(evalAt, fx, dg0, () => dot(gt, d));
    if (step === null) {
      // Retry once along −g with the memory cleared; if even that cannot lower f, x is a
      // minimum to within round-off, which counts as converged.
      if (S.length > 0) {
        S.length = Y.length = rho.length = 0;
        iterations--;
        continue;
      }
      reason = 'noDecrease';
      break;
    }
    // xt, gt must hold the accepted point: re-evaluate unless the search ended on it.
    if (step.evaluatedLast !== true) evalAt(step.t);
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xt[i] - x[i];
      y[i] = gt[i] - g[i];
    }
    const sy = dot(s, y);
    const fPrev = fx;
    x.set(xt);
    g.set(gt);
    fx = step.f;
    if (sy > 1e-300) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    if (fPrev - fx <= relTol * Math.max(Math.abs(fPrev), Math.abs(fx))) {
      iterations++;
      reason = maxAbs(g) <= gradTol ? 'gradient' : 'function';
      break;
    }
  }
  return {
    x,
    value: fx,
    gradNorm: maxAbs(g),
    iterations,
    evaluations,
    reason,
    converged: reason !== 'maxIterations',
  };
}

interface Step {
  t: number;
  f: number;
  evaluatedLast: boolean; // whether the last evaluation was at t (so xt, gt hold it)
}

/**
 * A step t along d meeting the strong Wolfe conditions
 *   f(x + t·d) ≤ f(x) + c₁·t·∇fᵀd   and   |∇f(x + t·d)ᵀd| ≤ c₂·|∇fᵀd|,
 * or, failing that after a bounded search, any step with sufficient decrease; null if none.
 * `phi(t)` evaluates f at x + t·d; `dphi()` is the slope there, read after the evaluation.
 */
function lineSearch(phi: (t: number) => number, f0: number, dg0: number, dphi: () => number): Step | null {
  let tPrev = 0;
  let fPrev = f0;
  let dPrev = dg0;
  let t = 1;
  for (let i = 0; i < 40; i++) {
    const ft = phi(t);
    const dt = Number.isFinite(ft) ? dphi() : NaN;
    if (!Number.isFinite(ft) || ft > f0 + C1 * t * dg0 || (i > 0 && ft >= fPrev)) {
      return zoom(phi, dphi, f0, dg0, tPrev, fPrev, dPrev, t, ft, dt);
    }
    if (Math.abs(dt) <= -C2 * dg0) return { t, f: ft, evaluatedLast: true };
    if (dt >= 0) return zoom(phi, dphi, f0, dg0, t, ft, dt, tPrev, fPrev, dPrev);
    tPrev = t;
    fPrev = ft;
    dPrev = dt;
    t *= 4;
  }
  return tPrev > 0 ? { t: tPrev, f: fPrev, evaluatedLast: false } : null;
}

/** Narrows [lo, hi], where lo has sufficient decrease and the lowest f so far (N&W Alg. 3.6). */
function zoom(
  phi: (t: number) => number,
  dphi: () => number,
  f0: number,
  dg0: number,
  lo: number,
  flo: number,
  dlo: number,
  hi: number,
  fhi: number,
  dhi: number,
): Step | null {
  for (let j = 0; j < 60; j++) {
    const w = hi - lo;
    if (Math.abs(w) <= 1e-16 * Math.max(Math.abs(lo), Math.abs(hi))) break;
    // Cubic interpolation, kept inside the middle 80% of the interval; bisection otherwise.
    let t = Number.isFinite(fhi) && Number.isFinite(dhi) ? cubicMin(lo, flo, dlo, hi, fhi, dhi) : NaN;
    const a = Math.min(lo, hi) + 0.1 * Math.abs(w);
    const b = Math.max(lo, hi) - 0.1 * Math.abs(w);
    if (!(t >= a && t <= b)) t = lo + 0.5 * w;
    const ft = phi(t);
    const dt = Number.isFinite(ft) ? dphi() : NaN;
    if (!Number.isFinite(ft) || ft > f0 + C1 * t * dg0 || ft >= flo) {
      hi = t;
      fhi = ft;
      dhi = dt;
    } else {
      if (Math.abs(dt) <= -C2 * dg0) return { t, f: ft, evaluatedLast: true };
      if (dt * (hi - lo) >= 0) {
        hi = lo;
        fhi = flo;
        dhi = dlo;
      }
      lo = t;
      flo = ft;
      dlo = dt;
    }
  }
  return lo > 0 && flo < f0 ? { t: lo, f: flo, evaluatedLast: false } : null;
}
