/**
 * What the page knows about the training worker and its run, as Svelte state. The worker's
 * events are the only writers; the components read, and call the methods to send commands.
 */
import type { ModelConfig, TrainConfig } from '../core/config.ts';
import type {
  BackendChoice,
  BackendInfo,
  EvalEvent,
  FromWorker,
  RunInfo,
  Score,
  StepEvent,
  TrainSummary,
} from '../../workers/protocol.ts';
import type { Point } from './loss-chart.ts';
import { TrainWorker } from './worker-client.ts';

export type Status = 'idle' | 'starting' | 'training' | 'paused' | 'done' | 'error';

export interface SampleRequest {
  prompt: string;
  length: number;
  temperature: number;
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
  // Replaced on every event, never mutated: the chart copies them.
  trainLoss = $state.raw<Point[]>([]);
  valLoss = $state.raw<Point[]>([]);

  samplePrompt = $state(''); // the prompt of the latest sample
  sampleText = $state(''); // what the model wrote after it
  sampling = $state(false);
  sampleError = $state<string | null>(null);

  /** A run is under way: the backend cannot change and Train is off. */
  readonly busy = $derived(this.status === 'starting' || this.status === 'training' || this.status === 'paused');
  /** The worker holds a model that is not being trained. */
  readonly canSample = $derived((this.status === 'paused' || this.status === 'done') && !this.sampling);

  #worker: TrainWorker;
  #crashed = false; // the worker is gone: the next start makes a new one
  #statusBeforeStart: Status = 'idle'; // where a refused start returns to
  #startingSteps = 0; // maxSteps of the run being started, shown once it replaces the old one
  #sampleId = 0; // the latest sample: tokens of earlier ones are dropped
  #scoreId = 0;
  #scores = new Map<number, { resolve: (s: Score) => void; reject: (e: Error) => void }>();

  constructor() {
    this.#worker = this.#spawn(this.backendChoice);
  }

  /** A new worker on another backend; the current run, if any, goes with the old one. */
  setBackend(choice: BackendChoice) {
    if (this.busy) return;
    this.#worker.terminate();
    this.#clearRun();
    this.#failScores('the backend changed');
    this.sampling = false;
    this.backend = null;
    this.error = null;
    this.status = 'idle';
    this.backendChoice = choice;
    this.#worker = this.#spawn(choice);
  }

  start(corpus: { name: string; text: string }, model: Omit<ModelConfig, 'vocabSize'>, train: TrainConfig) {
    if (this.busy) return;
    if (this.#crashed) this.setBackend(this.backendChoice);
    this.#statusBeforeStart = this.status;
    this.status = 'starting';
    this.error = null;
    this.#startingSteps = train.maxSteps;
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

  generate({ prompt, length, temperature }: SampleRequest) {
    if (!this.canSample) return;
    const id = ++this.#sampleId;
    this.samplePrompt = prompt;
    this.sampleText = '';
    this.sampleError = null;
    this.sampling = true;
    this.#worker.post({ type: 'sample', id, prompt, length, temperature, seed: id });
  }

  /** How probable `text` is under the current model. */
  score(text: string): Promise<Score> {
    const id = ++this.#scoreId;
    return new Promise((resolve, reject) => {
      this.#scores.set(id, { resolve, reject });
      this.#worker.post({ type: 'score', id, text });
    });
  }

  dispose() {
    this.#worker.terminate();
    this.#failScores('the page closed the worker');
  }

  #spawn(choice: BackendChoice): TrainWorker {
    this.#crashed = false;
    return new TrainWorker(choice, { onEvent: this.#onEvent, onCrash: this.#onCrash });
  }

  #onCrash = (message: string) => {
    this.#crashed = true;
    this.#worker.terminate();
    this.#failScores(message);
    this.backend = null;
    this.sampling = false;
    this.error = `${message}. Train starts a new worker.`;
    this.status = 'error';
  };

  #clearRun() {
    this.info = null;
    this.lastStep = null;
    this.lastEval = null;
    this.summary = null;
    this.stoppedEarly = false;
    this.trainLoss = [];
    this.valLoss = [];
    this.samplePrompt = '';
    this.sampleText = '';
    this.sampleError = null;
  }

  #failScores(why: string) {
    for (const { reject } of this.#scores.values()) reject(new Error(why));
    this.#scores.clear();
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
        this.status = 'training';
        break;
      }
      case 'step':
        this.lastStep = msg;
        this.trainLoss = [...this.trainLoss, { x: msg.step, y: msg.loss }];
        break;
      case 'eval':
        this.lastEval = msg;
        this.valLoss = [...this.valLoss, { x: msg.step, y: msg.val }];
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
        this.#scores.get(msg.id)?.resolve(msg.score);
        this.#scores.delete(msg.id);
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
            this.#scores.get(msg.id)?.reject(new Error(msg.message));
            this.#scores.delete(msg.id);
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
