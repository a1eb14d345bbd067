/**
 * The WGSL of the fused causal self-attention kernels (attention.ts registers and calls them).
 *
 * Forward (flash-attention style, Dao et al. 2022): one workgroup per (batch, head, tile of TILE
 * query rows), one thread per row. Key and value rows come through workgroup memory TILE at a
 * time; each thread keeps its query, running maximum, running sum and weighted sum of values in
 * registers and rescales them as each tile raises the maximum (the online softmax). Tiles past
 * the workgroup's last row are never loaded and keys past a row's own position are skipped:
 * nothing is masked, so no −Infinity and no −1e9 appear. It writes y and, for the backward pass,
 * only the per-row log-sum-exp L = max + log(sum), [B, nh, T]: the T×T probabilities are never
 * stored.
 *
 * Backward: one dispatch through tfjs's program API, writing dqkv [B*T, 3C]. With the
 * probabilities recomputed from L, P_ij = exp(q_i·k_j/√hs − L_i), and D_i = dO_i·O_i:
 *   dv_j = Σ_{i≥j} P_ij dO_i      dS_ij = P_ij (dO_i·v_j − D_i)
 *   dq_i = Σ_{j≤i} dS_ij k_j /√hs  dk_j = Σ_{i≥j} dS_ij q_i /√hs
 * Its first half of workgroups computes dq (a query tile each, key tiles streamed through
 * workgroup memory), the second half dk and dv (a key tile each, query, dO, L and D tiles
 * streamed); they write disjoint columns of dqkv, so they share one dispatch. D is recomputed
 * where needed (hs multiply-adds per row) instead of taking a dispatch of its own.
 *
 * Workgroup memory: two tiles of TILE×hs floats (keys and values; or queries and dO) plus two
 * rows of TILE (L and D), at most 8.5 KB: TILE = min(64, 1024 / hs) rounded down to a power of
 * two (hs 8 or 16: 64; 32: 32; 64: 16), inside WebGPU's 16 KB default. Any T works: T only
 * sets how many tiles a workgroup streams (T = 256 with hs = 64 is 16 tiles).
 */
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

/** Query rows (and keys) per tile for head size hs: the tiles of keys and values fill at most 8 KB. */
export function attentionTile(hs: number): number {
  let tile = 1;
  while (tile * 2 <= 64 && tile * 2 * hs <= 1024) tile *= 2;
  return tile;
}

/** 1/√hs as model.ts rounds it (a JS double, then float32), written as a WGSL literal. */
function scaleLiteral(hs: number): string {
  return `${Math.fround(1 / Math.sqrt(hs))}`;
}

// ---------------------------------------------------------------------------------------------
// Forward: y and L, one dispatch of its own compute pass.

/** The forward shader for head size hs, TILE = tile: writes y and L. */
export function forwardWgsl(hs: number, tile: number): string {
  return /* wgsl */ `
struct Params {
  T: u32,        // sequence length
  nh: u32,       // heads
  rowTiles: u32, // ceil(T / TILE)
};
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;         // [B*T, 3C]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;     // [B*T, C]
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;   // [B, nh, T]

const HS = ${hs}u;
const TILE = ${tile}u;
const SCALE = ${scaleLiteral(hs)};
var<workgroup> kTile: array<f32, ${tile * hs}>; // [TILE, HS] keys j0 …
var<workgroup> vTile: array<f32, ${tile * hs}>; // [TILE, HS] values j0 …

// Workgroup (b·nh + h)·rowTiles + tile; thread lid: query row tile·TILE + lid.
@compute @workgroup_size(${tile})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let T = params.T;
  let C = params.nh * HS;
  let tile = wg.x % params.rowTiles;
  let bh = wg.x / params.rowTiles; // b·nh + h
  let h = bh % params.nh;
  let b = bh / params.nh;
  let i = tile * TILE + lid;
  let live = i < T; // the last tile's spare threads still load and wait at the barriers

  var q: array<f32, HS>;   // this row's query, times 1/√hs as model.ts scales it
  var acc: array<f32, HS>; // Σ exp(s_j − m)·v_j
  var s: array<f32, TILE>; // this tile's scores
  let qAt = (b * T + min(i, T - 1u)) * 3u * C + h * HS;
  for (var d = 0u; d < HS; d++) {
    q[d] = qkv[qAt + d] * SCALE;
    acc[d] = 0.0;
  }
  var m = -1e30; // running maximum (finite: exp(m − s) underflows to 0 for the first tile)
  var l = 0.0;   // Σ exp(s_j − m)

  let keys = min(T, (tile + 1u) * TILE); // causal: this workgroup's rows see keys < keys only
  for (var j0 = 0u; j0 < keys; j0 += TILE) {
    for (var e = lid; e < TILE * HS; e += TILE) {
      let at = (b * T + min(j0 + e / HS, T - 1u)) * 3u * C + C + h * HS + e % HS;
      kTile[e] = qkv[at];
      vTile[e] = qkv[at + C];
    }
    workgroupBarrier();
    if (live) {
      let n = min(TILE, i + 1u - j0); // keys j0 … min(i, j0 + TILE − 1): j0 ≤ tile·TILE ≤ i
      var mt = m;
      for (var jj = 0u; jj < n; jj++) {
        var dot = 0.0;
        for (var d = 0u; d < HS; d++) { dot += q[d] * kTile[jj * HS + d]; }
        s[jj] = dot;
        mt = max(mt, dot);
      }
      let c = exp(m - mt);
      l *= c;
      for (var d = 0u; d < HS; d++) { acc[d] *= c; }
      for (var jj = 0u; jj < n; jj++) {
        let p = exp(s[jj] - mt);
        l += p;
        for (var d = 0u; d < HS; d++) { acc[d] += p * vTile[jj * HS + d]; }
      }
      m = mt;
    }
    workgroupBarrier();
  }
  if (live) {
    let yAt = (b * T + i) * C + h * HS;
    for (var d = 0u; d < HS; d++) { y[yAt + d] = acc[d] / l; }
    lse[bh * T + i] = m + log(l);
  }
}`;
}

// ---------------------------------------------------------------------------------------------
// Backward: dqkv, one dispatch through tfjs's program API.

/**
 * The backward program. tfjs declares result (dqkv) at binding 0, then qkv, y, lse, dy and the
 * uniforms, and copies the builtins into private variables (workgroupId, localIndex); the
 * workgroup's x index is read back through workgroup memory with workgroupUniformLoad so that
 * WGSL knows it is uniform, as the branch and the loops around barriers need.
 */
export class AttentionGradProgram implements WebGPUProgram {
  variableNames = ['qkv', 'y', 'lse', 'dy'];
  uniforms = 'T : i32, nh : i32, rowTiles : i32,';
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0], y: [1], z: [2] }; // x: role and tile, y: head, z: batch
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  private readonly hs: number;
  private readonly tile: number;

  constructor(B: number, T: number, nHead: number, hs: number) {
    this.hs = hs;
    this.tile = attentionTile(hs);
    this.outputShape = [B * T, 3 * nHead * hs];
    this.shaderKey = `tabgptAttentionGrad_${hs}_${this.tile}`;
    this.dispatch = [2 * Math.ceil(T / this.tile), nHead, B];
    this.workgroupSize = [this.tile, 1, 1];
  }

  getUserCode(): string {
    const { hs, tile } = this;
    return /* wgsl */ `
const HS = ${hs}u;
const TILE = ${tile}u;
const SCALE = ${scaleLiteral(hs)};
var<workgroup> tileA: array<f32, ${tile * hs}>; // keys (dq) or queries ×1/√hs (dk, dv): [TILE, HS]
var<workgroup> tileB: array<f32, ${tile * hs}>; // values (dq) or dO (dk, dv): [TILE, HS]
var<workgroup> rowL: array<f32, TILE>;          // dk, dv: L of the query tile's rows
var<workgroup> rowD: array<f32, TILE>;          // dk, dv: D of the query tile's rows
var<workgroup> groupX: u32;

fn main() {
  if (localIndex == 0u) { groupX = workgroupId.x; }
  let x = workgroupUniformLoad(&groupX);
  let T = u32(uniforms.T);
  let nh = u32(uniforms.nh);
  let rowTiles = u32(uniforms.rowTiles);
  let h = workgroupId.y;
  let b = workgroupId.z;
  let C = nh * HS;
  let lid = localIndex;
  if (x < rowTiles) {
    gradQuery(b, h, x, lid, T, nh, C);
  } else {
    gradKeyValue(b, h, x - rowTiles, lid, T, nh, C);
  }
}

// D_i = dO_i · O_i.
fn deltaOf(b: u32, i: u32, h: u32, T: u32, C: u32) -> f32 {
  let at = (b * T + i) * C + h * HS;
  var s = 0.0;
  for (var d = 0u; d < HS; d++) { s += dy[at + d] * y[at + d]; }
  return s;
}

// dq for query rows tile·TILE + lid, streaming key and value tiles.
fn gradQuery(b: u32, h: u32, tile: u32, lid: u32, T: u32, nh: u32, C: u32) {
  let i = tile * TILE + lid;
  let live = i < T;
  let r = min(i, T - 1u);
  var q: array<f32, HS>;
  var g: array<f32, HS>; // dO_i
  var dq: array<f32, HS>;
  let qAt = (b * T + r) * 3u * C + h * HS;
  let gAt = (b * T + r) * C + h * HS;
  for (var d = 0u; d < HS; d++) {
    q[d] = qkv[qAt + d] * SCALE;
    g[d] = dy[gAt + d];
    dq[d] = 0.0;
  }
  let L = lse[(b * nh + h) * T + r];
  let D = deltaOf(b, r, h, T, C);
  let keys = min(T, (tile + 1u) * TILE);
  for (var j0 = 0u; j0 < keys; j0 += TILE) {
    for (var e = lid; e < TILE * HS; e += TILE) {
      let at = (b * T + min(j0 + e / HS, T - 1u)) * 3u * C + C + h * HS + e % HS;
      tileA[e] = qkv[at];
      tileB[e] = qkv[at + C];
    }
    workgroupBarrier();
    if (live) {
      let n = min(TILE, i + 1u - j0);
      for (var jj = 0u; jj < n; jj++) {
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < HS; d++) {
          s += q[d] * tileA[jj * HS + d];
          dp += g[d] * tileB[jj * HS + d];
        }
        let ds = exp(s - L) * (dp - D);
        for (var d = 0u; d < HS; d++) { dq[d] += ds * tileA[jj * HS + d]; }
      }
    }
    workgroupBarrier();
  }
  if (live) {
    for (var d = 0u; d < HS; d++) { result[qAt + d] = dq[d] * SCALE; }
  }
}

// dk and dv for key rows tile·TILE + lid, streaming the tiles of query rows at or after them.
fn gradKeyValue(b: u32, h: u32, tile: u32, lid: u32, T: u32, nh: u32, C: u32) {
  let j = tile * TILE + lid;
  let live = j < T;
  var k: array<f32, HS>;
  var v: array<f32, HS>;
  var dk: array<f32, HS>;
  var dv: array<f32, HS>;
  let kAt = (b * T + min(j, T - 1u)) * 3u * C + C + h * HS;
  for (var d = 0u; d < HS; d++) {
    k[d] = qkv[kAt + d];
    v[d] = qkv[kAt + C + d];
    dk[d] = 0.0;
    dv[d] = 0.0;
  }
  for (var i0 = tile * TILE; i0 < T; i0 += TILE) {
    for (var e = lid; e < TILE * HS; e += TILE) {
      let i = min(i0 + e / HS, T - 1u);
      tileA[e] = qkv[(b * T + i) * 3u * C + h * HS + e % HS] * SCALE;
      tileB[e] = dy[(b * T + i) * C + h * HS + e % HS];
    }
    let r = min(i0 + lid, T - 1u);
    rowL[lid] = lse[(b * nh + h) * T + r];
    rowD[lid] = deltaOf(b, r, h, T, C);
    workgroupBarrier();
    if (live) {
      let first = max(j, i0) - i0;  // causal: rows i ≥ j
      let n = min(TILE, T - i0);
      for (var ii = first; ii < n; ii++) {
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < HS; d++) {
          s += tileA[ii * HS + d] * k[d];
          dp += tileB[ii * HS + d] * v[d];
        }
        let p = exp(s - rowL[ii]);
        let ds = p * (dp - rowD[ii]);
        for (var d = 0u; d < HS; d++) {
          dv[d] += p * tileB[ii * HS + d];
          dk[d] += ds * tileA[ii * HS + d];
        }
      }
    }
    workgroupBarrier();
  }
  if (live) {
    for (var d = 0u; d < HS; d++) {
      result[kAt + d] = dk[d];
      result[kAt + C + d] = dv[d];
    }
  }
}`;
  }
}
