import { expect, test } from 'vitest';
import { loadCorpus } from '../../datasets/corpora.ts';
import { BENCH_CONFIGS, DEFAULT_OPTIONS } from '../../src/bench/plan.ts';
import { runPlan } from '../../workers/bench.ts';

test('the bench counts GPU dispatches on webgpu, consistently between the timed loop and the profiled step', async () => {
  const options = { ...DEFAULT_OPTIONS.webgpu, warmup: 0, steps: 1, sampleChars: 1, variants: ['bias' as const], customKernels: true, variantSteps: 1 };
  const { results, skipped } = await runPlan(loadCorpus('moby-dick'), { configs: [{ name: 'micro', shape: BENCH_CONFIGS.micro }], backends: [{ name: 'webgpu', options }], variantConfigs: ['micro'] });
  expect(skipped).toEqual([]);
  const [r] = results;
  expect(r.backend).toBe('webgpu');
  const t = r.training;
  expect(t.dispatchesPerStep).toBeGreaterThan(0);
  // The breakdown comes from profiled passes; the timed step adds at most the readback's one dispatch.
  const b = t.breakdown!;
  const profiled = b.forward.dispatches! + b.backward.dispatches! + b.optimizer.dispatches!;
  expect(t.dispatchesPerStep! - profiled).toBeGreaterThanOrEqual(0);
  expect(t.dispatchesPerStep! - profiled).toBeLessThanOrEqual(1);
  expect(t.gpuBytesAllocated).toBeGreaterThan(0);
  for (const s of r.sampling) expect(s.dispatchesPerChar).toBeGreaterThan(0);
  const dispatches = (name: string) => r.variants.find((v) => v.name === name)!.training!.dispatchesPerStep!;
  // The variants' baseline runs plain tfjs ops; the model as trained (custom kernels) matches the timed run.
  expect(dispatches('customKernels')).toBe(t.dispatchesPerStep);
  expect(dispatches('bias')).toBeGreaterThan(dispatches('baseline')); // every bias is an add and a reduction more
  expect(dispatches('baseline')).toBeGreaterThan(2 * dispatches('customKernels'));
});
