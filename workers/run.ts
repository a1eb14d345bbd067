/** Everything one training run holds, built from a corpus and two configs. */
import { Batcher, checkSplit, splitTrainVal } from '../src/core/batching.ts';
import { assertValid, validateModelConfig, validateRunConfig, validateTrainConfig, type ModelConfig, type TrainConfig } from '../src/core/config.ts';
import { baselines } from '../src/core/ngram.ts';
import { CharTokenizer } from '../src/core/tokenizer.ts';
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
  return withConfigs({ tokenizer, model: modelConfig, train, data: splitTrainVal(tokenizer.encode(text), modelConfig.blockSize) }, model, train);
}

/** The same corpus (tokenized once) with other configs, checked as prepareRun checks them. */
export function withConfigs(base: PreparedRun, model: Omit<ModelConfig, 'vocabSize'>, train: TrainConfig): PreparedRun {
  const modelConfig: ModelConfig = { ...model, vocabSize: base.tokenizer.size };
  assertValid(modelConfig, validateModelConfig(modelConfig), 'model config');
  assertValid(train, validateTrainConfig(train), 'training config');
  assertValid(train, validateRunConfig(modelConfig, train), 'training config'); // batch × context × model must fit in memory
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
  if (from && keys.some((k) => from.model.config[k] !== modelConfig[k])) throw new Error("the checkpoint's model does not match the prepared config");
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

/**
 * The losses a run is measured against: Laplace-smoothed unigram, bigram and trigram models
 * fitted on its train split and scored on its val split, and, for a synthetic corpus, the exact
 * entropy rate of its source: the floor no model can beat.
 */
export function referenceLosses(run: PreparedRun, entropyRate?: number): ReferenceLoss[] {
  const b = baselines(run.data.train, run.data.val, run.tokenizer.size, { kind: 'laplace' });
  return [
    ...(entropyRate === undefined ? [] : [{ label: 'entropy floor', nats: entropyRate, kind: 'floor' as const }]),
    { label: 'unigram', nats: b.unigram.nats, kind: 'baseline' },
    { label: 'bigram', nats: b.bigram.nats, kind: 'baseline' },
    { label: 'trigram', nats: b.trigram.nats, kind: 'baseline' },
  ];
}

/** Frees the model and the optimizer state. */
export function disposeRun(run: Run) {
  run.trainer.dispose();
  run.model.dispose();
}
