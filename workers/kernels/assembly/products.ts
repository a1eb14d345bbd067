/**
 * Matrix products for the linear layers of the wasm backend, as a (row-major) operand lies:
 *   matmul      out [N, M] = a [N, K] · b [K, M]       (a layer's output, dX = dY·Wᵀ once Wᵀ is made)
 *   weightGrad  out [K, M] = a [N, K]ᵀ · b [N, M]      (a layer's weight gradient, Xᵀ·dY)
 *
 * Both are one loop: out[i, :] = Σ_t A(i, t) · b[t, :], where A(i, t) is a[i, t] for matmul and
 * a[t, i] for weightGrad, so only the two strides that walk a differ. out is computed in blocks
 * of 4 rows × 8 columns held in eight registers, accumulating one outer product per t: four of
 * A's values (each splat across lanes) times eight of b's. t goes in chunks of CHUNK, so the part
 * of a that every column block reads stays in cache; each chunk after the first adds to out.
 * The last rows (mod 4) and columns (mod 8, then mod 4) go through narrower blocks.
 *
 * tfjs-wasm hands XNNPACK only untransposed products, so Xᵀ·dY cost an explicit transpose of one
 * operand, XNNPACK's packing of the other, and a GEMM that streams the packed operand (1 MB for
 * the MLP of the 2×64 model) once per few output rows: measured 14 GFLOP/s in a training step,
 * against 30–38 here. Pointers are byte offsets into tfjs-wasm's heap.
 */

// @ts-ignore: decorator
@inline
function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** t per pass: a CHUNK-long stretch of A's rows or columns stays in cache across column blocks. */
const CHUNK = 128;

/**
 * out[i0…i0+4, m0…m0+8] += or = Σ_{t<n} A(i0+l, t) · b[t, m0…m0+8]. pa points at A(i0, 0), one
 * step of t moves it by stepA bytes, the next row l by laneA bytes; pb points at b[0, m0].
 */
// @ts-ignore: decorator
@inline
function block4x8(pa: usize, stepA: usize, laneA: usize, pb: usize, stepB: usize, n: i32, o: usize, rowOut: usize, add: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const l2 = laneA << 1;
  const l3 = l2 + laneA;
  for (let t = 0; t < n; t++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const a0 = v128.load32_splat(pa);
    const a1 = v128.load32_splat(pa + laneA);
    const a2 = v128.load32_splat(pa + l2);
    const a3 = v128.load32_splat(pa + l3);
    c00 = f32x4.add(c00, f32x4.mul(a0, b0));
    c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0));
    c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c20 = f32x4.add(c20, f32x4.mul(a2, b0));
    c21 = f32x4.add(c21, f32x4.mul(a2, b1));
    c30 = f32x4.add(c30, f32x4.mul(a3, b0));
    c31 = f32x4.add(c31, f32x4.mul(a3, b1));
    pa += stepA;
    pb += stepB;
  }
  const o1 = o + rowOut;
  const o2 = o1 + rowOut;
  const o3 = o2 + rowOut;
  if (add) {
    c00 = f32x4.add(c00, v128.load(o));
    c01 = f32x4.add(c01, v128.load(o, 16));
    c10 = f32x4.add(c10, v128.load(o1));
    c11 = f32x4.add(c11, v128.load(o1, 16));
    c20 = f32x4.add(c20, v128.load(o2));
    c21 = f32x4.add(c21, v128.load(o2, 16));
    c30 = f32x4.add(c30, v128.load(o3));
    c31 = f32x4.add(c31, v128.load(o3, 16));
  }
  v128.store(o, c00);
  v128.store(o, c01, 16);
  v128.store(o1, c10);
  v128.store(o1, c11, 16);
  v128.store(o2, c20);
  v128.store(o2, c21, 16);
  v128.store(o3, c30);
  v128.store(o3, c31, 16);
}

/** One row, four columns: out[i, m0…m0+4] += or = Σ_t A(i, t) · b[t, m0…m0+4]. */
// @ts-ignore: decorator
@inline
function block1x4(pa: usize, stepA: usize, pb: usize, stepB: usize, n: i32, o: usize, add: bool): void {
  let c = f32x4.splat(0);
  for (let t = 0; t < n; t++) {
    c = f32x4.add(c, f32x4.mul(v128.load32_splat(pa), v128.load(pb)));
    pa += stepA;
    pb += stepB;
  }
  v128.store(o, add ? f32x4.add(c, v128.load(o)) : c);
}

/** One element: Σ_t A(i, t) · b[t, m]. */
function dot1(pa: usize, stepA: usize, pb: usize, stepB: usize, n: i32): f32 {
  let s: f32 = 0;
  for (let t = 0; t < n; t++) {
    s += load<f32>(pa) * load<f32>(pb);
    pa += stepA;
    pb += stepB;
  }
  return s;
}

/**
 * out [rows, M] = Σ_{t<depth} A(i, t) · b[t, :], with A(i, t) at a + i·laneA + t·stepA bytes and b
 * [depth, M] row-major.
 */
function product(a: usize, laneA: usize, stepA: usize, b: usize, out: usize, rows: i32, depth: i32, M: i32): void {
  const R4 = rows & ~3;
  const M8 = M & ~7;
  const M4 = M & ~3;
  const stepB = <usize>M << 2;
  for (let t0 = 0; t0 < depth; t0 += CHUNK) {
    const n = min(CHUNK, depth - t0);
    const add = t0 > 0;
    const ca = a + <usize>t0 * stepA;
    const cb = at(b, t0 * M);
    for (let m0 = 0; m0 < M8; m0 += 8) {
      for (let i0 = 0; i0 < R4; i0 += 4) block4x8(ca + <usize>i0 * laneA, stepA, laneA, at(cb, m0), stepB, n, at(out, i0 * M + m0), stepB, add);
      for (let i = R4; i < rows; i++) {
        block1x4(ca + <usize>i * laneA, stepA, at(cb, m0), stepB, n, at(out, i * M + m0), add);
        block1x4(ca + <usize>i * laneA, stepA, at(cb, m0 + 4), stepB, n, at(out, i * M + m0 + 4), add);
      }
    }
    for (let m0 = M8; m0 < M4; m0 += 4) {
      for (let i = 0; i < rows; i++) block1x4(ca + <usize>i * laneA, stepA, at(cb, m0), stepB, n, at(out, i * M + m0), add);
    }
    for (let m = M4; m < M; m++) {
      for (let i = 0; i < rows; i++) {
        const o = at(out, i * M + m);
        store<f32>(o, (add ? load<f32>(o) : 0) + dot1(ca + <usize>i * laneA, stepA, at(cb, m), stepB, n));
      }
    }
  }
}

/** out [N, M] = a [N, K] · b [K, M]. */
export function matmul(a: usize, b: usize, out: usize, N: i32, K: i32, M: i32): void {
  product(a, <usize>K << 2, 4, b, out, N, K, M);
}

/** out [K, M] = a [N, K]ᵀ · b [N, M]. */
export function weightGrad(a: usize, b: usize, out: usize, N: i32, K: i32, M: i32): void {
  product(a, 4, <usize>K << 2, b, out, K, N, M);
}
