/**
 * The training loop, train(): steps queued on the device with their losses read back one group
 * behind, evaluations every evalEvery steps, the gradient noise scale measured every so often,
 * and the events a driver reports (session.ts). The optimizer and its state are the Trainer's
 * (trainer.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { countParams } from '../src/core/config.ts';
import { NoiseScaleEma, subBatchRows, type NoiseEvent } from '../src/core/noise-scale.ts';
import { deviceFault, settleDeviceFault } from './device.ts';
import { yieldToEventLoop } from './schedule.ts';
import type { Trainer } from './trainer.ts';

export { Trainer, type TrainerOptions, type TrainerState } from './trainer.ts';

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
  /** Checked between evaluation batches: true abandons the evaluation and ends train() (a stop or reset, which need not wait for it). */
  abandon?: () => boolean;
  /** false: no evaluation after the last step (nor onTrained): the caller measures the last step itself (runSweep's pauses). Default true. */
  finalEval?: boolean;
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
  const losses = group.map((g) => g.loss.reshape([1])); // [1] each: concat joins them with the norms [2]
  const packed = tf.concat([...losses, ...group.flatMap((g) => (g.norms ? [g.norms] : []))]);
  for (const t of losses) t.dispose();
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
 * the end (unless hooks.finalEval is false). Losses are read back every logEvery steps, one group behind, so the device always
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

  /** Evaluates and reports it; false when a stop or reset abandoned it (the run ends without it). */
  const evaluate = async (): Promise<boolean> => {
    const losses = hooks.abandon ? await trainer.estimateLoss(hooks.abandon) : await trainer.estimateLoss();
    if (!losses) return false;
    const e: EvalEvent = { type: 'eval', step: trainer.step, train: losses.train, val: losses.val };
    stats.lastEval = e;
    hooks.onEval?.(e);
    return true;
  };

  /** An evaluation between steps: its time is not training time. */
  const evaluateBetween = async (): Promise<boolean> => {
    await flush();
    const t0 = performance.now();
    const done = await evaluate();
    groupStart += performance.now() - t0;
    return done;
  };

  try {
    // The untrained model's evaluation, once: a loop that stops at step 0 (for a save, or a task
    // scored between steps) and is called again does not evaluate it again.
    let abandoned = trainer.step === 0 && evalEvery > 0 && stats.lastEval?.step !== 0 && !(await evaluate());
    groupStart = performance.now();
    while (!abandoned && trainer.step < maxSteps && !hooks.shouldStop?.()) {
      queueStep();
      const evalDue = evalEvery > 0 && trainer.step % evalEvery === 0 && trainer.step < maxSteps;
      if (evalDue) abandoned = !(await evaluateBetween());
      else if (queued.length >= logEvery) await startReadback();
      await yieldToEventLoop(); // lets pause/stop messages in between steps
    }
    await flush();
    if (trainer.step >= maxSteps && stats.lastEval?.step !== trainer.step && hooks.finalEval !== false) {
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
