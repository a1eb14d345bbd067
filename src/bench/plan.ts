/**
 * What `npm run bench` and the bench page measure: the model configs, the backends and each
 * backend's default options. Pure TypeScript, shared by the Node runner, the page and its worker.
 */
import type { BackendName } from '../core/config.ts';
import type { VariantName } from './worker/variant-gpt.ts';

/** A model and batch size to measure. */
export interface BenchShape {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  batchSize: number;
}

/** The two configs of the issue: the app's default model, and a bigger reference one. */
export const BENCH_CONFIGS = {
  tiny: { nLayer: 2, nHead: 4, nEmbd: 64, blockSize: 64, batchSize: 16 },
  reference: { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 64, batchSize: 12 },
  micro: { nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 16, batchSize: 2 }, // for tests: seconds, not minutes
} satisfies Record<string, BenchShape>;
export type BenchConfigName = keyof typeof BENCH_CONFIGS;

/** The backends a benchmark can ask for; webgl is left out (it is the browser's last resort). */
export type BenchBackend = Exclude<BackendName, 'webgl'>;

/** What one backend's measurements run with. */
export interface BenchOptions {
  warmup: number; // awaited steps after the first one, before the clock starts
  steps: number; // timed steps
  readEvery: number; // losses read back every N steps, one group behind (the trainer's logEvery)
  sampleChars: number; // characters timed per sampling measurement (0: no sampling)
  breakdown: boolean; // split kernels and dispatches into forward, backward and optimizer
  variants: VariantName[]; // model variants to measure besides the model itself
  blockingReadback: boolean; // also measure a loop that waits for every step's loss
  customKernels: boolean; // the variants run plain tfjs ops; also measure the model as it trains (webgpu: custom WGSL kernels; wasm: the SIMD module's kernels)
  naive: boolean; // also measure every speed choice undone at once: biases, untied head, separate Q/K/V, gather, mask every forward, tfjs-ops AdamW, blocking readback
  variantWarmup: number; // warm-up and timed steps of each variant (its first step is profiled)
  variantSteps: number;
  profile: boolean; // also profile a few training steps kernel by kernel (worker/profile.ts)
}

/** Sensible defaults per backend: enough steps for a median, few enough to finish. */
export const DEFAULT_OPTIONS: Record<BenchBackend, BenchOptions> = {
  cpu: {
    warmup: 1,
    steps: 4,
    readEvery: 4,
    sampleChars: 8,
    breakdown: true,
    variants: [],
    blockingReadback: false,
    customKernels: false,
    naive: false,
    variantWarmup: 0,
    variantSteps: 2,
    profile: false,
  },
  wasm: {
    // V8 compiles WebAssembly twice, a quick baseline first and optimised code in background
    // threads over the first second or so of use; those threads' CPU time landed in the CPU
    // column of a run that started timing after 2 steps (tiny: 53 CPU ms per 48 ms step, 49.5
    // after 30 steps). Twenty warm-up steps time the code the rest of a run executes.
    warmup: 20,
    steps: 12,
    readEvery: 4,
    sampleChars: 32,
    breakdown: true,
    variants: [],
    blockingReadback: false,
    customKernels: false,
    naive: false,
    variantWarmup: 1,
    variantSteps: 8,
    profile: false,
  },
  webgpu: {
    warmup: 1,
    steps: 4,
    readEvery: 4,
    sampleChars: 8,
    breakdown: true,
    variants: [],
    blockingReadback: false,
    customKernels: false,
    naive: false,
    variantWarmup: 0,
    variantSteps: 2,
    profile: false,
  },
};

/** What to run: configs, backends with their options, and the configs the variants run on. */
export interface BenchPlan {
  configs: { name: string; shape: BenchShape }[];
  backends: { name: BenchBackend; options: BenchOptions }[];
  variantConfigs: string[];
}

/** Every config and backend with its defaults; no variants. */
export function defaultPlan(
  configs: BenchConfigName[] = ['tiny', 'reference'],
  backends: BenchBackend[] = ['cpu', 'wasm', 'webgpu'],
): BenchPlan {
  return {
    configs: configs.map((name) => ({ name, shape: BENCH_CONFIGS[name] })),
    backends: backends.map((name) => ({ name, options: DEFAULT_OPTIONS[name] })),
    variantConfigs: [],
  };
}
