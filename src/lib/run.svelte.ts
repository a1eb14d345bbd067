/**
 * What the page knows about the training worker and its run, as Svelte state. The worker's
 * events are the only writers; the components read, and call the methods to send commands.
 * Checkpoints: save() and load() go through the worker; autosaves land in the browser's
 * IndexedDB (run-store.ts) under one key per run, and a failed one is a message, never a stop.
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
  TrainSummary,
} from '../../workers/protocol.ts';
import type { CorpusSource } from './corpus.svelte.ts';
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

  /** A run is under way: the backend cannot change and Train is off. */
  readonly busy = $derived(this.status === 'starting' || this.status === 'training' || this.status === 'paused');
  /** The worker holds a model that is not being trained. */
  /** The worker holds a model (trained, training or paused) and no sample is streaming. */
  readonly canSample = $derived((this.status === 'training' || this.status === 'paused' || this.status === 'done') && !this.sampling);

  #worker: TrainWorker;
  #crashed = false; // the worker is gone: the next start makes a new one
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
  load(bytes: Uint8Array, corpus: CorpusMessage, mode: 'resume' | 'finetune', train: TrainConfig | undefined, opts: { source: CorpusSource; key?: string }): Promise<void> {
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
      return { type: 'load', id, bytes, corpus, mode, train };
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
        const date = Date.now();
        await this.store.put({ key: entry.key, name: runName(info), date, step: saved, valLoss, bytes, corpus: entry.corpus });
        this.lastAutosave = { step: saved, date };
        const others = this.#kept.filter((k) => k.step !== saved);
        const recent = others.at(-1);
        this.#kept = [...others.filter((k) => k.pinned || k === recent), { step: saved, bytes }];
        this.rollbackSteps = this.#kept.map((k) => k.step);
        this.storeError = null;
        await this.refreshSaved();
      } while (this.#autosaveAgain);
    } catch (err) {
      this.storeError = describe(err);
    } finally {
      this.#autosaving = false;
    }
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
  async rollBack(step: number): Promise<number> {
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
    await this.load(kept.bytes, corpus.message, 'resume', undefined, { source: corpus.source });
    return this.startStep;
  }

  pause() {
    if (this.status === 'training') this.#worker.post({ type: 'pause' });
  }

  resume() {
    if (this.status !== 'paused') return;
    this.status = 'training';
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
    this.#worker.terminate();
    this.#failRequests('the page closed the worker');
  }

  #spawn(choice: BackendChoice): TrainWorker {
    this.#crashed = false;
    return new TrainWorker(choice, {
      onEvent: this.#onEvent,
      onCrash: this.#onCrash,
      onUnreadable: (message) => this.#onEvent({ type: 'error', during: 'train', message }),
    });
  }

  #onCrash = (message: string) => {
    this.#crashed = true;
    this.#loadId = null;
    this.#worker.terminate();
    this.#failRequests(message);
    this.backend = null;
    this.sampling = false;
    this.error = `${message}. Train starts a new worker.`;
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
    this.#runCorpus = null;
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
        break;
      case 'run': {
        const { type: _, step, history, ...info } = msg;
        this.#clearRun();
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
        this.runs = [...this.runs, record];
        this.status = 'training';
        break;
      }
      case 'step': {
        const { starts, epoch, ...step } = msg;
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
          case 'train':
            this.error = msg.message;
            this.status = 'error';
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

/** A store key for a new run: unique enough within one browser. */
function newKey(): string {
  return `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** What the store keeps of a corpus: a file's text (nothing else can bring it back), a name otherwise. */
function storedCorpus(corpus: CorpusMessage, source: CorpusSource): StoredCorpus {
  return source === 'file' ? { name: corpus.name, source, text: corpus.text } : { name: corpus.name, source };
}
