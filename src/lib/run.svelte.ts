/**
 * What the page knows about the training worker and its run, as Svelte state. The worker's
 * events are the only writers; the components read, and call the methods to send commands.
 * This file decides what each command sends and what each event changes; the concerns around it
 * live beside it:
 * - run-readings.svelte.ts: what the components read of the run, and what the user may do now;
 * - run-view.ts: what a run looks like on the page, and how run events change it (a pure reducer);
 * - run-checkpoints.svelte.ts: autosaves into IndexedDB, and the latest few kept in memory;
 * - run-recovery.svelte.ts: faults, restarts and rollbacks;
 * - sampler.svelte.ts: the sample streaming in;
 * - worker-link.ts: requests answered by id, crashes, pings and answers owed in time.
 * It stays one class of some 430 lines on purpose: it is the one writer of the run's state, and
 * every worker event lands in its one exhaustive switch beside the commands that await it.
 */
import type { ModelConfig, TrainConfig } from '../core/config.ts';
import type { BackendChoice, BackendInfo, CorpusMessage, FromWorker, RunInfo, Score, ToWorker } from '../../workers/protocol.ts';
import type { CorpusSource } from './corpus.svelte.ts';
import { Inside } from './inside.svelte.ts';
import { reduceRun, withoutHistory, withoutRun } from './run-view.ts';
import { RunReadings } from './run-readings.svelte.ts';
import { newKey, RunCheckpoints, storedCorpus, type Opening, type SavedCheckpoint, type StoreEntry } from './run-checkpoints.svelte.ts';
import { RunRecovery, type LoadOptions, type StartRequest } from './run-recovery.svelte.ts';
import { Pace } from './progress.ts';
import { STOP_DEADLINE_MS } from './faults.ts';
import type { SampleRequest } from './sampler.svelte.ts';
import { WorkerLink } from './worker-link.ts';

export type { Status } from './run-view.ts';
export type { Fault } from './faults.ts';
export type { SampleRequest } from './sampler.svelte.ts';

/** What shows the worker took a stop or reset: its loop ended, or nothing was training. */
const TAKEN: FromWorker['type'][] = ['halting', 'done', 'paused', 'reset', 'error'];

export class RunState extends RunReadings {
  readonly #pace = new Pace();

  /** Autosaves, saved runs, and the checkpoints a restart or rollback returns to. */
  readonly checkpoints: RunCheckpoints = new RunCheckpoints({
    current: () => {
      const { info, status } = this.view;
      if (!info || status === 'error' || status === 'idle') return null;
      return { info, step: this.step, backend: this.trainedOn };
    },
    save: () => this.save(),
    recovered: () => this.recovery.recovered(),
  });
  /** Faults, restarts and rollbacks. */
  readonly recovery: RunRecovery = new RunRecovery(this);
  /** Inside the model: attention maps, loss by position, the in-context probe (inside.svelte.ts). */
  readonly inside: Inside = new Inside((make) => this.#link.request(make));

  /** What the current run was started with (null for a run loaded from a checkpoint). */
  lastStart: StartRequest | null = null;
  /** The backend the current run last trained on. */
  trainedOn: BackendInfo['name'] | null = null;

  #link: WorkerLink;
  #crashed = false; // the worker is gone: the next start makes a new one
  #ready: { resolve: () => void; reject: (e: Error) => void } | null = null; // a relaunch waits for the new worker
  #opening: Opening | null = null; // the start or load the worker has not answered yet
  #halted: (() => void)[] = []; // waiting for training to halt (paused, done, failed or reset)

  /** Starts the worker on `backend` (a link may name one). */
  constructor(backend: BackendChoice = 'auto') {
    super();
    this.backendChoice = backend;
    this.#link = this.#spawn(backend);
  }

  /** A new worker on another backend; the current run, if any, goes with the old one. */
  setBackend(choice: BackendChoice) {
    if (!this.canChangeBackend) return;
    this.#clearRun();
    this.recovery.fault = null;
    this.status = 'idle';
    this.backendChoice = choice;
    this.#replaceWorker('the backend changed', choice);
  }

  /** Ends the worker, whatever it is doing (its tensors with it), and starts a fresh one on `choice`. */
  #replaceWorker(why: string, choice: BackendChoice) {
    this.#link.close(why); // its open requests fail with `why`
    this.#opening = null;
    this.sample.abandon();
    this.backend = null;
    this.error = null;
    this.#link = this.#spawn(choice);
  }

  /** Starts a new run; settles once the worker describes it, or fails with its refusal. */
  start(corpus: CorpusMessage, model: Omit<ModelConfig, 'vocabSize'>, train: TrainConfig, source: CorpusSource): Promise<RunInfo> {
    if (!this.canStart) return Promise.reject(new Error('a run is training: pause or stop it before starting another'));
    this.recovery.started();
    this.lastStart = { corpus, model, train, source };
    const entry = { key: newKey(), corpus: storedCorpus(corpus, source), message: corpus, source };
    const answer = this.#open((id) => ({ type: 'start', id, corpus, model, train }), entry, null);
    answer.catch(() => {}); // a refusal is shown by the form (error); a caller may await it as well
    return answer;
  }

  /** Sends a start or load: 'starting' until the worker answers; a refusal returns the page to where it was. */
  #open<M extends Extract<ToWorker, { type: 'start' | 'load' }>>(
    make: (id: number) => M,
    entry: StoreEntry,
    continuing: Opening['continuing'],
  ) {
    if (this.#crashed) this.setBackend(this.backendChoice);
    const before = this.status;
    this.status = 'starting';
    this.error = null;
    const { id, answer } = this.#link.request(make);
    this.#opening = { id, before, entry, continuing };
    return answer;
  }

  /** A checkpoint of the run as it stands (while training: after a whole step, and training goes on). */
  save(): Promise<SavedCheckpoint> {
    return this.#link.request((id) => ({ type: 'save', id })).answer;
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
    opts: LoadOptions,
  ): Promise<number> {
    if (this.#opening !== null) return Promise.reject(new Error('a run is starting or a checkpoint loading already'));
    if (!this.canLoad) return Promise.reject(new Error('a run is training: pause or stop it before loading a checkpoint'));
    const { source, key } = opts;
    const entry = { key: key ?? newKey(), corpus: storedCorpus(corpus, source), stored: key !== undefined, message: corpus, source };
    const load = (id: number) => ({ type: 'load' as const, id, bytes, corpus, mode, train, lrScale: opts.lrScale });
    return this.#open(load, entry, opts.continuing ?? null);
  }

  /** Steps the run has taken since its last save in this browser: what closing the tab now would lose. */
  get unsavedSteps(): number {
    return this.checkpoints.unsavedSteps(this.status === 'training' || this.status === 'paused', this.step, this.startStep);
  }

  /**
   * Trains an ended run (finished or stopped) or a loaded one at its last step on to step `to`: it
   * is saved as it stands and loaded back on the same curve with that length (the cosine stretches
   * over it, as the CLI's --resume --steps does), and training resumes.
   */
  async extend(to: number): Promise<void> {
    const entry = this.checkpoints.entry;
    const info = this.info;
    if (!this.canExtend || !entry || !info) throw new Error('there is no ended run to train on');
    if (!Number.isInteger(to) || to <= this.step) throw new RangeError(`train on to a whole step after ${this.step}`);
    const { bytes } = await this.save();
    const train = { ...info.config.train, maxSteps: to };
    await this.load(bytes, entry.message, 'resume', train, { source: entry.source, key: entry.key, continuing: this.checkpoints.all() });
    this.resume();
  }

  /** Asks the run to pause; settles once training has halted (paused, or ended another way). */
  pause(): Promise<void> {
    if (!this.canPause) return Promise.resolve();
    this.#link.post({ type: 'pause' });
    return new Promise((resolve) => this.#halted.push(resolve));
  }

  resume() {
    if (!this.canResume) return;
    this.status = 'training';
    this.#link.heartbeat.progressed(Date.now());
    this.#restartPace(); // the pause is not training time
    this.#link.post({ type: 'resume' });
  }

  /** Ends the run early; if the worker does not take it within STOP_DEADLINE_MS, the page ends the worker. */
  stop() {
    if (!this.canStop) return;
    this.#link.post({ type: 'stop' });
    this.#link.expect(TAKEN, STOP_DEADLINE_MS, () => this.#endWorker('stop'));
  }

  /** Frees the model in the worker (ending the worker, if it does not take the reset in time). */
  reset() {
    if (!this.canReset) return;
    this.#link.post({ type: 'reset' });
    this.#link.expect(TAKEN, STOP_DEADLINE_MS, () => this.#endWorker('reset'));
  }

  /**
   * The worker did not take a stop or reset in time: it is ended (its tensors with it) and a fresh
   * one started. A reset is then done; a stop is a fault that offers the latest checkpoint back.
   */
  #endWorker(what: 'stop' | 'reset') {
    const message = `the worker did not take the ${what} within ${STOP_DEADLINE_MS / 1000} s, so it was ended`;
    this.#replaceWorker(message, this.backendChoice);
    if (what === 'reset') {
      this.#clearRun();
      this.status = 'idle';
    } else {
      this.recovery.unstoppable(message);
      this.failed(message);
    }
  }

  /** Streams a sample from the model as it is now; `auto` marks one the page wrote at an evaluation, unasked. */
  generate({ prompt, length, temperature, seed }: SampleRequest, auto = false) {
    if (!this.canSample) return;
    this.#link.post({ type: 'sample', id: this.sample.begin(prompt, this.step, auto), prompt, length, temperature, seed });
  }

  /** How probable `text` is under the current model. */
  score(text: string): Promise<Score> {
    return this.#link.request((id) => ({ type: 'score', id, text })).answer;
  }

  /** The model's next-character distribution after `prompt`, at temperature 1, indexed like info.vocab. */
  nextDistribution(prompt: string): Promise<number[]> {
    return this.#link.request((id) => ({ type: 'probs', id, prompt })).answer;
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
    this.status = 'starting';
    this.#ready?.reject(new Error('another worker was started'));
    return new Promise<void>((resolve, reject) => {
      this.#ready = { resolve, reject };
      this.#replaceWorker('the worker was restarted', choice);
    });
  }

  /** The run cannot go on: `message` says why. */
  failed(message: string) {
    this.error = message;
    this.status = 'error';
    this.#halt();
  }

  /** Training has halted: whoever waits for a pause hears it. */
  #halt() {
    for (const resolve of this.#halted.splice(0)) resolve();
  }

  /** Watches the worker afresh, as if it had just started (the user chose to keep waiting). */
  rewatch() {
    this.#link.heartbeat.reset(Date.now());
  }

  dispose() {
    this.#link.close('the page closed the worker');
  }

  #spawn(choice: BackendChoice): WorkerLink {
    this.#crashed = false;
    return new WorkerLink(choice, {
      onEvent: this.#onEvent,
      onCrash: this.#onCrash,
      onUnreadable: (message) =>
        this.#onEvent({ type: 'error', during: 'train', message, fault: 'error', step: this.lastStep?.step ?? null }),
      // The recovery hears how the worker sounds, except while it is bringing up a fresh one.
      watch: {
        training: () => this.status === 'training',
        onHealth: (health, silentFor) => {
          if (!this.recovery.recovering) this.recovery.heard(health, silentFor);
        },
      },
    });
  }

  // Arrow functions: handed to the worker link as callbacks. The link has closed itself on a crash.
  #onCrash = (message: string) => {
    this.#crashed = true;
    this.#opening = null;
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
        this.backend = { name: msg.backend, adapter: msg.adapter, skipped: msg.skipped, capacity: msg.capacity };
        this.#ready?.resolve();
        this.#ready = null;
        break;
      case 'pong': // the link answers pings itself
        break;
      case 'run': {
        const opening = this.#opening?.id === msg.id ? this.#opening : null;
        const continuing = opening?.continuing ?? null;
        this.#clearRun();
        this.view = reduceRun(this.view, msg, continuing !== null);
        // A restart: the same run goes on, with the checkpoints it had up to this step.
        if (continuing) this.checkpoints.carryOver(continuing, msg.step);
        this.checkpoints.entry = opening?.entry ?? null;
        this.trainedOn = this.backend?.name ?? null;
        this.#link.heartbeat.progressed(Date.now());
        this.#restartPace();
        const { type: _, id, step: __, history: ___, ...info } = msg;
        if (this.#link.settle(id, 'start', { value: info })) this.#opening = null; // a load waits for its 'paused'
        break;
      }
      case 'step': {
        this.#link.heartbeat.progressed(Date.now(), msg.ms);
        this.view = reduceRun(this.view, msg);
        this.checkpoints.watchSpikes(this.runs.at(-1) ?? null);
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
      case 'task':
        this.view = reduceRun(this.view, msg);
        break;
      case 'paused': {
        this.view = reduceRun(this.view, msg);
        const load = this.#opening;
        if (load) {
          // The end of a load. A run resumed from the store is there already; one from a file is kept too.
          if (this.checkpoints.entry?.stored) this.checkpoints.lastAutosave = { step: msg.step, date: Date.now() };
          this.#opening = null;
          this.#link.settle(load.id, 'load', { value: msg.step });
          this.inside.evaluated(); // a loaded model: no evaluation is coming to ask for it
        }
        this.#halt();
        void this.checkpoints.autosave();
        break;
      }
      case 'halting': // the loop took the stop or reset (the link stops waiting): its end follows
        break;
      case 'done':
        this.view = reduceRun(this.view, msg);
        this.#halt();
        void this.checkpoints.autosave();
        break;
      case 'reset':
        this.#clearRun();
        this.view = reduceRun(this.view, msg);
        this.#halt();
        break;
      case 'saved': {
        const { type: _, id, ...saved } = msg;
        this.#link.settle(id, 'save', { value: saved });
        break;
      }
      case 'sampleToken':
        this.sample.token(msg.id, msg.text);
        break;
      case 'sampleDone':
        this.sample.done(msg.id);
        break;
      case 'scored':
        this.#link.settle(msg.id, 'score', { value: msg.score });
        break;
      case 'probs':
        this.#link.settle(msg.id, 'probs', { value: msg.probs });
        break;
      case 'inspected':
        this.#link.settle(msg.id, 'inspect', { value: msg.inspection });
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
      case 'load':
        // Refused: the worker kept what it had, and the page keeps its status; a refused start says why by the form.
        if (msg.during === 'start') this.error = msg.message;
        if (this.#opening?.id === msg.id) {
          this.status = this.#opening.before;
          this.#opening = null;
        }
        this.#link.settle(msg.id, msg.during, { error: msg.message });
        break;
      case 'sample':
        this.sample.failed(msg.id, msg.message);
        break;
      case 'score':
      case 'probs':
      case 'inspect':
      case 'save':
        this.#link.settle(msg.id, msg.during, { error: msg.message });
        break;
      default:
        msg satisfies never;
    }
  }
}
