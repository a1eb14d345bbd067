import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { defaultTrainConfig, type ModelConfig } from '../../src/core/config.ts';
import {
  capacityOf,
  capacityProblems,
  slowStepWarning,
  stepFootprint,
  validateRunFits,
  WASM_HEAP_BYTES,
  type Capacity,
} from '../../src/core/footprint.ts';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const model = (nLayer: number, nHead: number, nEmbd: number, blockSize: number, vocabSize = 83): ModelConfig => ({
  nLayer,
  nHead,
  nEmbd,
  blockSize,
  vocabSize,
  dropout: 0,
});

/**
 * The wasm heap after two steps and an evaluation (tests/unit/wasm-heap-step.ts, one process per
 * shape, Node 20, tfjs-backend-wasm 4.22, one thread): layers, heads, width, context, batch,
 * vocabulary, heap in MiB, the larger of the two ways a step's products run (the SIMD module's,
 * as in Node; XNNPACK's, as in a page with wasm threads, measured with the module's products
 * turned off). The heap grows in steps of about a fifth, so it overstates what a step needs by
 * up to 20%. 11 × 1024 (batch 1 × 8) died with XNNPACK's products.
 */
const measured: [number, number, number, number, number, number, number][] = [
  [1, 2, 256, 32, 16, 83, 69.1875],
  [4, 2, 256, 32, 16, 83, 248.188],
  [4, 4, 128, 128, 8, 83, 172.312],
  [2, 2, 64, 512, 2, 83, 40],
  [2, 16, 128, 128, 4, 83, 48],
  [1, 4, 128, 32, 32, 2000, 103.5],
  [2, 4, 64, 64, 64, 83, 143.562],
  [4, 4, 64, 64, 16, 83, 69.1875],
  [1, 8, 512, 64, 8, 83, 206.812],
  [1, 4, 64, 64, 16, 5000, 188.375],
  [8, 8, 512, 16, 1, 83, 901.938],
  [2, 4, 128, 256, 8, 83, 143.562],
  [1, 4, 512, 8, 1, 83, 119.625],
  [1, 4, 1024, 8, 1, 83, 433.625],
  [2, 4, 1024, 8, 1, 83, 838.062],
  [2, 4, 64, 64, 16, 83, 40],
  [2, 4, 128, 64, 16, 83, 83.0625],
  [2, 4, 256, 64, 16, 83, 206.812],
  [2, 8, 64, 256, 4, 83, 40],
  [2, 16, 64, 256, 4, 83, 40],
  [9, 4, 1024, 8, 1, 83, 3635.19],
  [10, 4, 1024, 8, 1, 83, 4053.06],
];

const wasm = capacityOf('wasm', 16 * GiB);

describe('the wasm estimate against the measured heap', () => {
  test.for(measured)('%i layers × %i heads × %i wide, context %i, batch %i, vocabulary %i', ([L, H, d, T, B, V, heapMiB]) => {
    const f = stepFootprint(model(L, H, d, T, V), B, 'wasm');
    // Never under what the heap grew to (a run the estimate passes fits), never far over (a run that fits is not refused).
    expect(f.bytes).toBeGreaterThanOrEqual(heapMiB * MiB);
    expect(f.bytes).toBeLessThan(1.6 * heapMiB * MiB);
    expect(f.bytes).toBeCloseTo(f.weightBytes + f.activationBytes, 0);
  });

  test('measured again now: the heap two shapes need is within the estimate', { timeout: 120_000 }, async () => {
    const run = promisify(execFile);
    // One shape whose heap is mostly activations, one mostly weights.
    for (const [L, H, d, T, B, V] of [
      [2, 4, 64, 64, 64, 83],
      [1, 4, 512, 8, 1, 83],
    ]) {
      const { stdout } = await run('node', ['--import', 'tsx', 'tests/unit/wasm-heap-step.ts', ...[L, H, d, T, B, V].map(String)]);
      const { heapBytes } = JSON.parse(stdout) as { heapBytes: number };
      const f = stepFootprint(model(L, H, d, T, V), B, 'wasm');
      expect(f.bytes).toBeGreaterThanOrEqual(heapBytes);
      // Node runs the SIMD module's products, which need up to a third less than the threaded page's XNNPACK ones the estimate covers.
      expect(f.bytes).toBeLessThan(2 * heapBytes);
    }
  });
});

describe('what a backend can give', () => {
  test("half the device's memory for the whole run; on wasm the heap's 4 GiB for its step as well", () => {
    expect(wasm).toMatchObject({
      backend: 'wasm',
      memoryBytes: 8 * GiB,
      heapBytes: WASM_HEAP_BYTES,
      memoryOf: "half of this device's 16.0 GiB",
    });
    expect(capacityOf('webgpu', 8 * GiB)).toMatchObject({
      memoryBytes: 4 * GiB,
      heapBytes: null,
      memoryOf: "half of this device's 8.0 GiB",
    });
    expect(capacityOf('cpu', null).memoryOf).toMatch(/does not say its memory/);
  });

  test("a browser's 8 GiB (the most navigator.deviceMemory says): the step and a checkpoint's copies must fit in 4", () => {
    const tab = capacityOf('wasm', 8 * GiB);
    // 9 × 1024 fits the heap but, with its checkpoint's 2.5 GiB of copies, not half of 8 GiB.
    const problems = capacityProblems(model(9, 4, 1024, 8), 1, tab);
    expect(problems.map((p) => p.field)).toEqual(['nEmbd']);
    expect(problems[0].message).toMatch(
      /needs about 6\.\d GiB on wasm \(weights and AdamW 3\.\d GiB, activations \d+ MiB, a checkpoint's copies 2\.\d GiB\); half of this device's 8\.0 GiB is the limit: use fewer layers or a smaller width$/,
    );
    expect(capacityProblems(model(5, 4, 1024, 8), 1, tab)).toEqual([]);
  });
});

describe('runs refused before the first step, with their numbers', () => {
  test('12 × 1024 (151 M parameters) on wasm: its weights alone pass the heap, said beside the width', () => {
    const problems = capacityProblems(model(12, 16, 1024, 64), 16, wasm);
    expect(problems).toEqual([
      {
        field: 'nEmbd',
        message: expect.stringMatching(
          /^12 layers of width 1024 \(151\.\d M parameters\) with batchSize 16 × blockSize 64 needs about 8\.\d GiB on wasm \(weights and AdamW 5\.\d GiB, activations 3\.\d GiB\); the wasm heap's 4\.0 GiB is the limit: use fewer layers or a smaller width$/,
        ) as unknown,
      },
    ]);
  });

  test('at the edge: 9 × 1024 at batch 1 × 8 fits the heap (it trains, heap 3.6 GiB); 10 × 1024 is refused (its heap reached 4.0 GiB)', () => {
    expect(capacityProblems(model(9, 4, 1024, 8), 1, wasm)).toEqual([]);
    expect(stepFootprint(model(9, 4, 1024, 8), 1, 'wasm').bytes).toBeGreaterThan(0.9 * WASM_HEAP_BYTES);
    expect(capacityProblems(model(10, 4, 1024, 8), 1, wasm).map((p) => p.field)).toEqual(['nEmbd']);
  });

  test('activations alone: a big batch of long contexts is refused beside the batch', () => {
    const problems = capacityProblems(model(1, 8, 64, 1024), 256, wasm);
    expect(problems.map((p) => p.field)).toEqual(['batchSize']);
    expect(problems[0].message).toMatch(/use a smaller batch, context or model$/);
  });

  test("webgpu: a tensor larger than the adapter's binding limit is refused, one under it is not", () => {
    const gpu: Capacity = { ...capacityOf('webgpu', 16 * GiB), maxBufferBytes: 128 * MiB };
    // Logits of batch × context × vocabulary floats: 64 × 256 × 2,048 × 4 B = 128 MiB is the limit itself.
    expect(capacityProblems(model(1, 4, 64, 256, 2048), 64, gpu)).toEqual([]);
    const over = capacityProblems(model(1, 4, 64, 256, 2049), 64, gpu);
    expect(over.map((p) => p.field)).toEqual(['batchSize']);
    expect(over[0].message).toMatch(
      /needs one tensor of 128 MiB; this WebGPU adapter binds at most 128 MiB at once: use a smaller batch or context$/,
    );
  });

  test('before a backend is known: the generic check against a tab’s 4 GiB, not a backend’s', () => {
    const big = { ...defaultTrainConfig, batchSize: 4096 };
    const issues = validateRunFits(model(2, 8, 512, 512), big, null);
    expect(issues.map((i) => i.field)).toEqual(['batchSize']);
    expect(issues[0].message).not.toMatch(/ on (wasm|cpu|webgpu)/);
    expect(validateRunFits(model(2, 4, 64, 64), defaultTrainConfig, null)).toEqual([]);
  });
});

describe('a step slow enough to say so before Train', () => {
  const measuredRate: Capacity = { ...wasm, flopsPerSecond: 10e9 };

  test('12 × 1024 at 10 GFLOP/s: minutes a step, days a run, with the numbers', () => {
    const warning = slowStepWarning(model(12, 16, 1024, 64), 16, 2000, measuredRate);
    // 6 · 151 M · 1,024 tokens ≈ 0.93 TFLOP a step.
    expect(warning).toMatch(
      /^one step will take about 2 min on wasm here \(93\d GFLOP at the measured 10 GFLOP\/s of a matrix product\), 2000 steps about 2\.2 days$/,
    );
  });

  test('the default model: nothing to say; no measured rate: nothing claimed', () => {
    expect(slowStepWarning(model(2, 4, 64, 64), 16, 2000, measuredRate)).toBeNull();
    expect(slowStepWarning(model(12, 16, 1024, 64), 16, 2000, wasm)).toBeNull();
  });
});
