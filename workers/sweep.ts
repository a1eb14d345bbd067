/**
 * A sweep: a ladder of model sizes trained one after another on one corpus, each for a token
 * budget, recording (N, D, val loss) at several points along each run: the data a scaling law
 * is fitted to. Shared by the worker and the CLI; the plan (steps, warm-up) is src/core/sweep.ts's.
 * Each point also carries the in-context learning probe at that step: the loss falls smoothly with
 * N and D while the ability to copy appears abruptly, the contrast the Scaling lab draws.
 */
import { countParams } from '../src/core/config.ts';
import { defaultProbeLength, probeChoices, PROBE_TRIALS } from '../src/core/icl.ts';
import { planSweep, sweepTrainConfig, type ModelShape, type SweepConfig, type SweepPoint } from '../src/core/sweep.ts';
import { chooseProblems, generateTask, unknownCharactersList } from '../src/core/tasks.ts';
import { probe, type ProbeOptions } from './inspect.ts';
import { evaluateTask } from './task-eval.ts';
import { createRun, disposeRun, prepareRun, withConfigs, type PreparedRun } from './run.ts';
import { train, type EvalEvent, type RunStats, type StepEvent } from './train.ts';

export type { ModelShape, SweepConfig, SweepPoint };

export interface SweepHooks {
  onPoint?: (p: SweepPoint) => void;
  onStep?: (model: number, e: StepEvent) => void;
  onModel?: (model: number, shape: ModelShape, N: number, steps: number) => void;
  shouldStop?: () => boolean;
}

/**
 * Trains the ladder in order, from `startModel` (a stopped sweep resumes at the next model); with
 * `only`, just those models (a job of a parallel sweep: each model's points depend on its own
 * seeds alone, so they are the same whichever job trains it).
 */
/**
 * The last corpus runSweep tokenized and the configs it checked against it: a job that trains one
 * model of a sweep per call (src/cli/model-job.ts) tokenizes the corpus once, not once a model.
 */
let lastPrepared: { text: string; cfg: SweepConfig; prepared: PreparedRun[] } | null = null;

export async function runSweep(
  text: string,
  cfg: SweepConfig,
  hooks: SweepHooks = {},
  startModel = 0,
  only: readonly number[] | null = null,
): Promise<SweepPoint[]> {
  const points: SweepPoint[] = [];
  const plan = planSweep(cfg, new Set(text).size);
  // Every model is checked against the corpus before the first one trains; the text is tokenized once.
  // The trainer's own interval is off (0: it evaluates only after its last step); the loop below
  // pauses at each of plan.evalSteps to record a point, so each model has exactly cfg.points.
  const configs = cfg.ladder.map((shape, i) => ({
    model: { ...shape, blockSize: cfg.blockSize, dropout: cfg.dropout },
    train: { ...sweepTrainConfig(cfg, plan, i), evalEvery: 0 },
  }));
  let prepared: PreparedRun[];
  if (lastPrepared?.text === text && lastPrepared.cfg === cfg) prepared = lastPrepared.prepared;
  else {
    const base = prepareRun(text, configs[0].model, configs[0].train);
    prepared = configs.map((c) => withConfigs(base, c.model, c.train));
    lastPrepared = { text, cfg, prepared };
  }
  const base = prepared[0];
  // The task's problems, the same n at every point of every model (seed 0), checked against the vocabulary before anything trains.
  const taskProblems = cfg.task ? chooseProblems(generateTask(cfg.task.spec).problems, cfg.task.n, 0) : null;
  const missing = taskProblems && unknownCharactersList(base.tokenizer.vocab, taskProblems);
  if (missing) throw new Error(`the task ${cfg.task!.spec} uses characters the corpus lacks (${missing}): sweep on its own corpus`);
  for (let i = startModel; i < cfg.ladder.length && !hooks.shouldStop?.(); i++) {
    if (only && !only.includes(i)) continue;
    const run = createRun(prepared[i]);
    const { total, nonEmbedding } = countParams(run.model.config);
    hooks.onModel?.(i, cfg.ladder[i], nonEmbedding, plan.steps[i]);
    const tokensPerStep = cfg.train.batchSize * cfg.blockSize;
    // The same probe sequences at every point of every model (seed 0), so their scores compare.
    const length = defaultProbeLength(cfg.blockSize);
    const probeOpts: ProbeOptions | null =
      length >= 2 ? { length, trials: PROBE_TRIALS, seed: 0, choices: probeChoices(run.tokenizer.vocab) } : null;
    const pending: Promise<void>[] = [];
    const record = (e: EvalEvent) => {
      if (e.step === 0) return; // nothing trained yet: not a point of the law
      const p: SweepPoint = { model: i, N: nonEmbedding, params: total, D: e.step * tokensPerStep, step: e.step, loss: e.val };
      // The probe's forward pass is issued now, at this step's weights; the point follows its read-back.
      const probed = probeOpts
        ? probe(run.model, probeOpts).then((r) => ({ ...p, probe: { score: r.score, chance: r.chance } }))
        : Promise.resolve(p);
      // The task is scored at the same weights: the loop waits for it before it trains on (see below).
      const measured = taskProblems
        ? probed.then(async (point) => {
            const { n, exactMatch, charAccuracy, answerNats } = await evaluateTask(run.model, run.tokenizer, taskProblems);
            return { ...point, task: { n, exactMatch, charAccuracy, answerNats } };
          })
        : probed;
      const previous = pending.at(-1) ?? Promise.resolve();
      pending.push(
        Promise.all([measured, previous]).then(([point]) => {
          points.push(point);
          hooks.onPoint?.(point);
        }),
      );
    };
    const trainer = run.trainer;
    const pauses = new Set(plan.evalSteps[i].filter((s) => s < plan.steps[i])); // the last is train()'s final evaluation
    let recordedAt = 0;
    const pauseHere = () => pauses.has(trainer.step) && recordedAt !== trainer.step;
    try {
      let stats: RunStats | undefined;
      for (;;) {
        stats = await train(
          trainer,
          { onEval: record, onStep: (e) => hooks.onStep?.(i, e), shouldStop: () => !!hooks.shouldStop?.() || pauseHere() },
          stats,
        );
        if (!pauseHere()) break; // trained to the end, or stopped
        const { train: tr, val } = await trainer.estimateLoss();
        recordedAt = trainer.step;
        record({ type: 'eval', step: trainer.step, train: tr, val });
        if (taskProblems) await pending.at(-1); // a task's greedy decoding reads the weights over many awaits: they hold still
      }
    } finally {
      await Promise.allSettled(pending); // every probe read back before the model's weights are freed
      disposeRun(run);
    }
    await Promise.all(pending); // a probe that failed fails the sweep
  }
  return points;
}
