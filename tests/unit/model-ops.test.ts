import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { opsFor, plainOps, wasmOps } from '../../workers/model-ops.ts';
import { expectSameAsReference, OP_CASES } from '../ops-table.ts';

describe('on wasm, the XNNPACK ops equal the plain ops in value and gradient', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  test.each(OP_CASES)('$name', async (c) => {
    await expectSameAsReference(c, wasmOps, plainOps, 1e-5);
  });

  test("the backend's ops are chosen once: wasm's on wasm, the plain ones when asked", () => {
    expect(opsFor().name).toBe('wasm');
    expect(opsFor(false).name).toBe('plain');
  });
});

test('on cpu, the plain ops', async () => {
  await tf.setBackend('cpu');
  expect(opsFor().name).toBe('plain');
});

/** erf in double precision from its Maclaurin series (exact to ~1e-9 for |x| ≤ 4, far below float32's step). */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

test("GELU is exact, x·Φ(x) with Φ from erf as PyTorch's nn.GELU() computes it, not the tanh approximation", async () => {
  await tf.setBackend('cpu');
  const xs = Array.from({ length: 801 }, (_, i) => -4 + i / 100);
  const got = await plainOps.gelu(tf.tensor2d(xs, [1, xs.length])).data();
  const exact = xs.map((x) => 0.5 * x * (1 + erf(x / Math.SQRT2)));
  const tanhApprox = xs.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))));
  const worst = (ref: number[]) => Math.max(...ref.map((r, i) => Math.abs(got[i] - r)));
  expect(worst(exact)).toBeLessThan(2e-6); // float32 and tfjs's own erf
  expect(Math.max(...exact.map((e, i) => Math.abs(e - tanhApprox[i])))).toBeGreaterThan(1e-4); // what the bound above tells apart
});
