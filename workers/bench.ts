/**
 * The benchmark: how fast the training core steps and samples, on the backend that runs it.
 * Shared by `npm run bench` (Node) and the bench page's worker (Chromium), so both measure the
 * same code the same way.
 *
 * For one model config on one backend it measures:
 * - the first training step, awaited (shader compilation and other first-use costs);
 * - after a warm-up, the median ms per step of the real training loop (train() in train.ts:
 *   losses read back every `readEvery` steps, one group behind), and tokens/s from it;
 * - GPU dispatches per step (webgpu: every dispatchWorkgroups call, counted on the encoder's
 *   prototype) and tfjs kernels per step (tf.profile), split into forward, backward and
 *   optimizer, and the peak bytes of tensors alive during a step;
 * - sampling ms per character at full context through generate(), without and with the KV cache;
 * - optionally, the same training numbers for variants of the model that undo one speed
 *   choice each (bench-model.ts), for AdamW as plain tfjs ops instead of custom kernels (webgpu),
 *   for a training loop that blocks on every loss, and for all of those at once.
 */
import * as tf from '@tensorflow/tfjs';
import { countParams, defaultTrainConfig, type ModelConfig, type TrainConfig } from '../src/core/config.ts';
import type { CharTokenizer } from '../src/core/tokenizer.ts';
import type { BenchBackend, BenchOptions, BenchPlan, BenchShape } from '../src/bench/plan.ts';
import { initBackend, type BackendOptions } from './backend.ts';
import { profileSteps, type KernelProfile } from './bench-profile.ts';
import { VariantGPT, VARIANTS, variantUnsupported, type TrainableModel, type VariantName } from './bench-model.ts';
import { GPT } from './model.ts';
import { prepareRun, withConfigs, type PreparedRun } from './run.ts';
import { generate } from './sample.ts';
import { train, Trainer, type TrainerOptions } from './train.ts';

export type { BenchBackend, BenchOptions, BenchPlan, BenchShape, KernelProfile };

/** Kernels (tfjs engine) and GPU dispatches (webgpu only) of one piece of work. */
export interface Counts {
  kernels: number;
  dispatches: number | null;
}

export interface TrainingMeasure {
  firstStepMs: number; // the first step, awaited: shader compilation, wasm and buffer first use
  msPerStep: number; // median over the timed steps (each its readback group's average)
  meanMsPerStep: number; // timed wall time / timed steps
  cpuMsPerStep: number | null; // Node: the process's CPU time (every thread) / timed steps; steadier than wall time on a busy machine
  tokensPerSec: number; // B·T / median ms per step
  stepMs: number[]; // every timed step, as the loop reported it
  kernelsPerStep: number; // tfjs kernels of one step (tf.profile)
  dispatchesPerStep: number | null; // GPU dispatches per timed step, readbacks included (webgpu)
  breakdown: { forward: Counts; backward: Counts; optimizer: Counts } | null;
  peakBytes: number; // most bytes of tensors alive at once during a step (weights and optimizer state included)
  gpuBytesAllocated: number | null; // webgpu: bytes the buffer pool holds after the steps
  loss: number; // the last timed step's loss (a check that it trained, not a quality measure)
}

export interface SamplingMeasure {
  kvCache: boolean; // generate()'s kvCache option
  firstCharMs: number; // the first character: the prompt's forward pass, and shader compilation
  msPerChar: number; // median over the next characters, the context full
  meanMsPerChar: number; // mean over the same characters (with the cache: refills included)
  chars: number; // characters timed
  dispatchesPerChar: number | null; // webgpu: mean over the timed characters
}

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

// ---------------------------------------------------------------------------------------------
// Counting GPU dispatches.

let dispatches = 0;
let counterInstalled = false;

/**
 * Counts every dispatchWorkgroups call from now on, by wrapping the method on the
 * GPUComputePassEncoder prototype (the browser's, or the `webgpu` package's globals in Node).
 * Returns false where there is no WebGPU.
 */
export function installDispatchCounter(): boolean {
  if (counterInstalled) return true;
  const Encoder = (globalThis as { GPUComputePassEncoder?: { prototype: GPUComputePassEncoder } }).GPUComputePassEncoder;
  if (!Encoder) return false;
  const proto = Encoder.prototype;
  const dispatch = proto.dispatchWorkgroups;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args: Parameters<GPUComputePassEncoder['dispatchWorkgroups']>) {
    dispatches++;
    return dispatch.apply(this, args);
  };
  counterInstalled = true;
  return true;
}

/** GPU dispatches so far (0 until the counter is installed). */
export function dispatchCount(): number {
  return dispatches;
}

// ---------------------------------------------------------------------------------------------
// Measuring.

/** CPU time of this process so far in ms, all threads (Node only; null in a browser). */
function cpuMs(): number | null {
  const proc = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process;
  const u = proc?.cpuUsage?.();
  return u ? (u.user + u.system) / 1000 : null;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Kernels and dispatches of `fn` (its tensors are freed); peak bytes while it ran. */
async function countWork(fn: () => tf.TensorContainer, gpu: boolean): Promise<Counts & { peakBytes: number }> {
  const d0 = dispatches;
  const info = await tf.profile(fn);
  const d1 = dispatches;
  tf.dispose(info.result);
  return { kernels: info.kernels.length, dispatches: gpu ? d1 - d0 : null, peakBytes: info.peakBytes };
}

/** profile() asks webgpu for kernel timings; without timestamp queries it warns once per backend: not news here. */
function quietProfiling() {
  const b = tf.backend() as unknown as { hasTimestampQueryWarned?: boolean };
  if ('hasTimestampQueryWarned' in b) b.hasTimestampQueryWarned = true;
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

/**
 * Trains `model` for 1 + warmup + steps steps and measures them (see TrainingMeasure). With
 * `blocking`, the timed steps each wait for their own loss instead of running train(). With
 * `profileFirst` (the variants), kernels, dispatches and peak bytes come from the first step,
 * run under tf.profile, which saves a step but inflates firstStepMs.
 */
async function measureTraining(
  run: PreparedRun,
  model: TrainableModel,
  opts: BenchOptions,
  { blocking = false, profileFirst = false, trainer: trainerOptions = {} }: { blocking?: boolean; profileFirst?: boolean; trainer?: TrainerOptions } = {},
): Promise<TrainingMeasure> {
  const gpu = tf.getBackend() === 'webgpu';
  quietProfiling();
  const config = { ...run.train, maxSteps: 1 + opts.warmup + opts.steps, logEvery: opts.readEvery };
  const trainer = new Trainer(model as GPT, run.data, config, trainerOptions);
  try {
    const awaitStep = async () => {
      const loss = trainer.trainStep();
      const [value] = await loss.data();
      loss.dispose();
      return value;
    };
    let t0 = performance.now();
    let step: (Counts & { peakBytes: number }) | null = null;
    if (profileFirst) {
      step = await countWork(() => trainer.trainStep(), gpu);
      await model.params.at(-1)!.variable.data(); // the step's last write (custom kernels are not profiled): the queue is drained
    } else await awaitStep();
    const firstStepMs = performance.now() - t0;
    for (let i = 0; i < opts.warmup; i++) await awaitStep();

    const stepMs: number[] = [];
    let loss = NaN;
    const d0 = dispatches;
    let d1 = d0;
    const c0 = cpuMs();
    let c1 = c0;
    t0 = performance.now();
    if (blocking) {
      for (let i = 0; i < opts.steps; i++) {
        const t = performance.now();
        loss = await awaitStep();
        stepMs.push(performance.now() - t);
      }
      d1 = dispatches;
      c1 = cpuMs();
    } else {
      await train(trainer, {
        onStep: (e) => {
          stepMs.push(e.ms);
          loss = e.loss;
          if (e.step === trainer.config.maxSteps) {
            d1 = dispatches; // before train()'s closing evaluation
            c1 = cpuMs();
          }
        },
      });
    }
    const timedMs = blocking ? performance.now() - t0 : stepMs.reduce((a, b) => a + b, 0);
    const msPerStep = median(stepMs);

    step ??= await countWork(() => trainer.trainStep(), gpu);
    let breakdown: TrainingMeasure['breakdown'] = null;
    if (opts.breakdown) {
      const batch = trainer.batcher.getBatch();
      const B = batch.starts.length;
      const T = model.config.blockSize;
      const inputs = () => ({ x: tf.tensor2d(batch.x, [B, T], 'int32'), y: tf.tensor1d(batch.y, 'int32') });
      const vars = model.params.map((p) => p.variable);
      const fwdOpts = { training: true, fusedKernels: trainer.fusedKernels }; // as trainStep runs them
      const fwd = await countWork(() => {
        const { x, y } = inputs();
        return model.loss(model.forward(x, fwdOpts), y, fwdOpts);
      }, gpu);
      const fwdBwd = await countWork(() => {
        const { x, y } = inputs();
        const { value, grads } = tf.variableGrads(() => model.loss(model.forward(x, fwdOpts), y, fwdOpts), vars);
        return [value, ...Object.values(grads)];
      }, gpu);
      const minus = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
      breakdown = {
        forward: { kernels: fwd.kernels, dispatches: fwd.dispatches },
        backward: { kernels: fwdBwd.kernels - fwd.kernels, dispatches: minus(fwdBwd.dispatches, fwd.dispatches) },
        optimizer: { kernels: step.kernels - fwdBwd.kernels, dispatches: minus(step.dispatches, fwdBwd.dispatches) },
      };
    }
    const mem = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number };
    return {
      firstStepMs,
      msPerStep,
      meanMsPerStep: timedMs / opts.steps,
      cpuMsPerStep: c0 === null || c1 === null ? null : (c1 - c0) / opts.steps,
      tokensPerSec: (model.config.blockSize * config.batchSize * 1000) / msPerStep,
      stepMs,
      kernelsPerStep: step.kernels,
      dispatchesPerStep: gpu ? (d1 - d0) / opts.steps : null,
      breakdown,
      peakBytes: step.peakBytes,
      gpuBytesAllocated: gpu ? (mem.numBytesAllocatedInGPU ?? null) : null,
      loss,
    };
  } finally {
    trainer.dispose();
  }
}

/**
 * Times generate() from a prompt that fills the context, so every character is predicted from
 * a full context. The first character (a prefill, and shader compilation) is timed apart. With
 * the KV cache most characters are one [1, 1] step and about one in blockSize/4 refills the
 * cache (see CachedContext): the median is a step, the mean includes the refills.
 */
async function measureSampling(model: GPT, tokenizer: CharTokenizer, prompt: string, chars: number, kvCache: boolean): Promise<SamplingMeasure> {
  const gpu = tf.getBackend() === 'webgpu';
  const times: number[] = [];
  let firstCharMs = 0;
  let d0 = dispatches;
  let t = performance.now();
  let n = 0;
  for await (const _ of generate(model, tokenizer, prompt, { length: chars + 1, temperature: 1, seed: 0, kvCache })) {
    const now = performance.now();
    if (n++ === 0) {
      firstCharMs = now - t;
      d0 = dispatches;
    } else times.push(now - t);
    t = now;
  }
  const dispatchesPerChar = gpu ? (dispatches - d0) / Math.max(1, times.length) : null;
  return {
    kvCache,
    firstCharMs,
    msPerChar: median(times),
    meanMsPerChar: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
    chars: times.length,
    dispatchesPerChar,
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
  const fastPaths = backend !== 'cpu'; // webgpu: custom WGSL kernels; wasm: XNNPACK-only products (model.ts)
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
    // on wasm every matrix product on XNNPACK (attention's as depthwise convolutions).
    const [label, win] =
      backend === 'webgpu'
        ? ['with the custom WebGPU kernels (as trained)', 'custom WebGPU kernels (AdamW, LayerNorm, attention, loss)']
        : ['with every product on XNNPACK (as trained)', 'no transposed or batched matMul (kernels/xnnpack.ts)'];
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
      variants.push({ name: 'blockingReadback', label: 'every step waits for its loss', win: 'readbacks every N steps, never blocking', params: countParams(config).total, training: t });
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
    const m = new VariantGPT(config, run.train.seed, { bias: true, untiedHead: true, splitQkv: true, maskEveryForward: true, gatherEmbedding: gather });
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

/** The kernels of a few training steps of a fresh model, after a warm-up (bench-profile.ts). */
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

/** Messages to the bench page's worker. */
export type ToBenchWorker = { type: 'run'; plan: BenchPlan; corpusUrl: string; wasmThreads?: number }; // wasmThreads: default every core

/** Messages from it: progress lines, then the results or an error. */
export type FromBenchWorker =
  | { type: 'progress'; line: string }
  | { type: 'done'; results: BenchResult[]; skipped: BenchSkip[] }
  | { type: 'error'; message: string };

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
        const reason = err instanceof Error ? err.message : String(err);
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
