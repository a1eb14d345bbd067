/**
 * A sweep's plan, decided once for every realm: the ladder of model shapes (and how it is written,
 * "2x64,3x96h6"), the default ladder, the steps each model trains for its token budget, and its
 * learning-rate warm-up. The CLI (`sweep`), the sweep worker (workers/sweep.ts) and the Scaling
 * lab all plan with these functions, so a sweep run in the tab and in the terminal is the same
 * experiment.
 */
import { countParams, defaultTrainConfig, type ModelConfig, type TrainConfig } from './config.ts';

export type ModelShape = Pick<ModelConfig, 'nLayer' | 'nHead' | 'nEmbd'>;

/** Fixed D for every model, or D ∝ N (Chinchilla's ~20 tokens per parameter). */
export type Budget = { tokens: number } | { tokensPerParam: number };

export interface SweepConfig {
  ladder: ModelShape[];
  blockSize: number; // one context for every model
  dropout: number;
  budget: Budget;
  points: number; // evaluations recorded along each run (the last at its end)
  warmupFraction: number; // each model warms up for this fraction of its own steps, in [0, 1)
  train: Omit<TrainConfig, 'maxSteps' | 'evalEvery' | 'warmupSteps'>; // shared by every model
  task?: { spec: string; n: number }; // a task (src/core/tasks.ts) scored at every point on n of its held-out problems
}

/** One measurement: a model of N parameters after D tokens has this validation loss. */
export interface SweepPoint {
  model: number; // index in the ladder
  N: number; // non-embedding parameters (exact count)
  params: number; // all parameters
  D: number; // tokens (characters) trained on so far
  step: number;
  loss: number; // val loss, nats/char
  /**
   * The in-context learning probe at the same weights (src/core/icl.ts): the loss on the first copy
   * of random characters minus the loss on the second, and chance, ln(characters drawn from): the
   * score an induction head approaches. Absent when the context is too short for two copies.
   */
  probe?: { score: number; chance: number };
  /** The task's scores at the same weights (workers/task-eval.ts), where the sweep has a task. */
  task?: { n: number; exactMatch: number; charAccuracy: number; answerNats: number };
}

/** Head width of a ladder entry written without heads ("2x64"): 16, one head per 16 channels. */
const HEAD_WIDTH = 16;

/** The warm-up of a sweep's models unless told otherwise: 10% of each model's own steps. */
export const DEFAULT_WARMUP_FRACTION = 0.1;

/** Five models, 2–4 layers, spanning about 30× in non-embedding parameters (head width 16). */
export const DEFAULT_LADDER: readonly ModelShape[] = [
  { nLayer: 2, nHead: 2, nEmbd: 32 },
  { nLayer: 2, nHead: 3, nEmbd: 48 },
  { nLayer: 2, nHead: 4, nEmbd: 64 },
  { nLayer: 3, nHead: 6, nEmbd: 96 },
  { nLayer: 4, nHead: 8, nEmbd: 128 },
];

/** "2x64", "2×64" or "3x96h6" → a model shape; heads default to one per 16 channels (at least 1). */
export function parseShape(spec: string): ModelShape {
  const m = /^(\d+)\s*[x×]\s*(\d+)(?:h(\d+))?$/.exec(spec.trim());
  if (!m) throw new Error(`${JSON.stringify(spec.trim())} is not LAYERSxWIDTH or LAYERSxWIDTHhHEADS (e.g. 2x64, 3x96h6)`);
  const nLayer = Number(m[1]);
  const nEmbd = Number(m[2]);
  const nHead = m[3] ? Number(m[3]) : Math.max(1, Math.round(nEmbd / HEAD_WIDTH));
  if (nLayer < 1 || nEmbd < 1 || nHead < 1) throw new Error(`${spec.trim()}: layers, width and heads must be at least 1`);
  if (nEmbd % nHead !== 0) throw new Error(`${spec.trim()}: the width ${nEmbd} must be divisible by the ${nHead} heads`);
  return { nLayer, nHead, nEmbd };
}

/** A comma-separated ladder; throws with the first bad entry's reason (an empty one too: "2x32,,2x64", "2x32,"). */
export function parseLadder(text: string): ModelShape[] {
  const entries = text.split(',');
  if (entries.every((s) => s.trim() === '')) throw new Error('the ladder is empty: list sizes such as 2x32,2x64');
  if (entries.some((s) => s.trim() === '')) throw new Error(`${JSON.stringify(text)} has an empty entry (a stray comma?)`);
  return entries.map(parseShape);
}

/** A shape as parseShape reads it: heads written only where they differ from the default. */
export function formatShape(s: ModelShape): string {
  return `${s.nLayer}x${s.nEmbd}${s.nHead === Math.max(1, Math.round(s.nEmbd / HEAD_WIDTH)) ? '' : `h${s.nHead}`}`;
}

/** The default ladder as text: "2x32,2x48,2x64,3x96,4x128". */
export const DEFAULT_SIZES = DEFAULT_LADDER.map(formatShape).join(',');

/** Non-embedding parameters of a shape (exact, as the model counts them). */
export function shapeN(shape: ModelShape, vocabSize: number, blockSize: number): number {
  return countParams({ ...shape, vocabSize, blockSize, dropout: 0 }).nonEmbedding;
}

/** Each model's length and warm-up: what a sweep trains, before it trains. */
export interface SweepPlan {
  steps: number[]; // optimizer steps per model: its token budget over the tokens per step, rounded up
  warmupSteps: number[]; // per model: warmupFraction of its own steps, rounded down
  N: number[]; // non-embedding parameters per model
  evalSteps: number[][]; // per model: the steps its points are recorded at (sweepEvalSteps)
}

/**
 * The steps a model of `steps` steps records its `points` points at: evenly spaced, the last at its
 * final step (94 steps, 3 points: 31, 63, 94). A model with fewer steps than points records one
 * at each step.
 */
export function sweepEvalSteps(steps: number, points: number): number[] {
  const n = Math.min(points, steps);
  return Array.from({ length: n }, (_, k) => Math.round(((k + 1) * steps) / n));
}

/** The plan of a sweep on a vocabulary of `vocabSize` characters. */
export function planSweep(
  cfg: Pick<SweepConfig, 'ladder' | 'blockSize' | 'budget' | 'warmupFraction' | 'points'> & { train: Pick<TrainConfig, 'batchSize'> },
  vocabSize: number,
): SweepPlan {
  if (!(cfg.warmupFraction >= 0 && cfg.warmupFraction < 1))
    throw new Error(`the warm-up fraction must be in [0, 1), got ${cfg.warmupFraction}`);
  const tokensPerStep = cfg.train.batchSize * cfg.blockSize;
  const N = cfg.ladder.map((shape) => shapeN(shape, vocabSize, cfg.blockSize));
  const steps = N.map((n) =>
    Math.max(1, Math.ceil(('tokens' in cfg.budget ? cfg.budget.tokens : cfg.budget.tokensPerParam * n) / tokensPerStep)),
  );
  return {
    steps,
    warmupSteps: steps.map((s) => Math.floor(cfg.warmupFraction * s)),
    N,
    evalSteps: steps.map((s) => sweepEvalSteps(s, cfg.points)),
  };
}

/**
 * Model i's training config in a sweep: the shared one with its own length, warm-up and eval
 * interval. The interval is the points' mean spacing, the setting the lab shows; runSweep records
 * the points at plan.evalSteps, which an interval cannot hit exactly (94 steps, 3 points).
 */
export function sweepTrainConfig(cfg: SweepConfig, plan: SweepPlan, i: number): TrainConfig {
  return {
    ...cfg.train,
    maxSteps: plan.steps[i],
    warmupSteps: plan.warmupSteps[i],
    evalEvery: Math.max(1, Math.floor(plan.steps[i] / cfg.points)),
  };
}

/**
 * Fraction of a sweep done: the steps of the models trained to their end, plus the steps the
 * running ones have taken, over all steps.
 */
export function sweepFraction(
  steps: number[],
  done: readonly number[],
  running: readonly { model: number | null; step: number }[],
): number {
  const total = steps.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const finished = new Set(done);
  let count = 0;
  for (const m of finished) count += steps[m] ?? 0;
  for (const r of running) if (r.model !== null && !finished.has(r.model)) count += Math.min(r.step, steps[r.model] ?? 0);
  return Math.min(1, count / total);
}

/** The most workers a sweep trains in at once: past it, each would hold a model's memory for little gain on a tab's cores. */
export const MAX_SWEEP_WORKERS = 4;

/**
 * How a sweep of `models` models shares `cores` logical cores: on wasm (and cpu) one worker per
 * model up to the cores (and MAX_SWEEP_WORKERS), each given an equal share of the cores as wasm
 * threads; a sweep's models are small, and a model trained on one thread is already most of a
 * core's worth, so a worker per core beats threads for one model (README, "Scaling laws", has the
 * measurement). On a GPU backend one worker: the device trains one model at a time.
 */
export function sweepWorkers(backend: string | null, models: number, cores: number): { workers: number; threads: number } {
  const c = Math.max(1, Math.floor(cores));
  if (backend !== 'wasm' && backend !== 'cpu') return { workers: 1, threads: c };
  const workers = Math.max(1, Math.min(models, c, MAX_SWEEP_WORKERS));
  return { workers, threads: Math.max(1, Math.floor(c / workers)) };
}

/** What a sweep is set up from: the CLI's flags and the Scaling lab's fields both give these. */
export interface SweepSettings {
  ladder: ModelShape[];
  blockSize: number;
  batchSize: number;
  learningRate: number;
  minLr: number;
  budget: Budget;
  points: number;
  warmupFraction?: number; // default DEFAULT_WARMUP_FRACTION
  dropout?: number; // default 0
  train?: Partial<Omit<TrainConfig, 'maxSteps' | 'evalEvery' | 'warmupSteps'>>; // anything else, over defaultTrainConfig
}

/** A sweep's config from its settings, the rest from defaultTrainConfig: one rule for every realm. */
export function sweepConfig(s: SweepSettings): SweepConfig {
  const { maxSteps: _m, evalEvery: _e, warmupSteps: _w, ...shared } = defaultTrainConfig;
  return {
    ladder: s.ladder,
    blockSize: s.blockSize,
    dropout: s.dropout ?? 0,
    budget: s.budget,
    points: s.points,
    warmupFraction: s.warmupFraction ?? DEFAULT_WARMUP_FRACTION,
    train: { ...shared, ...s.train, batchSize: s.batchSize, learningRate: s.learningRate, minLr: s.minLr },
  };
}
