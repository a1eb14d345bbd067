/**
 * The CLI's flags: one table of every command's flags (exported, so tests name flags from it), one
 * parser for all of them, the usage text, and the checks every command shares. A flag error is a
 * UsageError: exit 2, one line on stderr naming the flag.
 */
import {
  defaultModelConfig,
  defaultTrainConfig,
  renameFields,
  validateTrainConfig,
  type ConfigIssue,
  type ModelConfig,
  type Sampling,
  type TrainConfig,
} from '../core/config.ts';
import { DEFAULT_SIZES, DEFAULT_WARMUP_FRACTION } from '../core/sweep.ts';
import type { BackendChoice } from '../../workers/backend.ts';

/** A sweep's token budget per model unless --tokens or --tokens-per-param says otherwise. */
export const DEFAULT_SWEEP_TOKENS = 200_000;
/** The most resamples fit's --bootstrap takes: 10,000 already pins a 95% interval's ends. */
export const MAX_BOOTSTRAP = 10_000;
/** The highest n-gram order baseline takes; past about 8, few vocabularies stay within a double's exact indices anyway. */
export const MAX_ORDER = 16;

/** A bad flag or argument: the process exits with 2 and the message on one line. */
export class UsageError extends Error {}

/** How a flag's value is read: text as given, a decimal number, or a switch without a value. */
export type FlagSpec = { type: 'string' | 'number' | 'boolean'; help: string; default?: string };

/** The flags a resumed run may still set: everything else comes from its checkpoint. */
export const RESUME_FLAGS = [
  'corpus',
  'steps',
  'eval-every',
  'log-every',
  'save',
  'save-every',
  'noise-scale-every',
  'forecast-every',
  'ledger',
  'backend',
  'resume',
] as const;
/** RESUME_FLAGS as the help and errors list them: the settings of the run, not --resume itself or --corpus. */
export const RESUMABLE = RESUME_FLAGS.filter((f) => f !== 'resume' && f !== 'corpus')
  .map((f) => `--${f}`)
  .join(', ');

/** Training flags; each (but --save-every and the file flags) maps to one config key. */
const TRAIN_FLAGS = {
  corpus: {
    type: 'string',
    help: 'bundled corpus (moby-dick, sotu), a synthetic one (markov, or markov:order=2,alphabet=8,length=1000000,seed=1,alpha=0.5; copy, or copy:alphabet=16,min=4,max=16,repeats=2,order=0,length=1000000,seed=1), or a UTF-8 .txt file',
    default: 'moby-dick',
  },
  layers: { type: 'number', help: 'transformer blocks (nLayer)', default: String(defaultModelConfig.nLayer) },
  heads: { type: 'number', help: 'attention heads per block (nHead); must divide --embd', default: String(defaultModelConfig.nHead) },
  embd: { type: 'number', help: 'embedding width (nEmbd)', default: String(defaultModelConfig.nEmbd) },
  ctx: { type: 'number', help: 'context length in characters (blockSize)', default: String(defaultModelConfig.blockSize) },
  dropout: { type: 'number', help: 'dropout rate in [0, 1)', default: String(defaultModelConfig.dropout) },
  batch: { type: 'number', help: 'sequences per minibatch', default: String(defaultTrainConfig.batchSize) },
  steps: { type: 'number', help: 'optimizer steps', default: String(defaultTrainConfig.maxSteps) },
  lr: { type: 'number', help: 'peak learning rate', default: String(defaultTrainConfig.learningRate) },
  'min-lr': { type: 'number', help: 'final learning rate of the cosine decay', default: String(defaultTrainConfig.minLr) },
  warmup: { type: 'number', help: 'linear warm-up steps', default: String(defaultTrainConfig.warmupSteps) },
  wd: { type: 'number', help: 'AdamW weight decay on weight matrices', default: String(defaultTrainConfig.weightDecay) },
  clip: { type: 'number', help: 'global gradient-norm clip (0: off)', default: String(defaultTrainConfig.gradClip) },
  sampling: { type: 'string', help: 'minibatches: random | sequential', default: defaultTrainConfig.sampling },
  seed: { type: 'number', help: 'seed for init, data order and dropout (0 to 4294967295)', default: String(defaultTrainConfig.seed) },
  backend: { type: 'string', help: 'auto | webgpu | wasm | cpu (auto: first that works, in that order)', default: 'auto' },
  'eval-every': {
    type: 'number',
    help: 'estimate train/val loss every N steps (0: at the end only)',
    default: String(defaultTrainConfig.evalEvery),
  },
  'eval-batches': { type: 'number', help: 'fixed batches per loss estimate', default: String(defaultTrainConfig.evalBatches) },
  'log-every': { type: 'number', help: 'read losses back from the device every N steps', default: String(defaultTrainConfig.logEvery) },
  save: {
    type: 'string',
    help: 'write a checkpoint (safetensors: weights, optimizer, data order, history) to this path at the end, and every --save-every steps',
  },
  'save-every': {
    type: 'number',
    help: 'with --save, also write the checkpoint every N steps while training, so a killed run can --resume from there (0: at the end only; default: at each evaluation, every --eval-every steps)',
  },
  resume: {
    type: 'string',
    help: `continue the run saved in this checkpoint exactly (its corpus unless --corpus names the same text; only ${RESUMABLE} may change)`,
  },
  'init-from': {
    type: 'string',
    help: "start a new run from this checkpoint's weights (fine-tuning; new characters get new embedding rows)",
  },
  'noise-scale-every': {
    type: 'number',
    help: 'print a noise line (the gradient noise scale B_simple, |G|², tr Σ) every N steps; each costs a forward and backward pass over half a minibatch more (0: never)',
    default: '0',
  },
  probe: { type: 'boolean', help: 'after each evaluation, also print a probe line: the in-context learning test (see probe --help)' },
  'forecast-every': {
    type: 'number',
    help: "print a forecast line (the val loss forecast at the run's last step, its band, or why there is none) every N steps (0: never)",
    default: '0',
  },
  ledger: {
    type: 'string',
    help: "append the forecasts made at 25% and 50% of the run, with the val loss reached, to this JSON Lines file; settles a law's prediction (fit --predict --ledger) for this model and tokens",
  },
} satisfies Record<string, FlagSpec>;

/** Every command: its one-line help and its flags. */
export const COMMANDS = {
  train: { help: 'train a model; prints step, eval and summary lines', flags: TRAIN_FLAGS },
  sample: {
    help: 'generate text from a checkpoint',
    flags: {
      checkpoint: { type: 'string', help: 'checkpoint file written by train --save' },
      prompt: {
        type: 'string',
        help: "text to continue (at least one character); without it, a newline (a space, if the model's vocabulary has no newline)",
        default: '\n',
      },
      temperature: { type: 'number', help: '0 = argmax, 1 = the model, large = uniform', default: '1' },
      length: { type: 'number', help: 'characters to generate', default: '200' },
      seed: { type: 'number', help: 'sampling seed (0 to 4294967295)', default: '0' },
      'no-kv-cache': {
        type: 'boolean',
        help: 'recompute the whole window for every character (slower; past the context each character always sees a full context)',
      },
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
  inspect: {
    help: "a checkpoint's attention on a text, every layer and head, and each character's surprisal",
    flags: {
      checkpoint: { type: 'string', help: 'checkpoint file written by train --save' },
      text: { type: 'string', help: "text to look at, at most the model's context" },
      backend: TRAIN_FLAGS.backend,
    },
  },
  probe: {
    help: 'in-context learning: loss on random characters shown once, then again (Olsson et al. 2022)',
    flags: {
      checkpoint: { type: 'string', help: 'checkpoint file written by train --save' },
      length: { type: 'number', help: "characters in each copy (default 16, or half the model's context if shorter)" },
      trials: { type: 'number', help: 'random sequences averaged', default: '8' },
      seed: { type: 'number', help: 'seed of the random characters (0 to 4294967295)', default: '0' },
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
      steps: { type: 'number', help: 'minibatches to draw', default: '10' },
      seed: TRAIN_FLAGS.seed,
    },
  },
  sweep: {
    help: 'train a ladder of model sizes for a token budget; prints (N, D, val loss) points for a scaling law',
    flags: {
      corpus: TRAIN_FLAGS.corpus,
      sizes: {
        type: 'string',
        help: 'the ladder: LAYERSxWIDTH[hHEADS], comma-separated (heads default to width/16)',
        default: DEFAULT_SIZES,
      },
      tokens: {
        type: 'number',
        help: 'tokens (characters) each model trains on, a whole number of at least one step (--batch × --ctx); or use --tokens-per-param',
        default: String(DEFAULT_SWEEP_TOKENS),
      },
      'tokens-per-param': { type: 'number', help: "each model's budget as a multiple of its non-embedding N (Chinchilla: ~20)" },
      points: { type: 'number', help: 'evaluations recorded along each run', default: '5' },
      ctx: TRAIN_FLAGS.ctx,
      batch: TRAIN_FLAGS.batch,
      dropout: TRAIN_FLAGS.dropout,
      lr: TRAIN_FLAGS.lr,
      'min-lr': TRAIN_FLAGS['min-lr'],
      'warmup-frac': {
        type: 'number',
        help: "linear warm-up as a fraction of each model's steps",
        default: String(DEFAULT_WARMUP_FRACTION),
      },
      wd: TRAIN_FLAGS.wd,
      clip: TRAIN_FLAGS.clip,
      sampling: TRAIN_FLAGS.sampling,
      seed: TRAIN_FLAGS.seed,
      'eval-batches': TRAIN_FLAGS['eval-batches'],
      backend: TRAIN_FLAGS.backend,
    },
  },
  'batch-ladder': {
    help: 'one model trained at several batch sizes to one val loss: steps and tokens to it per batch size, and S_min, E_min and B_crit fitted to them',
    flags: {
      corpus: TRAIN_FLAGS.corpus,
      batches: { type: 'string', help: 'the batch sizes (sequences), comma-separated', default: '4,8,16,32,64' },
      target: { type: 'number', help: 'the val loss (nats per character) every batch size trains to' },
      tokens: {
        type: 'number',
        help: 'the most tokens (characters) a batch size may train on; one that has not reached --target by then did not reach it',
        default: '3000000',
      },
      'eval-tokens': {
        type: 'number',
        help: 'tokens between evaluations (each batch size evaluates every ⌈N / (batch·ctx)⌉ steps)',
        default: '32768',
      },
      'eval-rows': {
        type: 'number',
        help: 'held-out sequences per evaluation, the same ones for every batch size (rounded up to whole batches)',
        default: '256',
      },
      layers: TRAIN_FLAGS.layers,
      heads: TRAIN_FLAGS.heads,
      embd: TRAIN_FLAGS.embd,
      ctx: TRAIN_FLAGS.ctx,
      dropout: TRAIN_FLAGS.dropout,
      lr: {
        ...TRAIN_FLAGS.lr,
        help: 'learning rate after warm-up, constant (no decay: the steps to a loss should not depend on a schedule)',
      },
      'lr-scaling': {
        type: 'string',
        help: `none: the same --lr at every batch size; sqrt: --lr × √(batch / ${defaultTrainConfig.batchSize})`,
        default: 'none',
      },
      warmup: { ...TRAIN_FLAGS.warmup, help: 'linear warm-up steps, the same at every batch size' },
      wd: TRAIN_FLAGS.wd,
      clip: TRAIN_FLAGS.clip,
      sampling: TRAIN_FLAGS.sampling,
      seed: TRAIN_FLAGS.seed,
      'noise-scale-every': {
        ...TRAIN_FLAGS['noise-scale-every'],
        help: 'also measure the gradient noise scale every N steps and report its last value per batch size (0: never)',
      },
      backend: TRAIN_FLAGS.backend,
    },
  },
  fit: {
    help: "fit L(N, D) = E + A/N^α + B/D^β (Chinchilla's method, Epoch AI's correction) to measured points",
    flags: {
      points: {
        type: 'string',
        help: 'a file of points: CSV with columns N,D,loss; a JSON array of {N, D, loss}; or the JSON lines `sweep` prints',
      },
      bootstrap: { type: 'number', help: `resamples for the intervals (0: none; at most ${MAX_BOOTSTRAP})`, default: '200' },
      predict: { type: 'string', help: 'predict the loss at N:D pairs, comma-separated (e.g. 1.2e6:3e5), with bootstrap intervals' },
      seed: { type: 'number', help: 'seed of the resampling (0 to 4294967295)', default: '0' },
      ledger: {
        type: 'string',
        help: "append --predict's predictions to this JSON Lines file; train --ledger with the same file settles them",
      },
    },
  },
  forecast: {
    help: "forecast a run's val loss at its planned last step from its log (what train prints), with its 90% band, or say why not",
    flags: {
      run: { type: 'string', help: "a run's log: the JSON lines train printed (gzipped too)" },
      upto: { type: 'number', help: 'forecast from what the log held after this step (default: all of it)' },
    },
  },
  backtest: {
    help: 'forecast each run of a bank at 10%, 25%, 50% and 75% of its steps and set it against the val loss it reached: error and coverage per cut',
    flags: {
      runs: { type: 'string', help: 'a folder of run logs (*.jsonl or *.jsonl.gz, as train prints them)', default: 'datasets/runs' },
      law: {
        type: 'string',
        help: "the law to try: log (the forecast's, L0 − A·ln S1 − C·S2) or power (L0 + A·S1^−α − C·S2, α fitted); the bands keep the shipped misfit",
        default: 'log',
      },
      items: { type: 'boolean', help: 'also print one line per run and cut' },
    },
  },
  ledger: {
    help: 'the predicted-vs-actual table of a ledger file (train --ledger, fit --predict --ledger)',
    flags: {
      file: { type: 'string', help: 'the ledger: a JSON Lines file' },
    },
  },
  'export-nanogpt': {
    help: "a saved run as the files that make nanoGPT's train.py continue it (data, ckpt.pt, config), on one GPU or many",
    flags: {
      checkpoint: { type: 'string', help: 'a run saved by train --save or downloaded from the app' },
      out: { type: 'string', help: 'a new or empty folder: copy its contents over a nanoGPT checkout' },
      name: { type: 'string', help: "names data/NAME, out-NAME and config/train_NAME.py (default: from the run's corpus)" },
      gpus: { type: 'number', help: "GPUs to split the run's batch over (torchrun --nproc_per_node); the batch stays whole", default: '1' },
      steps: {
        type: 'number',
        help: "where nanoGPT stops (max_iters), the cosine stretched to it as train --resume --steps does (default: the run's own)",
      },
      corpus: {
        type: 'string',
        help: "the run's text, when it is not the bundled or synthetic corpus or the file the checkpoint names (checked by SHA-256)",
      },
      torch: {
        type: 'string',
        help: 'PyTorch major version nanoGPT runs on: 2, or 1 (its model then keeps a causal-mask buffer per layer)',
        default: '2',
      },
    },
  },
  baseline: {
    help: 'val cross-entropy of a smoothed character n-gram: the score a model must beat',
    flags: {
      corpus: {
        ...TRAIN_FLAGS.corpus,
        help: `${TRAIN_FLAGS.corpus.help}; train's split: counts from the first 90%, scored on the last 10%`,
      },
      order: {
        type: 'number',
        help: `characters per n-gram, 1 to ${MAX_ORDER} (1 unigram, 2 bigram, 3 trigram, …); scores val characters max(2, order)..L, each with its full context (like score, never the first)`,
        default: '2',
      },
      smoothing: { type: 'string', help: 'laplace (add-1) | addk (add --k)', default: 'laplace' },
      k: { type: 'number', help: 'pseudo-count k > 0 for --smoothing addk (default 1); laplace is k = 1 and takes no other' },
    },
  },
} satisfies Record<string, { help: string; flags: Record<string, FlagSpec> }>;

export type Command = keyof typeof COMMANDS;
type FlagsOf<C extends Command> = (typeof COMMANDS)[C]['flags'];

export function isCommand(name: string): name is Command {
  return Object.hasOwn(COMMANDS, name);
}

export function usage(command?: Command): string {
  if (!command) {
    const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(14)} ${c.help}`);
    return `usage: npm run cli -- <command> [flags]\n\ncommands:\n${lines.join('\n')}\n\nnpm run cli -- <command> --help for its flags`;
  }
  const flags = Object.entries(COMMANDS[command].flags as Record<string, FlagSpec>).map(
    ([name, f]) => `  --${name.padEnd(14)} ${f.help}${f.default !== undefined ? ` (default ${JSON.stringify(f.default)})` : ''}`,
  );
  return `usage: npm run cli -- ${command} [flags]\n\n${COMMANDS[command].help}\n\nflags:\n${flags.join('\n')}`;
}

/** Decimal notation: 12, -3, 0.5, .5, 5., 1e-3, +2. Not 0x10, 0b11, 0o7, Infinity, NaN, '' or ' 1'. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A number written in decimal, or NaN for anything else (other notations, and decimals too large for a double). */
export function parseDecimal(text: string): number {
  if (!DECIMAL.test(text)) return NaN;
  const v = Number(text);
  return Number.isFinite(v) ? v : NaN;
}

/** The value of numeric flag `--flag`: every number any command reads from a flag comes through here. */
export function numberFlag(text: string, flag: string): number {
  const v = parseDecimal(text);
  if (!Number.isNaN(v)) return v;
  if (DECIMAL.test(text) || /^[+-]?Infinity$/.test(text))
    throw new UsageError(`--${flag} must be a finite number, got ${JSON.stringify(text)}`);
  if (/^\s*[+-]?0[box]/i.test(text)) throw new UsageError(`--${flag} must be a number written in decimal, got ${JSON.stringify(text)}`);
  throw new UsageError(`--${flag} must be a number, got ${JSON.stringify(text)}`);
}

type ValueOf<S extends FlagSpec> = S['type'] extends 'number' ? number : S['type'] extends 'boolean' ? boolean : string;
/** A command's flag values: numbers for numeric flags, and defined wherever the flag has a default. */
export type FlagValues<F extends Record<string, FlagSpec>> = {
  [K in keyof F]: F[K] extends { default: string } ? ValueOf<F[K]> : ValueOf<F[K]> | undefined;
};

export interface ParsedFlags<C extends Command> {
  values: FlagValues<FlagsOf<C>>;
  /** Each flag with a value as the user typed it (or its default), for messages that quote it. */
  text: Partial<Record<keyof FlagsOf<C> & string, string>>;
  /** The flags the user typed, as opposed to defaults: a resumed run refuses settings it would ignore. */
  explicit: Set<string>;
  help: boolean;
}

/**
 * A value that starts with a dash but is a number (`--lr -1`, `--k -0.5`): taken as the value, and
 * its own check says what is wrong with it. Any other dash after a flag that wants a value is a
 * forgotten value (`--save --steps 3`), not a file or a prompt called "--steps".
 */
const NEGATIVE = /^-(\d|\.\d|Infinity$|NaN$)/;

/**
 * The one flag parser: `--name value`, `--name=value`, `--switch`, `--help`/`-h`. Unknown flags,
 * missing values and stray arguments are refused; numeric flags (and their defaults) are read
 * by numberFlag; a flag given twice is refused (which one was meant?).
 */
export function parseFlags<C extends Command>(command: C, args: string[]): ParsedFlags<C> {
  const specs = COMMANDS[command].flags as Record<string, FlagSpec>;
  const given = new Map<string, string | true>();
  let help = false;
  let stray: string | undefined; // refused after the loop, so that --help anywhere still shows the flags
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (/^-[^-]/.test(arg) && !NEGATIVE.test(arg))
      throw new UsageError(
        `unknown flag ${arg} for ${command}; flags look like --name value (npm run cli -- ${command} --help lists them)`,
      );
    if (!arg.startsWith('--') || arg === '--') {
      stray ??= arg;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (!Object.hasOwn(specs, name))
      throw new UsageError(`unknown flag --${name} for ${command} (npm run cli -- ${command} --help lists them)`);
    if (given.has(name)) throw new UsageError(`--${name} is given twice; give it once`);
    if (specs[name].type === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} is a switch and takes no value, got ${JSON.stringify(arg.slice(eq + 1))}`);
      given.set(name, true);
      continue;
    }
    const value = eq < 0 ? args[i + 1] : arg.slice(eq + 1);
    if (eq < 0) {
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      if (/^-./.test(value) && !NEGATIVE.test(value))
        throw new UsageError(`--${name} needs a value, got the flag ${value} (a value that starts with a dash goes as --${name}=${value})`);
      i++;
    }
    given.set(name, value);
  }
  const explicit = new Set(given.keys());
  if (help) return { values: {} as FlagValues<FlagsOf<C>>, text: {}, explicit, help }; // the caller prints the flags and stops
  if (stray !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(stray)}; flags look like --name value`);
  const values: Record<string, string | number | boolean | undefined> = {};
  const text: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const v = given.get(name) ?? spec.default;
    if (typeof v === 'string') text[name] = v;
    values[name] = spec.type === 'number' && typeof v === 'string' ? numberFlag(v, name) : v;
  }
  return { values: values as FlagValues<FlagsOf<C>>, text: text as ParsedFlags<C>['text'], explicit, help };
}

/** A flag with no default that the command cannot do without. */
export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UsageError(`--${flag} is required`);
  if (value === '') throw new UsageError(`--${flag} is empty`);
  return value;
}

export function sampling(raw: string): Sampling {
  if (raw !== 'random' && raw !== 'sequential') throw new UsageError(`--sampling must be random or sequential, got ${JSON.stringify(raw)}`);
  return raw;
}

/** The backends Node has: WebGL is the browser's (the app offers it), and tfjs has none for Node. */
export function backendChoice(raw: string): BackendChoice {
  if (raw === 'auto' || raw === 'webgpu' || raw === 'wasm' || raw === 'cpu') return raw;
  if (raw === 'webgl')
    throw new UsageError('--backend webgl runs only in a browser (the app); in the terminal use auto, webgpu, wasm or cpu');
  throw new UsageError(`--backend must be auto, webgpu, wasm or cpu, got ${JSON.stringify(raw)}`);
}

/** The flag each config field comes from, so an issue names what the user typed. */
export const FIELD_FLAGS = {
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
} satisfies Partial<Record<keyof ModelConfig | keyof TrainConfig, keyof typeof TRAIN_FLAGS>>;

const trainFlagOf = (field: string): string | undefined => (FIELD_FLAGS as Record<string, string>)[field];

/**
 * Refuses the flags behind `issues` (exit 2), worded in flags: each config name in a message
 * becomes the flag it comes from ("--min-lr (1) must not exceed --lr (0.003)"), and a message
 * about another setting is led by its flag and value ("--heads 3: --embd (16) must be divisible by
 * --heads (3)"). `flagOf` says which flag a field comes from (train's, by default); a field it has
 * no flag for keeps its config name.
 */
export function refuseFlags(
  issues: ConfigIssue[],
  text: Record<string, string | undefined>,
  flagOf: (field: string) => string | undefined = trainFlagOf,
) {
  if (issues.length === 0) return;
  const lines = issues.map((i) => {
    const flag = flagOf(i.field);
    const message = renameFields(i.message, (field) => {
      const f = flagOf(field);
      return f ? `--${f}` : undefined;
    });
    if (!flag || message.startsWith(`--${flag} `)) return message;
    return `--${flag} ${String(text[flag])}: ${message}`;
  });
  throw new UsageError(lines.join('; '));
}

/** Every command's --seed has train's limits (a whole number from 0 to 2^32 − 1), decided by the one validator. */
export function checkSeed(seed: number, text: Record<string, string | undefined>) {
  refuseFlags(
    validateTrainConfig({ ...defaultTrainConfig, seed }).filter((i) => i.field === 'seed'),
    text,
  );
}

/** A flag that counts something: a whole number from `min` to `max`. */
export function checkWhole(value: number, flag: string, min: number, max = Infinity) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${flag} must be a whole number ${max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`}, got ${value}`);
  }
}
