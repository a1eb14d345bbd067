/**
 * Before a sweep runs: whether its plan is likely to give a fit of L(N, D) that is identifiable
 * (src/core/identify.ts), and a plan that is, with the time it would take.
 *
 * The rules come from what was measured here. Every run of the forecast bank (datasets/runs: 22
 * runs, 4 corpora, 1×16 to 4×64, learning rates 1e-3 to 6e-3) was still at or near the unigram
 * level until step 100–300, whatever its size, so a model trained for fewer than PLATEAU_STEPS
 * steps gives points on the initial plateau, which no law fits (the 100k-token sweep of
 * 1x16…2x48 at batch 16 × ctx 64, 98 steps a model, fits E = 2e−18). A law also needs three
 * sizes and three token counts, and the README's usable sweeps (markov and Moby-Dick, 1,172 steps
 * a model, 8 points) trained each model for over 1,000 steps.
 */
import { countParams, type ModelConfig } from './config.ts';
import { trainingFlopsPerToken } from './flops.ts';
import { formatShape, planSweep, type SweepConfig } from './sweep.ts';

/** Steps before which the bank's runs were still leaving the unigram plateau. */
export const PLATEAU_STEPS = 300;
/** Steps per model the suggested plan gives its smallest budget: past the plateau with room for several points. */
export const SUGGESTED_STEPS = 1000;
/**
 * Tokens per model below which a sweep here gave no law even past the plateau: 1×8–2×16 models at
 * 128,000 tokens each (1,000 steps of batch 8 × context 16) fitted E → 0 and β → 0; the README's
 * usable sweeps trained 600,000 and 1,200,000 a model.
 */
export const MIN_TOKENS = 500_000;
/**
 * Training FLOPs a second of the wasm backend on one core of the 2-core machine the README
 * measures (the default 2×64 model: 14,000 tokens/s × 0.64 MFLOP a token). Time estimates scale
 * by it; the page replaces it with its own run's rate when it has one.
 */
export const REFERENCE_FLOPS_PER_SECOND = 9e9;
/** A step's fixed cost on the same machine, whatever the model (the 1×32 model's 18 ms a step is half overhead). */
export const STEP_OVERHEAD_SECONDS = 0.008;

export interface SweepAdvice {
  usable: boolean; // likely to give an identifiable fit
  problems: string[];
  suggestion: { tokens: number; points: number; minutes: number; why: string } | null; // a plan that is, when this one is not
  minutes: number; // this plan's estimated training time
}

type AdviceConfig = Pick<SweepConfig, 'ladder' | 'blockSize' | 'budget' | 'warmupFraction' | 'points' | 'dropout'> & {
  train: Pick<SweepConfig['train'], 'batchSize'>;
};

/** Training time of a plan: each model's steps, each its fixed cost and its tokens × FLOPs a token at `flopsPerSecond`. */
function minutesOf(cfg: AdviceConfig, vocabSize: number, steps: number[], flopsPerSecond: number): number {
  const tokensPerStep = cfg.train.batchSize * cfg.blockSize;
  let seconds = 0;
  cfg.ladder.forEach((shape, i) => {
    const model: ModelConfig = { ...shape, blockSize: cfg.blockSize, dropout: cfg.dropout, vocabSize };
    seconds += steps[i] * (STEP_OVERHEAD_SECONDS + (tokensPerStep * trainingFlopsPerToken(model)) / flopsPerSecond);
  });
  return seconds / 60;
}

/** Says whether a sweep's plan is likely to fit a law, and suggests one that is. */
export function adviseSweep(cfg: AdviceConfig, vocabSize: number, flopsPerSecond = REFERENCE_FLOPS_PER_SECOND): SweepAdvice {
  const plan = planSweep(cfg, vocabSize);
  const problems: string[] = [];
  const sizes = new Set(plan.N).size;
  if (sizes < 3) problems.push(`${sizes} distinct model size${sizes === 1 ? '' : 's'}: a law's A and α need 3 or more`);
  if (cfg.points < 3) problems.push(`${cfg.points} point${cfg.points === 1 ? '' : 's'} a model: B and β need 3 token counts or more`);
  const tokensPerStep = cfg.train.batchSize * cfg.blockSize;
  const short = cfg.ladder.map((s, i) => ({ s, steps: plan.steps[i] })).filter((m) => m.steps < PLATEAU_STEPS);
  if (short.length)
    problems.push(
      `${short.map((m) => `${formatShape(m.s)} trains ${m.steps} steps`).join(', ')}: runs here stay near the unigram level for their first ${PLATEAU_STEPS} steps or so, so ${short.length === 1 ? 'its points are' : 'their points are'} on the plateau and add nothing to a law`,
    );
  const fewTokens = plan.steps.filter((n) => n >= PLATEAU_STEPS && n * tokensPerStep < MIN_TOKENS).length;
  if (fewTokens)
    problems.push(
      `${fewTokens === plan.steps.length ? 'every model trains' : `${fewTokens} model${fewTokens === 1 ? '' : 's'} train`} on fewer than ${MIN_TOKENS.toLocaleString('en-US')} tokens: sweeps here that small fitted no law (E → 0)`,
    );
  const minutes = minutesOf(cfg, vocabSize, plan.steps, flopsPerSecond);
  if (problems.length === 0) return { usable: true, problems, suggestion: null, minutes };
  // The same ladder (or the default's three sizes if it has fewer), each model trained long enough; never less than asked.
  const minParams = Math.min(...cfg.ladder.map((s) => countParams({ ...s, blockSize: cfg.blockSize, dropout: 0, vocabSize }).nonEmbedding));
  const perModel = 'tokens' in cfg.budget ? null : cfg.budget.tokensPerParam;
  const asked = 'tokens' in cfg.budget ? cfg.budget.tokens : Math.min(...plan.steps) * tokensPerStep;
  const tokens = Math.max(asked, SUGGESTED_STEPS * tokensPerStep, MIN_TOKENS);
  const steps = Math.ceil(tokens / tokensPerStep);
  const points = Math.max(cfg.points, 4);
  const suggestedSteps = plan.N.map(() => steps);
  const why =
    (sizes < 3 ? 'add sizes so that 3 or more differ, and ' : '') +
    `give every model ${steps.toLocaleString('en-US')} steps (${tokens.toLocaleString('en-US')} tokens at batch ${cfg.train.batchSize} × context ${cfg.blockSize}${perModel ? `, ${Math.ceil(tokens / minParams)} tokens per parameter for the smallest` : ''}), ${points} points each`;
  return {
    usable: false,
    problems,
    suggestion: { tokens, points, minutes: minutesOf(cfg, vocabSize, suggestedSteps, flopsPerSecond), why },
    minutes,
  };
}
