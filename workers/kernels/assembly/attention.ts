/**
 * Causal self-attention straight from the fused projection qkv [B*T, 3C] (query, key and value
 * side by side, head h at columns h·hs…), one (batch, head) at a time, as ../attention.ts
 * describes: forward y [B*T, C] and the per-row log-sum-exp L [B, nh, T]; backward dqkv from
 * qkv, y, L and dy, with the probabilities recomputed from L (Dao et al. 2022, FlashAttention):
 *   P_ij = exp(s_ij − L_i),  s_ij = (q_i·scale)·k_j,  D_i = dO_i·O_i
 *   dv_j = Σ_{i≥j} P_ij dO_i,  dS_ij = P_ij (dO_i·v_j − D_i)
 *   dq_i = scale · Σ_{j≤i} dS_ij k_j,  dk_j = Σ_{i≥j} dS_ij (q_i·scale)
 * Only keys j ≤ i are computed (the causal half), four keys at a time: the keys (and, backward,
 * the values) of a head are first copied transposed, [hs, Tp] with Tp = T rounded up to 4, so
 * one row's scores come out four lanes at once without a horizontal sum. Everything else reads
 * rows in place. hs must be a multiple of 4 (the host falls back to the plain ops otherwise).
 *
 * Scratch (from the host): forward hs·Tp + Tp floats; backward 2·hs·Tp + T·hs + 2·T·Tp + Tp
 * floats. Pointers are byte offsets into tfjs-wasm's heap.
 */
import { exp4, keepFirst, ln, max4, sum4 } from './simd-math';

// @ts-ignore: decorator
@inline
function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** dst[d·Tp + j] = src row j's column col + d, for j < T, d < hs; columns T…Tp are 0. */
function gatherTransposed(src: usize, rowStride: i32, col: i32, T: i32, hs: i32, Tp: i32, dst: usize): void {
  for (let j = 0; j < T; j++) {
    const row = at(src, j * rowStride + col);
    for (let d = 0; d < hs; d++) store<f32>(at(dst, d * Tp + j), load<f32>(at(row, d)));
  }
  for (let d = 0; d < hs; d++) for (let j = T; j < Tp; j++) store<f32>(at(dst, d * Tp + j), 0);
}

/** scores[j…j+4] = Σ_d a[d]·scale·bt[d, j…j+4] for the 4-key block at j. */
// @ts-ignore: decorator
@inline
function scores4(a: usize, scale: f32, bt: usize, j: i32, hs: i32, Tp: i32): v128 {
  let acc = f32x4.splat(0);
  for (let d = 0; d < hs; d++) acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(at(a, d)) * scale), v128.load(at(bt, d * Tp + j))));
  return acc;
}

/**
 * Scores of the 8 keys j…j+8 into out[j…j+8], returning their lanewise max: two blocks per pass
 * over d, so two independent sums fill the adder's pipeline where one would wait on itself.
 */
// @ts-ignore: decorator
@inline
function scores8(a: usize, scale: f32, bt: usize, j: i32, hs: i32, Tp: i32, out: usize): v128 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  for (let d = 0; d < hs; d++) {
    const ad = f32x4.splat(load<f32>(at(a, d)) * scale);
    const row = at(bt, d * Tp + j);
    acc0 = f32x4.add(acc0, f32x4.mul(ad, v128.load(row)));
    acc1 = f32x4.add(acc1, f32x4.mul(ad, v128.load(row, 16)));
  }
  v128.store(at(out, j), acc0);
  v128.store(at(out, j), acc1, 16);
  return f32x4.pmax(acc0, acc1);
}

/**
 * dst[d] = k · Σ_{j<n} w[j]·src[j·stride + d] for d < hs: sixteen channels per pass over j
 * (four independent sums), then four at a time.
 */
function weightedRows(w: usize, n: i32, src: usize, stride: i32, hs: i32, k: v128, dst: usize): void {
  let d = 0;
  for (; d + 16 <= hs; d += 16) {
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    for (let j = 0; j < n; j++) {
      const wj = f32x4.splat(load<f32>(at(w, j)));
      const row = at(src, j * stride + d);
      a0 = f32x4.add(a0, f32x4.mul(wj, v128.load(row)));
      a1 = f32x4.add(a1, f32x4.mul(wj, v128.load(row, 16)));
      a2 = f32x4.add(a2, f32x4.mul(wj, v128.load(row, 32)));
      a3 = f32x4.add(a3, f32x4.mul(wj, v128.load(row, 48)));
    }
    const out = at(dst, d);
    v128.store(out, f32x4.mul(a0, k));
    v128.store(out, f32x4.mul(a1, k), 16);
    v128.store(out, f32x4.mul(a2, k), 32);
    v128.store(out, f32x4.mul(a3, k), 48);
  }
  for (; d < hs; d += 4) {
    let a = f32x4.splat(0);
    for (let j = 0; j < n; j++) a = f32x4.add(a, f32x4.mul(f32x4.splat(load<f32>(at(w, j))), v128.load(at(src, j * stride + d))));
    v128.store(at(dst, d), f32x4.mul(a, k));
  }
}

/**
 * y and L for every (batch, head). hs = C / nHead; scale = 1/√hs as the model rounds it.
 * Row t: scores s_j for j ≤ t, m = max s, p_j = e^(s_j − m), y_t = Σ p_j v_j / Σ p_j, L_t = m + log Σ p_j.
 */
export function attentionForward(qkv: usize, y: usize, lse: usize, B: i32, T: i32, nHead: i32, hs: i32, scale: f32, scratch: usize): void {
  const C = nHead * hs;
  const C3 = 3 * C;
  const Tp = (T + 3) & ~3;
  const kt = scratch; // [hs, Tp]
  const p = at(scratch, hs * Tp); // [Tp]: one row's scores, then its weights
  for (let b = 0; b < B; b++) {
    const base = at(qkv, b * T * C3);
    for (let h = 0; h < nHead; h++) {
      gatherTransposed(base, C3, C + h * hs, T, hs, Tp, kt);
      for (let t = 0; t < T; t++) {
        const q = at(base, t * C3 + h * hs);
        const n = t + 1; // keys 0…t
        const whole = n & ~3;
        let m4 = f32x4.splat(-Infinity);
        let j = 0;
        for (; j + 8 <= whole; j += 8) m4 = f32x4.pmax(m4, scores8(q, scale, kt, j, hs, Tp, p));
        for (; j < whole; j += 4) {
          const s4 = scores4(q, scale, kt, j, hs, Tp);
          v128.store(at(p, j), s4);
          m4 = f32x4.pmax(m4, s4);
        }
        let m = max4(m4);
        if (whole < n) {
          v128.store(at(p, whole), scores4(q, scale, kt, whole, hs, Tp));
          for (let j = whole; j < n; j++) m = max(m, load<f32>(at(p, j)));
        }
        const mm = f32x4.splat(m);
        let sum = f32x4.splat(0);
        for (let j = 0; j < n; j += 4) {
          const e = keepFirst(exp4(f32x4.sub(v128.load(at(p, j)), mm)), n - j); // keys past t weigh 0
          v128.store(at(p, j), e);
          sum = f32x4.add(sum, e);
        }
        const total = sum4(sum);
        weightedRows(p, n, at(base, 2 * C + h * hs), C3, hs, f32x4.splat(1 / total), at(y, (b * T + t) * C + h * hs));
        store<f32>(at(lse, (b * nHead + h) * T + t), m + ln(total));
      }
    }
  }
}

/** The first k lanes of v (k ≥ 1; 4 at most) down a column: p, p + stride, p + 2·stride… floats. */
// @ts-ignore: decorator
@inline
function storeColumn(p: usize, stride: i32, v: v128, k: i32): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (k > 1) store<f32>(at(p, stride), f32x4.extract_lane(v, 1));
  if (k > 2) store<f32>(at(p, 2 * stride), f32x4.extract_lane(v, 2));
  if (k > 3) store<f32>(at(p, 3 * stride), f32x4.extract_lane(v, 3));
}

/**
 * dqkv [B*T, 3C] from qkv, y, L and dy [B*T, C]; every element of dqkv is written. Per head, a
 * pass over query rows i computes row i's P and dS (keys j ≤ i) and dq_i, and keeps P and dS
 * transposed; a pass over keys j then sums dk_j and dv_j from column j of each, so every sum
 * stays in registers instead of being read and written back once per query row.
 */
export function attentionBackward(qkv: usize, y: usize, lse: usize, dy: usize, dqkv: usize, B: i32, T: i32, nHead: i32, hs: i32, scale: f32, scratch: usize): void {
  const C = nHead * hs;
  const C3 = 3 * C;
  const Tp = (T + 3) & ~3;
  const kt = scratch; // [hs, Tp]: keys, transposed
  const vt = at(kt, hs * Tp); // [hs, Tp]: values, transposed
  const qs = at(vt, hs * Tp); // [T, hs]: q_i · scale
  const pT = at(qs, T * hs); // [T, Tp]: P_ij at j·Tp + i
  const dsT = at(pT, T * Tp); // [T, Tp]: dS_ij at j·Tp + i
  const dsRow = at(dsT, T * Tp); // [Tp]: row i's dS
  const sc = f32x4.splat(scale);
  const one = f32x4.splat(1);
  for (let b = 0; b < B; b++) {
    const base = at(qkv, b * T * C3);
    const dbase = at(dqkv, b * T * C3);
    const dyBase = at(dy, b * T * C);
    for (let h = 0; h < nHead; h++) {
      gatherTransposed(base, C3, C + h * hs, T, hs, Tp, kt);
      gatherTransposed(base, C3, 2 * C + h * hs, T, hs, Tp, vt);
      for (let i = 0; i < T; i++) {
        const q = at(base, i * C3 + h * hs);
        const dO = at(dyBase, i * C + h * hs);
        const o = at(y, (b * T + i) * C + h * hs);
        const qi = at(qs, i * hs);
        const L = f32x4.splat(load<f32>(at(lse, (b * nHead + h) * T + i)));
        let dd = f32x4.splat(0);
        for (let d = 0; d < hs; d += 4) {
          dd = f32x4.add(dd, f32x4.mul(v128.load(at(dO, d)), v128.load(at(o, d))));
          v128.store(at(qi, d), f32x4.mul(v128.load(at(q, d)), sc));
        }
        const D = f32x4.splat(sum4(dd));
        const n = i + 1;
        for (let j = 0; j < n; j += 4) {
          // s and dO·v for four keys, two independent sums over d.
          let s4 = f32x4.splat(0);
          let dp = f32x4.splat(0);
          for (let d = 0; d < hs; d++) {
            s4 = f32x4.add(s4, f32x4.mul(f32x4.splat(load<f32>(at(qi, d))), v128.load(at(kt, d * Tp + j))));
            dp = f32x4.add(dp, f32x4.mul(f32x4.splat(load<f32>(at(dO, d))), v128.load(at(vt, d * Tp + j))));
          }
          const pj = keepFirst(exp4(f32x4.sub(s4, L)), n - j);
          const dsj = f32x4.mul(pj, f32x4.sub(dp, D));
          v128.store(at(dsRow, j), dsj);
          storeColumn(at(pT, j * Tp + i), Tp, pj, n - j);
          storeColumn(at(dsT, j * Tp + i), Tp, dsj, n - j);
        }
        weightedRows(dsRow, n, at(base, C + h * hs), C3, hs, sc, at(dbase, i * C3 + h * hs)); // dq_i
      }
      for (let j = 0; j < T; j++) {
        const rows = T - j; // queries i ≥ j
        weightedRows(at(dsT, j * Tp + j), rows, at(qs, j * hs), hs, hs, one, at(dbase, j * C3 + C + h * hs)); // dk_j
        weightedRows(at(pT, j * Tp + j), rows, at(dyBase, j * C + h * hs), C, hs, one, at(dbase, j * C3 + 2 * C + h * hs)); // dv_j
      }
    }
  }
}
