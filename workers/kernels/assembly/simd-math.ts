/**
 * exp and erf on four float32 lanes at once, for the kernels of this folder.
 *
 * exp: Cephes' expf (S. L. Moshier, Cephes Math Library): x = n·ln2 + r with n = round(x·log₂e)
 * and |r| ≤ ln2/2, exp(r) by its degree-6 minimax polynomial, 2ⁿ written into the exponent
 * bits. Relative error under 2 ulp (tested against Math.exp). Below −87.33 (where float32
 * would go subnormal) it gives 0; NaN stays NaN, so a diverging run still shows NaN.
 *
 * erf: Abramowitz & Stegun 7.1.26 with tfjs's constants (tfjs-core erf_util.ts), the
 * approximation tfjs's own Erf computes on every backend, so the kernels match the plain ops.
 */

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
/** exp(−87.3365) is float32's smallest normal number. */
const EXP_LOW: f32 = -87.3365447505;
/** n = round(88 · log₂e) = 127, the largest exponent a float32 holds. */
const EXP_HIGH: f32 = 88.0;
/**
 * 1.5·2²³: adding it rounds to an integer (to nearest, ties to even) and leaves that integer in
 * the low mantissa bits; its own bits, 0x4B400000, have nine zero bits at the bottom, so the
 * integer's bits shifted left by 23 are 2ⁿ's exponent field once 127 is added.
 */
const ROUNDER: f32 = 12582912.0;

/**
 * e^x per lane. pmin/pmax (one instruction each, where min/max spend several on NaN rules) keep
 * a NaN lane NaN since it is their first operand; the rounding constant replaces nearest and a
 * saturating float-to-int conversion, which V8 emits as a long sequence on x64.
 */
// @ts-ignore: decorator
@inline
export function exp4(x: v128): v128 {
  const c = f32x4.pmax(f32x4.pmin(x, f32x4.splat(EXP_HIGH)), f32x4.splat(EXP_LOW));
  const t = f32x4.add(f32x4.mul(c, f32x4.splat(LOG2E)), f32x4.splat(ROUNDER));
  const n = f32x4.sub(t, f32x4.splat(ROUNDER)); // round(c·log₂e)
  let r = f32x4.sub(c, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  const pow2n = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  const e = f32x4.mul(p, pow2n);
  return v128.andnot(e, f32x4.lt(x, f32x4.splat(EXP_LOW))); // 0 below the range; NaN < a is false
}

const ERF_P: f32 = 0.3275911;
const ERF_A1: f32 = 0.254829592;
const ERF_A2: f32 = -0.284496736;
const ERF_A3: f32 = 1.421413741;
const ERF_A4: f32 = -1.453152027;
const ERF_A5: f32 = 1.061405429;

/** erf(a) per lane: sign(a)·(1 − t·(a1 + t·(a2 + …))·e^(−a²)), t = 1/(1 + p·|a|). */
// @ts-ignore: decorator
@inline
export function erf4(a: v128): v128 {
  const abs = f32x4.abs(a);
  const t = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(ERF_P), abs)));
  let poly = f32x4.add(f32x4.mul(f32x4.splat(ERF_A5), t), f32x4.splat(ERF_A4));
  poly = f32x4.add(f32x4.mul(poly, t), f32x4.splat(ERF_A3));
  poly = f32x4.add(f32x4.mul(poly, t), f32x4.splat(ERF_A2));
  poly = f32x4.add(f32x4.mul(poly, t), f32x4.splat(ERF_A1));
  poly = f32x4.mul(poly, t);
  const y = f32x4.sub(f32x4.splat(1), f32x4.mul(poly, exp4(f32x4.neg(f32x4.mul(abs, abs)))));
  // The sign of a onto y (y ≥ 0): erf is odd.
  return v128.or(y, v128.and(a, f32x4.splat(-0.0)));
}

/** The sum of the four lanes. */
// @ts-ignore: decorator
@inline
export function sum4(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** The largest of the four lanes. */
// @ts-ignore: decorator
@inline
export function max4(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/** The first k (0–4) floats at p as four lanes, the rest 0: a row's tail without reading past it. */
// @ts-ignore: decorator
@inline
export function loadTail(p: usize, k: i32): v128 {
  let v = f32x4.splat(0);
  if (k > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (k > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (k > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  if (k > 3) v = f32x4.replace_lane(v, 3, load<f32>(p, 12));
  return v;
}

/** Stores the first k (0–4) lanes of v at p, and nothing past them. */
// @ts-ignore: decorator
@inline
export function storeTail(p: usize, v: v128, k: i32): void {
  if (k > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (k > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (k > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
  if (k > 3) store<f32>(p, f32x4.extract_lane(v, 3), 12);
}

/** v with lanes k… set to 0 (k in 0–4). */
// @ts-ignore: decorator
@inline
export function keepFirst(v: v128, k: i32): v128 {
  return v128.and(v, i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(k)));
}

/**
 * The natural log of x, in double precision, rounded once to float32. AssemblyScript's own
 * Mathf.log keeps a lookup table in memory, and this module must keep nothing in tfjs's heap.
 * x = 2^e·m with m in [√½, √2), log m = 2·atanh(z) = 2(z + z³/3 + …), z = (m − 1)/(m + 1), |z| ≤ 0.172
 * (terms to z¹⁵: error under 1e-13). Subnormal x is not expected (a softmax sum is ≥ 1).
 */
export function ln(x: f32): f32 {
  if (!(x > 0) || x == Infinity) return x == 0 ? -Infinity : x > 0 ? x : NaN;
  const bits = reinterpret<u32>(x);
  let e = <i32>(bits >> 23) - 127;
  let m = <f64>reinterpret<f32>((bits & 0x7fffff) | 0x3f800000); // [1, 2)
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e++;
  }
  const z = (m - 1) / (m + 1);
  const z2 = z * z;
  const series = z * (2 + z2 * (2.0 / 3 + z2 * (2.0 / 5 + z2 * (2.0 / 7 + z2 * (2.0 / 9 + z2 * (2.0 / 11 + z2 * (2.0 / 13 + z2 * (2.0 / 15))))))));
  return <f32>(<f64>e * 0.6931471805599453 + series);
}
