/**
 * Measuring one model on the backend now running: its training steps through the real training
 * loop (train() in workers/train.ts) and its sampling through generate() (workers/sample.ts),
 * with the kernels, GPU dispatches and peak bytes of a step. bench.ts decides what to measure.
 */
import * as tf from '@tensorflow/tfjs';
import type { CharTokenizer } from '../../core/tokenizer.ts';
import type { GPT } from '../../../workers/model.ts';
import type { PreparedRun } from '../../../workers/run.ts';
import { generate } from '../../../workers/sample.ts';
import { train, Trainer, type TrainerOptions } from '../../../workers/train.ts';
import type { BenchOptions } from '../plan.ts';
import { dispatchCount } from './dispatches.ts';
import type { TrainableModel } from './variant-gpt.ts';

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
  const d0 = dispatchCount();
  const info = await tf.profile(fn);
  const d1 = dispatchCount();
  tf.dispose(info.result);
  return { kernels: info.kernels.length, dispatches: gpu ? d1 - d0 : null, peakBytes: info.peakBytes };
}

/** profile() asks webgpu for kernel timings; without timestamp queries it warns once per backend: not news here. */
function quietProfiling() {
  const b = tf.backend() as unknown as { hasTimestampQueryWarned?: boolean };
  if ('hasTimestampQueryWarned' in b) b.hasTimestampQueryWarned = true;
}

/**
 * Trains `model` for 1 + warmup + steps steps and measures them (see TrainingMeasure). With
 * `blocking`, the timed steps each wait for their own loss instead of running train(). With
 * `profileFirst` (the variants), kernels, dispatches and peak bytes come from the first step,
 * run under tf.profile, which saves a step but inflates firstStepMs.
 */
export async function measureTraining(
  run: PreparedRun,
  model: TrainableModel,
  opts: BenchOptions,
  {
    blocking = false,
    profileFirst = false,
    trainer: trainerOptions = {},
  }: { blocking?: boolean; profileFirst?: boolean; trainer?: TrainerOptions } = {},
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
    const d0 = dispatchCount();
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
      d1 = dispatchCount();
      c1 = cpuMs();
    } else {
      await train(trainer, {
        onStep: (e) => {
          stepMs.push(e.ms);
          loss = e.loss;
          if (e.step === trainer.config.maxSteps) {
            d1 = dispatchCount(); // before train()'s closing evaluation
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
export async function measureSampling(
  model: GPT,
  tokenizer: CharTokenizer,
  prompt: string,
  chars: number,
  kvCache: boolean,
): Promise<SamplingMeasure> {
  const gpu = tf.getBackend() === 'webgpu';
  const times: number[] = [];
  let firstCharMs = 0;
  let d0 = dispatchCount();
  let t = performance.now();
  let n = 0;
  for await (const _ of generate(model, tokenizer, prompt, { length: chars + 1, temperature: 1, seed: 0, kvCache })) {
    const now = performance.now();
    if (n++ === 0) {
      firstCharMs = now - t;
      d0 = dispatchCount();
    } else times.push(now - t);
    t = now;
  }
  const dispatchesPerChar = gpu ? (dispatchCount() - d0) / Math.max(1, times.length) : null;
  return {
    kvCache,
    firstCharMs,
    msPerChar: median(times),
    meanMsPerChar: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
    chars: times.length,
    dispatchesPerChar,
  };
}
