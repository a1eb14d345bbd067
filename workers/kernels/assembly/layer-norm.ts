/**
 * LayerNorm without bias over the last axis of x [rows, d], four channels at a time (the host
 * side, and the math, in ../layer-norm.ts). stats [rows, 2] holds each row's mean and
 * rstd = 1/√(var + eps) for the backward pass. Pointers are byte offsets into tfjs-wasm's heap;
 * d need not be a multiple of 4 (the last 1–3 channels go through loadTail/storeTail).
 */
import { keepFirst, loadTail, storeTail, sum4 } from './simd-math';

// @ts-ignore: decorator
@inline
function at(p: usize, c: i32): usize {
  return p + (<usize>c << 2);
}

/** Σ_c p[c] over d channels. */
// @ts-ignore: decorator
@inline
function rowSum(p: usize, d: i32, whole: i32): f32 {
  let s = f32x4.splat(0);
  for (let c = 0; c < whole; c += 4) s = f32x4.add(s, v128.load(at(p, c)));
  if (whole < d) s = f32x4.add(s, loadTail(at(p, whole), d - whole));
  return sum4(s);
}

/** y = (x − mean) · rstd · γ per row; stats[r] = (mean, rstd). */
export function layerNorm(x: usize, gamma: usize, y: usize, stats: usize, rows: i32, d: i32, eps: f32): void {
  const whole = d & ~3;
  const tail = d - whole;
  const n = <f32>d;
  for (let r = 0; r < rows; r++) {
    const px = x + (<usize>(r * d) << 2);
    const py = y + (<usize>(r * d) << 2);
    const mean = rowSum(px, d, whole) / n;
    const m = f32x4.splat(mean);
    let q = f32x4.splat(0);
    for (let c = 0; c < whole; c += 4) {
      const centered = f32x4.sub(v128.load(at(px, c)), m);
      q = f32x4.add(q, f32x4.mul(centered, centered));
    }
    if (tail > 0) {
      // The zero lanes past the row would add (0 − mean)²: mask them off.
      const centered = f32x4.sub(loadTail(at(px, whole), tail), m);
      q = f32x4.add(q, keepFirst(f32x4.mul(centered, centered), tail));
    }
    const rstd: f32 = 1 / Mathf.sqrt(sum4(q) / n + eps);
    const rs = f32x4.splat(rstd);
    for (let c = 0; c < whole; c += 4) {
      v128.store(at(py, c), f32x4.mul(f32x4.mul(f32x4.sub(v128.load(at(px, c)), m), rs), v128.load(at(gamma, c))));
    }
    if (tail > 0) {
      const v = f32x4.mul(f32x4.mul(f32x4.sub(loadTail(at(px, whole), tail), m), rs), loadTail(at(gamma, whole), tail));
      storeTail(at(py, whole), v, tail);
    }
    store<f32>(stats + (<usize>r << 3), mean);
    store<f32>(stats + (<usize>r << 3), rstd, 4);
  }
}

/** dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)) per row, ĝ = dy · γ, x̂ = (x − mean) · rstd. */
export function layerNormGradX(dy: usize, x: usize, gamma: usize, stats: usize, dx: usize, rows: i32, d: i32): void {
  const whole = d & ~3;
  const tail = d - whole;
  const n = <f32>d;
  for (let r = 0; r < rows; r++) {
    const off = <usize>(r * d) << 2;
    const m = f32x4.splat(load<f32>(stats + (<usize>r << 3)));
    const rs = f32x4.splat(load<f32>(stats + (<usize>r << 3), 4));
    let sg = f32x4.splat(0);
    let sgx = f32x4.splat(0);
    for (let c = 0; c < whole; c += 4) {
      const g = f32x4.mul(v128.load(at(dy + off, c)), v128.load(at(gamma, c)));
      const xh = f32x4.mul(f32x4.sub(v128.load(at(x + off, c)), m), rs);
      sg = f32x4.add(sg, g);
      sgx = f32x4.add(sgx, f32x4.mul(g, xh));
    }
    if (tail > 0) {
      // dy's zero lanes make ĝ, and so both sums' extra lanes, 0.
      const g = f32x4.mul(loadTail(at(dy + off, whole), tail), loadTail(at(gamma, whole), tail));
      const xh = f32x4.mul(f32x4.sub(loadTail(at(x + off, whole), tail), m), rs);
      sg = f32x4.add(sg, g);
      sgx = f32x4.add(sgx, f32x4.mul(g, xh));
    }
    const a = f32x4.splat(sum4(sg) / n);
    const b = f32x4.splat(sum4(sgx) / n);
    for (let c = 0; c < whole; c += 4) {
      const g = f32x4.mul(v128.load(at(dy + off, c)), v128.load(at(gamma, c)));
      const xh = f32x4.mul(f32x4.sub(v128.load(at(x + off, c)), m), rs);
      v128.store(at(dx + off, c), f32x4.mul(f32x4.sub(f32x4.sub(g, a), f32x4.mul(xh, b)), rs));
    }
    if (tail > 0) {
      const g = f32x4.mul(loadTail(at(dy + off, whole), tail), loadTail(at(gamma, whole), tail));
      const xh = f32x4.mul(f32x4.sub(loadTail(at(x + off, whole), tail), m), rs);
      storeTail(at(dx + off, whole), f32x4.mul(f32x4.sub(f32x4.sub(g, a), f32x4.mul(xh, b)), rs), tail);
    }
  }
}

/** dγ[c] = Σ_rows dy · x̂, accumulated row by row into dgamma [d]. */
export function layerNormGradGamma(dy: usize, x: usize, stats: usize, dgamma: usize, rows: i32, d: i32): void {
  const whole = d & ~3;
  const tail = d - whole;
  memory.fill(dgamma, 0, <usize>d << 2);
  for (let r = 0; r < rows; r++) {
    const off = <usize>(r * d) << 2;
    const m = f32x4.splat(load<f32>(stats + (<usize>r << 3)));
    const rs = f32x4.splat(load<f32>(stats + (<usize>r << 3), 4));
    for (let c = 0; c < whole; c += 4) {
      const xh = f32x4.mul(f32x4.sub(v128.load(at(x + off, c)), m), rs);
      v128.store(at(dgamma, c), f32x4.add(v128.load(at(dgamma, c)), f32x4.mul(v128.load(at(dy + off, c)), xh)));
    }
    if (tail > 0) {
      const xh = f32x4.mul(f32x4.sub(loadTail(at(x + off, whole), tail), m), rs);
      const acc = f32x4.add(loadTail(at(dgamma, whole), tail), f32x4.mul(loadTail(at(dy + off, whole), tail), xh));
      storeTail(at(dgamma, whole), acc, tail);
    }
  }
}
