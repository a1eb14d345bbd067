/**
 * AdamW over one parameter tensor of n float32s, four lanes at a time (the host side, and the
 * hyper-parameters' meaning, in ../adamw-wasm.ts), in float32 as the plain tfjs ops compute it:
 *   g ← g·scale;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  p ← p·decay − (m·lr/c₁) / (√(v/c₂) + ε)
 * with c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ, and scale the global-norm clipping factor. Pointers are byte
 * offsets into tfjs-wasm's heap; inputs and outputs are distinct tensors.
 */
import { loadTail, storeTail } from './simd-math';

/** Σ g² over n floats, in double precision (the clipping norm sums every gradient of the model). */
export function sumSquares(g: usize, n: i32): f64 {
  const whole = n & ~3;
  let acc0 = f64x2.splat(0);
  let acc1 = f64x2.splat(0);
  for (let i = 0; i < whole; i += 4) {
    const v = v128.load(g + (<usize>i << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.swizzle(v, i8x16(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)));
    acc0 = f64x2.add(acc0, f64x2.mul(lo, lo));
    acc1 = f64x2.add(acc1, f64x2.mul(hi, hi));
  }
  const acc = f64x2.add(acc0, acc1);
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (let i = whole; i < n; i++) {
    const x = <f64>load<f32>(g + (<usize>i << 2));
    s += x * x;
  }
  return s;
}

/** One update of n elements: p, m, v, g in; po, mo, vo out. */
export function adamw(
  p: usize, m: usize, v: usize, g: usize, po: usize, mo: usize, vo: usize, n: i32,
  scale: f32, beta1: f32, beta2: f32, lrc1: f32, ic2: f32, eps: f32, decay: f32,
): void {
  const sc = f32x4.splat(scale);
  const b1 = f32x4.splat(beta1);
  const b2 = f32x4.splat(beta2);
  const ib1 = f32x4.splat(1 - beta1);
  const ib2 = f32x4.splat(1 - beta2);
  const lr = f32x4.splat(lrc1);
  const c2 = f32x4.splat(ic2);
  const ep = f32x4.splat(eps);
  const dc = f32x4.splat(decay);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const k = min(4, n - i);
    const whole = k == 4;
    const gi = f32x4.mul(whole ? v128.load(g + o) : loadTail(g + o, k), sc);
    const mi = f32x4.add(f32x4.mul(whole ? v128.load(m + o) : loadTail(m + o, k), b1), f32x4.mul(gi, ib1));
    const vi = f32x4.add(f32x4.mul(whole ? v128.load(v + o) : loadTail(v + o, k), b2), f32x4.mul(f32x4.mul(gi, gi), ib2));
    const pi = whole ? v128.load(p + o) : loadTail(p + o, k);
    const step = f32x4.div(f32x4.mul(mi, lr), f32x4.add(f32x4.sqrt(f32x4.mul(vi, c2)), ep));
    const pn = f32x4.sub(f32x4.mul(pi, dc), step);
    if (whole) {
      v128.store(mo + o, mi);
      v128.store(vo + o, vi);
      v128.store(po + o, pn);
    } else {
      storeTail(mo + o, mi, k);
      storeTail(vo + o, vi, k);
      storeTail(po + o, pn, k);
    }
  }
}
