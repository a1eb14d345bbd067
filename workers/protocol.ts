/**
 * The messages between the page and the training worker. Types only: the page imports this
 * file with `import type`, so nothing from tfjs ever reaches the main thread.
 *
 * One worker trains one run at a time on one backend. The page sends `init` once, right after
 * creating the worker; to change the backend it terminates the worker and creates a new one,
 * which frees every tensor and GPU buffer of the old backend at once.
 */
import type { ModelConfig, TrainConfig } from '../src/core/config.ts';
import type { ChinchillaPoint, Interval } from '../src/core/fit.ts';
import type { NoiseEvent } from '../src/core/noise-scale.ts';
import type { ChinchillaLaw } from '../src/core/scaling.ts';
import type { BackendChoice, BackendInfo } from './backend.ts';
import type { RunHistory } from './checkpoint.ts';
import type { Score } from './sample.ts';
import type { ModelShape, SweepConfig, SweepPoint } from '../src/core/sweep.ts';
import type { EvalEvent, StepBatch, StepEvent, TrainSummary } from './train.ts';
import type { InspectRequest, Inspection } from './inspect.ts';

export type { BackendChoice, BackendInfo, EvalEvent, RunHistory, Score, StepBatch, StepEvent, TrainSummary };
export type { NoiseEvent };
export type { ChinchillaLaw, ChinchillaPoint, Interval, ModelShape, SweepConfig, SweepPoint };
export type { InspectRequest, Inspection };

/** A corpus as the page sends it; a synthetic one knows its true entropy rate. */
export interface CorpusMessage {
  name: string;
  text: string;
  entropyRate?: number; // nats per character, exact: the floor no model can beat
}

/** page → worker */
export type ToWorker =
  /**
   * Picks the tfjs backend (webgpu → wasm → webgl → cpu for 'auto'); answered by 'ready'.
   * `wasmThreads`: the threads wasm may take (default every core), for workers that share the cores.
   */
  | { type: 'init'; backend: BackendChoice; wasmThreads?: number }
  /**
   * Replaces a paused or finished run (or none) with a new one and trains it; answered by 'run'
   * with this id, or refused by an 'error' during 'start' (the worker keeps what it had). A
   * training run must be stopped or paused first.
   */
  | { type: 'start'; id: number; corpus: CorpusMessage; model: Omit<ModelConfig, 'vocabSize'>; train: TrainConfig }
  /** Stops between two steps and keeps the model; answered by 'paused'. */
  | { type: 'pause' }
  /** Continues a paused run where it stopped (same step, optimizer state and data order). */
  | { type: 'resume' }
  /** Ends the run early, evaluates the model as it is, and answers 'done' with stopped: true. */
  | { type: 'stop' }
  /** Frees the run (model, optimizer state); answered by 'reset'. */
  | { type: 'reset' }
  /** Streams `length` characters after `prompt` as 'sampleToken' messages, then 'sampleDone'. */
  | { type: 'sample'; id: number; prompt: string; length: number; temperature: number; seed: number }
  /** Scores `text` (its first character is given); answered by 'scored'. */
  | { type: 'score'; id: number; text: string }
  /** The model's next-character distribution after `prompt` (T = 1); answered by 'probs'. */
  | { type: 'probs'; id: number; prompt: string }
  /** The model from inside (attention maps, loss by position, the in-context probe, the embedding map); answered by 'inspected'. */
  | { type: 'inspect'; id: number; request: InspectRequest }
  /**
   * Saves the run as a checkpoint (safetensors bytes, resumable here and by the CLI); answered by
   * 'saved'. While training, the loop saves between two steps and goes on. The worker keeps the
   * run's history itself: the page's copy trails the steps still in flight.
   */
  | { type: 'save'; id: number }
  /**
   * Replaces the current run (not while it trains) with a checkpoint's, then answers 'run' (with
   * this id) and 'paused'. resume: the same corpus (checked by sha256) and the checkpoint's own training
   * config, at its step (`train`, if given, only sets maxSteps; `lrScale` multiplies its
   * learningRate and minLr: a run rolled back after diverging goes on at a lower rate);
   * finetune: its weights, the vocabulary grown to the corpus's, and a fresh optimizer with
   * `train`, at step 0.
   */
  | {
      type: 'load';
      id: number;
      bytes: Uint8Array;
      corpus: CorpusMessage;
      mode: 'resume' | 'finetune';
      train?: TrainConfig;
      lrScale?: number;
    }
  /** Answered at once by 'pong' from the message handler: a worker that does not answer is stuck. */
  | { type: 'ping'; id: number };

/** A checkpoint as 'saved' brings it. */
export type Saved = Omit<Extract<FromWorker, { type: 'saved' }>, 'type' | 'id'>;

/**
 * What each request is answered with, by its message type: the page's promises are typed by this,
 * and an answer of another kind never settles a request.
 */
export interface Answers {
  start: RunInfo; // 'run'
  load: number; // 'paused': the step the loaded run waits at
  save: Saved;
  score: Score;
  probs: number[];
  inspect: Inspection;
}

/** A loss to compare the model with, drawn as a line across the chart. */
export interface ReferenceLoss {
  label: string; // "entropy floor", "bigram (Laplace)"
  nats: number; // nats per character on the validation split
  kind: 'floor' | 'baseline'; // floor: no model can beat it; baseline: a model should
}

/** page → corpus worker: a user's file to decode and count. */
export interface CorpusRequest {
  file: File;
}

/** corpus worker → page: the text and its counts, or why it cannot be used. */
export type CorpusReply = { ok: true; text: string; characters: number; vocabSize: number } | { ok: false; message: string };

/** What a new run is, sent once its tensors exist. */
export interface RunInfo {
  corpus: string; // the corpus's name, as the page sent it
  vocabSize: number; // distinct characters of the corpus
  params: number; // all parameters, embeddings included
  nonEmbeddingParams: number; // what scaling laws count
  trainChars: number; // characters in the train split
  valChars: number; // characters in the held-out split
  vocab: string[]; // id → character
  blockSize: number; // context length: each minibatch row covers this many characters
  tokensPerStep: number; // batch × ctx
  flopsPerStep: number; // training FLOPs per step (Kaplan: 6·N + attention, per token)
  sampling: TrainConfig['sampling'];
  maxSteps: number;
  nLayer: number;
  nEmbd: number;
  references: ReferenceLoss[]; // n-gram baselines on this split, and the entropy floor when the corpus has one
  config: { model: ModelConfig; train: TrainConfig }; // the run's settings: a loaded run's form shows them
}

/**
 * Why training stopped on an error, which decides what the page offers:
 * device: the GPU device was lost or reported an error (its results can no longer be trusted):
 *   a fresh worker resumes from the last checkpoint;
 * divergence: the loss became NaN or infinite: roll back to a checkpoint at a lower learning rate;
 * error: anything else.
 */
export type TrainFault = 'device' | 'divergence' | 'error';

/** Where a failure happened: the page shows init/start/train failures by the form, the rest by the sample box. */
export type WorkerError =
  | { type: 'error'; during: 'init'; message: string }
  /** step: where training stopped (a divergence's own step), or null when no run was training. */
  | { type: 'error'; during: 'train'; message: string; fault: TrainFault; step: number | null }
  | { type: 'error'; during: 'start' | 'sample' | 'score' | 'probs' | 'save' | 'load' | 'inspect'; id: number; message: string };

/** worker → page */
export type FromWorker =
  | { type: 'ready'; backend: BackendInfo['name']; adapter: string; skipped: BackendInfo['skipped']; capacity: BackendInfo['capacity'] }
  /** A new run, answering the start or load `id`; a loaded one brings its step and the curves saved with it. */
  | ({ type: 'run'; id: number; step: number; history: RunHistory } & RunInfo)
  /** A training step, with where its minibatch's rows start in the train split. */
  | (StepEvent & StepBatch)
  | EvalEvent
  /** The gradient noise scale, smoothed, after a measured step: every APP_NOISE_EVERY steps (src/core/noise-scale.ts). */
  | NoiseEvent
  | { type: 'paused'; step: number }
  /**
   * A run on a task's corpus (src/core/tasks.ts), scored on APP_TASK_PROBLEMS of its held-out
   * problems after each evaluation (workers/task-eval.ts); `error` where the scoring failed.
   */
  | TaskEvent
  /**
   * The training loop ended at `step` other than by a pause (its last step, a stop, a reset): the
   * final evaluation and 'done' follow, or 'reset'. The page stops waiting to end the worker.
   */
  | { type: 'halting'; step: number }
  /** The run reached maxSteps, or was stopped early (stopped: true); the model stays for sampling. */
  | { type: 'done'; summary: TrainSummary; stopped: boolean }
  | { type: 'reset' }
  | { type: 'sampleToken'; id: number; text: string }
  | { type: 'sampleDone'; id: number }
  | { type: 'scored'; id: number; score: Score }
  | { type: 'probs'; id: number; probs: number[] }
  | { type: 'inspected'; id: number; inspection: Inspection } // its attention weights' buffer is transferred
  /** A checkpoint of the run at `step` (its buffer is transferred); valLoss is the latest eval's, taken at valStep. */
  | { type: 'saved'; id: number; bytes: Uint8Array; step: number; valLoss: number | null; valStep: number | null; ms: number } // ms: the worker's time to make it
  | { type: 'pong'; id: number }
  | WorkerError;

/** A task's scores at a step of the run. */
export interface TaskEvent {
  type: 'task';
  step: number;
  task: string; // the spec
  n: number;
  exactMatch: number;
  charAccuracy: number;
  answerNats: number;
  trapRate?: number; // a task with traps (memo): the share of greedy lines that are the memorised wrong answer
  error?: string;
}

// ---------------------------------------------------------------------------------------------
// Sweeps and fits. A page runs them in a worker of its own (the same module), so the main run
// is untouched; they are separate unions so that a page handling only runs stays exhaustive.

/** What the sweep worker's requests are answered with: both end in events of their own, then settle empty. */
export interface SweepAnswers {
  sweep: void; // 'sweepDone'
  fit: void; // 'fitted'
}

/** page → sweep worker (after 'init', like a training worker). */
export type SweepToWorker =
  /**
   * Trains the ladder from `startModel` on (or only the models listed in `models`, one worker's
   * share of a sweep); answered by 'sweepPlan', then models, steps and points, then 'sweepDone'.
   */
  | { type: 'sweep'; id: number; corpus: CorpusMessage; config: SweepConfig; startModel: number; models?: number[] }
  /** Ends the sweep after the current step; 'sweepDone' says which model to resume from. */
  | { type: 'stopSweep' }
  /** Fits L(N, D) = E + A/N^α + B/D^β to `points` with bootstrap intervals, and predicts at `at`; answered by 'fitted'. */
  | {
      type: 'fit';
      id: number;
      points: ChinchillaPoint[];
      at: { N: number; D: number }[];
      samples: number;
      seed: number;
      plateau: number | null; // the corpus's unigram level: points at or above it are still on the initial plateau
    };

/**
 * A fitted law: the best fit, 95% bootstrap intervals of its parameters, whether the points pin it
 * down (src/core/identify.ts: the reasons when they do not), and prediction intervals: none from a
 * fit that is not identifiable.
 */
export interface FittedLaw {
  law: ChinchillaLaw;
  converged: boolean;
  identifiable: boolean;
  reasons: string[];
  intervals: Record<keyof ChinchillaLaw, Interval>;
  predictions: { N: number; D: number; loss: number; interval: Interval }[];
}

/** sweep worker → page */
export type SweepFromWorker =
  /** Steps, warm-up steps and non-embedding N of every model of the ladder (src/core/sweep.ts planSweep): the whole sweep's length. */
  | { type: 'sweepPlan'; id: number; steps: number[]; warmupSteps: number[]; N: number[]; vocabSize: number }
  | { type: 'sweepModel'; id: number; model: number; shape: ModelShape; N: number; steps: number }
  | { type: 'sweepStep'; id: number; model: number; step: number; loss: number }
  | { type: 'sweepPoint'; id: number; point: SweepPoint }
  /**
   * nextModel: the first model not trained to its end (the ladder's length when all were);
   * stopped: a model this request asked for was not trained to its end.
   */
  | { type: 'sweepDone'; id: number; stopped: boolean; nextModel: number }
  | ({ type: 'fitted'; id: number } & FittedLaw)
  | { type: 'sweepError'; id: number; during: 'sweep' | 'fit'; message: string };
