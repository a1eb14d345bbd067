/**
 * What the page knows about the training worker and its run, as Svelte state. The worker's
 * events are the only writers; the components read, and call the methods to send commands.
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
import { newRecord, type RunRecord } from './history.ts';
import { TrainWorker } from './worker-client.ts';

export type Status = 'idle' | 'starting' | 'training' | 'paused' | 'done' | 'error';

export interface SampleRequest {
  prompt: string;
  length: number;
  temperature: number;
  seed: number; // same seed, prompt, temperature and model: same text
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

  /** A run is under way: the backend cannot change and Train is off. */
  readonly busy = $derived(this.status === 'starting' || this.status === 'training' || this.status === 'paused');
  /** The worker holds a model that is not being trained. */
  /** The worker holds a model (trained, training or paused) and no sample is streaming. */
  readonly canSample = $derived((this.status === 'training' || this.status === 'paused' || this.status === 'done') && !this.sampling);

  #worker: TrainWorker;
  #crashed = false; // the worker is gone: the next start makes a new one
  #statusBeforeStart: Status = 'idle'; // where a refused start returns to
  #startingSteps = 0; // maxSteps of the run being started, shown once it replaces the old one
  #sampleId = 0; // the latest sample: tokens of earlier ones are dropped
  #requestId = 0; // score and probs requests, answered by id
  #requests = new Map<number, { resolve: (value: never) => void; reject: (e: Error) => void }>();
  #startingShape = { nLayer: 0, nEmbd: 0, blockSize: 0 }; // of the run being started, for its label

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

  start(corpus: CorpusMessage, model: Omit<ModelConfig, 'vocabSize'>, train: TrainConfig) {
    if (this.busy) return;
    if (this.#crashed) this.setBackend(this.backendChoice);
    this.#statusBeforeStart = this.status;
    this.status = 'starting';
    this.error = null;
    this.#startingSteps = train.maxSteps;
    this.#startingShape = { nLayer: model.nLayer, nEmbd: model.nEmbd, blockSize: model.blockSize };
    this.#worker.post({ type: 'start', corpus, model, train });
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
    if ('value' in outcome) pending.resolve(outcome.value as never);
    else pending.reject(new Error(outcome.error));
  }

  dispose() {
    this.#worker.terminate();
    this.#failRequests('the page closed the worker');
  }

  #spawn(choice: BackendChoice): TrainWorker {
    this.#crashed = false;
    return new TrainWorker(choice, { onEvent: this.#onEvent, onCrash: this.#onCrash });
  }

  #onCrash = (message: string) => {
    this.#crashed = true;
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
        const { type: _, ...info } = msg;
        this.#clearRun();
        this.info = info;
        this.maxSteps = this.#startingSteps;
        this.runs = [...this.runs, newRecord(this.runs.length ? this.runs.at(-1)!.id + 1 : 1, info, this.#startingShape)];
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
        break;
      }
      case 'eval':
        this.lastEval = msg;
        this.runs.at(-1)?.evals.push({ step: msg.step, train: msg.train, val: msg.val });
        this.revision++;
        break;
      case 'paused':
        this.status = 'paused';
        break;
      case 'done':
        this.summary = msg.summary;
        this.stoppedEarly = msg.stopped;
        this.status = 'done';
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
