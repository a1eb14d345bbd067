/**
 * Flat, typed configuration for the model and for a training run, with their defaults and
 * the checks that say which setting is impossible and why. Shared by the UI (to show an
 * error beside a field), the worker and the CLI.
 */

export interface ModelConfig {
  vocabSize: number; // distinct characters of the corpus
  blockSize: number; // context length: the most characters the model sees at once
  nLayer: number; // transformer blocks
  nHead: number; // attention heads per block; must divide nEmbd
  nEmbd: number; // width of the residual stream
  dropout: number; // dropout rate in [0, 1) on attention weights and residual branches, training only
}

export type Sampling = 'random' | 'sequential';
export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';

export interface TrainConfig {
  batchSize: number; // sequences per minibatch
  maxSteps: number; // optimizer steps in the run
  learningRate: number; // peak learning rate, reached after warm-up
  minLr: number; // learning rate at the end of the cosine decay
  warmupSteps: number; // linear warm-up from 0 to learningRate
  weightDecay: number; // decoupled (AdamW) decay, on weight matrices only
  beta1: number; // AdamW first-moment decay
  beta2: number; // AdamW second-moment decay
  eps: number; // AdamW denominator guard
  gradClip: number; // clip the global gradient norm to this; 0 turns clipping off
  sampling: Sampling; // random offsets, or sequential partitioning into batchSize streams
  seed: number; // seeds init, data order, dropout: same seed, same run
  evalEvery: number; // estimate train/val loss every this many steps (0: only at the end)
  evalBatches: number; // fixed held-out batches per loss estimate
  logEvery: number; // read losses back from the device every this many steps
}

export const defaultModelConfig: Omit<ModelConfig, 'vocabSize'> = {
  blockSize: 64,
  nLayer: 2,
  nHead: 4,
  nEmbd: 64,
  dropout: 0,
};

export const defaultTrainConfig: TrainConfig = {
  batchSize: 16,
  // 2,000 steps at 3e-3: on wasm on a 2-core laptop, about two minutes to a val loss below the
  // trigram's on Moby-Dick (README, "The default run"); 600 at 1e-3 had stopped at the bigram's.
  maxSteps: 2000,
  learningRate: 3e-3,
  minLr: 3e-4,
  warmupSteps: 200,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-8,
  gradClip: 1.0,
  sampling: 'random',
  seed: 1337,
  evalEvery: 100,
  evalBatches: 8,
  logEvery: 4,
};

/** One impossible setting: which field, and why. */
export interface ConfigIssue {
  field: string;
  message: string;
}

// Generous caps that keep a typo (nEmbd 64000) from allocating gigabytes.
export const LIMITS = { vocabSize: 1 << 20, blockSize: 4096, nLayer: 64, nHead: 64, nEmbd: 4096, batchSize: 4096, maxSteps: 1e9 };

/**
 * The most memory a model may need before any backend is asked: weights, gradients and AdamW
 * moments. Past a few GB a tab or a wasm heap runs out, so a bigger setting is a typo more often
 * than a plan. What a backend can really give is checked in footprint.ts.
 */
export const MAX_TRAINING_BYTES = 4 * 1024 ** 3;

// An emptied number field arrives as null (Svelte's bind:value); say so rather than print "null".
const empty = (v: unknown) => v === null || v === undefined || v === '';

function intIn(issues: ConfigIssue[], field: string, v: number, min: number, max: number, why = '') {
  if (empty(v)) issues.push({ field, message: `${field} is empty: enter a whole number` });
  else if (typeof v !== 'number' || !Number.isInteger(v)) issues.push({ field, message: `${field} must be a whole number, got ${v}` });
  else if (v < min) issues.push({ field, message: `${field} must be at least ${min}${why}, got ${v}` });
  else if (v > max) issues.push({ field, message: `${field} must be at most ${max}, got ${v}` });
}

/** An interval's ends: open ends exclude their value, as in (0, 10]. */
interface Ends {
  openMin?: boolean;
  openMax?: boolean;
}

function realIn(
  issues: ConfigIssue[],
  field: string,
  v: number,
  min: number,
  max: number,
  { openMin = false, openMax = false }: Ends = {},
) {
  if (empty(v)) issues.push({ field, message: `${field} is empty: enter a number` });
  else if (typeof v !== 'number' || !Number.isFinite(v)) issues.push({ field, message: `${field} must be a finite number, got ${v}` });
  else if (v < min || v > max || (openMin && v === min) || (openMax && v === max)) {
    issues.push({ field, message: `${field} must be in ${openMin ? '(' : '['}${min}, ${max}${openMax ? ')' : ']'}, got ${v}` });
  }
}

export function validateModelConfig(c: ModelConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  // One character leaves nothing to predict (and a one-class softmax has no gradient).
  intIn(
    issues,
    'vocabSize',
    c.vocabSize,
    2,
    LIMITS.vocabSize,
    ' (a text needs two distinct characters for a model to have anything to predict)',
  );
  intIn(issues, 'blockSize', c.blockSize, 1, LIMITS.blockSize);
  intIn(issues, 'nLayer', c.nLayer, 1, LIMITS.nLayer);
  intIn(issues, 'nHead', c.nHead, 1, LIMITS.nHead);
  intIn(issues, 'nEmbd', c.nEmbd, 1, LIMITS.nEmbd);
  realIn(issues, 'dropout', c.dropout, 0, 1, { openMax: true });
  // Checked only between valid sizes: a bad width or head count is one issue, beside its own field.
  const sizesValid = !issues.some((i) => i.field === 'nEmbd' || i.field === 'nHead');
  if (sizesValid && c.nEmbd % c.nHead !== 0) {
    issues.push({ field: 'nHead', message: `nEmbd (${c.nEmbd}) must be divisible by nHead (${c.nHead})` });
  }
  if (issues.length === 0) {
    // Each size within its cap can still multiply into a model no tab can hold (64 layers × 4096 wide).
    const n = countParams(c).total;
    const bytes = 16 * n; // weight, gradient and two AdamW moments, float32 each
    if (bytes > MAX_TRAINING_BYTES) {
      issues.push({
        field: 'nEmbd',
        message:
          `${c.nLayer} layers of width ${c.nEmbd} make ${formatCount(n)} parameters, ${formatGB(bytes)} to train with AdamW; ` +
          `the limit is ${formatGB(MAX_TRAINING_BYTES)}: use fewer layers or a smaller width`,
      });
    }
  }
  return issues;
}

/** 1.2e9 → "1.2 billion". */
function formatCount(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} billion` : `${(n / 1e6).toFixed(1)} million`;
}

/** Bytes in GB, one decimal. */
function formatGB(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}

export function validateTrainConfig(c: TrainConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  intIn(issues, 'batchSize', c.batchSize, 1, LIMITS.batchSize);
  intIn(issues, 'maxSteps', c.maxSteps, 1, LIMITS.maxSteps);
  realIn(issues, 'learningRate', c.learningRate, 0, 10, { openMin: true });
  realIn(issues, 'minLr', c.minLr, 0, 10);
  // Only against a valid peak: a bad learningRate is its own issue, not also minLr's.
  if (c.learningRate > 0 && c.learningRate <= 10 && c.minLr > c.learningRate)
    issues.push({ field: 'minLr', message: `minLr (${c.minLr}) must not exceed learningRate (${c.learningRate})` });
  intIn(issues, 'warmupSteps', c.warmupSteps, 0, LIMITS.maxSteps);
  realIn(issues, 'weightDecay', c.weightDecay, 0, 10);
  realIn(issues, 'beta1', c.beta1, 0, 1, { openMax: true });
  realIn(issues, 'beta2', c.beta2, 0, 1, { openMax: true });
  realIn(issues, 'eps', c.eps, 0, 1, { openMin: true });
  realIn(issues, 'gradClip', c.gradClip, 0, 1e6);
  if (c.sampling !== 'random' && c.sampling !== 'sequential') {
    issues.push({ field: 'sampling', message: `sampling must be "random" or "sequential", got ${JSON.stringify(c.sampling)}` });
  }
  intIn(issues, 'seed', c.seed, 0, 2 ** 32 - 1);
  intIn(issues, 'evalEvery', c.evalEvery, 0, LIMITS.maxSteps);
  intIn(issues, 'evalBatches', c.evalBatches, 1, 10000);
  intIn(issues, 'logEvery', c.logEvery, 1, 10000);
  return issues;
}

/** Every config field's name, as the validators write it in their messages. */
const FIELD_NAME = new RegExp(`\\b(${Object.keys({ ...defaultModelConfig, vocabSize: 0, ...defaultTrainConfig }).join('|')})\\b`, 'g');

/**
 * A validator's message in its reader's words: each config field's name replaced by what `nameOf`
 * calls it (the form's label, the CLI's flag); a name it has no word for stays as it is.
 */
export function renameFields(message: string, nameOf: (field: string) => string | undefined): string {
  return message.replace(FIELD_NAME, (field) => nameOf(field) ?? field);
}

/** Throws one error listing every issue, or returns the config unchanged. */
export function assertValid<T>(config: T, issues: ConfigIssue[], what: string): T {
  if (issues.length > 0) throw new Error(`invalid ${what}: ${issues.map((i) => i.message).join('; ')}`);
  return config;
}

/** Parameter counts. Embedding counts wte and wpe; the head is tied to wte and adds nothing. */
export function countParams(c: ModelConfig): { total: number; nonEmbedding: number } {
  const d = c.nEmbd;
  // per block: ln_1, c_attn (d×3d), c_proj (d×d), ln_2, c_fc (d×4d), mlp c_proj (4d×d)
  const perBlock = 2 * d + 12 * d * d;
  const nonEmbedding = c.nLayer * perBlock + d; // + ln_f
  return { total: nonEmbedding + c.vocabSize * d + c.blockSize * d, nonEmbedding };
}
