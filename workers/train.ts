/**
 * The training loop: AdamW with decoupled weight decay, linear warm-up then cosine decay,
 * global-norm gradient clipping (on webgpu as custom kernels, see kernels/adamw.ts), losses read
 * back asynchronously every few steps, and estimateLoss on fixed held-out batches. Shared by the
 * worker and the CLI.
 */
import * as tf from '@tensorflow/tfjs';
import { Batcher, fixedBatches, type Batch, type BatcherState } from '../src/core/batching.ts';
import { assertValid, countParams, validateTrainConfig, type TrainConfig } from '../src/core/config.ts';
import { NoiseScaleEma, subBatchRows, type NoiseEvent } from '../src/core/noise-scale.ts';
import { Rng, streamSeed, type RngState } from '../src/core/rng.ts';
import { getLr } from '../src/core/schedule.ts';
import { toVariable, type GPT } from './model.ts';
import { deviceFault, settleDeviceFault } from './device.ts';
import { adamwKernelAvailable, adamwStep } from './kernels/adamw.ts';
import { yieldToEventLoop } from './schedule.ts';

export interface StepEvent {
  type: 'step';
  step: number; // updates done, 1-based
  loss: number; // this step's minibatch loss, nats per character
  lr: number; // learning rate used by this step
  ms: number; // wall time per step, averaged over the readback group
}

export interface EvalEvent {
  type: 'eval';
  step: number;
  train: number; // mean loss over the fixed train batches
  val: number; // mean loss over the fixed held-out batches
}

export interface TrainSummary {
  type: 'summary';
  params: number;
  nonEmbeddingParams: number;
  trainLoss: number;
  valLoss: number;
  tokensPerSec: number; // training tokens per second of training time (evaluation excluded)
  backend: string;
  steps: number;
}

/** Everything besides the weights that a run needs to continue exactly where it stopped. */
export interface TrainerState {
  step: number; // updates applied; also the learning-rate schedule's position
  batcher: BatcherState; // data order: RNG and, for sequential partitioning, the stream cursor
  dropoutRng: RngState;
  m: Float32Array[]; // AdamW first moments, in model.params order
  v: Float32Array[]; // AdamW second moments
}

/** Raised when the loss stops being a finite number: the run cannot continue from there. */
export class DivergenceError extends Error {
  constructor(
    readonly step: number,
    readonly loss: number,
    readonly lr: number,
  ) {
    super(
      `training diverged: the loss became ${loss} at step ${step} (learning rate ${lr.toPrecision(3)}). ` +
        'A lower learning rate, a longer warm-up or gradient clipping usually fixes this.',
    );
    this.name = 'DivergenceError';
  }
}

export interface TrainerOptions {
  /**
   * Run the optimizer (AdamW with global-norm clipping), LayerNorm, attention and the loss as
   * custom WebGPU kernels (workers/kernels/): one or two GPU dispatches each where tfjs runs a
   * chain of ops; on wasm, AdamW as one JavaScript kernel and every matrix product of the model
   * on XNNPACK (kernels/adamw-wasm.ts, kernels/xnnpack.ts).
   * Default true; cpu and webgl always run the plain tfjs ops, and false keeps them everywhere.
   */
  fusedKernels?: boolean;
}

export class Trainer {
  readonly config: TrainConfig;
  readonly batcher: Batcher;
  /** Updates applied so far. */
  step = 0;
  private readonly m: tf.Variable[]; // AdamW first moments, one per parameter, same order
  private readonly v: tf.Variable[]; // AdamW second moments
  private readonly decay: boolean[]; // weight decay only on matrices (rank ≥ 2), not LayerNorm gains
  readonly fusedKernels: boolean; // the option: the backend's fast paths (webgpu kernels, wasm XNNPACK products)
  private dropoutRng: Rng;
  private noiseRng: Rng | null = null; // dropout of the noise scale's extra pass: its own stream, so measuring leaves the run as it was
  private readonly evalSets: { train: Batch[]; val: Batch[] };

  constructor(
    readonly model: GPT,
    data: { train: Int32Array; val: Int32Array },
    config: TrainConfig,
    opts: TrainerOptions = {},
  ) {
    this.config = { ...assertValid(config, validateTrainConfig(config), 'training config') };
    this.fusedKernels = opts.fusedKernels ?? true;
    const { batchSize: B, seed, sampling, evalBatches } = this.config;
    const T = model.config.blockSize;
    // Separate streams per use: changing the dropout rate does not change the data order.
    this.batcher = new Batcher(data.train, B, T, sampling, streamSeed(seed, 'data'));
    this.dropoutRng = new Rng(streamSeed(seed, 'dropout'));
    this.evalSets = {
      train: fixedBatches(data.train, B, T, evalBatches, streamSeed(seed, 'evalTrain')),
      val: fixedBatches(data.val, B, T, evalBatches, streamSeed(seed, 'evalVal')),
    };
    const vars = model.params.map((p) => p.variable);
    this.m = vars.map((p) => toVariable(tf.zerosLike(p), false));
    this.v = vars.map((p) => toVariable(tf.zerosLike(p), false));
    this.decay = vars.map((p) => p.rank >= 2);
  }

  /** Whether this step's optimizer runs as one custom kernel (webgpu, wasm) rather than plain tfjs ops. */
  get usesFusedKernels(): boolean {
    return this.fusedKernels && adamwKernelAvailable();
  }

  /** Learning rate for update `it` (0-based): the run's schedule (src/core/schedule.ts). */
  getLr(it: number): number {
    return getLr(this.config, it);
  }

  private batchTensors(batch: Batch): { x: tf.Tensor2D; y: tf.Tensor1D } {
    const B = batch.starts.length;
    const T = this.model.config.blockSize;
    return { x: tf.tensor2d(batch.x, [B, T], 'int32'), y: tf.tensor1d(batch.y, 'int32') };
  }

  /**
   * Queues one AdamW update on the next minibatch and returns its loss (a scalar still on the
   * device: the caller reads and disposes it). Nothing here waits for the device.
   */
  trainStep(batch: Batch = this.batcher.getBatch()): tf.Scalar {
    return this.update(batch, false)[0];
  }

  /**
   * trainStep, measuring what the gradient noise scale is estimated from (src/core/noise-scale.ts):
   * norms [|G_B|², |G_b|²] are the squared norms of the whole minibatch's gradient (the one the
   * update uses, before clipping) and of its first b = ⌊B/2⌋ rows' gradient, from one more forward
   * and backward pass of the same model (the same kernels) on the weights before the update.
   * Both stay on the device: the caller reads and disposes them. Costs about b/B of a step more.
   */
  trainStepMeasured(batch: Batch): { loss: tf.Scalar; norms: tf.Tensor1D } {
    const [loss, norms] = this.update(batch, true);
    return { loss, norms: norms! };
  }

  /** [|G_B|², |G_b|²] for a minibatch and its first `small` rows, without updating anything. */
  gradientNorms(batch: Batch, small = subBatchRows(batch.starts.length)): tf.Tensor1D {
    return tf.tidy(() =>
      tf.stack([this.squaredGradNorm(batch), this.squaredGradNorm(firstRows(batch, small, this.model.config.blockSize))]),
    ) as tf.Tensor1D;
  }

  /** One AdamW update; with `measure`, also the squared gradient norms of trainStepMeasured. */
  private update(batch: Batch, measure: boolean): [tf.Scalar, tf.Tensor1D?] {
    const { beta1, beta2, eps, weightDecay, gradClip } = this.config;
    const lr = this.getLr(this.step);
    const t = this.step + 1; // Adam's bias corrections count from 1
    const vars = this.model.params.map((p) => p.variable);
    const out = tf.tidy(() => {
      // The sub-batch first, on the weights this update starts from; its pass is freed before the step's begins.
      const smallSq = measure
        ? this.squaredGradNorm(firstRows(batch, subBatchRows(batch.starts.length), this.model.config.blockSize))
        : null;
      const { x, y } = this.batchTensors(batch);
      const { value, grads } = tf.variableGrads(() => {
        const opts = { training: true, rng: this.dropoutRng, fusedKernels: this.fusedKernels };
        return this.model.loss(this.model.forward(x, opts), y, opts);
      }, vars);
      const gs = vars.map((p) => grads[p.name]);
      const norms = smallSq ? tf.stack([squaredNorm(gs), smallSq]) : null;
      const hp = { lr, beta1, beta2, eps, weightDecay, gradClip, t };
      adamwStep({ params: vars, m: this.m, v: this.v, decay: this.decay }, gs, hp, this.usesFusedKernels);
      return norms ? [value, norms] : [value];
    });
    this.step++;
    return out as [tf.Scalar, tf.Tensor1D?];
  }

  /** |∇ loss|² over every parameter on `batch`, as training computes the gradient (dropout from its own stream). */
  private squaredGradNorm(batch: Batch): tf.Scalar {
    return tf.tidy(() => {
      const vars = this.model.params.map((p) => p.variable);
      this.noiseRng ??= new Rng(streamSeed(this.config.seed, 'dropout') ^ NOISE_SALT);
      const { x, y } = this.batchTensors(batch);
      const { value, grads } = tf.variableGrads(() => {
        const opts = { training: true, rng: this.noiseRng!, fusedKernels: this.fusedKernels };
        return this.model.loss(this.model.forward(x, opts), y, opts);
      }, vars);
      value.dispose();
      return squaredNorm(vars.map((p) => grads[p.name]));
    });
  }

  /** Mean train and val loss over the fixed batches, without dropout. */
  async estimateLoss(): Promise<{ train: number; val: number }> {
    const opts = { training: false, fusedKernels: this.fusedKernels };
    const mean = async (batches: Batch[]) => {
      // One batch at a time, each in its own tidy: only its scalar loss outlives it, so an
      // evaluation never holds more than one forward pass (less than a training step needs).
      let total: tf.Tensor = tf.scalar(0);
      for (const b of batches) {
        const next = tf.tidy(() => {
          const { x, y } = this.batchTensors(b);
          return total.add(this.model.loss(this.model.forward(x, opts), y, opts));
        });
        total.dispose();
        total = next;
      }
      const [sum] = await total.data();
      total.dispose();
      const fault = deviceFault();
      if (fault) throw fault;
      return sum / batches.length;
    };
    return { train: await mean(this.evalSets.train), val: await mean(this.evalSets.val) };
  }

  /** The fixed held-out batches the validation loss averages over: loss by position (inspect.ts) reads the same windows. */
  get valBatches(): readonly Batch[] {
    return this.evalSets.val;
  }

  /** A copy of the optimizer and data state (the weights are the model's). */
  async getState(): Promise<TrainerState> {
    const read = (vs: tf.Variable[]) => Promise.all(vs.map(async (t) => Float32Array.from(await t.data())));
    return {
      step: this.step,
      batcher: this.batcher.getState(),
      dropoutRng: this.dropoutRng.getState(),
      m: await read(this.m),
      v: await read(this.v),
    };
  }

  /** Puts back a state from getState (of a trainer of the same model shape). */
  setState(s: TrainerState) {
    const sizes = this.m.map((t) => t.size);
    if (
      s.m.length !== sizes.length ||
      s.v.length !== sizes.length ||
      s.m.some((a, i) => a.length !== sizes[i] || s.v[i].length !== sizes[i])
    ) {
      throw new Error("the saved optimizer state does not match this model's parameters");
    }
    tf.tidy(() => {
      this.m.forEach((t, i) => t.assign(tf.tensor(s.m[i], t.shape)));
      this.v.forEach((t, i) => t.assign(tf.tensor(s.v[i], t.shape)));
    });
    this.step = s.step;
    this.batcher.setState(s.batcher);
    this.dropoutRng = new Rng(s.dropoutRng);
  }

  /** Optimizer state is freed with the trainer; the model is freed by its owner. */
  dispose() {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}

/** Salt of the noise scale's dropout stream (the dropout stream's seed XOR this). */
const NOISE_SALT = 0x6d2b79f5;

/** The first `rows` rows of a minibatch of context T. */
function firstRows(batch: Batch, rows: number, T: number): Batch {
  return { x: batch.x.subarray(0, rows * T), y: batch.y.subarray(0, rows * T), starts: batch.starts.slice(0, rows), epoch: batch.epoch };
}

/**
 * Σ g² over every tensor: matrices reduced by rows first, since a whole-tensor sum runs in one
 * workgroup on webgpu; the per-tensor sums stacked, since tfjs's addN binds one buffer per input
 * and past the device's limit of storage buffers its webgpu shader is invalid.
 */
function squaredNorm(gs: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.stack(gs.map((g) => (g.rank >= 2 ? g.square().sum(-1).sum() : g.square().sum()))).sum());
}

/** Where a step's minibatch came from: its rows' offsets in the train split. */
export interface StepBatch {
  starts: number[];
  epoch: number;
}

export interface TrainHooks {
  onStep?: (e: StepEvent, batch: StepBatch) => void;
  onEval?: (e: EvalEvent) => void;
  /** Checked between steps: return true to stop (a pause); calling train again continues. */
  shouldStop?: () => boolean;
  /** Once the last step is reported, before the final evaluation: a trained run can be kept even if that evaluation fails. */
  onTrained?: () => Promise<void>;
  /** Measure the gradient noise scale every this many steps (trainStepMeasured; needs a batch of 2 or more); 0 or absent: never. */
  noiseScaleEvery?: number;
  /** Each measurement's smoothed estimates, right after its step's event. */
  onNoise?: (e: NoiseEvent) => void;
}

/** What a (possibly paused and resumed) run has measured so far. */
export interface RunStats {
  trainMs: number; // wall time spent in training steps
  tokens: number; // training tokens processed in that time
  lastEval?: EvalEvent;
  noise?: NoiseScaleEma; // the noise scale's moving averages, carried across pause/resume like the rest
}

/** A step queued on the device whose loss (and, for a measured step, gradient norms) is not read yet. */
interface Pending {
  step: number;
  lr: number;
  batch: StepBatch;
  loss: tf.Scalar;
  norms: tf.Tensor1D | null; // [|G_B|², |G_b|²] of a noise-scale measurement
}

/** What a group's one transfer holds for each step. */
interface ReadStep {
  loss: number;
  norms: [number, number] | null;
}

/** One transfer for a group: its losses, then each measured step's two norms. Frees the group's tensors. */
async function readBack(group: Pending[]): Promise<ReadStep[]> {
  const parts = [...group.map((g) => g.loss.reshape([1])), ...group.flatMap((g) => (g.norms ? [g.norms] : []))];
  const packed = tf.concat(parts);
  for (const t of parts) t.dispose();
  for (const g of group) freePending(g);
  let values: Float32Array;
  try {
    values = (await packed.data()) as Float32Array;
  } finally {
    packed.dispose();
  }
  let next = group.length; // where the next measured step's norms are
  return group.map((g, i) => {
    if (!g.norms) return { loss: values[i], norms: null };
    next += 2;
    return { loss: values[i], norms: [values[next - 2], values[next - 1]] };
  });
}

function freePending(p: Pending) {
  p.loss.dispose();
  p.norms?.dispose();
}

/**
 * Runs steps until maxSteps (or until shouldStop), evaluating every evalEvery steps and at
 * the end. Losses are read back every logEvery steps, one group behind, so the device always
 * has the next steps queued while JavaScript waits for a readback.
 */
export async function train(trainer: Trainer, hooks: TrainHooks = {}, stats: RunStats = { trainMs: 0, tokens: 0 }): Promise<RunStats> {
  const { maxSteps, evalEvery, logEvery, batchSize } = trainer.config;
  const T = trainer.model.config.blockSize;
  const noiseEvery = batchSize >= 2 ? (hooks.noiseScaleEvery ?? 0) : 0;
  const noise = noiseEvery > 0 ? (stats.noise ??= new NoiseScaleEma()) : null;
  let queued: Pending[] = []; // steps queued since the last readback began
  let inFlight: Promise<void> = Promise.resolve(); // the previous group's readback
  let groupStart = performance.now();

  /** Queues the next update; with a noise-scale measurement every noiseEvery steps. */
  const queueStep = () => {
    const lr = trainer.getLr(trainer.step);
    const batch = trainer.batcher.getBatch();
    const where = { starts: batch.starts, epoch: batch.epoch };
    const measured = noise !== null && (trainer.step + 1) % noiseEvery === 0;
    const { loss, norms } = measured ? trainer.trainStepMeasured(batch) : { loss: trainer.trainStep(batch), norms: null };
    queued.push({ step: trainer.step, lr, batch: where, loss, norms });
  };

  /** Reads a group's losses, reports them, and stops at the first non-finite one. */
  const report = async (group: Pending[]) => {
    const read = await readBack(group);
    const fault = deviceFault();
    if (fault) throw fault; // the values may be garbage: stop rather than report them
    const now = performance.now();
    const ms = (now - groupStart) / group.length;
    stats.trainMs += now - groupStart;
    stats.tokens += group.length * batchSize * T;
    groupStart = now;
    group.forEach((g, i) => {
      const { loss, norms } = read[i];
      if (!Number.isFinite(loss)) throw new DivergenceError(g.step, loss, g.lr);
      hooks.onStep?.({ type: 'step', step: g.step, loss, lr: g.lr, ms }, g.batch);
      if (norms && noise) hooks.onNoise?.(noiseEvent(noise, g.step, batchSize, norms, T));
    });
  };

  /** Starts reading the queued group once the previous one is in: the device keeps stepping meanwhile. */
  const startReadback = async () => {
    const group = queued;
    queued = [];
    await inFlight;
    if (group.length === 0) return;
    inFlight = report(group);
    inFlight.catch(() => {}); // a rejection is handled when awaited; never reported as unhandled
  };

  /** Waits for every queued loss to be read and reported. */
  const flush = async () => {
    await startReadback();
    await inFlight;
    inFlight = Promise.resolve();
  };

  const evaluate = async () => {
    const { train: tr, val } = await trainer.estimateLoss();
    const e: EvalEvent = { type: 'eval', step: trainer.step, train: tr, val };
    stats.lastEval = e;
    hooks.onEval?.(e);
  };

  /** An evaluation between steps: its time is not training time. */
  const evaluateBetween = async () => {
    await flush();
    const t0 = performance.now();
    await evaluate();
    groupStart += performance.now() - t0;
  };

  try {
    if (trainer.step === 0 && evalEvery > 0) await evaluate();
    groupStart = performance.now();
    while (trainer.step < maxSteps && !hooks.shouldStop?.()) {
      queueStep();
      const evalDue = evalEvery > 0 && trainer.step % evalEvery === 0 && trainer.step < maxSteps;
      if (evalDue) await evaluateBetween();
      else if (queued.length >= logEvery) await startReadback();
      await yieldToEventLoop(); // lets pause/stop messages in between steps
    }
    await flush();
    if (trainer.step >= maxSteps && stats.lastEval?.step !== trainer.step) {
      await hooks.onTrained?.();
      await evaluate();
    }
  } catch (err) {
    // A failed readback is often the symptom of a device fault reported a moment later.
    throw (await settleDeviceFault(err instanceof DivergenceError ? 10 : 2000)) ?? err;
  } finally {
    // On an error or a stop, free what is still queued so no tensor outlives the loop.
    await inFlight.catch(() => {});
    for (const q of queued) freePending(q);
  }
  return stats;
}

/** One measurement taken into the moving averages, as the event that reports it. */
function noiseEvent(ema: NoiseScaleEma, step: number, batch: number, [bigSq, smallSq]: [number, number], T: number): NoiseEvent {
  const small = subBatchRows(batch);
  const { gSq, trSigma, bSimple } = ema.add({ big: batch, small, bigSq, smallSq });
  return { type: 'noise', step, bSimple, bSimpleTokens: bSimple === null ? null : bSimple * T, gSq, trSigma, batch, small };
}

/** The summary line of a run. */
export function summarize(trainer: Trainer, stats: RunStats, backend: string): TrainSummary {
  const { total, nonEmbedding } = countParams(trainer.model.config);
  return {
    type: 'summary',
    params: total,
    nonEmbeddingParams: nonEmbedding,
    trainLoss: stats.lastEval?.train ?? NaN,
    valLoss: stats.lastEval?.val ?? NaN,
    tokensPerSec: stats.trainMs > 0 ? (stats.tokens / stats.trainMs) * 1000 : 0,
    backend,
    steps: trainer.step,
  };
}
