/**
 * The settings form: the values a user can edit, the configs built from them, and the issues
 * the shared validators find, keyed by field so each shows beside its input.
 */
import {
  defaultModelConfig,
  defaultTrainConfig,
  validateModelConfig,
  validateTrainConfig,
  type ConfigIssue,
  type ModelConfig,
  type TrainConfig,
} from '../core/config.ts';

/** The editable settings; everything else keeps its default from src/core/config.ts. */
export interface FormValues {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  batchSize: number;
  maxSteps: number;
  learningRate: number;
}
export type FormField = keyof FormValues;

export const formFields: { key: FormField; label: string; step: string }[] = [
  { key: 'nLayer', label: 'layers', step: '1' },
  { key: 'nHead', label: 'heads', step: '1' },
  { key: 'nEmbd', label: 'width', step: '1' },
  { key: 'blockSize', label: 'context', step: '1' },
  { key: 'batchSize', label: 'batch', step: '1' },
  { key: 'maxSteps', label: 'steps', step: '1' },
  { key: 'learningRate', label: 'learning rate', step: 'any' },
];

/** Warm-up keeps the default's share of the run (60 of 600 steps), so a short run still warms up. */
const WARMUP_SHARE = defaultTrainConfig.warmupSteps / defaultTrainConfig.maxSteps;

export class ConfigForm {
  values = $state<FormValues>({
    nLayer: defaultModelConfig.nLayer,
    nHead: defaultModelConfig.nHead,
    nEmbd: defaultModelConfig.nEmbd,
    blockSize: defaultModelConfig.blockSize,
    batchSize: defaultTrainConfig.batchSize,
    maxSteps: defaultTrainConfig.maxSteps,
    learningRate: defaultTrainConfig.learningRate,
  });

  readonly model: Omit<ModelConfig, 'vocabSize'> = $derived({
    ...defaultModelConfig,
    nLayer: this.values.nLayer,
    nHead: this.values.nHead,
    nEmbd: this.values.nEmbd,
    blockSize: this.values.blockSize,
  });

  readonly train: TrainConfig = $derived({
    ...defaultTrainConfig,
    batchSize: this.values.batchSize,
    maxSteps: this.values.maxSteps,
    learningRate: this.values.learningRate,
    minLr: Math.min(defaultTrainConfig.minLr, this.values.learningRate || 0),
    warmupSteps: Number.isInteger(this.values.maxSteps) ? Math.round(this.values.maxSteps * WARMUP_SHARE) : 0,
  });

  /** Every issue, the model's checked with the corpus's vocabulary. */
  readonly issues: ConfigIssue[];

  /** `vocabSize` reads the loaded corpus's vocabulary size (0 while it loads). */
  constructor(vocabSize: () => number) {
    this.issues = $derived([
      ...validateModelConfig({ ...this.model, vocabSize: vocabSize() || 1 }),
      ...validateTrainConfig(this.train),
    ]);
  }

  get valid(): boolean {
    return this.issues.length === 0;
  }

  /** The messages about one field. */
  issuesFor(field: string): string[] {
    return this.issues.filter((i) => i.field === field).map((i) => i.message);
  }
}
