/**
 * What a nanoGPT export of a run is (nanogpt.ts writes its files): the run read from its
 * checkpoint, the batch and gradient-accumulation plan for the GPUs asked for, the learning rate
 * nanoGPT's get_lr gives, the names, and the command that continues the run.
 */
import { validateModelConfig, validateTrainConfig, type ModelConfig, type TrainConfig } from './config.ts';
import { readSafetensors } from './safetensors.ts';

/** nanoGPT's train.bin and val.bin hold uint16 token ids: a vocabulary of at most this many characters. */
export const MAX_VOCAB = 65_535;

/** The most GPUs an export plans for (each gets at least one sequence of the batch anyway). */
export const MAX_GPUS = 4096;

/** A checkpoint that cannot make the export asked for (weights only, a vocabulary too large, …): the caller's input, not a fault. */
export class ExportMisfit extends Error {
  override name = 'ExportMisfit';
}

/** What an export reads from a tabgpt checkpoint. */
export interface RunToExport {
  model: ModelConfig;
  train: TrainConfig;
  vocab: string[];
  step: number; // updates done: nanoGPT's iter_num
  /** Weights and AdamW moments by name, in the file's layout, which is PyTorch's (Linear weights [out, in]). */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  corpus?: { name: string; sha256: string };
  evals: { step: number; train: number; val: number }[]; // the run's evaluations up to `step`
}

export interface ExportOptions {
  name: string; // data/<name>, out-<name>, config/train_<name>.py
  gpus: number; // the batch is split over this many GPUs, the run's batch kept whole
  maxSteps?: number; // max_iters and lr_decay_iters; default the run's own planned steps
  torch: 1 | 2; // the PyTorch major version nanoGPT will run under
}

/** One way of running nanoGPT's train.py on the exported config: batch per GPU and accumulation. */
export interface ExportPlan {
  name: string;
  iterNum: number;
  maxIters: number;
  lrDecayIters: number;
  gpus: number;
  batchSize: number; // per GPU, per micro-step
  gradientAccumulationSteps: number; // over all GPUs, as the config says it
  evalInterval: number;
  evalIters: number;
  bestValLoss: number;
  valLoss: number | null; // tabgpt's val loss at the exported step, when it evaluated there
  torch: 1 | 2;
}

/**
 * The run in a checkpoint's bytes (a tabgpt-1 safetensors file), for export. Checks what the export
 * needs (a training state, its settings, every tensor named), not everything loadCheckpoint checks:
 * the CLI runs that first; the app exports bytes its own worker has just written.
 */
export function readRunToExport(bytes: Uint8Array): RunToExport {
  const { metadata, tensors } = readSafetensors(bytes);
  const json = <T>(key: string): T | undefined => {
    if (metadata[key] === undefined) return undefined;
    try {
      return JSON.parse(metadata[key]) as T;
    } catch {
      throw new ExportMisfit(`its ${key} metadata is not valid JSON`);
    }
  };
  const model = json<ModelConfig>('config');
  const vocab = json<string[]>('vocab');
  if (!model || !Array.isArray(vocab)) throw new ExportMisfit('it has no model config or vocabulary: not a tabgpt checkpoint');
  const issues = validateModelConfig(model);
  if (issues.length) throw new ExportMisfit(`its model config is invalid: ${issues.map((i) => i.message).join('; ')}`);
  if (vocab.length !== model.vocabSize)
    throw new ExportMisfit(`its vocabulary has ${vocab.length} characters, its config says ${model.vocabSize}`);
  const train = json<TrainConfig>('train');
  if (!train || metadata.state === undefined)
    throw new ExportMisfit(
      'it holds weights only, not a run: nanoGPT resumes from the optimizer state and settings a run saves with --save',
    );
  const trainIssues = validateTrainConfig(train);
  if (trainIssues.length) throw new ExportMisfit(`its training config is invalid: ${trainIssues.map((i) => i.message).join('; ')}`);
  const step = Number(metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new ExportMisfit(`its step is ${metadata.step}`);
  for (const name of nanoGptParamNames(model.nLayer))
    for (const key of [name, `optimizer.exp_avg.${name}`, `optimizer.exp_avg_sq.${name}`])
      if (!tensors.has(key)) throw new ExportMisfit(`tensor ${key} is missing`);
  const history = json<{ evals?: { step: number; train: number; val: number }[] }>('history');
  const evals = (Array.isArray(history?.evals) ? history.evals : []).filter((e) => Number.isInteger(e?.step) && e.step <= step);
  return { model, train, vocab, step, tensors, corpus: json('corpus'), evals };
}

/** nanoGPT's GPT (bias=False) parameters in named_parameters() order; lm_head.weight is transformer.wte.weight. */
export function nanoGptParamNames(nLayer: number): string[] {
  const names = ['transformer.wte.weight', 'transformer.wpe.weight'];
  for (let i = 0; i < nLayer; i++) {
    const h = `transformer.h.${i}`;
    names.push(`${h}.ln_1.weight`, `${h}.attn.c_attn.weight`, `${h}.attn.c_proj.weight`, `${h}.ln_2.weight`);
    names.push(`${h}.mlp.c_fc.weight`, `${h}.mlp.c_proj.weight`);
  }
  names.push('transformer.ln_f.weight');
  return names;
}

/** `moby-dick`, `notes` (from notes.txt): a corpus name made into a folder name nanoGPT's paths take. */
export function defaultExportName(corpus: string): string {
  const slug = corpus
    .replace(/^.*[\\/]/, '')
    .replace(/\.txt$/i, '')
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 64)
    .replace(/[-.]+$/, '');
  return slug || 'tabgpt';
}

/** Why `name` cannot name the export's folders and config file, or null. */
export function exportNameIssue(name: string): string | null {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(name) || name.includes('..'))
    return `${JSON.stringify(name)} cannot name a dataset folder: use up to 64 letters, digits, _, - and ., starting with a letter, digit or _`;
  return null;
}

/** The learning rate nanoGPT's get_lr gives update `it` under these settings. */
export function nanoGptLr(it: number, c: { learning_rate: number; min_lr: number; warmup_iters: number; lr_decay_iters: number }): number {
  if (it < c.warmup_iters) return (c.learning_rate * (it + 1)) / (c.warmup_iters + 1);
  if (it > c.lr_decay_iters) return c.min_lr;
  const ratio = (it - c.warmup_iters) / (c.lr_decay_iters - c.warmup_iters);
  return c.min_lr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (c.learning_rate - c.min_lr);
}

/**
 * Checks everything the export decides without the corpus text, and says how nanoGPT will run it.
 * Throws ExportMisfit for a run that cannot go (a vocabulary past uint16, a batch that does not
 * split over the GPUs, an end before the exported step, a bad name).
 */
export function planExport(run: RunToExport, opts: ExportOptions): ExportPlan {
  const nameIssue = exportNameIssue(opts.name);
  if (nameIssue) throw new ExportMisfit(nameIssue);
  if (run.vocab.length > MAX_VOCAB)
    throw new ExportMisfit(
      `its vocabulary has ${run.vocab.length.toLocaleString('en')} characters; nanoGPT's train.bin holds uint16 token ids, and the export takes at most ${MAX_VOCAB.toLocaleString('en')}`,
    );
  const B = run.train.batchSize;
  // An emptied number field arrives as null: ask for a number rather than print "null".
  if (opts.gpus === null || opts.gpus === undefined)
    throw new ExportMisfit(`the number of GPUs is empty: enter a whole number from 1 to ${MAX_GPUS}`);
  if (!Number.isInteger(opts.gpus) || opts.gpus < 1 || opts.gpus > MAX_GPUS)
    throw new ExportMisfit(`the number of GPUs must be a whole number from 1 to ${MAX_GPUS}, got ${opts.gpus}`);
  if (B % opts.gpus !== 0) {
    const fits = [...Array(B).keys()].map((i) => i + 1).filter((n) => B % n === 0);
    throw new ExportMisfit(
      `the run's batch of ${B} sequences does not split evenly over ${opts.gpus} GPUs: use ${fits.slice(0, -1).join(', ')} or ${fits.at(-1)}`,
    );
  }
  const maxIters = opts.maxSteps ?? run.train.maxSteps;
  if (!Number.isInteger(maxIters) || maxIters < run.step || maxIters > 1e9)
    throw new ExportMisfit(
      `the run is at step ${run.step}: it cannot end at step ${maxIters} (give a whole number of steps from ${run.step})`,
    );
  const vals = run.evals.map((e) => e.val).filter((v) => typeof v === 'number' && Number.isFinite(v));
  const atStep = run.evals.find((e) => e.step === run.step && typeof e.val === 'number');
  return {
    name: opts.name,
    iterNum: run.step,
    maxIters,
    // get_lr divides by lr_decay_iters - warmup_iters at the extra update it = max_iters.
    lrDecayIters: run.train.warmupSteps === maxIters ? maxIters + 1 : maxIters,
    gpus: opts.gpus,
    batchSize: B / opts.gpus,
    gradientAccumulationSteps: opts.gpus,
    evalInterval: run.train.evalEvery > 0 ? run.train.evalEvery : Math.max(1, maxIters), // train.py takes iter_num % eval_interval
    evalIters: run.train.evalBatches * opts.gpus, // as many sequences as tabgpt's fixed batches
    bestValLoss: vals.length ? Math.min(...vals) : 1e9, // train.py's own start value when there is none
    valLoss: atStep ? atStep.val : null,
    torch: opts.torch,
  };
}

/** The corpus text given must be the one the run trained on (by its SHA-256, when the checkpoint says). */
export function checkCorpus(run: RunToExport, sha256: string, given: string) {
  if (run.corpus && run.corpus.sha256 !== sha256)
    throw new ExportMisfit(
      `the run trained on ${run.corpus.name} (sha256 ${run.corpus.sha256.slice(0, 12)}…), not on ${given} (sha256 ${sha256.slice(0, 12)}…): give the run's own text`,
    );
}

/** What continues the run in a nanoGPT checkout the export was copied over: python on one GPU, torchrun on several. */
export function trainCommand(plan: ExportPlan): string {
  const config = `config/train_${plan.name}.py`;
  return plan.gpus === 1 ? `python train.py ${config}` : `torchrun --standalone --nproc_per_node=${plan.gpus} train.py ${config}`;
}
