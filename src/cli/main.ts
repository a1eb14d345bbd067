/**
 * tabgpt from a terminal: `npm run cli -- <command> [flags]`. JSON Lines on stdout, errors on
 * stderr with a non-zero exit. The training core is the same one the browser worker runs.
 */
import { createHash } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { corpora, isCorpusName, loadCorpus } from '../../datasets/corpora.ts';
import { splitTrainVal } from '../core/batching.ts';
import { Batcher } from '../core/batching.ts';
import {
  defaultModelConfig,
  defaultTrainConfig,
  validateModelConfig,
  validateRunConfig,
  validateTrainConfig,
  type ConfigIssue,
  type ModelConfig,
  type Sampling,
  type TrainConfig,
} from '../core/config.ts';
import { streamSeed } from '../core/rng.ts';
import { crossEntropy, firstPredicted, fitNgram, type Smoothing } from '../core/ngram.ts';
import { generateMarkov, isMarkovSpec, parseMarkovSpec } from '../core/markov.ts';
import { bootstrapChinchilla, fitChinchilla } from '../core/fit.ts';
import { defaultReadLimits } from '../core/safetensors.ts';
import { checkCorpusSize, decodeCorpus } from '../core/text.ts';
import { CharTokenizer, countCodePoints } from '../core/tokenizer.ts';
import type { BackendChoice } from '../../workers/backend.ts';
import type { RunHistory } from '../../workers/checkpoint.ts';
import type { FromCheckpoint } from '../../workers/run.ts';
import { DEFAULT_SIZES, DEFAULT_WARMUP_FRACTION, parseLadder, planSweep, sweepConfig, sweepTrainConfig, type ModelShape } from '../core/sweep.ts';

type FlagSpec = { type: 'string' | 'boolean'; help: string; default?: string };

/** Training flags; each maps to one config key. */
const TRAIN_FLAGS = {
  corpus: { type: 'string', help: 'bundled corpus (moby-dick, sotu), a synthetic one (markov, or markov:order=2,alphabet=8,length=1000000,seed=1,alpha=0.5), or a UTF-8 .txt file', default: 'moby-dick' },
  layers: { type: 'string', help: 'transformer blocks (nLayer)', default: String(defaultModelConfig.nLayer) },
  heads: { type: 'string', help: 'attention heads per block (nHead); must divide --embd', default: String(defaultModelConfig.nHead) },
  embd: { type: 'string', help: 'embedding width (nEmbd)', default: String(defaultModelConfig.nEmbd) },
  ctx: { type: 'string', help: 'context length in characters (blockSize)', default: String(defaultModelConfig.blockSize) },
  dropout: { type: 'string', help: 'dropout rate in [0, 1)', default: String(defaultModelConfig.dropout) },
  batch: { type: 'string', help: 'sequences per minibatch', default: String(defaultTrainConfig.batchSize) },
  steps: { type: 'string', help: 'optimizer steps', default: String(defaultTrainConfig.maxSteps) },
  lr: { type: 'string', help: 'peak learning rate', default: String(defaultTrainConfig.learningRate) },
  'min-lr': { type: 'string', help: 'final learning rate of the cosine decay', default: String(defaultTrainConfig.minLr) },
  warmup: { type: 'string', help: 'linear warm-up steps', default: String(defaultTrainConfig.warmupSteps) },
  wd: { type: 'string', help: 'AdamW weight decay on weight matrices', default: String(defaultTrainConfig.weightDecay) },
  clip: { type: 'string', help: 'global gradient-norm clip (0: off)', default: String(defaultTrainConfig.gradClip) },
  sampling: { type: 'string', help: 'minibatches: random | sequential', default: defaultTrainConfig.sampling },
  seed: { type: 'string', help: 'seed for init, data order and dropout', default: String(defaultTrainConfig.seed) },
  backend: { type: 'string', help: 'auto | webgpu | wasm | webgl | cpu (auto: first that works, in that order)', default: 'auto' },
  'eval-every': { type: 'string', help: 'estimate train/val loss every N steps (0: at the end only)', default: String(defaultTrainConfig.evalEvery) },
  'eval-batches': { type: 'string', help: 'fixed batches per loss estimate', default: String(defaultTrainConfig.evalBatches) },
  'log-every': { type: 'string', help: 'read losses back from the device every N steps', default: String(defaultTrainConfig.logEvery) },
  save: { type: 'string', help: 'write a checkpoint (safetensors: weights, optimizer, data order, history) to this path at the end' },
  resume: { type: 'string', help: 'continue the run saved in this checkpoint exactly (same corpus; only --steps may change)' },
  'init-from': { type: 'string', help: "start a new run from this checkpoint's weights (fine-tuning; new characters get new embedding rows)" },
} satisfies Record<string, FlagSpec>;

const COMMANDS = {
  train: { help: 'train a model; prints step, eval and summary lines', flags: TRAIN_FLAGS },
  sample: {
    help: 'generate text from a checkpoint',
    flags: {
      checkpoint: { type: 'string', help: 'checkpoint file written by train --save' },
      prompt: { type: 'string', help: "text to continue (at least one character); without it, a newline (a space, if the model's vocabulary has no newline)", default: '\n' },
      temperature: { type: 'string', help: '0 = argmax, 1 = the model, large = uniform', default: '1' },
      length: { type: 'string', help: 'characters to generate', default: '200' },
      seed: { type: 'string', help: 'sampling seed', default: '0' },
      'no-kv-cache': { type: 'boolean', help: 'recompute the whole window for every character (slower; past the context each character always sees a full context)' },
      backend: TRAIN_FLAGS.backend,
    },
  },
  score: {
    help: 'log-probability of a text under a checkpoint',
    flags: {
      checkpoint: { type: 'string', help: 'checkpoint file written by train --save' },
      text: { type: 'string', help: 'text to score (at least two characters)' },
      backend: TRAIN_FLAGS.backend,
    },
  },
  batches: {
    help: "print each minibatch's row offsets in the train split",
    flags: {
      corpus: TRAIN_FLAGS.corpus,
      sampling: TRAIN_FLAGS.sampling,
      batch: TRAIN_FLAGS.batch,
      ctx: TRAIN_FLAGS.ctx,
      steps: { type: 'string', help: 'minibatches to draw', default: '10' },
      seed: TRAIN_FLAGS.seed,
    },
  },
  sweep: {
    help: 'train a ladder of model sizes for a token budget; prints (N, D, val loss) points for a scaling law',
    flags: {
      corpus: TRAIN_FLAGS.corpus,
      sizes: { type: 'string', help: 'the ladder: LAYERSxWIDTH[hHEADS], comma-separated (heads default to width/16)', default: DEFAULT_SIZES },
      tokens: { type: 'string', help: 'tokens (characters) each model trains on; or use --tokens-per-param' },
      'tokens-per-param': { type: 'string', help: "each model's budget as a multiple of its non-embedding N (Chinchilla: ~20)" },
      points: { type: 'string', help: 'evaluations recorded along each run', default: '5' },
      ctx: TRAIN_FLAGS.ctx,
      batch: TRAIN_FLAGS.batch,
      dropout: TRAIN_FLAGS.dropout,
      lr: TRAIN_FLAGS.lr,
      'min-lr': TRAIN_FLAGS['min-lr'],
      'warmup-frac': { type: 'string', help: "linear warm-up as a fraction of each model's steps", default: String(DEFAULT_WARMUP_FRACTION) },
      wd: TRAIN_FLAGS.wd,
      clip: TRAIN_FLAGS.clip,
      sampling: TRAIN_FLAGS.sampling,
      seed: TRAIN_FLAGS.seed,
      'eval-batches': TRAIN_FLAGS['eval-batches'],
      backend: TRAIN_FLAGS.backend,
    },
  },
  fit: {
    help: "fit L(N, D) = E + A/N^α + B/D^β (Chinchilla's method, Epoch AI's correction) to measured points",
    flags: {
      points: { type: 'string', help: 'a file of points: CSV with columns N,D,loss; a JSON array of {N, D, loss}; or the JSON lines `sweep` prints' },
      bootstrap: { type: 'string', help: 'resamples for the intervals (0: none)', default: '200' },
      predict: { type: 'string', help: 'predict the loss at N:D pairs, comma-separated (e.g. 1.2e6:3e5), with bootstrap intervals' },
      seed: { type: 'string', help: 'seed of the resampling', default: '0' },
    },
  },
  baseline: {
    help: 'val cross-entropy of a smoothed character n-gram: the score a model must beat',
    flags: {
      corpus: { ...TRAIN_FLAGS.corpus, help: `${TRAIN_FLAGS.corpus.help}; train's split: counts from the first 90%, scored on the last 10%` },
      order: {
        type: 'string',
        help: 'characters per n-gram (1 unigram, 2 bigram, 3 trigram, …); scores val characters max(2, order)..L, each with its full context (like score, never the first)',
        default: '2',
      },
      smoothing: { type: 'string', help: 'laplace (add-1) | addk (add --k)', default: 'laplace' },
      k: { type: 'string', help: 'pseudo-count k > 0 for --smoothing addk (default 1); laplace is k = 1 and takes no other' },
    },
  },
} satisfies Record<string, { help: string; flags: Record<string, FlagSpec> }>;
type Command = keyof typeof COMMANDS;

class UsageError extends Error {}

function usage(command?: Command): string {
  if (!command) {
    const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.help}`);
    return `usage: npm run cli -- <command> [flags]\n\ncommands:\n${lines.join('\n')}\n\nnpm run cli -- <command> --help for its flags`;
  }
  const flags = Object.entries(COMMANDS[command].flags as Record<string, FlagSpec>).map(
    ([name, f]) => `  --${name.padEnd(14)} ${f.help}${f.default !== undefined ? ` (default ${JSON.stringify(f.default)})` : ''}`,
  );
  return `usage: npm run cli -- ${command} [flags]\n\n${COMMANDS[command].help}\n\nflags:\n${flags.join('\n')}`;
}

/** A numeric flag, refusing anything that is not a plain number. */
function num(values: Record<string, string | boolean | undefined>, flag: string): number {
  const raw = String(values[flag]);
  const v = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(v)) throw new UsageError(`--${flag} must be a number, got ${JSON.stringify(raw)}`);
  return v;
}

function sampling(raw: unknown): Sampling {
  if (raw !== 'random' && raw !== 'sequential') throw new UsageError(`--sampling must be random or sequential, got ${JSON.stringify(raw)}`);
  return raw;
}

function backendChoice(raw: unknown): BackendChoice {
  if (raw === 'auto' || raw === 'webgpu' || raw === 'wasm' || raw === 'webgl' || raw === 'cpu') return raw;
  throw new UsageError(`--backend must be auto, webgpu, wasm, webgl or cpu, got ${JSON.stringify(raw)}`);
}

/** A corpus text; a synthetic one also knows its exact entropy rate (nats/char). */
function readCorpusWithFloor(nameOrPath: string): { text: string; entropyRate?: number } {
  if (isCorpusName(nameOrPath)) return { text: loadCorpus(nameOrPath) };
  if (isMarkovSpec(nameOrPath)) {
    const { text, entropyRate } = generateMarkov(parseMarkovSpec(nameOrPath));
    return { text, entropyRate };
  }
  if (!existsSync(nameOrPath)) {
    throw new UsageError(
      `--corpus ${JSON.stringify(nameOrPath)} is neither a bundled corpus (${Object.keys(corpora).join(', ')}), a synthetic one (markov:…) nor a file`,
    );
  }
  const stat = statSync(nameOrPath);
  if (!stat.isFile()) throw new UsageError(`--corpus ${nameOrPath} ${stat.isDirectory() ? 'is a directory, not a text file' : 'is not a regular file'}`);
  checkCorpusSize(stat.size, nameOrPath); // before reading it: a huge file is refused at once
  return { text: decodeCorpus(readFileSync(nameOrPath), nameOrPath) };
}

function readCorpus(nameOrPath: string): string {
  return readCorpusWithFloor(nameOrPath).text;
}

function emit(obj: object) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** Loads tfjs and the chosen backend only when a command needs them (batches does not). */
async function startBackend(choice: BackendChoice) {
  if (choice === 'webgpu' || choice === 'auto') {
    const { installNodeWebGPU } = await import('./dawn.ts');
    await installNodeWebGPU();
  }
  const { initBackend } = await import('../../workers/backend.ts');
  return initBackend(choice);
}

function required(values: Record<string, unknown>, flag: string): string {
  const v = values[flag];
  if (typeof v !== 'string') throw new UsageError(`--${flag} is required`);
  if (v === '') throw new UsageError(`--${flag} is empty`);
  return v;
}

/** The flag each config field comes from, so an issue names what the user typed. */
const FIELD_FLAGS: Record<string, string> = {
  nLayer: 'layers',
  nHead: 'heads',
  nEmbd: 'embd',
  blockSize: 'ctx',
  dropout: 'dropout',
  batchSize: 'batch',
  maxSteps: 'steps',
  learningRate: 'lr',
  minLr: 'min-lr',
  warmupSteps: 'warmup',
  weightDecay: 'wd',
  gradClip: 'clip',
  sampling: 'sampling',
  seed: 'seed',
  evalEvery: 'eval-every',
  evalBatches: 'eval-batches',
  logEvery: 'log-every',
};

/** Refuses the flags behind `issues` (exit 2), each named with the value given: "--heads 3: nEmbd (64) must be …". */
function refuseFlags(issues: ConfigIssue[], values: Record<string, unknown>, named: (flag: string) => boolean = () => true) {
  if (issues.length === 0) return;
  const lines = issues.map((i) => {
    const flag = FIELD_FLAGS[i.field];
    return flag && named(flag) ? `--${flag} ${String(values[flag])}: ${i.message}` : i.message;
  });
  throw new UsageError(lines.join('; '));
}

/** A file a flag names, checked before any work: it exists and is a file. */
function checkInputFile(path: string, flag: string) {
  if (path === '') throw new UsageError(`--${flag} is empty; give a file path`);
  if (!existsSync(path)) throw new UsageError(`--${flag} ${path}: no such file`);
  const stat = statSync(path);
  if (!stat.isFile()) throw new UsageError(`--${flag} ${path} ${stat.isDirectory() ? 'is a directory, not a file' : 'is not a regular file'}`);
}

/** The same file, however it is spelled (relative, through links): for existing paths only. */
function sameFile(a: string, b: string): boolean {
  return existsSync(a) && existsSync(b) && realpathSync(a) === realpathSync(b);
}

/** The temporary file writeAtomically writes before renaming it over `path`. */
function tempPathOf(path: string): string {
  return `${path}.${process.pid}.tmp`;
}

/**
 * Where --save will write, checked before training so a finished run is never lost to a bad path:
 * a file path (not empty, not a directory, not one of `inputs`, such as the corpus), in a directory
 * that exists, where the temporary file can be created now (a name too long or a place that refuses
 * files shows here) and an existing file may be replaced.
 */
function checkOutputPath(path: string, flag: string, inputs: { path: string; what: string }[] = []) {
  if (path === '') throw new UsageError(`--${flag} is empty; give a file path`);
  if (/[\\/]$/.test(path) || (existsSync(path) && !statSync(path).isFile())) throw new UsageError(`--${flag} ${path} is a directory; give a file path`);
  for (const input of inputs) if (sameFile(path, input.path)) throw new UsageError(`--${flag} ${path} is ${input.what}: saving would overwrite it; give another path`);
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--${flag} ${path}: the directory ${dir} does not exist`);
  const tmp = tempPathOf(path);
  try {
    writeFileSync(tmp, new Uint8Array(0), { flag: 'wx' });
    rmSync(tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`--${flag} ${path}: a file cannot be written there (${code === 'ENAMETOOLONG' ? 'the name is too long' : code === 'EACCES' || code === 'EPERM' ? 'not writable' : (code ?? String(err))})`);
  }
  if (existsSync(path)) {
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw new UsageError(`--${flag} ${path} exists and may not be replaced`);
    }
  }
}

/** Temporary files being written: removed if the process is interrupted (Ctrl-C, a kill). */
const writing = new Set<string>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const tmp of writing) rmSync(tmp, { force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

/**
 * Writes a new file beside `path`, flushes it to the disk and renames it over: an existing file is
 * never left half-written, a crash after the rename leaves the whole new file, and an interrupted
 * write leaves no temporary file behind.
 */
function writeAtomically(path: string, bytes: Uint8Array) {
  const tmp = tempPathOf(path);
  writing.add(tmp);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    writing.delete(tmp);
  }
}

async function sweep(v: Record<string, string | boolean | undefined>) {
  let ladder: ModelShape[];
  try {
    ladder = parseLadder(String(v.sizes));
  } catch (err) {
    throw new UsageError(`--sizes: ${(err as Error).message}`);
  }
  if (v.tokens !== undefined && v['tokens-per-param'] !== undefined) throw new UsageError('give --tokens or --tokens-per-param, not both');
  const budget = v['tokens-per-param'] !== undefined ? { tokensPerParam: num(v, 'tokens-per-param') } : { tokens: v.tokens !== undefined ? num(v, 'tokens') : 200_000 };
  if (Object.values(budget)[0] <= 0) throw new UsageError('the token budget must be positive');
  const warmupFraction = num(v, 'warmup-frac');
  if (!(warmupFraction >= 0 && warmupFraction < 1)) throw new UsageError(`--warmup-frac must be in [0, 1), got ${warmupFraction}`);
  const points = num(v, 'points');
  if (!Number.isInteger(points) || points < 1) throw new UsageError(`--points must be a whole number ≥ 1, got ${points}`);
  const corpus = readCorpusWithFloor(String(v.corpus));
  const { runSweep } = await import('../../workers/sweep.ts');
  // The same config the Scaling lab builds from its fields (src/core/sweep.ts).
  const cfg = sweepConfig({
    ladder,
    blockSize: num(v, 'ctx'),
    batchSize: num(v, 'batch'),
    learningRate: num(v, 'lr'),
    minLr: num(v, 'min-lr'),
    budget,
    points,
    warmupFraction,
    dropout: num(v, 'dropout'),
    train: { weightDecay: num(v, 'wd'), gradClip: num(v, 'clip'), sampling: sampling(v.sampling), seed: num(v, 'seed'), evalBatches: num(v, 'eval-batches') },
  });
  const vocabSize = new Set(corpus.text).size;
  const plan = planSweep(cfg, vocabSize);
  const { steps, warmupSteps } = plan;
  // Every model of the ladder is checked before the backend starts, naming only the sweep's own flags.
  const own = (flag: string) => flag in COMMANDS.sweep.flags;
  cfg.ladder.forEach((shape, i) => {
    const model = { ...shape, blockSize: cfg.blockSize, dropout: cfg.dropout, vocabSize };
    const train = sweepTrainConfig(cfg, plan, i);
    const issues = [...validateModelConfig(model), ...validateTrainConfig(train)];
    refuseFlags(issues.length ? issues : validateRunConfig(model, train), v, own);
  });
  const backend = await startBackend(backendChoice(v.backend));
  emit({ type: 'start', backend: backend.name, adapter: backend.adapter, models: ladder.length, steps, warmupSteps, entropyRate: corpus.entropyRate ?? null });
  const all = await runSweep(corpus.text, cfg, {
    onModel: (i, shape, N, n) => emit({ type: 'model', index: i, ...shape, N, steps: n }),
    onPoint: (p) => emit({ type: 'point', ...p }),
  });
  emit({ type: 'sweep', points: all });
  // Each model's last point carries its final loss; every point goes into the fit.
  if (all.length >= 5 && new Set(all.map((p) => p.N)).size >= 2) emit({ ...fitLaw(all, 100, num(v, 'seed')), entropyRate: corpus.entropyRate ?? null });
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
        if (o === null || typeof o !== 'object') throw new UsageError(`${source}: line ${i + 1} is ${JSON.stringify(o)}, not a JSON object`);
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
    rows = lines.filter((l) => l.trim()).map((l) => {
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

function fit(v: Record<string, string | boolean | undefined>) {
  const path = required(v, 'points');
  checkInputFile(path, 'points'); // a regular file: not a directory, a FIFO that never ends, or /dev/zero
  const size = statSync(path).size;
  if (size > MAX_POINTS_BYTES) throw new UsageError(`--points ${path} is ${(size / 1e6).toFixed(1)} MB; a file of points is at most ${MAX_POINTS_BYTES / 1e6} MB`);
  const samples = num(v, 'bootstrap');
  if (!Number.isInteger(samples) || samples < 0) throw new UsageError(`--bootstrap must be a whole number ≥ 0, got ${samples}`);
  const at = typeof v.predict === 'string' ? v.predict.split(',').map((pair) => {
    const [N, D] = pair.split(':').map(Number);
    if (!(N > 0 && D > 0 && Number.isFinite(N) && Number.isFinite(D))) throw new UsageError(`--predict entry ${JSON.stringify(pair)} is not N:D with positive, finite numbers`);
    return { N, D };
  }) : [];
  emit(fitLaw(parsePoints(readFileSync(path, 'utf8'), path), samples, num(v, 'seed'), at));
}

/** The largest --points file fit reads: a sweep of thousands of points is a few hundred KB. */
const MAX_POINTS_BYTES = 50e6;

/** Flags a resumed run may still set: everything else comes from its checkpoint. */
const RESUME_FLAGS = new Set(['corpus', 'steps', 'backend', 'save', 'resume', 'log-every', 'eval-every']);
/** The model's shape comes from the checkpoint when fine-tuning. */
const SHAPE_FLAGS = ['layers', 'heads', 'embd', 'ctx'];

/** A checkpoint file's bytes, as the loader wants them. */
function readBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function train(v: Record<string, string | boolean | undefined>, explicit: Set<string>) {
  const model: Omit<ModelConfig, 'vocabSize'> = {
    nLayer: num(v, 'layers'),
    nHead: num(v, 'heads'),
    nEmbd: num(v, 'embd'),
    blockSize: num(v, 'ctx'),
    dropout: num(v, 'dropout'),
  };
  let config: TrainConfig = {
    ...defaultTrainConfig,
    batchSize: num(v, 'batch'),
    maxSteps: num(v, 'steps'),
    learningRate: num(v, 'lr'),
    minLr: num(v, 'min-lr'),
    warmupSteps: num(v, 'warmup'),
    weightDecay: num(v, 'wd'),
    gradClip: num(v, 'clip'),
    sampling: sampling(v.sampling),
    seed: num(v, 'seed'),
    evalEvery: num(v, 'eval-every'),
    evalBatches: num(v, 'eval-batches'),
    logEvery: num(v, 'log-every'),
  };
  // Every flag is checked before the corpus is read or a backend starts. The vocabulary is not
  // known yet: 2 stands in for it (the corpus is checked against the model once it is read).
  refuseFlags([...validateModelConfig({ ...model, vocabSize: 2 }), ...validateTrainConfig(config)], v);
  const backendName = backendChoice(v.backend);
  // Given is given: an empty --resume is an error, never a silent fresh run (which would overwrite --save).
  const resume = typeof v.resume === 'string' ? v.resume : null;
  const initFrom = typeof v['init-from'] === 'string' ? v['init-from'] : null;
  if (resume !== null) checkInputFile(resume, 'resume');
  if (initFrom !== null) checkInputFile(initFrom, 'init-from');
  if (resume && initFrom) throw new UsageError('--resume continues a run and --init-from starts a new one from its weights: give one of them');
  if (resume) {
    const fixed = [...explicit].filter((f) => !RESUME_FLAGS.has(f));
    if (fixed.length) throw new UsageError(`--resume continues the saved run with its own settings; drop --${fixed.join(', --')} (only --steps may change)`);
  }
  if (initFrom) {
    const fixed = SHAPE_FLAGS.filter((f) => explicit.has(f));
    if (fixed.length) throw new UsageError(`--init-from takes the model's shape from the checkpoint; drop --${fixed.join(', --')}`);
  }
  if (typeof v.save === 'string') checkOutputPath(v.save, 'save', [{ path: String(v.corpus), what: 'the corpus' }, ...(initFrom ? [{ path: initFrom, what: 'the --init-from checkpoint' }] : [])]);

  const { prepareRun, createRun, disposeRun, referenceLosses, runFromCheckpoint, CheckpointMisfit } = await import('../../workers/run.ts');
  const corpus = readCorpusWithFloor(String(v.corpus));
  const corpusId = { name: String(v.corpus), sha256: sha256(corpus.text) };
  // A new run is checked before any backend work; a resumed or fine-tuned one needs its checkpoint first.
  // Memory is checked here too, so that its error names the flag (prepareRun would only say the config is invalid).
  if (!resume && !initFrom) refuseFlags(validateRunConfig({ ...model, vocabSize: CharTokenizer.fromText(corpus.text).size }, config), v);
  let prepared = resume || initFrom ? null : prepareRun(corpus.text, model, config);
  const backend = await startBackend(backendName);
  const { train: runTraining, summarize } = await import('../../workers/train.ts');
  const { loadCheckpoint, saveCheckpoint } = await import('../../workers/checkpoint.ts');
  let history: RunHistory = { losses: [], evals: [] };
  let run;
  if (resume || initFrom) {
    // The same rules as the app's Load and Resume (runFromCheckpoint in workers/run.ts).
    const file = (resume ?? initFrom)!;
    const ck = loadCheckpoint(readCheckpoint(file));
    const how: FromCheckpoint = resume
      ? { mode: 'resume', overrides: { ...(explicit.has('steps') ? { maxSteps: config.maxSteps } : {}), ...(explicit.has('log-every') ? { logEvery: config.logEvery } : {}), ...(explicit.has('eval-every') ? { evalEvery: config.evalEvery } : {}) } }
      : { mode: 'finetune', train: config, ...(explicit.has('dropout') ? { dropout: model.dropout } : {}) };
    let built;
    try {
      built = await runFromCheckpoint(ck, { name: `--corpus ${corpusId.name}`, text: corpus.text, sha256: corpusId.sha256 }, how);
    } catch (err) {
      throw err instanceof CheckpointMisfit ? new UsageError(`${file}: ${err.message}`) : err;
    }
    ({ prepared, run, history } = built);
    config = prepared.train;
    // The CLI's train trains: a finished run has nothing left to do unless --steps asks for more.
    if (resume && config.maxSteps <= run.trainer.step) {
      disposeRun(run);
      throw new UsageError(`${resume} is already at step ${run.trainer.step}; give --steps above that to train on`);
    }
  } else {
    run = createRun(prepared!);
  }
  const { total, nonEmbedding } = (await import('../core/config.ts')).countParams(run.model.config);
  emit({
    type: 'start',
    backend: backend.name,
    adapter: backend.adapter,
    vocabSize: run.tokenizer.size,
    trainChars: run.split.train,
    valChars: run.split.val,
    params: total,
    nonEmbeddingParams: nonEmbedding,
    step: run.trainer.step,
    // The yardsticks: n-gram baselines on this split, and the entropy floor of a synthetic corpus.
    references: referenceLosses(prepared!, corpus.entropyRate),
  });
  const save = async () => {
    if (typeof v.save !== 'string') return;
    const bytes = await saveCheckpoint(run.model, { vocab: run.tokenizer.vocab, train: run.trainer.config, trainer: run.trainer, corpus: corpusId, history });
    writeAtomically(v.save, bytes);
  };
  const stats = await runTraining(run.trainer, {
    onStep: (e) => {
      history.losses.push(e.loss);
      emit(e);
    },
    onEval: (e) => {
      history.evals.push({ step: e.step, train: e.train, val: e.val });
      emit(e);
    },
    // Saved as soon as the last step is in, so an error in the final evaluation cannot cost the run;
    // saved again below with that evaluation in its history.
    onTrained: save,
  });
  await save();
  emit(summarize(run.trainer, stats, backend.name));
  disposeRun(run);
}

/** A checkpoint file's bytes; one over the reader's size limit is refused before it is read. */
function readCheckpoint(path: string): Uint8Array {
  const size = statSync(path).size;
  if (size > defaultReadLimits.maxBytes) throw new Error(`not a usable checkpoint: ${path} is ${size} bytes; the limit is ${defaultReadLimits.maxBytes}`);
  return readBytes(path);
}

async function openCheckpoint(v: Record<string, unknown>) {
  const choice = backendChoice(v.backend);
  const path = required(v, 'checkpoint');
  checkInputFile(path, 'checkpoint');
  const bytes = readCheckpoint(path);
  await startBackend(choice);
  const { loadCheckpoint } = await import('../../workers/checkpoint.ts');
  return loadCheckpoint(bytes);
}

/** A prompt or text refused by the model's vocabulary is a bad flag: the message names it. */
function encodeFlag(tokenizer: CharTokenizer, text: string, flag: string) {
  try {
    tokenizer.encode(text);
  } catch (err) {
    throw new UsageError(`--${flag}: ${(err as Error).message}`);
  }
}

/** Without --prompt: a newline if the model knows one, else a space, else its first character. */
function defaultPrompt(tokenizer: CharTokenizer): string {
  return ['\n', ' '].find((ch) => tokenizer.vocab.includes(ch)) ?? tokenizer.vocab[0];
}

async function sample(v: Record<string, string | boolean | undefined>, explicit: Set<string>) {
  const temperature = num(v, 'temperature');
  if (temperature < 0) throw new UsageError(`--temperature must be ≥ 0 (0 always takes the most probable character), got ${temperature}`);
  const { generate, MAX_GENERATE_LENGTH } = await import('../../workers/sample.ts');
  const length = num(v, 'length');
  if (!Number.isInteger(length) || length < 0 || length > MAX_GENERATE_LENGTH) {
    throw new UsageError(`--length must be a whole number from 0 to ${MAX_GENERATE_LENGTH}, got ${v.length}`);
  }
  const seed = num(v, 'seed');
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a whole number ≥ 0, got ${v.seed}`);
  if (explicit.has('prompt') && v.prompt === '') throw new UsageError('--prompt is empty: give at least one character to continue from (the model has no start token)');
  const { model, tokenizer } = await openCheckpoint(v);
  try {
    const prompt = explicit.has('prompt') ? String(v.prompt) : defaultPrompt(tokenizer);
    encodeFlag(tokenizer, prompt, 'prompt');
    let completion = '';
    const kvCache = !v['no-kv-cache'];
    for await (const ch of generate(model, tokenizer, prompt, { length, temperature, seed, kvCache })) completion += ch;
    emit({ type: 'sample', prompt, completion, temperature, seed });
  } finally {
    model.dispose();
  }
}

async function score(v: Record<string, string | boolean | undefined>) {
  const text = required(v, 'text');
  const n = countCodePoints(text);
  if (n < 2) throw new UsageError(`--text needs at least 2 characters (the first is given, the rest are scored), got ${n}`);
  const { model, tokenizer } = await openCheckpoint(v);
  try {
    encodeFlag(tokenizer, text, 'text');
    const { score: scoreText } = await import('../../workers/sample.ts');
    emit({ type: 'score', ...(await scoreText(model, tokenizer, text)) });
  } finally {
    model.dispose();
  }
}

function batches(v: Record<string, string | boolean | undefined>) {
  const B = num(v, 'batch');
  const T = num(v, 'ctx');
  const steps = num(v, 'steps');
  const seed = num(v, 'seed');
  // The limits `train` has for the same flags, checked before the corpus is read or a batch allocated.
  refuseFlags(
    [
      ...validateTrainConfig({ ...defaultTrainConfig, batchSize: B, maxSteps: steps, seed }).filter((i) => ['batchSize', 'maxSteps', 'seed'].includes(i.field)),
      ...validateModelConfig({ ...defaultModelConfig, blockSize: T, vocabSize: 2 }).filter((i) => i.field === 'blockSize'),
    ],
    v,
  );
  const text = readCorpus(String(v.corpus));
  const tokenizer = CharTokenizer.fromText(text);
  const { train: data } = splitTrainVal(tokenizer.encode(text), T);
  // Same seed stream as `train`, so these are the batches a run with this seed trains on.
  const batcher = new Batcher(data, B, T, sampling(v.sampling), streamSeed(seed, 'data'));
  for (let step = 1; step <= steps; step++) {
    const batch = batcher.getBatch();
    emit({ type: 'batch', step, epoch: batch.epoch, starts: batch.starts });
  }
}

function baseline(v: Record<string, string | boolean | undefined>) {
  const order = num(v, 'order');
  if (!Number.isInteger(order) || order < 1) throw new UsageError(`--order must be a whole number ≥ 1, got ${order}`);
  let smoothing: Smoothing;
  if (v.smoothing === 'laplace') {
    // Laplace is add-1: a --k other than 1 would be silently ignored, so refuse it.
    if (v.k !== undefined && num(v, 'k') !== 1) throw new UsageError(`--k applies to --smoothing addk; laplace is k = 1 (got --k ${v.k})`);
    smoothing = { kind: 'laplace' };
  } else if (v.smoothing === 'addk') {
    const k = v.k === undefined ? 1 : num(v, 'k');
    if (k <= 0) throw new UsageError(`--k must be > 0, got ${k}`);
    smoothing = { kind: 'addk', k };
  } else {
    throw new UsageError(`--smoothing must be laplace or addk, got ${JSON.stringify(v.smoothing)}`);
  }
  const text = readCorpus(String(v.corpus));
  const tokenizer = CharTokenizer.fromText(text); // the whole corpus's vocabulary, so every val character is in it
  // The trainer's split; the length check asks for one n-gram context (at least one character) plus a target in each half.
  const { train, val } = splitTrainVal(tokenizer.encode(text), firstPredicted(order));
  const model = fitNgram(train, tokenizer.size, order, smoothing);
  const { nats, bits, predicted } = crossEntropy(model, val);
  emit({
    type: 'baseline',
    corpus: String(v.corpus),
    order,
    smoothing: smoothing.kind,
    k: model.k,
    vocabSize: tokenizer.size,
    trainChars: train.length,
    valChars: val.length,
    predicted,
    nats,
    bits,
  });
}

/**
 * `--lr -1` → `--lr=-1`. parseArgs reads a value that starts with a dash as a flag and refuses
 * the pair as ambiguous; a negative number is a value, and its own check says what is wrong with it.
 */
function joinNegativeValues(args: string[], specs: Record<string, FlagSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith('--') && !args[i].includes('=') ? args[i].slice(2) : '';
    const next = args[i + 1];
    if (Object.hasOwn(specs, name) && specs[name].type === 'string' && next !== undefined && /^-(\d|\.\d|Infinity$|NaN$)/.test(next)) {
      out.push(`${args[i]}=${next}`);
      i++;
    } else out.push(args[i]);
  }
  return out;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(usage() + '\n');
    return command ? 0 : 1;
  }
  if (!Object.hasOwn(COMMANDS, command)) throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${usage()}`);
  const cmd = command as Command;
  const flagSpecs = COMMANDS[cmd].flags as Record<string, FlagSpec>;
  const { values, positionals, tokens } = parseArgs({
    args: joinNegativeValues(rest, flagSpecs),
    options: { ...Object.fromEntries(Object.entries(flagSpecs).map(([k, f]) => [k, { type: f.type, default: f.default }])), help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
    tokens: true,
  });
  // Which flags the user typed, as opposed to defaults: a resumed run refuses settings it would ignore.
  const explicit = new Set(tokens.flatMap((t) => (t.kind === 'option' ? [t.name] : [])));
  if (values.help) {
    process.stdout.write(usage(cmd) + '\n');
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}; flags look like --name value`);
  switch (cmd) {
    case 'train':
      await train(values, explicit);
      break;
    case 'sample':
      await sample(values, explicit);
      break;
    case 'score':
      await score(values);
      break;
    case 'batches':
      batches(values);
      break;
    case 'baseline':
      baseline(values);
      break;
    case 'sweep':
      await sweep(values);
      break;
    case 'fit':
      fit(values);
      break;
    default:
      cmd satisfies never;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${msg}\n`);
    process.exit(err instanceof UsageError || (err as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1);
  },
);
