/** The fused causal-attention kernels against the plain tfjs ops, on webgpu and on cpu. ATTENTION_REPORT=1 prints the errors measured. */
import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { splitTrainVal } from '../../src/core/batching.ts';
import { GPT } from '../../workers/model.ts';
import { Trainer } from '../../workers/train.ts';
import { attentionTile, causalAttention } from '../../workers/kernels/attention.ts';
import { microTrain, relErr, syntheticIds } from '../helpers.ts';
import { countDispatches, on, normals } from './kernel-helpers.ts';

const TOL = 1e-4;

const dispatched = countDispatches();

interface Shape {
  B: number;
  nh: number;
  T: number;
  hs: number;
}

interface Result {
  y: Float32Array;
  dqkv: Float32Array;
  forwardDispatches: number;
  gradDispatches: number; // forward and backward under tf.grad
}

/** y and dqkv of attention on `qkv` with upstream gradient `dy`, on the current backend. */
async function attention({ B, nh, T, hs }: Shape, qkvData: Float32Array, dyData: Float32Array, fused: boolean): Promise<Result> {
  const C = nh * hs;
  const qkv = tf.tensor2d(qkvData, [B * T, 3 * C]);
  const dy = tf.tensor2d(dyData, [B * T, C]);
  let d0 = dispatched.count;
  const y = causalAttention(qkv, T, nh, { fused });
  const forwardDispatches = dispatched.count - d0;
  const yData = (await y.data()) as Float32Array;
  d0 = dispatched.count;
  const dqkv = tf.grad((x: tf.Tensor) => causalAttention(x, T, nh, { fused }))(qkv, dy);
  const gradDispatches = dispatched.count - d0;
  const out = { y: yData, dqkv: (await dqkv.data()) as Float32Array, forwardDispatches, gradDispatches };
  tf.dispose([qkv, dy, y, dqkv]);
  return out;
}

/** Columns [from, from + n) of a row-major matrix with `width` columns. */
function columns(x: Float32Array, width: number, from: number, n: number): Float32Array {
  const rows = x.length / width;
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * width + from, r * width + from + n), r * n);
  return out;
}

const SHAPES: Shape[] = [
  { B: 2, nh: 3, T: 17, hs: 8 }, // odd T: a ragged single tile
  { B: 1, nh: 2, T: 64, hs: 16 },
  { B: 3, nh: 1, T: 45, hs: 32 }, // two tiles of 32, the second ragged
  { B: 1, nh: 2, T: 37, hs: 12 }, // a head size that is not a power of two
  { B: 1, nh: 1, T: 256, hs: 64 }, // the longest context: 16 tiles of 16
];

for (const shape of SHAPES) {
  const { B, nh, T, hs } = shape;
  test(`fused attention matches the tfjs ops on webgpu and cpu, values and gradients (B ${B}, heads ${nh}, T ${T}, hs ${hs}, tile ${attentionTile(hs)})`, async () => {
    const C = nh * hs;
    const qkv = normals(T * 7 + hs, B * T * 3 * C, 1);
    const dy = normals(T * 11 + hs, B * T * C, 1);
    const fused = await attention(shape, qkv, dy, true);
    const plain = await attention(shape, qkv, dy, false);
    const cpu = await on('cpu', () => attention(shape, qkv, dy, true)); // fused asked for, plain ops run
    // Each of y, dq, dk and dv against the plain ops on webgpu and on cpu.
    const errors: Record<string, number> = {};
    for (const [ref, other] of [
      ['webgpu', plain],
      ['cpu', cpu],
    ] as const) {
      errors[`y ${ref}`] = relErr(fused.y, other.y);
      ['dq', 'dk', 'dv'].forEach((name, part) => {
        errors[`${name} ${ref}`] = relErr(columns(fused.dqkv, 3 * C, part * C, C), columns(other.dqkv, 3 * C, part * C, C));
      });
    }
    if (process.env.ATTENTION_REPORT)
      console.log(
        JSON.stringify({ shape, errors, plainDispatches: [plain.forwardDispatches, plain.gradDispatches - plain.forwardDispatches] }),
      );
    for (const [name, e] of Object.entries(errors)) expect(e, name).toBeLessThan(TOL);
    expect(fused.forwardDispatches).toBe(1);
    expect(fused.gradDispatches).toBe(2); // the forward again, then the backward
  });
}

test('changing keys and values after position t leaves the fused output at positions ≤ t unchanged', async () => {
  const shape = { B: 2, nh: 2, T: 40, hs: 16 };
  const { B, nh, T, hs } = shape;
  const C = nh * hs;
  const base = normals(5, B * T * 3 * C, 1);
  const dy = normals(6, B * T * C, 1);
  const a = await attention(shape, base, dy, true);
  for (const t of [0, 15, T - 2]) {
    const changed = base.slice();
    for (let b = 0; b < B; b++) {
      for (let j = t + 1; j < T; j++) {
        for (let c = C; c < 3 * C; c++) changed[(b * T + j) * 3 * C + c] += 1; // keys and values of row j
      }
    }
    const b = await attention(shape, changed, dy, true);
    for (let bi = 0; bi < B; bi++) {
      const upTo = (x: Float32Array) => x.subarray(bi * T * C, (bi * T + t + 1) * C);
      const after = (x: Float32Array) => x.subarray((bi * T + t + 1) * C, (bi + 1) * T * C);
      expect(relErr(upTo(b.y), upTo(a.y)), `rows ≤ ${t}`).toBe(0);
      expect(relErr(after(b.y), after(a.y)), `rows > ${t}`).toBeGreaterThan(1e-3);
    }
  }
});

test('repeated fused forward and backward passes keep tensors and GPU memory flat', async () => {
  const { B, nh, T, hs } = { B: 2, nh: 2, T: 24, hs: 8 };
  const C = nh * hs;
  const qkv = tf.tensor2d(normals(7, B * T * 3 * C, 1), [B * T, 3 * C]);
  const dy = tf.tensor2d(normals(8, B * T * C, 1), [B * T, C]);
  const grad = tf.grad((x: tf.Tensor) => causalAttention(x, T, nh));
  const tensors: number[] = [];
  const bytes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const y = causalAttention(qkv, T, nh);
    const g = grad(qkv, dy);
    await Promise.all([y.data(), g.data()]);
    tf.dispose([y, g]);
    const mem = tf.memory() as tf.MemoryInfo & { numBytesInGPUAllocated: number };
    tensors.push(mem.numTensors);
    bytes.push(mem.numBytesInGPUAllocated);
  }
  tf.dispose([qkv, dy]);
  expect(new Set(tensors).size, `tensors ${tensors}`).toBe(1);
  expect(new Set(bytes.slice(1)).size, `GPU bytes ${bytes}`).toBe(1); // the first pass fills the buffer pool
});

test('a model of odd sizes trains with the custom kernels (attention among them) to the same losses as with the tfjs ops', async () => {
  const config = { vocabSize: 11, blockSize: 19, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 }; // hs 8, odd T
  const data = splitTrainVal(syntheticIds(3000, config.vocabSize), config.blockSize);
  const cfg = { ...microTrain, learningRate: 1e-2, warmupSteps: 2 }; // clipping 1.0, weight decay 0.1
  const run = async (fused: boolean) => {
    const model = new GPT(config, 5);
    const trainer = new Trainer(model, data, cfg, { fusedKernels: fused });
    const losses: number[] = [];
    const perStep: number[] = [];
    const tensors: number[] = [];
    for (let i = 0; i < 8; i++) {
      const d0 = dispatched.count;
      const loss = trainer.trainStep();
      perStep.push(dispatched.count - d0);
      losses.push((await loss.data())[0]);
      loss.dispose();
      tensors.push(tf.memory().numTensors);
    }
    const params = await Promise.all(model.params.map(async (p) => (await p.variable.data()) as Float32Array));
    trainer.dispose();
    model.dispose();
    return { losses, perStep, tensors, params };
  };
  const fused = await run(true);
  const plain = await run(false);
  if (process.env.ATTENTION_REPORT)
    console.log(
      JSON.stringify({ fused: fused.losses, plain: plain.losses, dispatchesPerStep: { fused: fused.perStep[1], plain: plain.perStep[1] } }),
    );
  expect(relErr(fused.losses, plain.losses)).toBeLessThan(TOL);
  expect(fused.losses.at(-1)).toBeLessThan(fused.losses[0]);
  fused.params.forEach((p, i) => expect(relErr(p, plain.params[i]), `parameter ${i}`).toBeLessThan(TOL));
  expect(new Set(fused.tensors).size, 'tensors per step').toBe(1);
  // Each layer's attention alone: 2 dispatches (forward, backward) instead of some 25 tfjs kernels.
  expect(new Set(fused.perStep.slice(1)).size).toBe(1);
  expect(plain.perStep[1] - fused.perStep[1]).toBeGreaterThanOrEqual(config.nLayer * 20);
});
