/**
 * The Trainer: one run's optimizer (AdamW with decoupled weight decay and global-norm clipping,
 * on webgpu and wasm as custom kernels, see kernels/adamw.ts), its data order and dropout
 * streams, and estimateLoss on fixed held-out batches. The loop that drives it is train.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { Batcher, fixedBatches, type Batch, type BatcherState } from '../src/core/batching.ts';
import { assertValid, validateTrainConfig, type TrainConfig } from '../src/core/config.ts';
import { subBatchRows } from '../src/core/noise-scale.ts';
import { Rng, streamSeed, type RngState } from '../src/core/rng.ts';
import { getLr } from '../src/core/schedule.ts';
import { toVariable, type GPT } from './model.ts';
import { deviceFault } from './device.ts';
import { adamwKernelAvailable, adamwStep } from './kernels/adamw.ts';
import { yieldToEventLoop } from './schedule.ts';

/** Everything besides the weights that a run needs to continue exactly where it stopped. */
export interface TrainerState {
  step: number; // updates applied; also the learning-rate schedule's position
  batcher: BatcherState; // data order: RNG and, for sequential partitioning, the stream cursor
  dropoutRng: RngState;
  m: Float32Array[]; // AdamW first moments, in model.params order
  v: Float32Array[]; // AdamW second moments
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
  async estimateLoss(): Promise<{ train: number; val: number }>;
  /**
   * The same, abandoned (null) as soon as `abandon` says so: it is asked between batches, after
   * the messages that came meanwhile have had their turn, so a stop need not wait for an evaluation.
   */
  async estimateLoss(abandon: () => boolean): Promise<{ train: number; val: number } | null>;
  async estimateLoss(abandon?: () => boolean): Promise<{ train: number; val: number } | null> {
    const train = await this.meanLoss(this.evalSets.train, abandon);
    const val = train === null ? null : await this.meanLoss(this.evalSets.val, abandon);
    return train === null || val === null ? null : { train, val };
  }

  /** The mean val loss alone, as estimateLoss gives it: a sweep's point needs no train loss. */
  async valLoss(): Promise<number> {
    return (await this.meanLoss(this.evalSets.val))!;
  }

  /** Mean loss over fixed batches without dropout; null once `abandon` says so. */
  private async meanLoss(batches: readonly Batch[], abandon?: () => boolean): Promise<number | null> {
    const opts = { training: false, fusedKernels: this.fusedKernels };
    // One batch at a time, each in its own tidy: only its scalar loss outlives it, so an
    // evaluation never holds more than one forward pass (less than a training step needs).
    let total: tf.Tensor = tf.scalar(0);
    for (const b of batches) {
      if (abandon) {
        await yieldToEventLoop(); // on wasm each batch runs right here: let a stop in between
        if (abandon()) {
          total.dispose();
          return null;
        }
      }
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
