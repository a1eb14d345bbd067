/**
 * What the page knows about the training worker and its run, as Svelte state. The worker's
 * events are the only writers; the components read, and call the methods to send commands.
 * Checkpoints: save() and load() go through the worker; autosaves land in the browser's
 * IndexedDB (run-store.ts) under one key per run, and a failed one is a message, never a stop.
 * The latest autosaves are also kept in memory, whatever the store did with them: they are
 * where a faulted run restarts from.
 *
 * Faults (see `fault`): a lost or failing GPU device restarts the run in a fresh worker from the
 * latest checkpoint, on its own; a worker that crashed, stopped answering pings or stopped
 * stepping is offered the same restart; a diverged run is offered a rollback at half the
 * learning rate. At most one autosave interval of steps is lost.
 */
import type { ModelConfig, TrainConfig } from '../core/config.ts';
import type {
  BackendChoice,
  CorpusMessage,
  BackendInfo,
  EvalEvent,
  FromWorker,
  RunInfo,
  Score,
  StepBatch,
  StepEvent,
  ToWorker,
  TrainFault,
  TrainSummary,
} from '../../workers/protocol.ts';
import type { CorpusSource } from './corpus.svelte.ts';
import { Heartbeat, type Health } from './heartbeat.ts';
import { newRecord, type RunRecord } from './history.ts';
import { RunStore, type SavedRunSummary, type StoredCorpus } from './run-store.ts';
import { TrainWorker } from './worker-client.ts';

export type Status = 'idle' | 'starting' | 'training' | 'paused' | 'done' | 'error';

export interface SampleRequest {
  prompt: string;
  length: number;
  temperature: number;
  seed: number; // same seed, prompt, temperature and model: same text
}

/** A checkpoint as the worker answered it. */
export interface SavedCheckpoint {
  bytes: Uint8Array;
  step: number;
  valLoss: number | null; // the latest eval's
}

/**
 * Something went wrong with the run or its worker.
 * device/divergence/error: training stopped with that fault (protocol.ts);
 * crash: the worker died; unresponsive/stalled: see heartbeat.ts (the worker may yet come back);
 * backend: a restart could not bring the backend back (WebGPU gone: wasm is offered).
 */
export interface Fault {
  kind: TrainFault | 'crash' | Exclude<Health, 'ok'> | 'backend';
  message: string;
  step: number | null; // where the run stood, when known
}

/** How many automatic restarts a run gets before the page asks instead (a fault that recurs at once). */
const MAX_AUTO_RESTARTS = 3;

/** "moby-dick · 2×64 · ctx 64": how a saved run is listed. */
function runName(info: RunInfo): string {
  return `${info.corpus} · ${info.nLayer}×${info.nEmbd} · ctx ${info.blockSize}`;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class RunState {
  /** What the user asked for; 'auto' tries webgpu → wasm → webgl → cpu. */
  backendChoice = $state<BackendChoice>('auto');
  /** What the worker runs on; null until it reports. */
  backend = $state<BackendInfo | null>(null);
  status = $state<Status>('idle');
  /** The last init, start or training failure, in the worker's words. */
  error = $state<string | null>(null);
  info = $state<RunInfo | null>(null);
  maxSteps = $state(0);
  lastStep = $state<StepEvent | null>(null);
  lastEval = $state<EvalEvent | null>(null);
  summary = $state<TrainSummary | null>(null);
  stoppedEarly = $state(false);
  /** Every run of this page, oldest first; the last is the current one while a run exists. */
  runs = $state.raw<RunRecord[]>([]);
  /** Bumped whenever a record grows: records are appended to in place, not replaced. */
  revision = $state(0);
  /** The latest minibatch: where its rows start in the train split. */
  lastBatch = $state.raw<(StepBatch & { step: number }) | null>(null);

  samplePrompt = $state(''); // the prompt of the latest sample
  sampleText = $state(''); // what the model wrote after it
  sampling = $state(false);
  sampleError = $state<string | null>(null);

  /** The step a loaded run starts from (0 for a new run): shown until its first step arrives. */
  startStep = $state(0);
  /** Autosave every this many steps (0: only on pause and at the end). */
  autosaveEvery = $state(200);
  /** The current run's last autosave. */
  lastAutosave = $state<{ step: number; date: number } | null>(null);
  /** Why the last autosave, or a listing of saved runs, failed; training goes on regardless. */
  storeError = $state<string | null>(null);
  /** Runs kept in this browser, newest first. */
  savedRuns = $state.raw<SavedRunSummary[]>([]);
  /** Bytes this origin stores and may store; null where the browser cannot say. */
  storage = $state<{ usage: number; quota: number } | null>(null);
  readonly store = new RunStore();

  /** The fault the run met, until the user or a restart deals with it. */
  fault = $state<Fault | null>(null);
  /** What the last restart or rollback did, in words: kept after it succeeded. */
  recoveryNote = $state<string | null>(null);
  /** A restart is under way: a fresh worker is starting and loading the checkpoint. */
  recovering = $state(false);
  /** Restart from the latest checkpoint by itself when the GPU device is lost or fails. */
  autoRestart = $state(true);
  /** Pause while the tab is hidden and resume when it shows again (otherwise training goes on). */
  pauseWhenHidden = $state(false);
  /** The step a restart would resume at (the latest checkpoint kept), or null to start over. */
  restartStep = $state<number | null>(null);

  /** A run is under way: the backend cannot change and Train is off. */
  readonly busy = $derived(this.status === 'starting' || this.status === 'training' || this.status === 'paused');
  /** The worker holds a model that is not being trained. */
  /** The worker holds a model (trained, training or paused) and no sample is streaming. */
  readonly canSample = $derived((this.status === 'training' || this.status === 'paused' || this.status === 'done') && !this.sampling);

  #worker: TrainWorker;
  #crashed = false; // the worker is gone: the next start makes a new one
  #ready: { resolve: () => void; reject: (e: Error) => void } | null = null; // a restart waits for the new worker
  #heartbeat = new Heartbeat(Date.now());
  #pingId = 0;
  #pinger: ReturnType<typeof setInterval>;
  #pausedForHidden = false; // the pause was ours, not the user's: showing the tab resumes
  #autoRestarts = 0; // in the current run
  #trainingAtFault = true; // a restart trains on only if the run was training when the fault came
  #lastStart: { corpus: CorpusMessage; model: Omit<ModelConfig, 'vocabSize'>; train: TrainConfig; source: CorpusSource } | null = null;
  #trainedOn: BackendInfo['name'] | null = null; // the backend the current run last trained on
  // Set by a restart: the next 'run' continues the current record and keeps these checkpoints.
  #continuing: { kept: { step: number; bytes: Uint8Array; pinned?: boolean }[] } | null = null;
  #statusBeforeStart: Status = 'idle'; // where a refused start returns to
  #sampleId = 0; // the latest sample: tokens of earlier ones are dropped
  #requestId = 0; // score and probs requests, answered by id
  #requests = new Map<number, { resolve: (value: never) => void; reject: (e: Error) => void }>();
  #loadId: number | null = null; // a load in progress: its promise settles on 'paused' or its error
  // The store entry of the current run, and of a run being started or loaded (it takes over on 'run').
  // `stored`: the entry already holds the loaded step (a saved run resumed from the list).
  #run: { key: string; corpus: StoredCorpus; stored?: boolean } | null = null;
  #next: { key: string; corpus: StoredCorpus; stored?: boolean } | null = null;
  #autosaving = false;
  #autosaveAgain = false; // a request came while one was in flight: run once more after it
  // The current run's last few autosaves, kept in memory: the store keeps only a run's latest,
  // which after a loss spike is soon from after it, and a rollback wants one from before.
  // Two are kept, and any pinned by keepCheckpointBefore.
  #kept: { step: number; bytes: Uint8Array; pinned?: boolean }[] = [];
  // The corpus the current run (and a run being started or loaded) trains on, for a rollback's load.
  #runCorpus: { message: CorpusMessage; source: CorpusSource } | null = null;
  #nextCorpus: { message: CorpusMessage; source: CorpusSource } | null = null;
  /** Steps of the autosaves a rollback can return to, oldest first. */
  rollbackSteps = $state.raw<number[]>([]);

  /** Starts the worker on `backend` (a link may name one). */
  constructor(backend: BackendChoice = 'auto') {
    this.backendChoice = backend;
    this.#worker = this.#spawn(backend);
    this.#pinger = setInterval(() => this.#beat(), this.#heartbeat.opts.intervalMs);
  }

  /** A new worker on another backend; the current run, if any, goes with the old one. */
  setBackend(choice: BackendChoice) {
    if (this.busy) return;
    this.#worker.terminate();
    this.#clearRun();
    this.#failRequests('the backend changed');
    this.sampling = false;
    this.backend = null;
    this.error = null;
    this.fault = null;
    this.status = 'idle';
    this.backendChoice = choice;
    this.#worker = this.#spawn(choice);
  }

  /** `source` says how a saved copy of this run finds its corpus again. */
  start(corpus: CorpusMessage, model: Omit<ModelConfig, 'vocabSize'>, train: TrainConfig, source: CorpusSource) {
    if (this.busy) return;
    if (this.#crashed) this.setBackend(this.backendChoice);
    this.#statusBeforeStart = this.status;
    this.status = 'starting';
    this.error = null;
    this.fault = null;
    this.recoveryNote = null;
    this.#autoRestarts = 0;
    this.#lastStart = { corpus, model, train, source };
    this.#next = { key: newKey(), corpus: storedCorpus(corpus, source) };
    this.#nextCorpus = { message: corpus, source };
    this.#worker.post({ type: 'start', corpus, model, train });
  }

  /** A checkpoint of the run as it stands (while training: after a whole step, and training goes on). */
  save(): Promise<SavedCheckpoint> {
    return this.#request<SavedCheckpoint>((id) => ({ type: 'save', id }));
  }

  /**
   * Replaces the run (not while it trains) with a checkpoint's, paused at its step (resume) or at
   * step 0 (finetune, with `train`); settles once the worker has it. `key` continues a saved
   * run's store entry instead of starting a new one.
   */
  load(
    bytes: Uint8Array,
    corpus: CorpusMessage,
    mode: 'resume' | 'finetune',
    train: TrainConfig | undefined,
    opts: { source: CorpusSource; key?: string; lrScale?: number },
  ): Promise<void> {
    if (this.status === 'training' || this.status === 'starting') return Promise.reject(new Error('a run is training: pause or stop it before loading a checkpoint'));
    if (this.#loadId !== null) return Promise.reject(new Error('a checkpoint is loading already'));
    if (this.#crashed) this.setBackend(this.backendChoice);
    this.#statusBeforeStart = this.status;
    this.status = 'starting';
    this.error = null;
    this.#next = { key: opts.key ?? newKey(), corpus: storedCorpus(corpus, opts.source), stored: opts.key !== undefined };
    this.#nextCorpus = { message: corpus, source: opts.source };
    return this.#request<void>((id) => {
      this.#loadId = id;
      return { type: 'load', id, bytes, corpus, mode, train, lrScale: opts.lrScale };
    });
  }

  /** Reads the saved runs and the storage estimate again. */
  async refreshSaved() {
    try {
      this.savedRuns = await this.store.list();
      this.storage = await this.store.estimate();
    } catch (err) {
      this.storeError = describe(err);
    }
  }

  /** Deletes a saved run; the current run, even if it is that one, trains on (and saves again later). */
  async deleteSaved(key: string) {
    try {
      await this.store.delete(key);
      if (this.#run?.key === key) this.lastAutosave = null;
    } catch (err) {
      this.storeError = describe(err);
    }
    await this.refreshSaved();
  }

  /** Saves the current run into the store, unless its step is saved already. Never throws. */
  async autosave() {
    if (this.#autosaving) {
      this.#autosaveAgain = true;
      return;
    }
    this.#autosaving = true;
    try {
      do {
        this.#autosaveAgain = false;
        const entry = this.#run;
        const info = this.info;
        const step = this.lastStep?.step ?? this.startStep;
        if (!entry || !info || this.status === 'error' || this.status === 'idle') return;
        if (this.lastAutosave?.step === step) continue;
        const { bytes, step: saved, valLoss } = await this.save();
        if (this.#run !== entry) return; // another run took over while the worker saved
        // Kept in memory first: a full store must not cost the run its restart point.
        this.#keep(saved, bytes);
        const date = Date.now();
        await this.store.put({ key: entry.key, name: runName(info), date, step: saved, valLoss, bytes, corpus: entry.corpus });
        this.lastAutosave = { step: saved, date };
        this.storeError = null;
        await this.refreshSaved();
      } while (this.#autosaveAgain);
    } catch (err) {
      this.storeError = describe(err);
    } finally {
      this.#autosaving = false;
    }
  }

  #keep(step: number, bytes: Uint8Array) {
    // A checkpoint past the last restart point: the run is healthy again, so a later fault restarts by itself too.
    if (this.restartStep !== null && step > this.restartStep) this.#autoRestarts = 0;
    const others = this.#kept.filter((k) => k.step !== step);
    const recent = others.at(-1);
    this.#kept = [...others.filter((k) => k.pinned || k === recent), { step, bytes }];
    this.rollbackSteps = this.#kept.map((k) => k.step);
    this.restartStep = step;
  }

  /** Keeps the latest autosave from before `step` (a loss spike's) in memory until the run ends; returns its step, or null. */
  keepCheckpointBefore(step: number): number | null {
    const kept = this.#kept.filter((k) => k.step < step).at(-1);
    if (!kept) return null;
    kept.pinned = true;
    return kept.step;
  }

  /** The step of the latest autosave of this run kept from before `step`, or null. */
  checkpointBefore(step: number): number | null {
    return this.rollbackSteps.filter((s) => s < step).at(-1) ?? null;
  }

  /**
   * Resumes the current run from its latest autosave before `step` (pausing it first), as a new
   * saved run beside the one with the spike; settles with the step it is paused at.
   */
  async rollBack(step: number, lrScale = 1): Promise<number> {
    const kept = this.#kept.filter((k) => k.step < step).at(-1);
    const corpus = this.#runCorpus;
    if (!kept || !corpus) throw new Error(`no checkpoint of this run from before step ${step} is kept`);
    if (this.status === 'training') {
      this.pause();
      for (let waited = 0; this.status === 'training'; waited += 50) {
        if (waited > 10_000) throw new Error('the run did not pause');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await this.load(kept.bytes, corpus.message, 'resume', undefined, { source: corpus.source, lrScale });
    return this.startStep;
  }

  /**
   * After a divergence: back to the latest checkpoint before it, at half the learning rate (the
   * same rate would meet the same batches and diverge again), and on with training.
   */
  async rollBackDiverged(): Promise<void> {
    const fault = this.fault;
    if (fault?.kind !== 'divergence' || fault.step === null) throw new Error('the run did not diverge');
    const at = await this.rollBack(fault.step, 0.5);
    this.fault = null;
    this.recoveryNote = `Rolled back to step ${at} after the divergence at step ${fault.step}; the learning rate is halved from here on.`;
    this.resume();
  }

  /**
   * Ends the worker (whatever state it is in), starts a fresh one on `backend` and resumes the
   * run from its latest checkpoint (from its start when none was kept yet), training on.
   * `backend` defaults to the one the run trained on when that was WebGPU: a restart after a
   * lost device tries the GPU again rather than falling back silently; if it cannot come back,
   * the fault says so and restart('wasm') continues there.
   */
  async restart(backend?: BackendChoice): Promise<void> {
    const from = this.#kept.at(-1) ?? null;
    const begin = this.#lastStart;
    const corpus = this.#runCorpus ?? (begin && { message: begin.corpus, source: begin.source });
    if (this.recovering) return;
    if (!corpus || (!from && !begin)) throw new Error('there is no run to restart');
    const cause = this.fault;
    const choice = backend ?? (this.#trainedOn === 'webgpu' ? 'webgpu' : this.backendChoice);
    this.recovering = true;
    this.#worker.terminate();
    this.#failRequests('the worker was restarted');
    this.#loadId = null;
    this.sampling = false;
    this.backend = null;
    this.error = null;
    this.status = 'starting';
    try {
      await this.#respawn(choice);
    } catch (err) {
      this.recovering = false;
      this.status = 'error';
      this.fault = { kind: 'backend', message: `${choice} could not start again: ${describe(err)}`, step: cause?.step ?? null };
      this.error = this.fault.message;
      return;
    }
    if (backend) this.backendChoice = backend;
    const lost = cause?.step !== null && cause?.step !== undefined && from ? ` (${cause.step - from.step} steps lost)` : '';
    try {
      if (from) {
        this.#continuing = { kept: this.#kept };
        this.status = 'error'; // still the fault's state, until the load succeeds
        await this.load(from.bytes, corpus.message, 'resume', undefined, { source: corpus.source, key: this.#run?.key });
        this.fault = null;
        this.recoveryNote = `${cause ? faultLabel(cause) + '; ' : ''}restarted on ${this.#backendName(choice)} from the checkpoint at step ${from.step}${lost}${this.#trainingAtFault ? '' : ', paused'}.`;
        if (this.#trainingAtFault) this.resume();
      } else {
        this.fault = null;
        this.recoveryNote = `${cause ? faultLabel(cause) + '; ' : ''}no checkpoint was kept yet, so the run started over on ${this.#backendName(choice)}.`;
        const { corpus: c, model, train, source } = begin!;
        const restarts = this.#autoRestarts;
        const note = this.recoveryNote;
        this.status = 'idle';
        this.start(c, model, train, source);
        this.#autoRestarts = restarts;
        this.recoveryNote = note;
      }
    } catch (err) {
      this.status = 'error';
      this.fault = { kind: 'error', message: `the restart failed: ${describe(err)}`, step: cause?.step ?? null };
      this.error = this.fault.message;
    } finally {
      this.#continuing = null;
      this.recovering = false;
    }
  }

  /** What the worker runs on, or what it was asked for until it says. */
  #backendName(choice: BackendChoice): string {
    return this.backend?.name ?? choice;
  }

  /** Steps the run has taken since its last save in this browser: what closing the tab now would lose. */
  get unsavedSteps(): number {
    if (!this.#run || (this.status !== 'training' && this.status !== 'paused')) return 0;
    const step = this.lastStep?.step ?? this.startStep;
    return Math.max(0, step - (this.lastAutosave?.step ?? this.startStep));
  }

  /**
   * Saves the run when the document is hidden (a switched or closed tab, a phone's home button:
   * the last moment a page can count on), and pauses it there if pauseWhenHidden; resumes when it
   * shows again. Returns the listener's remover.
   */
  watchVisibility(doc: Document): () => void {
    const onChange = () => {
      if (doc.visibilityState === 'hidden') {
        if (this.unsavedSteps > 0) void this.autosave();
        if (this.pauseWhenHidden && this.status === 'training') {
          this.#pausedForHidden = true;
          this.pause();
        }
      } else if (this.#pausedForHidden) {
        this.#pausedForHidden = false;
        this.resume();
      }
    };
    doc.addEventListener('visibilitychange', onChange);
    return () => doc.removeEventListener('visibilitychange', onChange);
  }

  /**
   * Asks before the page is left (a reload, a closed tab) while the run has steps no save holds:
   * the browser's own "leave site?" dialog, which also gives the save that hiding started time to
   * land. Returns the listener's remover.
   */
  watchUnload(win: Window): () => void {
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      if (this.unsavedSteps === 0) return;
      void this.autosave();
      e.preventDefault();
      e.returnValue = ''; // what older browsers need to show the dialog
    };
    win.addEventListener('beforeunload', onBeforeUnload);
    return () => win.removeEventListener('beforeunload', onBeforeUnload);
  }

  /** The user's "it may yet come back": forget an unresponsive or stalled verdict and keep watching. */
  keepWaiting() {
    if (this.fault?.kind === 'unresponsive' || this.fault?.kind === 'stalled') this.fault = null;
    this.#heartbeat = new Heartbeat(Date.now(), this.#heartbeat.opts);
  }

  pause() {
    if (this.status === 'training') this.#worker.post({ type: 'pause' });
  }

  resume() {
    if (this.status !== 'paused') return;
    this.#pausedForHidden = false;
    this.status = 'training';
    this.#heartbeat.progressed(Date.now());
    this.#worker.post({ type: 'resume' });
  }

  stop() {
    if (this.status === 'training' || this.status === 'paused') this.#worker.post({ type: 'stop' });
  }

  /** Frees the model in the worker. */
  reset() {
    if (this.status === 'starting') return;
    this.#worker.post({ type: 'reset' });
  }

  generate({ prompt, length, temperature, seed }: SampleRequest) {
    if (!this.canSample) return;
    const id = ++this.#sampleId;
    this.samplePrompt = prompt;
    this.sampleText = '';
    this.sampleError = null;
    this.sampling = true;
    this.#worker.post({ type: 'sample', id, prompt, length, temperature, seed });
  }

  /** How probable `text` is under the current model. */
  score(text: string): Promise<Score> {
    return this.#request<Score>((id) => ({ type: 'score', id, text }));
  }

  /** The model's next-character distribution after `prompt`, at temperature 1, indexed like info.vocab. */
  nextDistribution(prompt: string): Promise<number[]> {
    return this.#request<number[]>((id) => ({ type: 'probs', id, prompt }));
  }

  /** Forgets the curves of finished runs (the current run's stay). */
  clearHistory() {
    this.runs = this.busy || this.info ? this.runs.slice(-1) : [];
  }

  #request<T>(make: (id: number) => ToWorker): Promise<T> {
    const id = ++this.#requestId;
    return new Promise<T>((resolve, reject) => {
      this.#requests.set(id, { resolve: resolve as (value: never) => void, reject });
      this.#worker.post(make(id));
    });
  }

  #settle(id: number, outcome: { value: unknown } | { error: string }) {
    const pending = this.#requests.get(id);
    this.#requests.delete(id);
    if (!pending) return;
    if (id === this.#loadId) this.#loadId = null;
    if ('value' in outcome) pending.resolve(outcome.value as never);
    else pending.reject(new Error(outcome.error));
  }

  dispose() {
    clearInterval(this.#pinger);
    this.#worker.terminate();
    this.#failRequests('the page closed the worker');
  }

  #spawn(choice: BackendChoice): TrainWorker {
    this.#crashed = false;
    this.#heartbeat = new Heartbeat(Date.now(), this.#heartbeat.opts);
    return new TrainWorker(choice, {
      onEvent: this.#onEvent,
      onCrash: this.#onCrash,
      onUnreadable: (message) => this.#onEvent({ type: 'error', during: 'train', message, fault: 'error', step: this.lastStep?.step ?? null }),
    });
  }

  /** A fresh worker on `choice`; settles when it is ready, or fails to start its backend. */
  #respawn(choice: BackendChoice): Promise<void> {
    this.#ready?.reject(new Error('another worker was started'));
    return new Promise<void>((resolve, reject) => {
      this.#ready = { resolve, reject };
      this.#worker = this.#spawn(choice);
    });
  }

  /** Pings the worker, and turns a worker that stopped answering or stepping into a fault. */
  #beat() {
    if (this.#crashed || this.recovering) return;
    const now = Date.now();
    this.#heartbeat.pinged(now);
    this.#worker.post({ type: 'ping', id: ++this.#pingId });
    const health = this.#heartbeat.check(now, this.status === 'training');
    const watching = this.fault === null || this.fault.kind === 'unresponsive' || this.fault.kind === 'stalled';
    if (!watching) return;
    if (health === 'ok') {
      this.fault = null;
      return;
    }
    const silent = this.#heartbeat.silentFor(now, health);
    this.#trainingAtFault = this.status === 'training';
    const step = this.lastStep?.step ?? this.startStep;
    this.fault = {
      kind: health,
      step,
      message:
        health === 'unresponsive'
          ? `the training worker has not answered for ${silent} s: it may be stuck in a long computation, or gone`
          : `no training step for ${silent} s (the last was step ${step}): the GPU may have hung`,
    };
  }

  #onCrash = (message: string) => {
    this.#crashed = true;
    this.#loadId = null;
    this.#worker.terminate();
    this.#failRequests(message);
    this.#ready?.reject(new Error(message));
    this.#ready = null;
    this.backend = null;
    this.sampling = false;
    const canRestart = this.#lastStart !== null || this.#kept.length > 0;
    this.#trainingAtFault = this.status === 'training';
    this.error = `${message}.${canRestart ? '' : ' Train starts a new worker.'}`;
    this.fault = canRestart ? { kind: 'crash', message, step: this.lastStep?.step ?? this.startStep } : null;
    this.status = 'error';
  };

  #clearRun() {
    this.info = null;
    this.lastStep = null;
    this.lastEval = null;
    this.lastBatch = null;
    this.summary = null;
    this.stoppedEarly = false;
    this.samplePrompt = '';
    this.sampleText = '';
    this.sampleError = null;
    this.startStep = 0;
    this.lastAutosave = null;
    this.#run = null;
    this.#kept = [];
    this.rollbackSteps = [];
    this.restartStep = null;
    this.#runCorpus = null;
    this.#trainedOn = null;
  }

  #failRequests(why: string) {
    for (const { reject } of this.#requests.values()) reject(new Error(why));
    this.#requests.clear();
  }

  // An arrow function: it is handed to the worker client as a callback.
  #onEvent = (msg: FromWorker) => {
    switch (msg.type) {
      case 'ready':
        this.backend = { name: msg.backend, adapter: msg.adapter, skipped: msg.skipped };
        this.#ready?.resolve();
        this.#ready = null;
        break;
      case 'pong':
        this.#heartbeat.answered();
        break;
      case 'run': {
        const { type: _, step, history, ...info } = msg;
        const continuing = this.#continuing;
        this.#clearRun();
        if (continuing) {
          // A restart: the same run goes on, with the checkpoints it had up to this step.
          this.#kept = continuing.kept.filter((k) => k.step <= step);
          this.rollbackSteps = this.#kept.map((k) => k.step);
          this.restartStep = this.#kept.at(-1)?.step ?? null;
        }
        this.#trainedOn = this.backend?.name ?? null;
        this.#heartbeat.progressed(Date.now());
        this.info = info;
        this.maxSteps = info.maxSteps;
        this.startStep = step;
        this.#run = this.#next;
        this.#next = null;
        this.#runCorpus = this.#nextCorpus;
        this.#nextCorpus = null;
        const record = newRecord(this.runs.length ? this.runs.at(-1)!.id + 1 : 1, info, info);
        // A loaded run's curves: its losses are those of the last losses.length steps up to `step`.
        const first = step - history.losses.length + 1;
        record.steps = history.losses.map((_, i) => first + i);
        record.losses = [...history.losses];
        record.evals = history.evals.map(({ step, train, val }) => ({ step, train, val }));
        const lastEval = history.evals.at(-1);
        this.lastEval = lastEval ? { type: 'eval', ...lastEval } : null;
        // A restarted run replaces its own curve (the steps after the checkpoint were lost).
        if (continuing && this.runs.length) record.id = this.runs.at(-1)!.id;
        this.runs = continuing && this.runs.length ? [...this.runs.slice(0, -1), record] : [...this.runs, record];
        this.status = 'training';
        break;
      }
      case 'step': {
        const { starts, epoch, ...step } = msg;
        this.#heartbeat.progressed(Date.now(), step.ms);
        this.lastStep = step;
        this.lastBatch = { starts, epoch, step: step.step };
        const rec = this.runs.at(-1);
        if (rec) {
          rec.steps.push(step.step);
          rec.losses.push(step.loss);
          this.revision++;
        }
        if (this.autosaveEvery > 0 && step.step % this.autosaveEvery === 0) void this.autosave();
        break;
      }
      case 'eval':
        this.lastEval = msg;
        this.runs.at(-1)?.evals.push({ step: msg.step, train: msg.train, val: msg.val });
        this.revision++;
        break;
      case 'paused':
        this.status = 'paused';
        if (this.#loadId !== null) {
          // The end of a load. A run resumed from the store is there already; one from a file is kept too.
          if (this.#run?.stored) this.lastAutosave = { step: msg.step, date: Date.now() };
          this.#settle(this.#loadId, { value: undefined });
        }
        void this.autosave();
        break;
      case 'done':
        this.summary = msg.summary;
        this.stoppedEarly = msg.stopped;
        this.status = 'done';
        void this.autosave();
        break;
      case 'saved':
        this.#settle(msg.id, { value: { bytes: msg.bytes, step: msg.step, valLoss: msg.valLoss } });
        break;
      case 'reset':
        this.#clearRun();
        this.status = 'idle';
        break;
      case 'sampleToken':
        if (msg.id === this.#sampleId) this.sampleText += msg.text;
        break;
      case 'sampleDone':
        if (msg.id === this.#sampleId) this.sampling = false;
        break;
      case 'scored':
        this.#settle(msg.id, { value: msg.score });
        break;
      case 'probs':
        this.#settle(msg.id, { value: msg.probs });
        break;
      case 'error':
        switch (msg.during) {
          case 'init':
            this.error = msg.message;
            this.status = 'error';
            this.#ready?.reject(new Error(msg.message));
            this.#ready = null;
            break;
          case 'train':
            this.#trainingAtFault = this.status === 'training';
            this.error = msg.message;
            this.status = 'error';
            this.fault = { kind: msg.fault, message: msg.message, step: msg.step };
            if (msg.fault === 'device' && this.autoRestart && this.#autoRestarts < MAX_AUTO_RESTARTS && (this.#kept.length || this.#lastStart)) {
              this.#autoRestarts++;
              void this.restart();
            }
            break;
          case 'start':
            // The worker kept what it had: a refused start changes nothing but the message.
            this.error = msg.message;
            this.status = this.#statusBeforeStart;
            break;
          case 'sample':
            if (msg.id === this.#sampleId) {
              this.sampleError = msg.message;
              this.sampling = false;
            }
            break;
          case 'score':
          case 'probs':
          case 'save':
            this.#settle(msg.id, { error: msg.message });
            break;
          case 'load':
            // Refused: the worker kept its run, and the page keeps its status.
            this.status = this.#statusBeforeStart;
            this.#next = null;
            this.#nextCorpus = null;
            this.#settle(msg.id, { error: msg.message });
            break;
          default:
            msg satisfies never;
        }
        break;
      default:
        msg satisfies never;
    }
  };
}

/** "The GPU device was lost at step 812": a fault in a few words, for the note after a restart. */
function faultLabel(f: Fault): string {
  const at = f.step !== null ? ` at step ${f.step}` : '';
  switch (f.kind) {
    case 'device':
      return `the GPU device failed${at} (${f.message})`;
    case 'divergence':
      return `the loss diverged${at}`;
    case 'crash':
      return `the worker crashed${at}`;
    case 'unresponsive':
      return `the worker stopped answering${at}`;
    case 'stalled':
      return `training stalled${at}`;
    case 'backend':
    case 'error':
      return `training failed${at} (${f.message})`;
    default:
      return f.kind satisfies never;
  }
}

/** A store key for a new run: unique enough within one browser. */
function newKey(): string {
  return `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** What the store keeps of a corpus: a file's text (nothing else can bring it back), a name otherwise. */
function storedCorpus(corpus: CorpusMessage, source: CorpusSource): StoredCorpus {
  return source === 'file' ? { name: corpus.name, source, text: corpus.text } : { name: corpus.name, source };
}
