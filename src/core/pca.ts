/**
 * Principal components of a small matrix's rows, for the embedding map: the token embeddings
 * [V, C] projected on the two directions along which they vary most. Power iteration with
 * deflation on the C×C covariance of the centred rows: exact enough for a picture and a test,
 * and no dependency for a few thousand numbers.
 */
import { Rng } from './rng.ts';

export interface Projection {
  points: [number, number][]; // each row's coordinates on the first two components
  explained: [number, number]; // the share of the total variance each component carries
}

/** Rows of `data` ([rows, cols], row-major) on their first two principal components. */
export function projectRows(data: ArrayLike<number>, rows: number, cols: number, iterations = 200): Projection {
  if (rows < 1 || cols < 1 || data.length !== rows * cols) throw new RangeError(`expected ${rows}×${cols} values, got ${data.length}`);
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c] += data[r * cols + c] / rows;
  const x = Float64Array.from({ length: rows * cols }, (_, i) => data[i] - mean[i % cols]);
  const cov = new Float64Array(cols * cols); // Xᵀ·X / rows
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < cols; i++) {
      const xi = x[r * cols + i];
      if (xi !== 0) for (let j = 0; j < cols; j++) cov[i * cols + j] += (xi * x[r * cols + j]) / rows;
    }
  let total = 0;
  for (let i = 0; i < cols; i++) total += cov[i * cols + i];
  const rng = new Rng(1);
  const components: Float64Array[] = [];
  const variances: number[] = [];
  for (let k = 0; k < 2; k++) {
    let v = Float64Array.from({ length: cols }, () => rng.normal());
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      for (const u of components) {
        const d = dot(u, v);
        for (let i = 0; i < cols; i++) v[i] -= d * u[i]; // stay orthogonal to the components found
      }
      const w = new Float64Array(cols);
      for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) w[i] += cov[i * cols + j] * v[j];
      const norm = Math.sqrt(dot(w, w));
      if (norm === 0) break; // no variance left in this direction
      lambda = norm;
      v = w.map((a) => a / norm);
    }
    components.push(v);
    variances.push(lambda);
  }
  // A component's sign is arbitrary: point each one so its largest coordinate is positive, so the map does not flip between refreshes.
  for (const u of components) {
    const big = u.reduce((m, a, i) => (Math.abs(a) > Math.abs(u[m]) ? i : m), 0);
    if (u[big] < 0) for (let i = 0; i < cols; i++) u[i] = -u[i];
  }
  const points = Array.from({ length: rows }, (_, r) => {
    const row = x.subarray(r * cols, (r + 1) * cols);
    return [dot(components[0], row), dot(components[1], row)] as [number, number];
  });
  const share = (l: number) => (total > 0 ? l / total : 0);
  return { points, explained: [share(variances[0]), share(variances[1])] };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
