/**
 * What the page knows about the training worker and its run, as Svelte state. The worker's
 * events are the only writers; the components read, and call the methods to send commands.
 * This file decides what each command sends and what each event changes; the concerns around it
 * live beside it:
 * - run-view.ts: what a run looks like on the page, and how run events change it (a pure reducer);
 * - run-checkpoints.svelte.ts: autosaves into IndexedDB, and the latest few kept in memory;
 * - run-recovery.svelte.ts: faults, restarts and rollbacks;
 * - sampler.svelte.ts: the sample streaming in;
 * - worker-link.ts: requests answered by id, crashes and pings.
 */
import type { ModelConfig, TrainConfig } from '../core/config.ts';
import type { BackendChoice, BackendInfo, CorpusMessage, FromWorker, Score } from '../../workers/protocol.ts';
import type { CorpusSource } from './corpus.svelte.ts';
import { Inside } from './inspect.svelte.ts';
import { emptyView, reduceRun, withoutHistory, withoutRun, type RunView, type Status } from './run-view.ts';
import { newKey, RunCheckpoints, storedCorpus, type KeptCheckpoint, type SavedCheckpoint } from './run-checkpoints.svelte.ts';
import { RunRecovery } from './run-recovery.svelte.ts';
import { Pace } from './progress.ts';
import { Sampler, type SampleRequest } from './sampler.svelte.ts';
import { WorkerLink } from './worker-link.ts';

export type { Status } from './run-view.ts';
export type { Fault } from './faults.ts';
export type { SampleRequest } from './sampler.svelte.ts';

/** What a run was started with: a restart without a checkpoint starts it again. */
export interface StartRequest {
  corpus: CorpusMessage;
  model: Omit<ModelConfig, 'vocabSize'>;
  train: TrainConfig;
  source: CorpusSource; // how a saved copy of this run finds its corpus again
}

export class RunState {
  /** What the user asked for; 'auto' tries webgpu → wasm → webgl → cpu. */
  backendChoice = $state<BackendChoice>('auto');
  /** What the worker runs on; null until it reports. */
  backend = $state<BackendInfo | null>(null);
  /** The run as the worker reported it (run-view.ts); read through the getters below. */
  view = $state.raw<RunView>(emptyView);
  /** The last init, start or training failure, in the worker's words. */
  error = $state<string | null>(null);
  /** Pause while the tab is hidden and resume when it shows again (otherwise training goes on). */
  pauseWhenHidden = $state(false);
  /** Milliseconds per step over the last minute of training (progress.ts), or null while it settles. */
  pace = $state<number | null>(null);
  readonly #pace = new Pace();

  /** The latest sample, as it streams in. */
  readonly sample = new Sampler();
  /** Autosaves, saved runs, and the checkpoints a restart or rollback returns to. */
  readonly checkpoints: RunCheckpoints = new RunCheckpoints({
    current: () => {
      const { info, status } = this.view;
      if (!info || status === 'error' || status === 'idle') return null;
      return { info, step: this.step };
    },
    save: () => this.save(),
    recovered: () => this.recovery.recovered(),
  });
  /** Faults, restarts and rollbacks. */
  readonly recovery: RunRecovery = new RunRecovery(this);
  /** Inside the model: attention maps, loss by position, the in-context probe (inspect.svelte.ts). */
  readonly inside: Inside = new Inside((make) => this.#link.request(make));

  get status(): Status {
    return this.view.status;
  }
  set status(status: Status) {
    this.view = { ...this.view, status };
  }
  get info() {
    return this.view.info;
  }
  get maxSteps() {
    return this.view.maxSteps;
  }
  get startStep() {
    return this.view.startStep;
  }
  get lastStep() {
    return this.view.lastStep;
  }
  get lastEval() {
    return this.view.lastEval;
  }
  get lastBatch() {
    return this.view.lastBatch;
  }
  /** The gradient noise scale's measurements of the current run (src/core/noise-scale.ts). */
  get noise() {
    return this.view.noise;
  }
  get summary() {
    return this.view.summary;
  }
  get stoppedEarly() {
    return this.view.stoppedEarly;
  }
  get runs() {
    return this.view.runs;
  }
  /** The step the model is at: its latest step, or for a run just loaded, its checkpoint's. */
  get step(): number {
    return this.view.lastStep?.step ?? this.view.startStep;
  }
  get revision() {
    return this.view.revision;
  }

  /** A run is under way: the backend cannot change and Train is off. */
  readonly busy = $derived(this.status === 'starting' || this.status === 'training' || this.status === 'paused');
  /** The worker holds a model (trained, training or paused) and no sample is streaming. */
  readonly canSample = $derived((this.status === 'training' || this.status === 'paused' || this.status === 'done') && !this.sample.busy);

  /** What the current run was started with (null for a run loaded from a checkpoint). */
  lastStart: StartRequest | null = null;
  /** The backend the current run last trained on. */
  trainedOn: BackendInfo['name'] | null = null;

  #link: WorkerLink;
  #crashed = false; // the worker is gone: the next start makes a new one
  #ready: { resolve: () => void; reject: (e: Error) => void } | null = null; // a relaunch waits for the new worker
  #pinger: ReturnType<typeof setInterval>;
  // Set by a restart's load: the next 'run' continues the current record and keeps these checkpoints.
  #continuing: KeptCheckpoint[] | null = null;
  #statusBeforeStart: Status = 'idle'; // where a refused start returns to
  #loadId: number | null = null; // a load in progress: its promise settles on 'paused' or its error

  /** Starts the worker on `backend` (a link may name one). */
  constructor(backend: BackendChoice = 'auto') {
    this.backendChoice = backend;
    this.#link = this.#spawn(backend);
    this.#pinger = setInterval(() => this.#beat(), this.#link.heartbeat.opts.intervalMs);
  }

  /** A new worker on another backend; the current run, if any, goes with the old one. */
  setBackend(choice: BackendChoice) {
    if (this.busy) return;
    this.#link.close('the backend changed');
    this.#clearRun();
    this.sample.abandon();
    this.backend = null;
    this.error = null;
    this.recovery.fault = null;
    this.status = 'idle';
    this.backendChoice = choice;
    this.#link = this.#spawn(choice);
  }

  start(corpus: CorpusMessage, model: Omit<ModelConfig, 'vocabSize'>, train: TrainConfig, source: CorpusSource) {
    if (this.busy) return;
    if (this.#crashed) this.setBackend(this.backendChoice);
    this.#statusBeforeStart = this.status;
    this.status = 'starting';
    this.error = null;
    this.recovery.started();
    this.lastStart = { corpus, model, train, source };
    this.checkpoints.next = { key: newKey(), corpus: storedCorpus(corpus, source), message: corpus, source };
    this.#link.post({ type: 'start', corpus, model, train });
  }

  /** A checkpoint of the run as it stands (while training: after a whole step, and training goes on). */
  save(): Promise<SavedCheckpoint> {
    return this.#link.request<SavedCheckpoint>((id) => ({ type: 'save', id })).answer;
  }

  /**
   * Replaces the run (not while it trains) with a checkpoint's, paused at its step (resume) or at
   * step 0 (finetune, with `train`); settles once the worker has it. `key` continues a saved
   * run's store entry instead of starting a new one; `continuing` (a restart) continues the
   * current run's curve and keeps these checkpoints.
   */
  load(
    bytes: Uint8Array,
    corpus: CorpusMessage,
    mode: 'resume' | 'finetune',
    train: TrainConfig | undefined,
    opts: { source: CorpusSource; key?: string; lrScale?: number; continuing?: KeptCheckpoint[] },
  ): Promise<void> {
    if (this.status === 'training' || this.status === 'starting')
      return Promise.reject(new Error('a run is training: pause or stop it before loading a checkpoint'));
    if (this.#loadId !== null) return Promise.reject(new Error('a checkpoint is loading already'));
    if (this.#crashed) this.setBackend(this.backendChoice);
    this.#statusBeforeStart = this.status;
    this.status = 'starting';
    this.error = null;
    const { source, key } = opts;
    this.checkpoints.next = {
      key: key ?? newKey(),
      corpus: storedCorpus(corpus, source),
      stored: key !== undefined,
      message: corpus,
      source,
    };
    this.#continuing = opts.continuing ?? null;
    const { id, answer } = this.#link.request<void>((id) => ({ type: 'load', id, bytes, corpus, mode, train, lrScale: opts.lrScale }));
    this.#loadId = id;
    return answer.finally(() => (this.#continuing = null));
  }

  /** Steps the run has taken since its last save in this browser: what closing the tab now would lose. */
  get unsavedSteps(): number {
    if (!this.checkpoints.entry || (this.status !== 'training' && this.status !== 'paused')) return 0;
    const step = this.step;
    return Math.max(0, step - (this.checkpoints.lastAutosave?.step ?? this.startStep));
  }

  pause() {
    if (this.status === 'training') this.#link.post({ type: 'pause' });
  }

  resume() {
    if (this.status !== 'paused') return;
    this.status = 'training';
    this.#link.heartbeat.progressed(Date.now());
    this.#restartPace(); // the pause is not training time
    this.#link.post({ type: 'resume' });
  }

  stop() {
    if (this.status === 'training' || this.status === 'paused') this.#link.post({ type: 'stop' });
  }

  /** Frees the model in the worker. */
  reset() {
    if (this.status === 'starting') return;
    this.#link.post({ type: 'reset' });
  }

  generate({ prompt, length, temperature, seed }: SampleRequest) {
    if (!this.canSample) return;
    this.#link.post({ type: 'sample', id: this.sample.begin(prompt), prompt, length, temperature, seed });
  }

  /** How probable `text` is under the current model. */
  score(text: string): Promise<Score> {
    return this.#link.request<Score>((id) => ({ type: 'score', id, text })).answer;
  }

  /** The model's next-character distribution after `prompt`, at temperature 1, indexed like info.vocab. */
  nextDistribution(prompt: string): Promise<number[]> {
    return this.#link.request<number[]>((id) => ({ type: 'probs', id, prompt })).answer;
  }

  /** Forgets the curves of finished runs (the current run's stay). */
  clearHistory() {
    this.view = withoutHistory(this.view, this.busy || this.info !== null);
  }

  /**
   * Ends the worker, whatever it is doing (its run with it), and starts a fresh one on `choice`;
   * settles when it is ready, or fails when its backend does not start. For a restart.
   */
  relaunch(choice: BackendChoice): Promise<void> {
    this.#link.close('the worker was restarted');
    this.#loadId = null;
    this.sample.abandon();
    this.backend = null;
    this.error = null;
    this.status = 'starting';
    this.#ready?.reject(new Error('another worker was started'));
    return new Promise<void>((resolve, reject) => {
      this.#ready = { resolve, reject };
      this.#link = this.#spawn(choice);
    });
  }

  /** The run cannot go on: `message` says why. */
  failed(message: string) {
    this.error = message;
    this.status = 'error';
  }

  /** Watches the worker afresh, as if it had just started (the user chose to keep waiting). */
  rewatch() {
    this.#link.heartbeat.reset(Date.now());
  }

  dispose() {
    clearInterval(this.#pinger);
    this.#link.close('the page closed the worker');
  }

  #spawn(choice: BackendChoice): WorkerLink {
    this.#crashed = false;
    return new WorkerLink(choice, {
      onEvent: this.#onEvent,
      onCrash: this.#onCrash,
      onUnreadable: (message) =>
        this.#onEvent({ type: 'error', during: 'train', message, fault: 'error', step: this.lastStep?.step ?? null }),
    });
  }

  /** Pings the worker, and tells the recovery how it sounds. */
  #beat() {
    if (this.#crashed || this.recovery.recovering) return;
    const now = Date.now();
    this.#link.ping();
    const { heartbeat } = this.#link;
    const health = heartbeat.check(now, this.status === 'training');
    this.recovery.heard(health, () => (health === 'ok' ? 0 : heartbeat.silentFor(now, health)));
  }

  // Arrow functions: handed to the worker link as callbacks. The link has closed itself on a crash.
  #onCrash = (message: string) => {
    this.#crashed = true;
    this.#loadId = null;
    this.#ready?.reject(new Error(message));
    this.#ready = null;
    this.backend = null;
    this.sample.abandon();
    const canRestart = this.recovery.crashed(message);
    this.failed(`${message}.${canRestart ? '' : ' Train starts a new worker.'}`);
  };

  #restartPace() {
    this.#pace.restart();
    this.pace = null;
  }

  #clearRun() {
    this.view = withoutRun(this.view);
    this.sample.clear();
    this.checkpoints.clear();
    this.inside.clear();
    this.trainedOn = null;
  }

  #onEvent = (msg: FromWorker) => {
    switch (msg.type) {
      case 'ready':
        this.backend = { name: msg.backend, adapter: msg.adapter, skipped: msg.skipped };
        this.#ready?.resolve();
        this.#ready = null;
        break;
      case 'pong': // the link answers pings itself
        break;
      case 'run': {
        const continuing = this.#continuing;
        const next = this.checkpoints.next;
        this.#clearRun();
        this.view = reduceRun(this.view, msg, continuing !== null);
        // A restart: the same run goes on, with the checkpoints it had up to this step.
        if (continuing) this.checkpoints.carryOver(continuing, msg.step);
        this.checkpoints.entry = next;
        this.checkpoints.next = null;
        this.trainedOn = this.backend?.name ?? null;
        this.#link.heartbeat.progressed(Date.now());
        this.#restartPace();
        break;
      }
      case 'step': {
        this.#link.heartbeat.progressed(Date.now(), msg.ms);
        this.view = reduceRun(this.view, msg);
        this.pace = this.#pace.observe(msg.step, Date.now());
        const every = this.checkpoints.autosaveEvery;
        if (every > 0 && msg.step % every === 0) void this.checkpoints.autosave();
        else this.checkpoints.shadow(Date.now()); // what a reload or a closed tab would write
        break;
      }
      case 'eval':
        this.view = reduceRun(this.view, msg);
        this.inside.evaluated();
        break;
      case 'noise':
        this.view = reduceRun(this.view, msg);
        break;
      case 'paused':
        this.view = reduceRun(this.view, msg);
        if (this.#loadId !== null) {
          // The end of a load. A run resumed from the store is there already; one from a file is kept too.
          if (this.checkpoints.entry?.stored) this.checkpoints.lastAutosave = { step: msg.step, date: Date.now() };
          this.#link.settle(this.#loadId, { value: undefined });
          this.#loadId = null;
          this.inside.evaluated(); // a loaded model: no evaluation is coming to ask for it
        }
        void this.checkpoints.autosave();
        break;
      case 'done':
        this.view = reduceRun(this.view, msg);
        void this.checkpoints.autosave();
        break;
      case 'reset':
        this.#clearRun();
        this.view = reduceRun(this.view, msg);
        break;
      case 'saved':
        this.#link.settle(msg.id, { value: { bytes: msg.bytes, step: msg.step, valLoss: msg.valLoss, valStep: msg.valStep, ms: msg.ms } });
        break;
      case 'sampleToken':
        this.sample.token(msg.id, msg.text);
        break;
      case 'sampleDone':
        this.sample.done(msg.id);
        break;
      case 'scored':
        this.#link.settle(msg.id, { value: msg.score });
        break;
      case 'probs':
        this.#link.settle(msg.id, { value: msg.probs });
        break;
      case 'inspected':
        this.#link.settle(msg.id, { value: msg.inspection });
        break;
      case 'error':
        this.#onError(msg);
        break;
      default:
        msg satisfies never;
    }
  };

  #onError(msg: Extract<FromWorker, { type: 'error' }>) {
    switch (msg.during) {
      case 'init':
        this.failed(msg.message);
        this.#ready?.reject(new Error(msg.message));
        this.#ready = null;
        break;
      case 'train': {
        const training = this.status === 'training';
        this.failed(msg.message);
        this.recovery.trainFailed(msg, training); // which may restart the run at once
        break;
      }
      case 'start':
        // The worker kept what it had: a refused start changes nothing but the message.
        this.error = msg.message;
        this.status = this.#statusBeforeStart;
        break;
      case 'sample':
        this.sample.failed(msg.id, msg.message);
        break;
      case 'score':
      case 'probs':
      case 'inspect':
      case 'save':
        this.#link.settle(msg.id, { error: msg.message });
        break;
      case 'load':
        // Refused: the worker kept its run, and the page keeps its status.
        this.status = this.#statusBeforeStart;
        this.checkpoints.next = null;
        if (msg.id === this.#loadId) this.#loadId = null;
        this.#link.settle(msg.id, { error: msg.message });
        break;
      default:
        msg satisfies never;
    }
  }
}
