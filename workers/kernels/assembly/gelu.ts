/**
 * Exact GELU and its gradient over float32 arrays of n elements, four lanes at a time (the host
 * side is ../gelu.ts):
 *   y  = x·(erf(x/√2) + 1)·½                         in the order the plain ops compute it
 *   dx = dy·((erf(x/√2) + 1)·½ + x·φ(x)),  φ(x) = e^(−x²/2)/√(2π)
 * Pointers are byte offsets into tfjs-wasm's heap; n need not be a multiple of 4.
 */
import { erf4, exp4, loadTail, storeTail } from './simd-math';

const SQRT1_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

// @ts-ignore: decorator
@inline
function geluOf(x: v128): v128 {
  const e1 = f32x4.add(erf4(f32x4.mul(x, f32x4.splat(SQRT1_2))), f32x4.splat(1));
  return f32x4.mul(f32x4.mul(x, e1), f32x4.splat(0.5));
}

// @ts-ignore: decorator
@inline
function geluGradOf(dy: v128, x: v128): v128 {
  const half = f32x4.mul(f32x4.add(erf4(f32x4.mul(x, f32x4.splat(SQRT1_2))), f32x4.splat(1)), f32x4.splat(0.5));
  const pdf = f32x4.mul(exp4(f32x4.mul(f32x4.mul(x, x), f32x4.splat(-0.5))), f32x4.splat(INV_SQRT_2PI));
  return f32x4.mul(dy, f32x4.add(half, f32x4.mul(x, pdf)));
}

/** y = GELU(x), n elements. */
export function gelu(x: usize, y: usize, n: i32): void {
  const whole = n & ~3;
  for (let i = 0; i < whole; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, geluOf(v128.load(x + o)));
  }
  const o = <usize>whole << 2;
  if (whole < n) storeTail(y + o, geluOf(loadTail(x + o, n - whole)), n - whole);
}

/** dx = dy · GELU′(x), n elements. */
export function geluGrad(dy: usize, x: usize, dx: usize, n: i32): void {
  const whole = n & ~3;
  for (let i = 0; i < whole; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, geluGradOf(v128.load(dy + o), v128.load(x + o)));
  }
  const o = <usize>whole << 2;
  if (whole < n) storeTail(dx + o, geluGradOf(loadTail(dy + o, n - whole), loadTail(x + o, n - whole)), n - whole);
}
