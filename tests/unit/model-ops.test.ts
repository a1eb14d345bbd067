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
