/**
 * One rung of `batch-ladder`: the ladder's model trained at one batch size until its val loss
 * reaches the target (or its token budget ends), and what it took. Run by the CLI's main thread
 * for --jobs 1 and by a job's thread (model-job.ts) otherwise; the backend must have started.
 * A rung depends on its own config alone (seed, data order), so where it runs changes nothing.
 */
import type { ModelConfig, TrainConfig } from '../core/config.ts';
import { stepsToTarget, type NoiseEvent } from '../core/noise-scale.ts';

/** What the ladder trains: one model, one config per batch size. */
export interface LadderWork {
  text: string;
  model: Omit<ModelConfig, 'vocabSize'>;
  configs: TrainConfig[]; // one per rung, in batch order
  target: number; // val loss, nats per character
  noiseScaleEvery: number; // 0: no noise-scale measurement
}

/** A rung as the CLI prints it (`{"type":"rung",…}`). */
export interface Rung {
  type: 'rung';
  batch: number;
  tokensPerStep: number;
  lr: number;
  steps: number | null; // steps to the target, interpolated between evaluations; null: not reached
  tokens: number | null;
  reached: boolean;
  trainedSteps: number;
  val: number; // the last val loss
  bSimple?: number | null; // the last noise-scale measurement (null: not measurable then)
  bSimpleTokens?: number | null;
}

/** A trainer's inputs, prepared once per thread (tokenizing the corpus) and reused by each rung. */
type Prepared = Awaited<ReturnType<typeof prepare>>;
let prepared: { work: LadderWork; run: Prepared } | null = null;

async function prepare(work: LadderWork) {
  const runModule = await import('../../workers/run.ts');
  const { train } = await import('../../workers/train.ts');
  return { ...runModule, train, base: runModule.prepareRun(work.text, work.model, work.configs[0]) };
}

/** Trains rung `index` of `work` to its target. */
export async function trainRung(work: LadderWork, index: number): Promise<Rung> {
  if (prepared?.work !== work) prepared = { work, run: await prepare(work) };
  const { createRun, disposeRun, withConfigs, train, base } = prepared.run;
  const cfg = work.configs[index];
  const T = work.model.blockSize;
  const B = cfg.batchSize;
  const run = createRun(withConfigs(base, work.model, cfg));
  const evals: { step: number; loss: number }[] = [];
  let noise: NoiseEvent | null = null; // the rung's last noise line
  try {
    await train(run.trainer, {
      onEval: (e) => void evals.push({ step: e.step, loss: e.val }),
      shouldStop: () => (evals.at(-1)?.loss ?? Infinity) <= work.target,
      noiseScaleEvery: work.noiseScaleEvery,
      onNoise: (e) => void (noise = e),
    });
  } finally {
    disposeRun(run);
  }
  const crossing = stepsToTarget(evals, work.target);
  const steps = crossing === null ? null : Math.max(1, Math.round(crossing)); // whole steps: tokens are steps × batch × ctx
  const last = evals.at(-1)!;
  const seen = noise as NoiseEvent | null;
  return {
    type: 'rung',
    batch: B,
    tokensPerStep: B * T,
    lr: cfg.learningRate,
    steps,
    tokens: steps === null ? null : steps * B * T,
    reached: steps !== null,
    trainedSteps: last.step,
    val: last.loss,
    ...(seen ? { bSimple: seen.bSimple, bSimpleTokens: seen.bSimpleTokens } : {}),
  };
}
