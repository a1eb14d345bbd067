import { expect, test } from 'vitest';
import { loadCorpus } from '../../datasets/corpora.ts';
import { BENCH_CONFIGS, DEFAULT_OPTIONS } from '../../src/bench/plan.ts';
import { runPlan } from '../../src/bench/worker/bench.ts';

test('the bench counts GPU dispatches on webgpu, consistently between the timed loop and the profiled step', async () => {
  const options = {
    ...DEFAULT_OPTIONS.webgpu,
    warmup: 0,
    steps: 1,
    sampleChars: 1,
    variants: ['bias' as const],
    customKernels: true,
    variantSteps: 1,
  };
  const { results, skipped } = await runPlan(loadCorpus('moby-dick'), {
    configs: [{ name: 'micro', shape: BENCH_CONFIGS.micro }],
    backends: [{ name: 'webgpu', options }],
    variantConfigs: ['micro'],
  });
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

test('a training step of the default model encodes 100 GPU dispatches with the custom kernels and 591 without; the reference model 176', async () => {
  // What the README and the bench report. Dispatches depend on the layers and heads, not on the
  // widths, context or batch (each kernel is one dispatch whatever its size), so the models here
  // keep the default's layers, heads and width but train on a short context and a batch of 2.
  const { GPT } = await import('../../workers/model.ts');
  const { Trainer } = await import('../../workers/train.ts');
  const { splitTrainVal } = await import('../../src/core/batching.ts');
  const { defaultTrainConfig } = await import('../../src/core/config.ts');
  const { dispatchCount, installDispatchCounter } = await import('../../src/bench/worker/dispatches.ts');
  expect(installDispatchCounter()).toBe(true);
  const data = splitTrainVal(
    Int32Array.from({ length: 4000 }, (_, i) => (i * 7) % 83),
    16,
  );
  const stepDispatches = async (nLayer: number, nEmbd: number, blockSize: number, fusedKernels: boolean) => {
    const model = new GPT({ vocabSize: 83, blockSize, nLayer, nHead: 4, nEmbd, dropout: 0 }, 1);
    const trainer = new Trainer(model, data, { ...defaultTrainConfig, batchSize: 2, maxSteps: 10 }, { fusedKernels });
    const step = async () => {
      const d0 = dispatchCount();
      const loss = trainer.trainStep(); // encodes the step; the readback below is not counted
      const d1 = dispatchCount();
      await loss.data();
      loss.dispose();
      return d1 - d0;
    };
    await step(); // the first step, like every other, but it compiles the shaders
    const n = await step();
    trainer.dispose();
    model.dispose();
    return n;
  };
  expect(await stepDispatches(2, 64, 16, true)).toBe(100);
  expect(await stepDispatches(2, 32, 8, true)).toBe(100); // widths and context do not change it
  expect(await stepDispatches(2, 64, 16, false)).toBe(591);
  expect(await stepDispatches(4, 128, 16, true)).toBe(176);
});
