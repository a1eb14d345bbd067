/** The fused LayerNorm kernels against the plain tfjs ops, on webgpu and on cpu. */
import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { layerNorm } from '../../workers/kernels/layer-norm.ts';
import { countDispatches, on, normals } from './kernel-helpers.ts';
import { relErr } from '../helpers.ts';

const EPS = 1e-5; // model.ts's
const TOL = 1e-4;
// [rows, d]: odd widths (ragged rows), one row, a workgroup and a bit of rows, and B·T = 16·64 rows of the tiny model.
const SHAPES: [number, number][] = [
  [1, 13],
  [5, 83],
  [65, 64],
  [130, 97],
  [1024, 64],
];

/** Inputs for one shape: rows off zero (the mean matters), and row 2 constant (zero variance: eps alone). */
function inputs([rows, d]: [number, number], seed: number) {
  const x = normals(seed, rows * d, 2, 3);
  if (rows > 2) x.fill(0.75, 2 * d, 3 * d);
  return { x, gamma: normals(seed + 1, d, 0.5, 1), dy: normals(seed + 2, rows * d, 1) };
}

const dispatched = countDispatches();

interface Result {
  y: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array;
  forwardDispatches: number;
  backwardDispatches: number;
}

/** y, and the gradients for x and γ of Σ y · dy, on the current backend. */
async function run(shape: [number, number], seed: number, fused: boolean): Promise<Result> {
  const { x: xv, gamma: gv, dy: dyv } = inputs(shape, seed);
  const [x, dy] = [tf.tensor2d(xv, shape), tf.tensor2d(dyv, shape)];
  const gamma = tf.tensor1d(gv);
  await Promise.all([x.data(), gamma.data(), dy.data()]); // uploaded before counting
  let d0 = dispatched.count;
  const y = layerNorm(x, gamma, EPS, fused);
  const forwardDispatches = dispatched.count - d0;
  const f = (a: tf.Tensor, b: tf.Tensor) => layerNorm(a as tf.Tensor2D, b as tf.Tensor1D, EPS, fused);
  d0 = dispatched.count;
  const [dx, dgamma] = tf.grads(f)([x, gamma], dy);
  const withBackward = dispatched.count - d0;
  const out = {
    y: (await y.data()) as Float32Array,
    dx: (await dx.data()) as Float32Array,
    dgamma: (await dgamma.data()) as Float32Array,
    forwardDispatches,
    backwardDispatches: withBackward - forwardDispatches,
  };
  tf.dispose([x, gamma, dy, y, dx, dgamma]);
  return out;
}

SHAPES.forEach((shape, i) => {
  test(`fused LayerNorm matches the tfjs ops on webgpu and on cpu, values and gradients ([${shape}])`, async () => {
    const fused = await run(shape, 10 * i, true);
    const plain = await run(shape, 10 * i, false);
    const cpu = await on('cpu', () => run(shape, 10 * i, false));
    for (const key of ['y', 'dx', 'dgamma'] as const) {
      expect(relErr(fused[key], plain[key]), `${key}: fused vs tfjs on webgpu`).toBeLessThan(TOL);
      expect(relErr(fused[key], cpu[key]), `${key}: fused vs cpu`).toBeLessThan(TOL);
    }
    expect(fused.forwardDispatches, 'forward').toBe(1);
    expect(fused.backwardDispatches, 'backward: dx, then dγ').toBe(2);
  });
});

test('fused LayerNorm leaves no tensor behind, with or without a gradient', async () => {
  const shape: [number, number] = [9, 13];
  const { x: xv, gamma: gv } = inputs(shape, 7);
  const x = tf.tensor2d(xv, shape);
  const gamma = tf.variable(tf.tensor1d(gv));
  const counts: number[] = [];
  for (let i = 0; i < 4; i++) {
    const y = layerNorm(x, gamma, EPS);
    await y.data();
    y.dispose();
    const { value, grads } = tf.variableGrads(() => layerNorm(x, gamma, EPS).square().sum() as tf.Scalar, [gamma]);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
    counts.push(tf.memory().numTensors);
  }
  expect(new Set(counts).size).toBe(1);
  tf.dispose([x, gamma]);
});

test('layerNorm runs the plain tfjs ops off webgpu, and refuses the kernels there', async () => {
  const shape: [number, number] = [3, 5];
  const { x: xv, gamma: gv } = inputs(shape, 3);
  await on('cpu', async () => {
    const x = tf.tensor2d(xv, shape);
    const gamma = tf.tensor1d(gv);
    const y = layerNorm(x, gamma, EPS);
    const { mean, variance } = tf.moments(x, -1, true);
    const expected = x
      .sub(mean)
      .mul(tf.rsqrt(variance.add(EPS)))
      .mul(gamma);
    expect(Array.from(await y.data())).toEqual(Array.from(await expected.data())); // the same ops, bit for bit
    expect(() => layerNorm(x, gamma, EPS, true)).toThrow(/webgpu/);
    tf.dispose([x, gamma, y, mean, variance, expected]);
  });
});
