/** The fused GELU kernels against the plain tfjs ops, on webgpu and on cpu. */
import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { gelu } from '../../workers/kernels/gelu.ts';
import * as ops from '../../workers/ops.ts';
import { countDispatches, normals, on } from './kernel-helpers.ts';
import { relErr } from '../helpers.ts';

const TOL = 1e-4;
// One element, odd sizes (a ragged last workgroup), and the tiny model's MLP activations [16·64, 4·64].
const SHAPES: number[][] = [
  [1, 1],
  [7, 13],
  [65, 83],
  [1024, 256],
];

/** Wide inputs: the tails (|x| > 4, where Φ saturates and φ vanishes) and zero itself are in range. */
function wide(seed: number, n: number, std: number): Float32Array {
  const v = normals(seed, n, std);
  v[0] = 0;
  return v;
}

const dispatched = countDispatches();

/** y and the gradient of Σ y · dy for x, with the dispatches each direction took. */
async function run(shape: number[], seed: number, fused: boolean) {
  const n = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(wide(seed, n, 3), shape);
  const dy = tf.tensor(wide(seed + 1, n, 1), shape);
  await Promise.all([x.data(), dy.data()]); // uploaded before counting
  let d0 = dispatched.count;
  const y = gelu(x, fused);
  const forwardDispatches = dispatched.count - d0;
  d0 = dispatched.count;
  const dx = tf.grad((a: tf.Tensor) => gelu(a, fused))(x, dy);
  const backwardDispatches = dispatched.count - d0 - forwardDispatches;
  const out = { y: (await y.data()) as Float32Array, dx: (await dx.data()) as Float32Array, forwardDispatches, backwardDispatches };
  tf.dispose([x, dy, y, dx]);
  return out;
}

SHAPES.forEach((shape, i) => {
  test(`fused GELU matches the tfjs ops on webgpu and on cpu, values and gradients ([${shape}])`, async () => {
    const fused = await run(shape, 10 * i, true);
    const plain = await run(shape, 10 * i, false);
    const cpu = await on('cpu', () => run(shape, 10 * i, false));
    for (const key of ['y', 'dx'] as const) {
      expect(relErr(fused[key], plain[key]), `${key}: fused vs tfjs on webgpu`).toBeLessThan(TOL);
      expect(relErr(fused[key], cpu[key]), `${key}: fused vs cpu`).toBeLessThan(TOL);
    }
    expect(fused.forwardDispatches, 'forward').toBe(1);
    expect(fused.backwardDispatches, 'backward').toBe(1);
    expect(plain.forwardDispatches + plain.backwardDispatches).toBeGreaterThan(8);
  });
});

test('fused GELU is exact GELU: known values, and the gradient against a central difference', async () => {
  // x·Φ(x) from float64 erf values (Abramowitz–Stegun 7.1.26 is good to 1.5e-7 absolute).
  const xs = [-3, -1, -0.5, 0, 0.5, 1, 3];
  const phi = [
    0.0013498980316301, 0.15865525393145707, 0.3085375387259869, 0.5, 0.6914624612740131, 0.8413447460685429, 0.9986501019683699,
  ];
  const y = await gelu(tf.tensor1d(xs), true).data();
  xs.forEach((x, i) => expect(y[i]).toBeCloseTo(x * phi[i], 6));
  const h = 1e-2;
  const dx = await tf
    .grad((a: tf.Tensor) => gelu(a, true))(tf.tensor1d(xs))
    .data();
  const up = await gelu(tf.tensor1d(xs.map((x) => x + h)), true).data();
  const down = await gelu(tf.tensor1d(xs.map((x) => x - h)), true).data();
  xs.forEach((_, i) => expect(dx[i]).toBeCloseTo((up[i] - down[i]) / (2 * h), 3));
});

test('fused GELU leaves no tensor behind, with or without a gradient', async () => {
  const x = tf.variable(tf.tensor2d(wide(3, 9 * 13, 2), [9, 13]));
  const counts: number[] = [];
  for (let i = 0; i < 4; i++) {
    const y = gelu(x);
    await y.data();
    y.dispose();
    const { value, grads } = tf.variableGrads(() => gelu(x).square().sum() as tf.Scalar, [x]);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
    counts.push(tf.memory().numTensors);
  }
  expect(new Set(counts).size).toBe(1);
  x.dispose();
});

test('gelu runs the plain tfjs ops off webgpu, and refuses the kernels there', async () => {
  await on('cpu', async () => {
    const x = tf.tensor1d(wide(4, 11, 2));
    const y = gelu(x);
    const expected = ops.gelu(x);
    expect(Array.from(await y.data())).toEqual(Array.from(await expected.data()));
    expect(() => gelu(x, true)).toThrow(/webgpu/);
    tf.dispose([x, y, expected]);
  });
});
