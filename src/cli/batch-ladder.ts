/**
 * `batch-ladder`: one model trained at several batch sizes to one loss, and the critical batch
 * fitted to the steps and tokens each took (the rung itself is ladder-rung.ts).
 */
import { defaultTrainConfig, LIMITS, validateModelConfig, validateTrainConfig, type TrainConfig } from '../core/config.ts';
import { fitLadder } from '../core/noise-scale.ts';
import { validateRunFits } from '../core/footprint.ts';
import { capacityBefore, startBackend } from './backend.ts';
import { readCorpusWithFloor } from './files.ts';
import {
  backendChoice,
  checkWhole,
  COMMANDS,
  FIELD_FLAGS,
  parseDecimal,
  refuseFlags,
  required,
  sampling,
  UsageError,
  type ParsedFlags,
} from './flags.ts';
import { emit } from './output.ts';
import { checkJobs, jobsFor, runInJobs } from './model-jobs.ts';
import { checkTokens } from './scaling.ts';
import { trainRung, type LadderWork, type Rung } from './ladder-rung.ts';
import { vocabularySize } from '../core/tokenizer.ts';

/**
 * `batch-ladder`: the same model, data and schedule at each batch size, trained until its val loss
 * reaches --target: steps S and tokens E = S·B·T per batch size (Kaplan et al. 2020 §5.1; McCandlish
 * et al. 2018), and S_min, E_min and B_crit = E_min/S_min fitted to them (src/core/noise-scale.ts).
 * A command of its own rather than a mode of `sweep`: it fixes the model and varies the batch, stops
 * at a loss instead of a token budget, and fits S(B) instead of L(N, D), so none of sweep's ladder,
 * budget or fit flags would apply.
 *
 * The learning rate is constant after warm-up, so that when a batch size reaches the target does
 * not depend on where a decay schedule ends; every batch size is evaluated on the same held-out
 * sequences, every --eval-tokens tokens, and the crossing is interpolated between evaluations.
 */
export async function batchLadder({ values: v, text }: ParsedFlags<'batch-ladder'>) {
  const batches = parseBatches(v.batches);
  const target = required(v.target, 'target');
  if (!(target > 0)) throw new UsageError(`--target must be a positive loss in nats per character, got ${target}`);
  checkTokens(v.tokens, batches.at(-1)!, v.ctx, 'batch-ladder');
  checkWhole(v['eval-tokens'], 'eval-tokens', 1);
  checkWhole(v['eval-rows'], 'eval-rows', 1);
  checkWhole(v['noise-scale-every'], 'noise-scale-every', 0);
  checkJobs(v.jobs, backendChoice(v.backend));
  const scaling = v['lr-scaling'];
  if (scaling !== 'none' && scaling !== 'sqrt') throw new UsageError(`--lr-scaling must be none or sqrt, got ${JSON.stringify(scaling)}`);
  const model = { nLayer: v.layers, nHead: v.heads, nEmbd: v.embd, blockSize: v.ctx, dropout: v.dropout };
  const T = model.blockSize;
  const lrAt = (B: number) => (scaling === 'sqrt' ? v.lr * Math.sqrt(B / defaultTrainConfig.batchSize) : v.lr);
  const configFor = (B: number): TrainConfig => ({
    ...defaultTrainConfig,
    batchSize: B,
    maxSteps: Math.ceil(v.tokens / (B * T)), // at least 1: --tokens is at least one step of the largest batch
    learningRate: lrAt(B),
    minLr: lrAt(B), // constant after warm-up
    warmupSteps: v.warmup,
    weightDecay: v.wd,
    gradClip: v.clip,
    sampling: sampling(v.sampling),
    seed: v.seed,
    evalEvery: Math.max(1, Math.ceil(v['eval-tokens'] / (B * T))),
    evalBatches: Math.ceil(v['eval-rows'] / B), // the same first rows for every B (fixedBatches draws them in order)
    logEvery: defaultTrainConfig.logEvery,
  });
  // Each setting is named by the flag it comes from; a batch size's steps come from --tokens.
  const ladderFlags: Record<string, string> = {
    ...FIELD_FLAGS,
    batchSize: 'batches',
    maxSteps: 'tokens',
    evalEvery: 'eval-tokens',
    evalBatches: 'eval-rows',
    learningRate: 'lr',
    minLr: 'lr',
  };
  const flagOf = (field: string) => (ladderFlags[field] in COMMANDS['batch-ladder'].flags ? ladderFlags[field] : undefined);
  const corpus = readCorpusWithFloor(v.corpus);
  const vocabSize = vocabularySize(corpus.text);
  for (const B of batches) {
    const train = configFor(B);
    if (validateTrainConfig(train).some((i) => i.field === 'maxSteps'))
      throw new UsageError(
        `--tokens ${text.tokens}: batch ${B} would train for ${train.maxSteps} steps of ${B * T} tokens (× --ctx ${text.ctx}); the most a run takes is ${LIMITS.maxSteps} steps`,
      );
    const issues = [...validateModelConfig({ ...model, vocabSize }), ...validateTrainConfig(train)];
    refuseFlags(
      issues.length ? issues : validateRunFits({ ...model, vocabSize }, train, capacityBefore(backendChoice(v.backend))),
      { ...text, batches: String(B) },
      flagOf,
    );
    if (v['noise-scale-every'] > 0 && B < 2)
      throw new UsageError('--noise-scale-every needs batch sizes of 2 or more (it compares a batch with its half)');
  }
  const backend = await startBackend(backendChoice(v.backend));
  const jobs = jobsFor(v.jobs, backend.name, batches.length);
  emit({ type: 'start', backend: backend.name, adapter: backend.adapter, jobs, batches, target, ctx: T, tokens: v.tokens });
  const work: LadderWork = {
    text: corpus.text,
    model,
    configs: batches.map(configFor),
    target,
    noiseScaleEvery: v['noise-scale-every'],
  };
  const rungs: Rung[] = [];
  const print = (rung: Rung) => {
    rungs.push(rung);
    emit(rung);
  };
  if (jobs > 1) {
    // The larger batches take more tokens to the target: they start first.
    await runInJobs({ kind: 'ladder', ...work }, backend.name, jobs, batches, (line) => {
      if (line.type === 'rung') print(line.rung);
    });
  } else for (let i = 0; i < batches.length; i++) print(await trainRung(work, i));
  const fit = fitLadder(rungs.map((r) => ({ batch: r.batch, steps: r.steps })));
  emit({
    type: 'ladder',
    target,
    rungs: rungs.map(({ batch, steps, tokens }) => ({ batch, steps, tokens })),
    fit: fit.ok ? { sMin: fit.sMin, eMinTokens: fit.eMin * T, bCrit: fit.bCrit, bCritTokens: fit.bCrit * T } : { reason: fit.reason },
  });
}

/** --batches: whole numbers ≥ 1, comma-separated, each once, at least two (a fit of S(B) needs two), in increasing order. */
function parseBatches(list: string): number[] {
  const parts = list.split(',').map((p) => p.trim());
  if (list.trim() === '') throw new UsageError('--batches is empty: list batch sizes such as 8,16,32');
  if (parts.includes('')) throw new UsageError(`--batches ${JSON.stringify(list)} has an empty entry (a stray comma?)`);
  const out = parts.map((p) => {
    const b = parseDecimal(p);
    if (!(Number.isInteger(b) && b >= 1)) throw new UsageError(`--batches entry ${JSON.stringify(p)} is not a whole number ≥ 1`);
    return b;
  });
  const twice = out.find((b, i) => out.indexOf(b) !== i);
  if (twice !== undefined) throw new UsageError(`--batches lists ${twice} twice; give each batch size once`);
  if (out.length < 2)
    throw new UsageError(`--batches needs at least two batch sizes (the fit of steps against batch size needs two), got ${list}`);
  return out.sort((a, b) => a - b);
}
