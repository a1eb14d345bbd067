import { describe, expect, test } from 'vitest';
import { opsFor, plainOps, webgpuOps } from '../../workers/model-ops.ts';
import { expectSameAsReference, OP_CASES } from '../ops-table.ts';

describe('on webgpu, the custom kernels equal the plain ops in value and gradient', () => {
  test.each(OP_CASES)('$name', async (c) => {
    await expectSameAsReference(c, webgpuOps, plainOps, 1e-5);
  });

  test("the backend's ops are chosen once: webgpu's, or the plain ones when asked", () => {
    expect(opsFor().name).toBe('webgpu');
    expect(opsFor(false).name).toBe('plain');
  });
});
