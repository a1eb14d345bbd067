import { describe, expect, test } from 'vitest';
import { lbfgs, type Objective } from '../../src/core/optimize.ts';

/** Rosenbrock's banana: f = (1 − x)² + 100·(y − x²)², minimum 0 at (1, 1). */
const rosenbrock: Objective = ([x, y], g) => {
  g[0] = -2 * (1 - x) - 400 * x * (y - x * x);
  g[1] = 200 * (y - x * x);
  return (1 - x) ** 2 + 100 * (y - x * x) ** 2;
};

describe('lbfgs', () => {
  test('minimises the Rosenbrock function from the classic start (−1.2, 1)', () => {
    const r = lbfgs(rosenbrock, [-1.2, 1]);
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(1, 8);
    expect(r.x[1]).toBeCloseTo(1, 8);
    expect(r.value).toBeLessThan(1e-16);
    expect(r.iterations).toBeLessThan(100);
  });

  test('solves an ill-conditioned 20-dimensional quadratic (condition number 1e4)', () => {
    const n = 20;
    const h = Array.from({ length: n }, (_, i) => 10 ** ((4 * i) / (n - 1)));
    const c = Array.from({ length: n }, (_, i) => Math.sin(i + 1));
    // f = Σ hᵢ·(xᵢ − cᵢ)²/2, minimum at x = c.
    const f: Objective = (x, g) => {
      let v = 0;
      for (let i = 0; i < n; i++) {
        g[i] = h[i] * (x[i] - c[i]);
        v += 0.5 * h[i] * (x[i] - c[i]) ** 2;
      }
      return v;
    };
    const r = lbfgs(f, new Array(n).fill(0), { maxIterations: 5000, gradTol: 1e-8 });
    expect(r.reason).toBe('gradient');
    for (let i = 0; i < n; i++) expect(Math.abs(r.x[i] - c[i])).toBeLessThan(1e-6);
  });

  test('reports no convergence when the iteration cap stops it, yet never returns a worse point', () => {
    const f0 = rosenbrock(Float64Array.of(-1.2, 1), new Float64Array(2));
    const r = lbfgs(rosenbrock, [-1.2, 1], { maxIterations: 3 });
    expect(r.reason).toBe('maxIterations');
    expect(r.converged).toBe(false);
    expect(r.iterations).toBe(3);
    expect(r.value).toBeLessThan(f0);
  });

  test('stops at once when the start is already stationary', () => {
    const r = lbfgs(rosenbrock, [1, 1]);
    expect(r.reason).toBe('gradient');
    expect(r.iterations).toBe(0);
  });

  test('refuses a start where the objective is not finite', () => {
    expect(() => lbfgs((x) => Math.log(x[0]), [-1])).toThrow(/not finite/);
  });
});
