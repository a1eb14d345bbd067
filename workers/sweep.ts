/**
 * A sweep: a ladder of model sizes trained one after another on one corpus, each for a token
 * budget, recording (N, D, val loss) at several points along each run: the data a scaling law
 * is fitted to. Shared by the worker and the CLI.
 */
import type { ModelConfig, TrainConfig } from '../src/core/config.ts';
import { countParams } from '../src/core/config.ts';
import { createRun, disposeRun, prepareRun, withConfigs } from './run.ts';
import { train, type EvalEvent, type StepEvent } from './train.ts';

export type ModelShape = Pick<ModelConfig, 'nLayer' | 'nHead' | 'nEmbd'>;

/** Five models, 2–4 layers, spanning about 30× in non-embedding parameters (head width 16). */
export const defaultLadder: ModelShape[] = [
  { nLayer: 2, nHead: 2, nEmbd: 32 },
  { nLayer: 2, nHead: 3, nEmbd: 48 },
  { nLayer: 2, nHead: 4, nEmbd: 64 },
  { nLayer: 3, nHead: 6, nEmbd: 96 },
  { nLayer: 4, nHead: 8, nEmbd: 128 },
];

export interface SweepConfig {
  ladder: ModelShape[];
  blockSize: number; // one context for every model
  dropout: number;
  budget: { tokens: number } | { tokensPerParam: number }; // fixed D, or D ∝ N (Chinchilla's ~20)
  points: number; // evaluations recorded along each run (the last at its end)
  train: Omit<TrainConfig, 'maxSteps' | 'evalEvery'>; // shared by every model
}

/** One measurement: a model of N parameters after D tokens has this validation loss. */
export interface SweepPoint {
  model: number; // index in the ladder
  N: number; // non-embedding parameters (exact count)
  params: number; // all parameters
  D: number; // tokens (characters) trained on so far
  step: number;
  loss: number; // val loss, nats/char
}

export interface SweepHooks {
  onPoint?: (p: SweepPoint) => void;
  onStep?: (model: number, e: StepEvent) => void;
  onModel?: (model: number, shape: ModelShape, N: number, steps: number) => void;
  shouldStop?: () => boolean;
}

/** Steps each model of the ladder trains for, from the budget. */
export function sweepSteps(cfg: SweepConfig, vocabSize: number): number[] {
  const tokensPerStep = cfg.train.batchSize * cfg.blockSize;
  return cfg.ladder.map((shape) => {
    const N = countParams({ ...shape, vocabSize, blockSize: cfg.blockSize, dropout: cfg.dropout }).nonEmbedding;
    const D = 'tokens' in cfg.budget ? cfg.budget.tokens : cfg.budget.tokensPerParam * N;
    return Math.max(1, Math.ceil(D / tokensPerStep));
  });
}

/** Trains the ladder in order, from `startModel` (a stopped sweep resumes at the next model). */
export async function runSweep(text: string, cfg: SweepConfig, hooks: SweepHooks = {}, startModel = 0): Promise<SweepPoint[]> {
  const points: SweepPoint[] = [];
  const vocabSize = new Set(text).size;
  const steps = sweepSteps(cfg, vocabSize);
  // Every model is checked against the corpus before the first one trains; the text is tokenized once.
  const configs = cfg.ladder.map((shape, i) => ({
    model: { ...shape, blockSize: cfg.blockSize, dropout: cfg.dropout },
    train: { ...cfg.train, maxSteps: steps[i], evalEvery: Math.max(1, Math.floor(steps[i] / cfg.points)) },
  }));
  const base = prepareRun(text, configs[0].model, configs[0].train);
  const prepared = configs.map((c) => withConfigs(base, c.model, c.train));
  for (let i = startModel; i < cfg.ladder.length && !hooks.shouldStop?.(); i++) {
    const run = createRun(prepared[i]);
    const { total, nonEmbedding } = countParams(run.model.config);
    hooks.onModel?.(i, cfg.ladder[i], nonEmbedding, steps[i]);
    const tokensPerStep = cfg.train.batchSize * cfg.blockSize;
    const record = (e: EvalEvent) => {
      if (e.step === 0) return; // nothing trained yet: not a point of the law
      const p: SweepPoint = { model: i, N: nonEmbedding, params: total, D: e.step * tokensPerStep, step: e.step, loss: e.val };
      points.push(p);
      hooks.onPoint?.(p);
    };
    try {
      await train(run.trainer, { onEval: record, onStep: (e) => hooks.onStep?.(i, e), shouldStop: hooks.shouldStop });
    } finally {
      disposeRun(run);
    }
  }
  return points;
}
