/**
 * The benchmark: how fast the training core steps and samples, on the backend that runs it.
 * Shared by `npm run bench` (Node, tests/bench/bench.ts) and the bench page's worker (Chromium,
 * bench.worker.ts), so both measure the same code the same way. This folder is the bench's part
 * of the worker realm (type-checked with workers/tsconfig.json); the app never loads it.
 *
 * For one model config on one backend it measures:
 * - the first training step, awaited (shader compilation and other first-use costs);
 * - after a warm-up, the median ms per step of the real training loop (train() in workers/train.ts:
 *   losses read back every `readEvery` steps, one group behind), and tokens/s from it;
 * - GPU dispatches per step (webgpu: every dispatchWorkgroups call, counted on the encoder's
 *   prototype) and tfjs kernels per step (tf.profile), split into forward, backward and
 *   optimizer, and the peak bytes of tensors alive during a step;
 * - sampling ms per character at full context through generate(), without and with the KV cache;
 * - optionally, the same training numbers for variants of the model that undo one speed
 *   choice each (variant-gpt.ts), for AdamW as plain tfjs ops instead of custom kernels (webgpu),
 *   for a training loop that blocks on every loss, and for all of those at once.
 * measure.ts takes the measurements; this file decides which, config by config and backend by backend.
 */
import { errorMessage } from '../../core/errors.ts';
import { countParams, defaultTrainConfig, type ModelConfig, type TrainConfig } from '../../core/config.ts';
import { initBackend, type BackendOptions } from '../../../workers/backend.ts';
import { GPT } from '../../../workers/model.ts';
import { prepareRun, withConfigs, type PreparedRun } from '../../../workers/run.ts';
import { Trainer } from '../../../workers/train.ts';
import type { BenchBackend, BenchOptions, BenchPlan, BenchShape } from '../plan.ts';
import { installDispatchCounter } from './dispatches.ts';
import { measureSampling, measureTraining, type SamplingMeasure, type TrainingMeasure } from './measure.ts';
import { profileSteps, type KernelProfile } from './profile.ts';
import { VariantGPT, VARIANTS, variantUnsupported, type VariantName } from './variant-gpt.ts';

export type { BenchBackend, BenchOptions, BenchPlan, BenchShape, KernelProfile };

export interface VariantMeasure {
  name: VariantName | 'baseline' | 'baselineAgain' | 'blockingReadback' | 'customKernels' | 'naive';
  label: string;
  win: string; // the speed choice this variant undoes
  params: number;
  training: TrainingMeasure | null;
  skipped?: string; // why it did not run here
}

export interface BenchResult {
  config: string;
  shape: BenchShape;
  backend: BenchBackend;
  adapter: string;
  vocabSize: number;
  params: number;
  tokensPerStep: number;
  options: BenchOptions;
  training: TrainingMeasure;
  sampling: SamplingMeasure[];
  variants: VariantMeasure[];
  profile?: KernelProfile; // with --profile: the kernels of a training step by time
}

function benchTrainConfig(shape: BenchShape, opts: BenchOptions): TrainConfig {
  return {
    ...defaultTrainConfig,
    batchSize: shape.batchSize,
    maxSteps: 1 + opts.warmup + opts.steps,
    evalEvery: 0,
    evalBatches: 1,
    logEvery: opts.readEvery,
  };
}

/** Progress lines for a terminal or a page. */
export type Progress = (line: string) => void;

/** Measures one config on the backend now running (see the module comment). */
export async function benchConfig(
  base: PreparedRun,
  name: string,
  shape: BenchShape,
  backend: BenchBackend,
  adapter: string,
  opts: BenchOptions,
  progress: Progress = () => {},
): Promise<BenchResult> {
  const { batchSize, ...dims } = shape;
  const run = withConfigs(base, { ...dims, dropout: 0 }, benchTrainConfig(shape, opts));
  const config: ModelConfig = run.model;
  const tag = `${name} on ${backend}`;

  progress(`${tag}: training ${1 + opts.warmup + opts.steps} steps`);
  const model = new GPT(config, run.train.seed);
  let training: TrainingMeasure;
  const sampling: SamplingMeasure[] = [];
  try {
    training = await measureTraining(run, model, opts);
    if (opts.sampleChars > 0) {
      const prompt = base.tokenizer.decode(run.data.val.subarray(0, config.blockSize)); // fills the context
      for (const kv of [false, true]) {
        progress(`${tag}: sampling ${opts.sampleChars + 1} characters ${kv ? 'with' : 'without'} the KV cache`);
        sampling.push(await measureSampling(model, base.tokenizer, prompt, opts.sampleChars, kv));
      }
    }
  } finally {
    model.dispose();
  }
  const profile = opts.profile ? await profileTraining(run, config, opts, (line) => progress(`${tag}: ${line}`)) : undefined;

  const variants: VariantMeasure[] = [];
  const variantOpts = { ...opts, warmup: opts.variantWarmup, steps: opts.variantSteps, breakdown: false };
  const fastPaths = backend !== 'cpu'; // webgpu: custom WGSL kernels; wasm: XNNPACK-only products (workers/model.ts)
  const anyVariants = opts.variants.length > 0 || opts.blockingReadback || opts.naive || (opts.customKernels && fastPaths);
  // The variants undo speed choices made in plain tfjs ops, so they and their baseline run without
  // the custom WebGPU kernels (on other backends this changes nothing); the kernels get a row of their own.
  const plain = { fusedKernels: false };
  // The model itself, measured the way the variants are, first and again last: what each of
  // them is compared with, and how much the same measurement moves on this machine.
  const baseline = async (name: 'baseline' | 'baselineAgain', label: string) => {
    progress(`${tag}: variant ${label}`);
    const m = new GPT(config, run.train.seed);
    try {
      const t = await measureTraining(run, m, variantOpts, { profileFirst: true, trainer: plain });
      variants.push({ name, label, win: '', params: countParams(config).total, training: t });
    } finally {
      m.dispose();
    }
  };
  const baseLabel = fastPaths ? 'model.ts in plain tfjs ops' : 'model.ts as it is';
  if (anyVariants) await baseline('baseline', baseLabel);
  for (const v of opts.variants) {
    const switches = { [v]: true, ...(v === 'fusedMatMul' ? { bias: true } : {}) };
    const m = new VariantGPT(config, run.train.seed, switches);
    const params = m.params.reduce((a, p) => a + p.variable.size, 0);
    const skipped = variantUnsupported(switches, backend);
    try {
      progress(`${tag}: variant ${VARIANTS[v].label}${skipped ? ' (skipped)' : ''}`);
      const t = skipped ? null : await measureTraining(run, m, variantOpts, { profileFirst: true, trainer: plain });
      variants.push({ name: v, ...VARIANTS[v], params, training: t, ...(skipped ? { skipped } : {}) });
    } finally {
      m.dispose();
    }
  }
  if (opts.customKernels && fastPaths) {
    // What the app runs: on webgpu AdamW, LayerNorm, attention and the loss as custom kernels;
    // on wasm the same kernels from the SIMD module, and the products as its own or XNNPACK's.
    const [label, win] =
      backend === 'webgpu'
        ? ['with the custom WebGPU kernels (as trained)', 'custom WebGPU kernels (AdamW, LayerNorm, attention, loss)']
        : ['with the SIMD kernels (as trained)', 'SIMD kernels, no transposed or batched matMul (kernels/simd.ts)'];
    progress(`${tag}: variant ${label}`);
    const m = new GPT(config, run.train.seed);
    try {
      const t = await measureTraining(run, m, variantOpts, { profileFirst: true });
      variants.push({ name: 'customKernels', label, win, params: countParams(config).total, training: t });
    } finally {
      m.dispose();
    }
  }
  if (opts.blockingReadback) {
    progress(`${tag}: blocking on every loss`);
    const m = new GPT(config, run.train.seed);
    try {
      const t = await measureTraining(run, m, variantOpts, { blocking: true, profileFirst: true, trainer: plain });
      variants.push({
        name: 'blockingReadback',
        label: 'every step waits for its loss',
        win: 'readbacks every N steps, never blocking',
        params: countParams(config).total,
        training: t,
      });
    } finally {
      m.dispose();
    }
  }
  if (opts.naive) {
    // A first port: every switch above at once (gather only where it has a gradient), AdamW as
    // plain tfjs ops, and a loop that waits for every loss.
    const gather = variantUnsupported({ gatherEmbedding: true }, backend) === null;
    const label = `all of the above undone at once${gather ? '' : ' (embedding stays one-hot: no gather gradient here)'}`;
    progress(`${tag}: variant ${label}`);
    const m = new VariantGPT(config, run.train.seed, {
      bias: true,
      untiedHead: true,
      splitQkv: true,
      maskEveryForward: true,
      gatherEmbedding: gather,
    });
    try {
      const t = await measureTraining(run, m, variantOpts, { blocking: true, profileFirst: true, trainer: { fusedKernels: false } });
      variants.push({ name: 'naive', label, win: 'all of them', params: m.params.reduce((a, p) => a + p.variable.size, 0), training: t });
    } finally {
      m.dispose();
    }
  }
  if (anyVariants) await baseline('baselineAgain', `${baseLabel}, again`);
  return {
    config: name,
    shape,
    backend,
    adapter,
    vocabSize: config.vocabSize,
    params: countParams(config).total,
    tokensPerStep: config.blockSize * batchSize,
    options: opts,
    training,
    sampling,
    variants,
    ...(profile ? { profile } : {}),
  };
}

/** The kernels of a few training steps of a fresh model, after a warm-up (profile.ts). */
async function profileTraining(run: PreparedRun, config: ModelConfig, opts: BenchOptions, progress: Progress): Promise<KernelProfile> {
  const steps = Math.max(1, Math.min(opts.steps, 5));
  const model = new GPT(config, run.train.seed);
  const trainer = new Trainer(model, run.data, { ...run.train, maxSteps: 2 + steps });
  try {
    for (let i = 0; i < 2; i++) {
      const loss = trainer.trainStep();
      await loss.data();
      loss.dispose();
    }
    progress(`profiling ${steps} step${steps === 1 ? '' : 's'} kernel by kernel`);
    return await profileSteps(() => trainer.trainStep(), steps);
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/** A backend that could not start, and why. */
export interface BenchSkip {
  backend: BenchBackend;
  reason: string;
}

/**
 * Runs a plan: config by config, every backend for each (a backend that does not start is
 * skipped with its reason); variants only on the plan's variant configs. `text` is the corpus.
 */
export async function runPlan(
  text: string,
  plan: BenchPlan,
  progress: Progress = () => {},
  backendOptions: BackendOptions = {},
): Promise<{ results: BenchResult[]; skipped: BenchSkip[] }> {
  const results: BenchResult[] = [];
  const skipped: BenchSkip[] = [];
  const first = plan.configs[0].shape;
  const base = prepareRun(text, { ...first, dropout: 0 }, { ...defaultTrainConfig, batchSize: first.batchSize });
  const failed = new Map<BenchBackend, string>();
  for (const { name, shape } of plan.configs) {
    const withVariants = plan.variantConfigs.includes(name);
    for (const { name: backend, options } of plan.backends) {
      if (failed.has(backend)) continue;
      let adapter: string;
      try {
        adapter = (await initBackend(backend, backendOptions)).adapter;
      } catch (err) {
        const reason = errorMessage(err);
        failed.set(backend, reason);
        skipped.push({ backend, reason });
        progress(`${backend}: skipped (${reason})`);
        continue;
      }
      if (backend === 'webgpu') installDispatchCounter();
      const opts = withVariants ? options : { ...options, variants: [], blockingReadback: false, customKernels: false, naive: false };
      results.push(await benchConfig(base, name, shape, backend, adapter, opts, progress));
    }
  }
  return { results, skipped };
}
