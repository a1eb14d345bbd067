/**
 * The settings form: the values a user can edit, the configs built from them, the issues the
 * shared validators find (keyed by field so each shows beside its input), the checks that need
 * the corpus too, and the model's size and cost per step.
 */
import { minCorpusLength, TRAIN_FRACTION } from '../core/batching.ts';
import {
  countParams,
  defaultModelConfig,
  defaultTrainConfig,
  LIMITS,
  renameFields,
  validateModelConfig,
  validateTrainConfig,
  type ConfigIssue,
  type ModelConfig,
  type TrainConfig,
} from '../core/config.ts';
import { tokensPerStep, trainingFlopsPerStep } from '../core/flops.ts';
import { describeFootprint, slowStepWarning, validateRunFits, type Capacity } from '../core/footprint.ts';
import { defaultSetup, type FormValues, type Setup } from './url-state.ts';

export type { FormValues };
export type FormField = keyof FormValues;
type NumberField = Exclude<FormField, 'sampling'>;

/**
 * The number inputs, in the order they are shown. `step` is the input's granularity; `more` puts
 * a setting a first run never needs under the form's "more settings" fold.
 */
export const formFields: { key: NumberField; label: string; step: string; min: number; max?: number; more?: true }[] = [
  { key: 'nLayer', label: 'layers', step: '1', min: 1 },
  { key: 'nHead', label: 'heads', step: '1', min: 1 },
  { key: 'nEmbd', label: 'width', step: '1', min: 1 },
  { key: 'blockSize', label: 'context', step: '1', min: 1 },
  { key: 'batchSize', label: 'batch', step: '1', min: 1 },
  { key: 'maxSteps', label: 'steps', step: '1', min: 1 },
  { key: 'learningRate', label: 'learning rate', step: 'any', min: 0 },
  { key: 'dropout', label: 'dropout', step: 'any', min: 0, max: 1, more: true },
  { key: 'seed', label: 'seed', step: '1', min: 0, more: true },
];

/** What the validators call a setting, and what the form's label calls it. */
const LABELS: Record<string, string> = {
  ...Object.fromEntries(formFields.map((f) => [f.key, f.label])),
  minLr: 'final learning rate',
  warmupSteps: 'warm-up steps',
  vocabSize: 'vocabulary',
};

/** A validator's message in the form's words: "blockSize must be…" beside a field labelled "context" reads "context must be…". */
export function inFormTerms(message: string): string {
  return renameFields(message, (field) => LABELS[field]);
}

/** What the form needs to know about the corpus; 0 characters while none is loaded. */
export interface CorpusFacts {
  readonly characters: number;
  readonly vocabSize: number;
}

/** Warm-up keeps the default's share of the run (60 of 600 steps), so a short run still warms up. */
const WARMUP_SHARE = defaultTrainConfig.warmupSteps / defaultTrainConfig.maxSteps;

/** The model config the values describe (vocabSize comes from the corpus). */
export function modelFromValues(v: FormValues): Omit<ModelConfig, 'vocabSize'> {
  return { ...defaultModelConfig, nLayer: v.nLayer, nHead: v.nHead, nEmbd: v.nEmbd, blockSize: v.blockSize, dropout: v.dropout };
}

/**
 * The training config the values describe; warm-up and the final learning rate follow from them,
 * and only from valid values, so a bad steps or learning rate is one issue beside its own field
 * rather than a second one about a setting the form does not show.
 */
export function trainFromValues(v: FormValues): TrainConfig {
  const stepsValid = Number.isInteger(v.maxSteps) && v.maxSteps >= 1 && v.maxSteps <= LIMITS.maxSteps;
  const lrValid = Number.isFinite(v.learningRate) && v.learningRate > 0;
  return {
    ...defaultTrainConfig,
    batchSize: v.batchSize,
    maxSteps: v.maxSteps,
    learningRate: v.learningRate,
    minLr: lrValid ? Math.min(defaultTrainConfig.minLr, v.learningRate) : defaultTrainConfig.minLr,
    warmupSteps: stepsValid ? Math.round(v.maxSteps * WARMUP_SHARE) : 0,
    sampling: v.sampling,
    seed: v.seed,
  };
}

/**
 * What the validators cannot see alone: whether the corpus is long enough for the context and,
 * for sequential sampling, whether its train split holds batch·ctx + 1 characters (the
 * Batcher's rule). Nothing while the corpus is loading or the sizes are themselves invalid.
 */
export function corpusIssues(v: Pick<FormValues, 'blockSize' | 'batchSize' | 'sampling'>, characters: number): ConfigIssue[] {
  const ctx = v.blockSize;
  if (characters <= 0 || !Number.isInteger(ctx) || ctx < 1 || ctx > LIMITS.blockSize) return [];
  const minLength = minCorpusLength(ctx);
  if (characters < minLength) {
    return [
      {
        field: 'corpus',
        message:
          `the corpus has ${characters.toLocaleString('en')} characters: too short for a context of ${ctx}; ` +
          `it needs at least ${minLength.toLocaleString('en')} (its 10% validation split must hold ${ctx + 1})`,
      },
    ];
  }
  const B = v.batchSize;
  if (v.sampling !== 'sequential' || !Number.isInteger(B) || B < 1) return [];
  const trainChars = Math.floor(characters * TRAIN_FRACTION);
  const need = B * ctx + 1;
  if (trainChars >= need) return [];
  return [
    {
      field: 'sampling',
      message:
        `sequential sampling cuts the train split into ${B} streams of at least ${ctx} characters, so it needs ` +
        `${need.toLocaleString('en')} characters; it has ${trainChars.toLocaleString('en')}. ` +
        `Use a smaller batch or context, or random sampling.`,
    },
  ];
}

/** Size and cost of the model the form describes. */
export interface FormNumbers {
  params: number | null; // N with embeddings; null until the corpus (its vocabulary) is known
  nonEmbedding: number; // what scaling laws count
  tokensPerStep: number; // batch × ctx
  flopsPerStep: number; // Kaplan: (6·N + 6·nLayer·ctx·nEmbd) per token, × tokens per step
}

/** The numbers, or null while the model or batch settings are invalid (never NaN). */
export function formNumbers(v: FormValues, vocabSize: number): FormNumbers | null {
  const model = { ...modelFromValues(v), vocabSize: Math.max(vocabSize, 2) }; // 2: a placeholder while the corpus loads
  if (validateModelConfig(model).length > 0 || !Number.isInteger(v.batchSize) || v.batchSize < 1) return null;
  const { total, nonEmbedding } = countParams(model);
  return {
    params: vocabSize > 0 ? total : null,
    nonEmbedding,
    tokensPerStep: tokensPerStep(model, v.batchSize),
    flopsPerStep: trainingFlopsPerStep(model, v.batchSize),
  };
}

const SI = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/** 1234567 → "1.23 M"; 950 → "950"; with a unit: "1.23 MFLOP". Three significant digits. */
export function formatSI(x: number, unit = ''): string {
  if (!Number.isFinite(x)) return '—';
  let i = 0;
  let v = Math.abs(x);
  while (v >= 999.5 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  const digits = v >= 99.95 || i === 0 ? 0 : v >= 9.995 ? 1 : 2;
  const prefix = SI[i];
  return `${x < 0 ? '-' : ''}${v.toFixed(digits)}${prefix || unit ? ' ' : ''}${prefix}${unit}`;
}

/** 3.4e9-style scientific notation with two significant digits. */
export function formatSci(x: number): string {
  return Number.isFinite(x) ? x.toExponential(1).replace('e+', 'e') : '—';
}

/** Just the form's keys of `src` (a whole Setup carries the backend and corpus too). */
export function pickFormValues(src: FormValues): FormValues {
  const { nLayer, nHead, nEmbd, blockSize, dropout, batchSize, maxSteps, learningRate, seed, sampling } = src;
  return { nLayer, nHead, nEmbd, blockSize, dropout, batchSize, maxSteps, learningRate, seed, sampling };
}

export class ConfigForm {
  values = $state<FormValues>(pickFormValues(defaultSetup));

  readonly model: Omit<ModelConfig, 'vocabSize'> = $derived(modelFromValues(this.values));
  readonly train: TrainConfig = $derived(trainFromValues(this.values));

  /** Every issue: the validators' (the model's checked with the corpus's vocabulary) and the corpus checks. */
  readonly issues: ConfigIssue[];
  /** N, FLOPs per step and tokens per step, or null while the settings are invalid. */
  readonly numbers: FormNumbers | null;
  /** A step's estimated memory on the running backend against what it can give, in words; null until a backend runs or while the settings are invalid. */
  readonly memory: string | null;
  /** How long a step should take on the running backend, when that is long enough to say before Train; null otherwise. */
  readonly slowStep: string | null;

  /** The backend the page should start on (from a link); the run state owns the live choice. */
  readonly initialBackend: Setup['backend'];
  /** The "more settings" fold is open: at first, when the form starts with one of them changed (by a link, say). */
  moreOpen = $state(false);

  /**
   * `corpus` is read live: its vocabulary sizes the embedding, its length bounds context and
   * batch. `initial` is where the form starts: a link's setup, say. `capacity` is read live too:
   * what the running backend can give (memory, WebGPU's largest buffer, its measured rate), null
   * until one has started.
   */
  constructor(
    corpus: CorpusFacts,
    initial: FormValues & { backend?: Setup['backend'] } = defaultSetup,
    capacity: () => Capacity | null = () => null,
  ) {
    this.values = pickFormValues(initial);
    this.initialBackend = initial.backend ?? 'auto';
    this.moreOpen =
      formFields.some((f) => f.more && this.values[f.key] !== defaultSetup[f.key]) || this.values.sampling !== defaultSetup.sampling;
    // While the corpus loads its vocabulary is 0: check the model with the smallest valid one.
    const withVocab = (): ModelConfig => ({ ...this.model, vocabSize: corpus.vocabSize || 2 });
    this.issues = $derived(
      [
        ...validateModelConfig(withVocab()),
        ...validateTrainConfig(this.train),
        ...validateRunFits(withVocab(), this.train, capacity()),
        ...corpusIssues(this.values, corpus.characters),
      ].map((i) => ({ ...i, message: inFormTerms(i.message) })),
    );
    this.numbers = $derived(formNumbers(this.values, corpus.vocabSize));
    this.memory = $derived.by(() => {
      const cap = capacity();
      if (!cap || validateModelConfig(withVocab()).length > 0 || validateTrainConfig(this.train).length > 0) return null;
      return describeFootprint(withVocab(), this.train.batchSize, cap);
    });
    this.slowStep = $derived.by(() => {
      const cap = capacity();
      return cap && this.issues.length === 0 ? slowStepWarning(withVocab(), this.train.batchSize, this.train.maxSteps, cap) : null;
    });
  }

  /**
   * Shows a loaded run's settings: the model's always (a fine-tuned run keeps the checkpoint's
   * shape), the training settings too when the run resumes (`withTrain`).
   */
  adopt(model: Omit<ModelConfig, 'vocabSize'>, train: TrainConfig | null) {
    const { nLayer, nHead, nEmbd, blockSize, dropout } = model;
    const trained = train && {
      batchSize: train.batchSize,
      maxSteps: train.maxSteps,
      learningRate: train.learningRate,
      seed: train.seed,
      sampling: train.sampling,
    };
    this.values = { ...this.values, nLayer, nHead, nEmbd, blockSize, dropout, ...trained };
  }

  get valid(): boolean {
    return this.issues.length === 0;
  }

  /** The messages about one field. */
  issuesFor(field: string): string[] {
    return this.issues.filter((i) => i.field === field).map((i) => i.message);
  }
}
