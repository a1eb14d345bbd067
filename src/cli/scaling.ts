/** `sweep` and `fit`: a ladder of model sizes trained for a token budget, and the scaling law fitted to its points. */
import { readFileSync } from 'node:fs';
import { validateModelConfig, validateRunConfig, validateTrainConfig } from '../core/config.ts';
import { bootstrapChinchilla, fitChinchilla } from '../core/fit.ts';
import { parseLadder, planSweep, sweepConfig, sweepTrainConfig, type ModelShape } from '../core/sweep.ts';
import { startBackend } from './backend.ts';
import { checkPointsFile, readCorpusWithFloor } from './files.ts';
import {
  backendChoice,
  checkSeed,
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

export async function sweep({ values: v, text }: ParsedFlags<'sweep'>) {
  let ladder: ModelShape[];
  try {
    ladder = parseLadder(v.sizes);
  } catch (err) {
    throw new UsageError(`--sizes: ${(err as Error).message}`);
  }
  if (v.tokens !== undefined && v['tokens-per-param'] !== undefined) throw new UsageError('give --tokens or --tokens-per-param, not both');
  const budgetFlag = v['tokens-per-param'] !== undefined ? 'tokens-per-param' : 'tokens';
  const budget = v['tokens-per-param'] !== undefined ? { tokensPerParam: v['tokens-per-param'] } : { tokens: v.tokens ?? 200_000 };
  if (Object.values(budget)[0] <= 0) throw new UsageError(`--${budgetFlag} must be positive, got ${Object.values(budget)[0]}`);
  const warmupFraction = v['warmup-frac'];
  if (!(warmupFraction >= 0 && warmupFraction < 1)) throw new UsageError(`--warmup-frac must be in [0, 1), got ${warmupFraction}`);
  checkWhole(v.points, 'points', 1);
  const corpus = readCorpusWithFloor(v.corpus);
  const { runSweep } = await import('../../workers/sweep.ts');
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
  const vocabSize = new Set(corpus.text).size;
  const plan = planSweep(cfg, vocabSize);
  const { steps, warmupSteps } = plan;
  // Every model of the ladder is checked before the backend starts, naming the sweep's own flags;
  // a model's steps come from the budget flag. Its warm-up and eval interval are fractions of its
  // steps, so too many steps is one problem, reported once.
  const sweepFlags: Record<string, string> = { ...FIELD_FLAGS, maxSteps: budgetFlag };
  const flagOf = (field: string) => (sweepFlags[field] in COMMANDS.sweep.flags ? sweepFlags[field] : undefined);
  const shown = { ...text, [budgetFlag]: text[budgetFlag] ?? String(Object.values(budget)[0]) };
  cfg.ladder.forEach((shape, i) => {
    const model = { ...shape, blockSize: cfg.blockSize, dropout: cfg.dropout, vocabSize };
    const train = sweepTrainConfig(cfg, plan, i);
    const trainIssues = validateTrainConfig(train);
    const tooLong = trainIssues.some((issue) => issue.field === 'maxSteps');
    const issues = [
      ...validateModelConfig(model),
      ...trainIssues.filter((issue) => !(tooLong && (issue.field === 'warmupSteps' || issue.field === 'evalEvery'))),
    ];
    refuseFlags(issues.length ? issues : validateRunConfig(model, train), shown, flagOf);
  });
  const backend = await startBackend(backendChoice(v.backend));
  emit({
    type: 'start',
    backend: backend.name,
    adapter: backend.adapter,
    models: ladder.length,
    steps,
    warmupSteps,
    entropyRate: corpus.entropyRate ?? null,
  });
  const all = await runSweep(corpus.text, cfg, {
    onModel: (i, shape, N, n) => emit({ type: 'model', index: i, ...shape, N, steps: n }),
    onPoint: (p) => emit({ type: 'point', ...p }),
  });
  emit({ type: 'sweep', points: all });
  // Each model's last point carries its final loss; every point goes into the fit.
  if (all.length >= 5 && new Set(all.map((p) => p.N)).size >= 2)
    emit({ ...fitLaw(all, 100, v.seed), entropyRate: corpus.entropyRate ?? null });
}

/** Points from CSV (N,D,loss), a JSON array, or `sweep`'s JSON lines. */
export function parsePoints(text: string, source: string): { N: number; D: number; loss: number }[] {
  const trimmed = text.trim();
  const json = (t: string, where: string): unknown => {
    try {
      return JSON.parse(t);
    } catch (err) {
      throw new UsageError(`${source}: ${where} is not JSON (${(err as Error).message})`);
    }
  };
  let rows: unknown[];
  if (trimmed.startsWith('[')) {
    const all = json(trimmed, 'the file');
    if (!Array.isArray(all)) throw new UsageError(`${source}: expected a JSON array of {N, D, loss}`);
    rows = all;
  } else if (trimmed.startsWith('{')) {
    // `sweep`'s JSON lines: blank lines are skipped, every other line must be an object.
    rows = trimmed
      .split(/\r?\n/)
      .map((l, i) => ({ l: l.trim(), i }))
      .filter(({ l }) => l !== '')
      .map(({ l, i }) => {
        const o = json(l, `line ${i + 1}`);
        if (o === null || typeof o !== 'object')
          throw new UsageError(`${source}: line ${i + 1} is ${JSON.stringify(o)}, not a JSON object`);
        return o as { type?: string };
      })
      .filter((o) => o.type === 'point');
  } else {
    const [head, ...lines] = trimmed.split(/\r?\n/);
    const cols = head.split(',').map((c) => c.trim());
    const at = (name: string) => {
      const i = cols.indexOf(name);
      if (i < 0) throw new UsageError(`${source}: the CSV header has no ${name} column (it needs N,D,loss)`);
      return i;
    };
    const [iN, iD, iL] = [at('N'), at('D'), at('loss')];
    rows = lines
      .filter((l) => l.trim())
      .map((l) => {
        const f = l.split(',');
        return { N: Number(f[iN]), D: Number(f[iD]), loss: Number(f[iL]) };
      });
  }
  if (rows.length === 0) throw new UsageError(`${source}: no points (CSV N,D,loss; a JSON array; or sweep's point lines)`);
  return rows.map((r, i) => {
    const { N, D, loss } = (r ?? {}) as Record<string, unknown>;
    if (![N, D, loss].every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
      throw new UsageError(`${source}: point ${i + 1} needs positive numbers N, D and loss, got ${JSON.stringify(r)}`);
    }
    return { N: N as number, D: D as number, loss: loss as number };
  });
}

/** The fitted law with bootstrap intervals, and predictions at the asked (N, D) pairs. */
function fitLaw(points: { N: number; D: number; loss: number }[], samples: number, seed: number, at: { N: number; D: number }[] = []) {
  const law = fitChinchilla(points);
  const { E, A, B, alpha, beta } = law;
  const intervals = samples > 0 ? bootstrapChinchilla(points, { samples, seed, at }) : null;
  const predictions = at.map((p, i) => ({ ...p, loss: law.predict(p.N, p.D), interval: intervals?.predictions[i].interval ?? null }));
  return {
    type: 'fit',
    points: points.length,
    E,
    A,
    B,
    alpha,
    beta,
    converged: law.converged,
    intervals: intervals && { level: 0.95, E: intervals.E, A: intervals.A, B: intervals.B, alpha: intervals.alpha, beta: intervals.beta },
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

export function fit({ values: v, text }: ParsedFlags<'fit'>) {
  const path = required(v.points, 'points');
  checkPointsFile(path);
  checkWhole(v.bootstrap, 'bootstrap', 0);
  checkSeed(v.seed, text);
  const at = predictAt(v.predict);
  emit(fitLaw(parsePoints(readFileSync(path, 'utf8'), path), v.bootstrap, v.seed, at));
}
