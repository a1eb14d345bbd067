/**
 * `sweep` and `fit`: a ladder of model sizes trained for a token budget, and the scaling law fitted
 * to its points. (`batch-ladder`, one model at several batch sizes, is batch-ladder.ts.)
 */
import { readFileSync } from 'node:fs';
import { LIMITS, renameFields, validateModelConfig, validateTrainConfig } from '../core/config.ts';
import { checkChinchillaPoints, fitChinchilla } from '../core/fit.ts';
import {
  bootstrapChinchilla,
  bootstrapPlan,
  bootstrapSummary,
  type BootstrapOptions,
  type ChinchillaBootstrap,
} from '../core/bootstrap.ts';
import { identifyChinchilla } from '../core/identify.ts';
import { unigramLevel } from '../core/ngram.ts';
import { adviseSweep } from '../core/sweep-advice.ts';
import { lawKey, type LedgerEntry } from '../core/ledger.ts';
import { appendLedger, checkLedgerPath } from './forecast.ts';
import { DEFAULT_SIZES, formatShape, parseLadder, planSweep, sweepConfig, sweepTrainConfig, type ModelShape } from '../core/sweep.ts';
import { validateRunFits } from '../core/footprint.ts';
import { capacityBefore, startBackend } from './backend.ts';
import { checkPointsFile, readCorpusWithFloor } from './files.ts';
import {
  backendChoice,
  checkSeed,
  checkWhole,
  COMMANDS,
  FIELD_FLAGS,
  MAX_BOOTSTRAP,
  parseDecimal,
  refuseFlags,
  required,
  sampling,
  UsageError,
  type ParsedFlags,
} from './flags.ts';
import { trainingFlopsPerStep } from '../core/flops.ts';
import { emit } from './output.ts';
import { checkJobs, jobsFor, JobPool } from './model-jobs.ts';
import { refuseUnknown, taskFlag } from './inference.ts';
import { chooseProblems } from '../core/tasks.ts';
import type { SweepPoint } from '../../workers/sweep.ts';
import { parsePoints, sweepStart } from './points.ts';
import { vocabularySize } from '../core/tokenizer.ts';

export async function sweep({ values: v, text, explicit }: ParsedFlags<'sweep'>) {
  let ladder: ModelShape[];
  try {
    ladder = parseLadder(v.sizes);
  } catch (err) {
    throw new UsageError(`--sizes: ${(err as Error).message}`);
  }
  const perParam = v['tokens-per-param'];
  if (explicit.has('tokens') && perParam !== undefined) throw new UsageError('give --tokens or --tokens-per-param, not both');
  const budgetFlag = perParam !== undefined ? 'tokens-per-param' : 'tokens';
  if (perParam !== undefined) {
    if (!(perParam > 0)) throw new UsageError(`--tokens-per-param must be positive, got ${perParam}`);
  } else checkTokens(v.tokens, v.batch, v.ctx, 'sweep');
  const budget = perParam !== undefined ? { tokensPerParam: perParam } : { tokens: v.tokens };
  const warmupFraction = v['warmup-frac'];
  if (!(warmupFraction >= 0 && warmupFraction < 1)) throw new UsageError(`--warmup-frac must be in [0, 1), got ${warmupFraction}`);
  checkWhole(v.points, 'points', 1);
  const backendName = backendChoice(v.backend);
  checkJobs(v.jobs, backendName);
  // Where the backend is named (not auto, which may find a GPU and train on one job), the jobs'
  // threads start now and load their code while this thread checks the rest; none starts a
  // backend before every check has passed (JobPool.begin).
  const named = backendName !== 'auto' ? jobsFor(v.jobs, backendName, ladder.length) : 1;
  let pool = named > 1 ? new JobPool(backendName, named) : null;
  try {
    checkWhole(v['task-n'], 'task-n', 1, 100_000);
    const task = v.task === undefined ? null : taskFlag(v.task);
    const corpus = readCorpusWithFloor(v.corpus);
    if (task) {
      refuseUnknown([...new Set(corpus.text)], task.spec, chooseProblems(task.problems, v['task-n'], 0), 'the corpus', 'sweep');
    }
    // The same config the Scaling lab builds from its fields (src/core/sweep.ts).
    const cfg = sweepConfig({
      ladder,
      blockSize: v.ctx,
      batchSize: v.batch,
      learningRate: v.lr,
      minLr: v['min-lr'],
      budget,
      points: v.points,
      warmupFraction,
      dropout: v.dropout,
      train: { weightDecay: v.wd, gradClip: v.clip, sampling: sampling(v.sampling), seed: v.seed, evalBatches: v['eval-batches'] },
    });
    if (task) cfg.task = { spec: task.spec, n: v['task-n'] };
    const vocabSize = vocabularySize(corpus.text);
    const plan = planSweep(cfg, vocabSize);
    const { steps, warmupSteps } = plan;
    // Every model of the ladder is checked before the backend starts, naming the sweep's own flags;
    // a model's steps come from the budget flag. Its warm-up and eval interval are fractions of its
    // steps, so too many steps is one problem, reported once, in the flags that made it.
    const sweepFlags: Record<string, string> = { ...FIELD_FLAGS, maxSteps: budgetFlag };
    const flagOf = (field: string) => (sweepFlags[field] in COMMANDS.sweep.flags ? sweepFlags[field] : undefined);
    cfg.ladder.forEach((shape, i) => {
      const model = { ...shape, blockSize: cfg.blockSize, dropout: cfg.dropout, vocabSize };
      const train = sweepTrainConfig(cfg, plan, i);
      const trainIssues = validateTrainConfig(train);
      const tooLong = trainIssues.some((issue) => issue.field === 'maxSteps');
      if (tooLong)
        throw new UsageError(
          `--${budgetFlag} ${text[budgetFlag]}: model ${formatShape(shape)} would train for ${steps[i]} steps of ${v.batch * v.ctx} tokens (--batch ${text.batch} × --ctx ${text.ctx}); the most a run takes is ${LIMITS.maxSteps} steps`,
        );
      // A shape's own problems are the --sizes entry's, in its words (layers × width, heads one per 16 channels unless given).
      const shapeWords: Record<string, string> = { nLayer: 'layers', nHead: 'heads', nEmbd: 'width' };
      const shapeIssues = validateModelConfig(model).filter((issue) => issue.field in shapeWords);
      if (shapeIssues.length)
        throw new UsageError(
          `--sizes ${text.sizes ?? DEFAULT_SIZES}: model ${formatShape(shape)}: ${shapeIssues.map((issue) => renameFields(issue.message, (f) => shapeWords[f])).join('; ')}` +
            (shapeIssues.some((issue) => issue.field === 'nHead') ? ' (heads are one per 16 channels unless written, as in 2x64h4)' : ''),
        );
      const issues = [...validateModelConfig(model), ...trainIssues];
      refuseFlags(issues.length ? issues : validateRunFits(model, train, capacityBefore(backendName)), text, flagOf);
    });
    // A model records at most one point a step: more points than the longest model's steps is a typo.
    const longest = Math.max(...steps);
    if (v.points > longest)
      throw new UsageError(`--points ${text.points}: the longest model trains ${longest} steps, and records at most one point a step`);
    const unigram = unigramLevel(corpus.text, v.ctx); // the early plateau a fit must see past
    // Whether this plan is likely to give a law, said before anything trains (and the run goes on: it is advice).
    emit({ type: 'advice', ...adviseSweep(cfg, vocabSize) });
    // Where the jobs started early they start their backends now, and this thread reports theirs.
    pool?.begin({ kind: 'sweep', text: corpus.text, cfg });
    const backend = pool ? await pool.backend() : await startBackend(backendName);
    const jobs = pool ? named : jobsFor(v.jobs, backend.name, ladder.length);
    emit({
      type: 'start',
      backend: backend.name,
      adapter: backend.adapter,
      jobs,
      corpus: v.corpus,
      unigram,
      models: ladder.length,
      steps,
      warmupSteps,
      entropyRate: corpus.entropyRate ?? null,
    });
    const out = {
      onModel: (i: number, shape: ModelShape, N: number, n: number) => emit({ type: 'model', index: i, ...shape, N, steps: n }),
      onPoint: (p: SweepPoint) => emit({ type: 'point', ...p }),
    };
    // A model's cost: its training FLOPs over its steps, so the longest starts first.
    const cost = cfg.ladder.map(
      (shape, i) =>
        trainingFlopsPerStep({ ...shape, blockSize: cfg.blockSize, dropout: cfg.dropout, vocabSize }, cfg.train.batchSize) * steps[i],
    );
    let all: SweepPoint[];
    if (jobs > 1) {
      all = [];
      if (!pool) {
        pool = new JobPool(backend.name, jobs);
        pool.begin({ kind: 'sweep', text: corpus.text, cfg });
      }
      await pool.run(cost, (line) => {
        if (line.type === 'model') out.onModel(line.index, line.shape, line.N, line.steps);
        else if (line.type === 'point') {
          all.push(line.point);
          out.onPoint(line.point);
        }
      });
    } else all = await (await import('../../workers/sweep.ts')).runSweep(corpus.text, cfg, out);
    emit({ type: 'sweep', points: all });
    // Each model's last point carries its final loss; every point goes into the fit (on the jobs' threads where there are some).
    if (all.length >= 5 && new Set(all.map((p) => p.N)).size >= 2) {
      const points = all.map(({ N, D, loss }) => ({ N, D, loss }));
      emit({ ...(await fitLaw(points, 100, v.seed, [], unigram, pool ?? undefined)), entropyRate: corpus.entropyRate ?? null });
    }
  } finally {
    await pool?.close();
  }
}

/**
 * A --tokens budget: a whole number of tokens, at least one step's worth (batch × ctx; batch-ladder:
 * its largest batch), so no run is rounded up to a step nobody asked for.
 */
export function checkTokens(tokens: number, batch: number, ctx: number, command: 'sweep' | 'batch-ladder') {
  if (!(tokens > 0)) throw new UsageError(`--tokens must be positive, got ${tokens}`);
  if (!Number.isInteger(tokens)) throw new UsageError(`--tokens must be a whole number of tokens (characters), got ${tokens}`);
  // A bad batch or context is reported by its own check.
  if (!(Number.isInteger(batch) && batch >= 1 && Number.isInteger(ctx) && ctx >= 1)) return;
  if (tokens < batch * ctx) {
    const step = command === 'sweep' ? `--batch ${batch} × --ctx ${ctx}` : `the largest of --batches, ${batch}, × --ctx ${ctx}`;
    throw new UsageError(`--tokens ${tokens} is less than one step's tokens: ${step} = ${batch * ctx}`);
  }
}

/** Resamples behind the identifiability check when --bootstrap asks for none. */
const IDENTIFY_SAMPLES = 50;

/**
 * The fitted law with bootstrap intervals, whether it is identifiable (src/core/identify.ts), and
 * predictions at the asked (N, D) pairs: only from a law that is. `plateau`: the corpus's unigram
 * level, when known.
 */
async function fitLaw(
  points: { N: number; D: number; loss: number }[],
  samples: number,
  seed: number,
  at: { N: number; D: number }[] = [],
  plateau: number | null = null,
  jobs?: JobPool,
) {
  let law;
  try {
    // The points' own checks here, so a fit on the jobs' threads fails as one here would.
    checkChinchillaPoints(points);
    law = jobs ? await jobs.fitChinchilla(points) : fitChinchilla(points);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(`no fit: ${err.message}`); // too few points, sizes or lengths
    throw err;
  }
  const { E, A, B, alpha, beta } = law;
  const bootstrap = async (opts: BootstrapOptions): Promise<ChinchillaBootstrap> => {
    if (!jobs) return bootstrapChinchilla(points, opts);
    // On the jobs' threads, the resamples split among them: the same laws as here.
    return bootstrapSummary(law, await jobs.refit(bootstrapPlan(points, law, opts)), opts);
  };
  const intervals = samples > 0 ? await bootstrap({ samples, seed, at, fit: law }) : null;
  // Identifiability is judged from a bootstrap even when no intervals were asked for (--bootstrap 0).
  const check = intervals ?? (await bootstrap({ samples: IDENTIFY_SAMPLES, seed, fit: law }));
  const { identifiable, reasons } = identifyChinchilla(points, law, { intervals: check, plateau });
  const predictions = identifiable
    ? at.map((p, i) => ({ ...p, loss: law.predict(p.N, p.D), interval: intervals?.predictions[i].interval ?? null }))
    : [];
  return {
    type: 'fit',
    points: points.length,
    E,
    A,
    B,
    alpha,
    beta,
    converged: law.converged,
    identifiable,
    ...(identifiable ? {} : { reasons }),
    ...(plateau === null ? {} : { unigram: plateau }),
    // Intervals only for a law the points pin down: an unidentified one's bootstrap is degenerate
    // (constant losses: every resample the same, an interval of zero width that misses its estimate).
    intervals:
      intervals && identifiable
        ? { level: 0.95, E: intervals.E, A: intervals.A, B: intervals.B, alpha: intervals.alpha, beta: intervals.beta }
        : null,
    ...(predictions.length ? { predictions } : {}),
  };
}

/** --predict's N:D pairs, each number in decimal (as every numeric flag), positive and finite. */
function predictAt(list: string | undefined): { N: number; D: number }[] {
  if (list === undefined) return [];
  return list.split(',').map((pair) => {
    const parts = pair.split(':');
    const [N, D] = parts.map(parseDecimal);
    if (parts.length !== 2 || !(N > 0 && D > 0))
      throw new UsageError(`--predict entry ${JSON.stringify(pair)} is not N:D with positive, finite numbers`);
    return { N, D };
  });
}

export async function fit({ values: v, text }: ParsedFlags<'fit'>) {
  const path = required(v.points, 'points');
  checkWhole(v.bootstrap, 'bootstrap', 0, MAX_BOOTSTRAP);
  checkSeed(v.seed, text);
  const at = predictAt(v.predict);
  if (v.ledger !== undefined) {
    if (at.length === 0) throw new UsageError("--ledger keeps --predict's predictions: give --predict too");
    checkLedgerPath(v.ledger);
  }
  checkPointsFile(path);
  const raw = readFileSync(path, 'utf8');
  const fitted = await fitLaw(parsePoints(raw, path), v.bootstrap, v.seed, at, sweepStart(raw)?.unigram ?? null);
  emit(fitted);
  if (at.length && !fitted.identifiable)
    throw new Error(`no prediction: this fit is not identifiable (${(fitted.reasons ?? []).join('; ')})`);
  if (v.ledger !== undefined && fitted.predictions) {
    const time = new Date().toISOString();
    const corpus = sweepStart(raw)?.corpus ?? null;
    const entries: LedgerEntry[] = fitted.predictions.map((p) => ({
      kind: 'law',
      key: lawKey(p.N, p.D, corpus),
      label: `${corpus ?? 'corpus unknown'}: N ${p.N}, D ${p.D} (fit of ${path})`,
      seen: null,
      target: p.D,
      N: p.N,
      corpus,
      predicted: p.loss,
      band: p.interval,
      level: p.interval ? 0.95 : null,
      actual: null,
      time,
    }));
    appendLedger(v.ledger, entries);
  }
}
