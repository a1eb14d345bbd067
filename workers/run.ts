/** Everything one training run holds, built from a corpus and two configs. */
import { Batcher, checkSplit, splitTrainVal } from '../src/core/batching.ts';
import { assertValid, validateModelConfig, validateTrainConfig, type ModelConfig, type TrainConfig } from '../src/core/config.ts';
import { validateRunFits } from '../src/core/footprint.ts';
import { baselines } from '../src/core/ngram.ts';
import { CharTokenizer } from '../src/core/tokenizer.ts';
import { currentCapacity } from './backend.ts';
import { growVocabulary, type Checkpoint } from './checkpoint.ts';
import { historyUpTo, type RunHistory } from './history.ts';
import { GPT } from './model.ts';
import type { ReferenceLoss } from './protocol.ts';
import { Trainer, type TrainerState } from './train.ts';

export interface Run {
  tokenizer: CharTokenizer;
  model: GPT;
  trainer: Trainer;
  split: { train: number; val: number }; // characters in each split
}

/** A corpus checked against both configs: everything a run needs before it allocates a tensor. */
export interface PreparedRun {
  tokenizer: CharTokenizer;
  model: ModelConfig;
  train: TrainConfig;
  data: { train: Int32Array; val: Int32Array };
}

/**
 * Tokenizes and splits the corpus and checks the configs; throws a specific error for any misfit.
 * A resumed or fine-tuned run passes the tokenizer of its model (it must cover the text).
 */
export function prepareRun(
  text: string,
  model: Omit<ModelConfig, 'vocabSize'>,
  train: TrainConfig,
  tokenizer: CharTokenizer = CharTokenizer.fromText(text),
): PreparedRun {
  assertValid(train, validateTrainConfig(train), 'training config');
  const modelConfig: ModelConfig = { ...model, vocabSize: tokenizer.size };
  assertValid(modelConfig, validateModelConfig(modelConfig), 'model config');
  return withConfigs(
    { tokenizer, model: modelConfig, train, data: splitTrainVal(tokenizer.encode(text), modelConfig.blockSize) },
    model,
    train,
  );
}

/** The same corpus (tokenized once) with other configs, checked as prepareRun checks them. */
export function withConfigs(base: PreparedRun, model: Omit<ModelConfig, 'vocabSize'>, train: TrainConfig): PreparedRun {
  const modelConfig: ModelConfig = { ...model, vocabSize: base.tokenizer.size };
  assertValid(modelConfig, validateModelConfig(modelConfig), 'model config');
  assertValid(train, validateTrainConfig(train), 'training config');
  // Batch × context × model must fit in what the running backend can give (before a backend runs: a tab's 4 GiB).
  assertValid(train, validateRunFits(modelConfig, train, currentCapacity()), 'training config');
  checkSplit(base.data.train.length, base.data.val.length, modelConfig.blockSize);
  // The trainer's batcher checks the split against the batch too (sequential needs B·T + 1).
  new Batcher(base.data.train, train.batchSize, modelConfig.blockSize, train.sampling, 0);
  return { ...base, model: modelConfig, train };
}

/**
 * Builds the model and optimizer for a prepared run: a fresh model, or one from a checkpoint
 * (fine-tuning), with the saved optimizer and data state when resuming.
 */
export function createRun({ tokenizer, model: modelConfig, train, data }: PreparedRun, from?: { model: GPT; state?: TrainerState }): Run {
  const keys: (keyof ModelConfig)[] = ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd', 'dropout'];
  if (from && keys.some((k) => from.model.config[k] !== modelConfig[k]))
    throw new Error("the checkpoint's model does not match the prepared config");
  const gpt = from?.model ?? new GPT(modelConfig, train.seed);
  try {
    const trainer = new Trainer(gpt, data, train);
    if (from?.state) trainer.setState(from.state);
    return { tokenizer, model: gpt, trainer, split: { train: data.train.length, val: data.val.length } };
  } catch (err) {
    gpt.dispose();
    throw err;
  }
}

/** A checkpoint that cannot make the run asked for (weights only, another corpus, a step out of reach): the caller's input, not a fault. */
export class CheckpointMisfit extends Error {
  override name = 'CheckpointMisfit';
}

/** How a run comes from a checkpoint: the same run continued, or a new one from its weights. */
export type FromCheckpoint =
  | {
      mode: 'resume';
      /** What a resumed run may still change; everything else is the file's. */
      overrides?: Partial<Pick<TrainConfig, 'maxSteps' | 'logEvery' | 'evalEvery'>>;
      /** Both learning rates times this, in (0, 1]: a rollback after divergence halves them. */
      lrScale?: number;
    }
  | {
      mode: 'finetune';
      train: TrainConfig; // the new run's settings
      dropout?: number; // default: the checkpoint's
    };

/**
 * The run a checkpoint describes on a corpus, with the curves it carries: one set of rules for the
 * CLI (`train --resume`, `--init-from`) and the worker (Load, Resume, Roll back).
 * - Resuming continues the saved run exactly: it needs the optimizer state and the same corpus
 *   (by SHA-256), takes every setting from the file but `overrides`, and never goes back before
 *   the saved step; its history is kept up to that step.
 * - Fine-tuning starts a new run at step 0 from the weights, its vocabulary grown to the corpus's
 *   characters (growVocabulary), with fresh optimizer state and no history.
 * Throws a specific error for any misfit; the checkpoint's model becomes the run's, or is freed.
 */
export async function runFromCheckpoint(
  ck: Checkpoint,
  corpus: { name: string; text: string; sha256: string },
  how: FromCheckpoint,
): Promise<{ prepared: PreparedRun; run: Run; history: RunHistory }> {
  if (how.mode === 'finetune') {
    const grown = await growVocabulary(ck, new Set(corpus.text), how.train.seed, how.dropout).finally(() => ck.model.dispose()); // the grown model is a copy
    try {
      const { vocabSize: _, ...shape } = grown.model.config;
      const prepared = prepareRun(corpus.text, shape, how.train, grown.tokenizer);
      return { prepared, run: createRun(prepared, { model: grown.model }), history: { losses: [], evals: [] } };
    } catch (err) {
      grown.model.dispose();
      throw err;
    }
  }
  try {
    if (!ck.state || !ck.meta.train)
      throw new CheckpointMisfit('this checkpoint holds weights only, not a run to resume: fine-tune from it instead');
    if (ck.meta.corpus && ck.meta.corpus.sha256 !== corpus.sha256) {
      throw new CheckpointMisfit(
        `this checkpoint was trained on ${ck.meta.corpus.name}, another text than ${corpus.name}: resuming needs the same corpus (fine-tuning starts a new run on it)`,
      );
    }
    const scale = how.lrScale ?? 1;
    if (!(scale > 0 && scale <= 1)) throw new CheckpointMisfit(`lrScale must be in (0, 1], got ${scale}`);
    const saved = ck.meta.train;
    const config: TrainConfig = { ...saved, ...how.overrides, learningRate: saved.learningRate * scale, minLr: saved.minLr * scale };
    const step = ck.meta.step;
    if (config.maxSteps < step)
      throw new CheckpointMisfit(
        `this checkpoint is at step ${step}: a resumed run cannot end before it (asked for ${config.maxSteps} steps)`,
      );
    const { vocabSize: _, ...shape } = ck.meta.model;
    const prepared = prepareRun(corpus.text, shape, config, ck.tokenizer);
    const run = createRun(prepared, { model: ck.model, state: ck.state });
    // The losses cover the steps up to the saved one; evals after it (if any) belong to a later save.
    const history: RunHistory = historyUpTo(ck.meta.history ?? { losses: [], evals: [] }, step);
    return { prepared, run, history };
  } catch (err) {
    ck.model.dispose();
    throw err;
  }
}

/**
 * The losses a run is measured against: Laplace-smoothed unigram, bigram and trigram models
 * fitted on its train split and scored on its val split, and, for a synthetic corpus, the exact
 * entropy rate of its source: the floor no model can beat.
 */
export function referenceLosses(run: PreparedRun, entropyRate?: number): ReferenceLoss[] {
  return referencesWithGaps(run, entropyRate).references;
}

/** referenceLosses, and the n-gram orders this corpus's alphabet leaves out, each with why (the CLI's start line says so). */
export function referencesWithGaps(
  run: PreparedRun,
  entropyRate?: number,
): { references: ReferenceLoss[]; leftOut: { label: string; why: string }[] } {
  const b = baselines(run.data.train, run.data.val, run.tokenizer.size, { kind: 'laplace' });
  const ngrams = (
    [
      ['unigram', b.unigram],
      ['bigram', b.bigram],
      ['trigram', b.trigram],
    ] as const
  ).flatMap(([label, r]) => (r ? [{ label, nats: r.nats, kind: 'baseline' as const }] : []));
  return {
    references: [...(entropyRate === undefined ? [] : [{ label: 'entropy floor', nats: entropyRate, kind: 'floor' as const }]), ...ngrams],
    leftOut: b.leftOut,
  };
}

/** Frees the model and the optimizer state. */
export function disposeRun(run: Run) {
  run.trainer.dispose();
  run.model.dispose();
}
