/**
 * Every CLI command: its one-line help and its flags, in one table (exported, so tests name flags
 * from it), and the usage text made from it. flags.ts reads the flags a command is given.
 */
import { defaultModelConfig, defaultTrainConfig, type ModelConfig, type TrainConfig } from '../core/config.ts';
import { DEFAULT_SIZES, DEFAULT_WARMUP_FRACTION } from '../core/sweep.ts';

/** A sweep's token budget per model unless --tokens or --tokens-per-param says otherwise. */
export const DEFAULT_SWEEP_TOKENS = 200_000;
/** The most resamples fit's --bootstrap takes: 10,000 already pins a 95% interval's ends. */
export const MAX_BOOTSTRAP = 10_000;
/** The highest n-gram order baseline takes; past about 8, few vocabularies stay within a double's exact indices anyway. */
export const MAX_ORDER = 16;

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
  'force',
] as const;
/** RESUME_FLAGS as the help and errors list them: the settings of the run, not --resume itself or --corpus. */
export const RESUMABLE = RESUME_FLAGS.filter((f) => f !== 'resume' && f !== 'corpus' && f !== 'force')
  .map((f) => `--${f}`)
  .join(', ');

/** --jobs, for the commands that train several models. */
const JOBS_FLAG = {
  type: 'number',
  help: 'models trained at once, each in a worker thread with its own backend (default: the cores, at most the models; webgpu: 1, one GPU); the results are those of --jobs 1',
} as const;

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
  force: {
    type: 'boolean',
    help: 'with --save, replace the checkpoint of another run that is at that path (without it, such a --save is refused)',
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
  task: {
    type: 'string',
    help: "after each evaluation, also score a task's held-out problems and print a task line (see eval --help): arith, instruct or memo, with keys, the spec of --corpus",
  },
  'task-n': { type: 'number', help: 'with --task: held-out problems scored at each evaluation (a seeded choice)', default: '50' },
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
  eval: {
    help: "a checkpoint's score on a task's held-out problems: exact match, per-character accuracy and the answer's nats",
    flags: {
      checkpoint: { type: 'string', help: 'checkpoint file written by train --save' },
      task: {
        type: 'string',
        help: 'the task: arith, instruct or memo, with keys (arith:digits=3,scratchpad=1); the spec its corpus was trained on',
      },
      n: { type: 'number', help: 'held-out problems to score (a seeded choice; all of them when there are fewer)', default: '200' },
      seed: { type: 'number', help: 'which problems (0 to 4294967295)', default: '0' },
      items: { type: 'boolean', help: 'also print every problem: prompt, answer, output, correct, answerNats' },
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
      task: {
        ...TRAIN_FLAGS.task,
        help: "score a task's held-out problems at every point (each point line gets a task field): the spec of --corpus",
      },
      'task-n': { ...TRAIN_FLAGS['task-n'], help: 'with --task: held-out problems scored at every point (the same ones each time)' },
      backend: TRAIN_FLAGS.backend,
      jobs: JOBS_FLAG,
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
      jobs: JOBS_FLAG,
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
export type FlagsOf<C extends Command> = (typeof COMMANDS)[C]['flags'];

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
