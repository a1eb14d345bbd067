/**
 * A sweep: a ladder of model sizes trained one after another on one corpus, each for a token
 * budget, recording (N, D, val loss) at several points along each run: the data a scaling law
 * is fitted to. Shared by the worker and the CLI; the plan (steps, warm-up) is src/core/sweep.ts's.
 * Each point also carries the in-context learning probe at that step: the loss falls smoothly with
 * N and D while the ability to copy appears abruptly, the contrast the Scaling lab draws.
 *
 * A point is measured where its model trains, or, in a parallel sweep (src/cli/model-jobs.ts),
 * handed with a copy of the weights to whichever job is free (evaluatePoint): a point depends on
 * the weights at its step alone, so it is the same wherever it is measured.
 */
import { countParams } from '../src/core/config.ts';
import { defaultProbeLength, probeChoices, PROBE_TRIALS } from '../src/core/icl.ts';
import { planSweep, sweepTrainConfig, type ModelShape, type SweepConfig, type SweepPlan, type SweepPoint } from '../src/core/sweep.ts';
import { chooseProblems, generateTask, unknownCharactersList, type Problem } from '../src/core/tasks.ts';
import { probe, type ProbeOptions } from './inspect.ts';
import { evaluateTask } from './task-eval.ts';
import { createRun, disposeRun, prepareRun, withConfigs, type PreparedRun, type Run } from './run.ts';
import { train, type RunStats, type StepEvent } from './train.ts';
import { CharTokenizer } from '../src/core/tokenizer.ts';

export type { ModelShape, SweepConfig, SweepPoint };

/** A point to be measured elsewhere: the model, the step, and its weights then (GPT.params order). */
export interface SweepPause {
  model: number;
  step: number;
  weights: Float32Array<ArrayBuffer>[]; // whole buffers of their own: they are handed between threads, not copied
}

export interface SweepHooks {
  onPoint?: (p: SweepPoint) => void;
  onStep?: (model: number, e: StepEvent) => void;
  onModel?: (model: number, shape: ModelShape, N: number, steps: number) => void;
  shouldStop?: () => boolean;
  /**
   * Where set, each point is handed here instead of measured (onPoint is not called), and the model
   * trains on at once: another job measures it with evaluatePoint.
   */
  measureElsewhere?: (pause: SweepPause) => void;
}

/** A sweep checked against its corpus: the plan, each model's prepared run, and the task's problems. */
interface PreparedSweep {
  text: string;
  cfg: SweepConfig;
  plan: SweepPlan;
  prepared: PreparedRun[];
  /** The task's problems, the same n at every point of every model (seed 0); null without a task. */
  taskProblems: Problem[] | null;
}

/**
 * The last sweep prepared: a job that trains or measures one model of a sweep per call
 * (src/cli/model-job.ts) tokenizes the corpus once, not once a call.
 */
let lastPrepared: PreparedSweep | null = null;

/**
 * Every model checked against the corpus before the first one trains; the text tokenized once.
 * The trainer's own interval is off (0); runSweep pauses at each of plan.evalSteps to record a
 * point, so each model has exactly cfg.points.
 */
function prepareSweep(text: string, cfg: SweepConfig): PreparedSweep {
  if (lastPrepared?.text === text && lastPrepared.cfg === cfg) return lastPrepared;
  const tokenizer = CharTokenizer.fromText(text); // the plan's vocabulary, and the runs' (read once)
  const plan = planSweep(cfg, tokenizer.size);
  const configs = cfg.ladder.map((shape, i) => ({
    model: { ...shape, blockSize: cfg.blockSize, dropout: cfg.dropout },
    train: { ...sweepTrainConfig(cfg, plan, i), evalEvery: 0 },
  }));
  const base = prepareRun(text, configs[0].model, configs[0].train, tokenizer);
  const prepared = configs.map((c) => withConfigs(base, c.model, c.train));
  // The task is checked against the vocabulary before anything trains.
  const taskProblems = cfg.task ? chooseProblems(generateTask(cfg.task.spec).problems, cfg.task.n, 0) : null;
  const missing = taskProblems && unknownCharactersList(base.tokenizer.vocab, taskProblems);
  if (missing) throw new Error(`the task ${cfg.task!.spec} uses characters the corpus lacks (${missing}): sweep on its own corpus`);
  return (lastPrepared = { text, cfg, plan, prepared, taskProblems });
}

/**
 * Model i's point at `step` with val loss `loss`, from the weights `run` holds now: the probe's
 * forward pass is issued before this returns its promise (the caller may train on once it has it,
 * unless the sweep has a task: greedy decoding reads the weights over many awaits).
 */
function measurePoint(sweep: PreparedSweep, run: Run, i: number, step: number, loss: number): Promise<SweepPoint> {
  const { total, nonEmbedding } = countParams(run.model.config);
  const { cfg, taskProblems } = sweep;
  const p: SweepPoint = { model: i, N: nonEmbedding, params: total, D: step * cfg.train.batchSize * cfg.blockSize, step, loss };
  // The same probe sequences at every point of every model (seed 0), so their scores compare.
  const length = defaultProbeLength(cfg.blockSize);
  const probeOpts: ProbeOptions | null =
    length >= 2 ? { length, trials: PROBE_TRIALS, seed: 0, choices: probeChoices(run.tokenizer.vocab) } : null;
  const probed = probeOpts
    ? probe(run.model, probeOpts).then((r) => ({ ...p, probe: { score: r.score, chance: r.chance } }))
    : Promise.resolve(p);
  if (!taskProblems) return probed;
  return probed.then(async (point) => {
    const { n, exactMatch, charAccuracy, answerNats } = await evaluateTask(run.model, run.tokenizer, taskProblems);
    return { ...point, task: { n, exactMatch, charAccuracy, answerNats } };
  });
}

/**
 * Trains the ladder in order, from `startModel` (a stopped sweep resumes at the next model); with
 * `only`, just those models (a job of a parallel sweep: each model's points depend on its own
 * seeds alone, so they are the same whichever job trains it).
 */
export async function runSweep(
  text: string,
  cfg: SweepConfig,
  hooks: SweepHooks = {},
  startModel = 0,
  only: readonly number[] | null = null,
): Promise<SweepPoint[]> {
  const points: SweepPoint[] = [];
  const sweep = prepareSweep(text, cfg);
  const { plan, prepared, taskProblems } = sweep;
  const elsewhere = hooks.measureElsewhere;
  for (let i = startModel; i < cfg.ladder.length && !hooks.shouldStop?.(); i++) {
    if (only && !only.includes(i)) continue;
    const run = createRun(prepared[i]);
    hooks.onModel?.(i, cfg.ladder[i], countParams(run.model.config).nonEmbedding, plan.steps[i]);
    const pending: Promise<void>[] = [];
    const record = (step: number, loss: number) => {
      const measured = measurePoint(sweep, run, i, step, loss);
      const previous = pending.at(-1) ?? Promise.resolve();
      pending.push(
        Promise.all([measured, previous]).then(([point]) => {
          points.push(point);
          hooks.onPoint?.(point);
        }),
      );
    };
    const trainer = run.trainer;
    // The loop pauses at each point, the last included: train() itself evaluates nothing.
    const pauses = new Set(plan.evalSteps[i]);
    let recordedAt = 0;
    const pauseHere = () => pauses.has(trainer.step) && recordedAt !== trainer.step;
    try {
      let stats: RunStats | undefined;
      for (;;) {
        stats = await train(
          trainer,
          { onStep: (e) => hooks.onStep?.(i, e), shouldStop: () => !!hooks.shouldStop?.() || pauseHere(), finalEval: false },
          stats,
        );
        if (!pauseHere()) break; // trained to the end, or stopped
        recordedAt = trainer.step;
        if (elsewhere) elsewhere({ model: i, step: trainer.step, weights: await run.model.weights() });
        else {
          record(trainer.step, await trainer.valLoss());
          if (taskProblems) await pending.at(-1); // a task's greedy decoding reads the weights over many awaits: they hold still
        }
      }
    } finally {
      await Promise.allSettled(pending); // every probe read back before the model's weights are freed
      disposeRun(run);
    }
    await Promise.all(pending); // a probe that failed fails the sweep
  }
  return points;
}

/** The model a job last measured a point of, kept for the next: the pool hands a job points of the same model while any wait. */
let measuring: { sweep: PreparedSweep; model: number; run: Run } | null = null;

/**
 * The point runSweep would record at `pause`: its val loss, probe and task, measured on a model
 * set to the pause's weights. The same as measured where the model trains, to the last bit.
 */
export async function evaluatePoint(text: string, cfg: SweepConfig, { model: i, step, weights }: SweepPause): Promise<SweepPoint> {
  const sweep = prepareSweep(text, cfg);
  if (measuring?.sweep !== sweep || measuring.model !== i) {
    if (measuring) disposeRun(measuring.run);
    measuring = null;
    measuring = { sweep, model: i, run: createRun(sweep.prepared[i]) };
  }
  const { run } = measuring;
  run.model.setWeights(weights);
  return measurePoint(sweep, run, i, step, await run.trainer.valLoss());
}
