/**
 * Softmax cross-entropy over logits [rows, V] with int32 targets [rows], four logits at a time
 * (the host side, and the math, in ../cross-entropy.ts). stats [rows, 2] holds each row's max
 * and lse = log Σ exp(logit − max). A target outside [0, V) adds 0 to the loss and gets a zero
 * gradient, as the plain ops' all-zero one-hot row gives. Pointers are byte offsets into
 * tfjs-wasm's heap.
 */
import { exp4, keepFirst, ln, loadTail, max4, storeTail, sum4 } from './simd-math';

// @ts-ignore: decorator
@inline
function at(p: usize, c: i32): usize {
  return p + (<usize>c << 2);
}

/** stats[r] = (max, log Σ exp(logit − max)) of each row. */
export function softmaxStats(logits: usize, stats: usize, rows: i32, V: i32): void {
  const whole = V & ~3;
  const tail = V - whole;
  for (let r = 0; r < rows; r++) {
    const p = at(logits, r * V);
    let mx: f32 = load<f32>(p);
    let m4 = f32x4.splat(mx);
    for (let c = 0; c < whole; c += 4) m4 = f32x4.pmax(m4, v128.load(at(p, c)));
    mx = max4(m4);
    for (let c = whole; c < V; c++) mx = max(mx, load<f32>(at(p, c)));
    const m = f32x4.splat(mx);
    let s = f32x4.splat(0);
    for (let c = 0; c < whole; c += 4) s = f32x4.add(s, exp4(f32x4.sub(v128.load(at(p, c)), m)));
    if (tail > 0) s = f32x4.add(s, keepFirst(exp4(f32x4.sub(loadTail(at(p, whole), tail), m)), tail));
    store<f32>(stats + (<usize>r << 3), mx);
    store<f32>(stats + (<usize>r << 3), ln(sum4(s)), 4);
  }
}

/** The mean over rows of −log softmax(logits)[target] = lse − (logit[target] − max). */
export function meanCrossEntropy(logits: usize, targets: usize, stats: usize, rows: i32, V: i32): f32 {
  let total: f32 = 0;
  for (let r = 0; r < rows; r++) {
    const t = load<i32>(targets + (<usize>r << 2));
    if (t < 0 || t >= V) continue;
    const mx = load<f32>(stats + (<usize>r << 3));
    const lse = load<f32>(stats + (<usize>r << 3), 4);
    total += lse - (load<f32>(at(logits, r * V + t)) - mx);
  }
  return total / <f32>rows;
}

/** dlogits = (softmax(logits) − onehot(target)) · dy / rows, softmax as exp((logit − max) − lse). */
export function crossEntropyGrad(logits: usize, targets: usize, stats: usize, dy: f32, dlogits: usize, rows: i32, V: i32): void {
  const whole = V & ~3;
  const tail = V - whole;
  const k = f32x4.splat(dy / <f32>rows);
  for (let r = 0; r < rows; r++) {
    const p = at(logits, r * V);
    const q = at(dlogits, r * V);
    const m = f32x4.splat(load<f32>(stats + (<usize>r << 3)));
    const lse = f32x4.splat(load<f32>(stats + (<usize>r << 3), 4));
    for (let c = 0; c < whole; c += 4) {
      v128.store(at(q, c), f32x4.mul(exp4(f32x4.sub(f32x4.sub(v128.load(at(p, c)), m), lse)), k));
    }
    if (tail > 0) storeTail(at(q, whole), f32x4.mul(exp4(f32x4.sub(f32x4.sub(loadTail(at(p, whole), tail), m), lse)), k), tail);
    const t = load<i32>(targets + (<usize>r << 2));
    if (t >= 0 && t < V) {
      const pt = f32x4.extract_lane(exp4(f32x4.sub(f32x4.sub(f32x4.splat(load<f32>(at(p, t))), m), lse)), 0);
      store<f32>(at(q, t), (pt - 1) * f32x4.extract_lane(k, 0));
    }
  }
}
