/**
 * The Scaling lab's state: sweeps, fits and predictions, run in a training worker of its own
 * (the same module as the main run's, a second instance), so the main run never waits for them.
 * The worker's events are the only writers of what it measured; components read and call methods.
 */
import { LabStore } from './lab-store.ts';
import { LabForm, type LabSettings } from './scaling-lab-form.svelte.ts';
import { WorkerLink } from './worker-link.ts';
import type { ChinchillaLaw } from '../core/scaling.ts';
import type {
  BackendChoice,
  CorpusMessage,
  FittedLaw,
  FromWorker,
  ModelShape,
  SweepConfig,
  SweepFromWorker,
  SweepPoint,
  SweepAnswers,
  SweepToWorker,
} from '../../workers/protocol.ts';
import { parseShape, shapeN, sweepFraction } from '../core/sweep.ts';
import { type ExportedFit } from './scaling-chart.ts';
import { unigramLevel } from '../core/ngram.ts';

export type SweepStatus = 'idle' | 'running' | 'stopping' | 'stopped' | 'done' | 'error';

/** A bigger model's predicted loss, and once trained, what it reached. */
export interface Prediction {
  id: number;
  shape: ModelShape;
  N: number;
  D: number; // tokens it trains on: whole steps of the lab's batch × ctx
  steps: number;
  predicted: number; // nats/char, the fit at (N, D)
  interval: [number, number]; // 95% bootstrap prediction interval
  actual: number | null; // its final val loss, once trained
  status: 'predicted' | 'training' | 'trained' | 'stopped';
}

/** What a request to the lab's worker is: a sweep's points feed the fit, a verification's only its prediction. */
type LabRequest =
  | { kind: 'sweep' }
  | { kind: 'verify'; prediction: number }
  | { kind: 'fit'; prediction: Omit<Prediction, 'predicted' | 'interval'> | null; points: number };

export class ScalingLab extends LabForm {
  status = $state<SweepStatus>('idle');
  error = $state<string | null>(null);
  /** Points of the current sweep, in arrival order. */
  points = $state.raw<SweepPoint[]>([]);
  /** Steps per model of the sweep in progress or last run, and how far it got. */
  plan = $state.raw<number[]>([]);
  finished = $state(0); // models trained to their end
  currentStep = $state(0);
  currentModel = $state<number | null>(null);
  /** The first model a stopped sweep resumes from. */
  nextModel = $state(0);
  /** The corpus the points were measured on. */
  corpus = $state.raw<{ name: string; entropyRate: number | null; vocabSize: number } | null>(null);

  fitted = $state.raw<FittedLaw | null>(null);
  fitPoints = $state(0); // how many points the current fit used
  fitting = $state(false);
  fitError = $state<string | null>(null);
  fits = $state.raw<ExportedFit[]>([]); // every fit of this page, for export

  predictions = $state.raw<Prediction[]>([]);
  predictError = $state<string | null>(null);
  /** Why the lab could not be kept in (or read back from) this browser; the lab works on regardless. */
  storeError = $state<string | null>(null);

  readonly progress = $derived(sweepFraction(this.plan, this.finished, this.currentStep));
  readonly running = $derived(this.status === 'running' || this.status === 'stopping');
  /** The fitted law, only where its points pin it down: a fit that is not identifiable is points, not a law. */
  readonly law = $derived<ChinchillaLaw | null>(this.fitted?.identifiable ? this.fitted.law : null);

  /** The lab's own training worker, made on first use: it gets only sweep and fit requests. */
  #link: WorkerLink<SweepFromWorker | FromWorker, SweepToWorker, SweepAnswers, LabRequest> | null = null;
  #backend: () => BackendChoice;
  #config: SweepConfig | null = null; // the sweep in progress or stopped: a resume reuses it
  #corpusMsg: CorpusMessage | null = null;
  readonly #store = new LabStore();

  /** `backend`: the choice the lab's worker starts on (the page's, read when the worker is made). */
  constructor(backend: () => BackendChoice) {
    super();
    this.#backend = backend;
  }

  #ensureLink(): WorkerLink<SweepFromWorker | FromWorker, SweepToWorker, SweepAnswers, LabRequest> {
    const onCrash = (message: string) => {
      this.error = message;
      this.status = 'error';
      this.fitting = false;
      this.#link = null; // the next request makes a new one
    };
    this.#link ??= new WorkerLink(this.#backend(), { onEvent: this.#onEvent, onCrash }, { name: 'sweep worker' });
    return this.#link;
  }

  /** Sends a request; its events arrive through #onEvent, and a crash (the link's) is reported by onCrash. */
  #send(context: LabRequest, make: (id: number) => Extract<SweepToWorker, { id: number }>): number {
    const { id, answer } = this.#ensureLink().request(make, context);
    answer.catch(() => {}); // a crash is reported once, by onCrash
    return id;
  }

  /** Trains the ladder on `corpus`, from its first model; the previous sweep's points are dropped. */
  startSweep(corpus: CorpusMessage) {
    if (this.running || this.settingsError || !this.ladder.ok) return;
    this.#config = this.sweepConfigFor(this.ladder.shapes);
    this.#corpusMsg = corpus;
    this.corpus = { name: corpus.name, entropyRate: corpus.entropyRate ?? null, vocabSize: new Set(corpus.text).size };
    this.points = [];
    this.fitted = null;
    this.fitError = null;
    this.#run(0);
  }

  /** Continues a stopped sweep at the first model it did not finish (that model starts over). */
  resumeSweep() {
    if (this.running || this.status !== 'stopped' || !this.#config) return;
    // The unfinished model's partial points are measured again from its start.
    this.points = this.points.filter((p) => p.model < this.nextModel);
    this.#run(this.nextModel);
  }

  stopSweep() {
    if (this.status !== 'running') return;
    this.status = 'stopping';
    this.#link?.post({ type: 'stopSweep' });
  }

  readonly canResume = $derived(this.status === 'stopped' && this.nextModel < this.plan.length);

  #run(startModel: number) {
    this.error = null;
    this.status = 'running';
    this.finished = startModel;
    this.currentStep = 0;
    this.currentModel = null;
    const config = $state.snapshot(this.#config!);
    this.#send({ kind: 'sweep' }, (id) => ({ type: 'sweep', id, corpus: this.#corpusMsg!, config, startModel }));
  }

  /** Fits the law to the sweep's points in the worker (seconds); with `target`, predicts there too. */
  fit(target: Omit<Prediction, 'predicted' | 'interval'> | null = null) {
    if (this.fitting) return;
    const points = this.points.map(({ N, D, loss }) => ({ N, D, loss }));
    this.fitting = true;
    this.fitError = null;
    const at = target ? [{ N: target.N, D: target.D }] : [];
    const plateau = this.#plateau();
    this.#send({ kind: 'fit', prediction: target, points: points.length }, (id) => ({
      type: 'fit',
      id,
      points,
      at,
      samples: 100,
      seed: 0,
      plateau,
    }));
  }

  #unigram: { text: string; blockSize: number; nats: number } | null = null;
  /** The unigram level of the sweep's corpus (its early plateau), computed once per corpus and context. */
  #plateau(): number | null {
    const text = this.#corpusMsg?.text;
    const blockSize = this.#config?.blockSize;
    if (text === undefined || blockSize === undefined) return null;
    if (this.#unigram?.text !== text || this.#unigram.blockSize !== blockSize)
      this.#unigram = { text, blockSize, nats: unigramLevel(text, blockSize) };
    return this.#unigram.nats;
  }

  /** A fit can be asked for: enough points, and two sizes and two lengths among them. */
  readonly canFit = $derived(
    this.points.length >= 5 && new Set(this.points.map((p) => p.N)).size >= 2 && new Set(this.points.map((p) => p.D)).size >= 2,
  );

  /** Predicts the target model's final loss from a fresh fit, before training it. */
  predict() {
    this.predictError = null;
    if (!this.#config || !this.corpus) {
      this.predictError = 'run a sweep first: the prediction comes from a law fitted to its points';
      return;
    }
    let shape: ModelShape;
    try {
      shape = parseShape(this.targetSize);
    } catch (err) {
      this.predictError = (err as Error).message;
      return;
    }
    if (!(this.targetTokens > 0)) {
      this.predictError = 'the target needs a positive number of tokens';
      return;
    }
    if (this.fitted && !this.fitted.identifiable) {
      this.predictError = `no prediction: the fit is not identifiable (${this.fitted.reasons.join('; ')}); train the sweep longer or on more sizes first`;
      return;
    }
    const tokensPerStep = this.#config.train.batchSize * this.#config.blockSize;
    const steps = Math.max(1, Math.ceil(this.targetTokens / tokensPerStep));
    const N = shapeN(shape, this.corpus.vocabSize, this.#config.blockSize);
    const id = this.predictions.length ? this.predictions.at(-1)!.id + 1 : 1;
    this.fit({ id, shape, N, D: steps * tokensPerStep, steps, actual: null, status: 'predicted' });
  }

  /** Trains a predicted model as a one-model sweep with the sweep's settings; its final loss is the actual. */
  verify(predictionId: number) {
    const p = this.predictions.find((q) => q.id === predictionId);
    if (!p || this.running || !this.#config || !this.#corpusMsg) return;
    this.#update(p.id, { status: 'training', actual: null });
    this.status = 'running';
    this.error = null;
    this.finished = 0;
    this.currentStep = 0;
    const config: SweepConfig = { ...$state.snapshot(this.#config), ladder: [p.shape], budget: { tokens: p.D } };
    const corpus = this.#corpusMsg;
    this.#send({ kind: 'verify', prediction: p.id }, (id) => ({ type: 'sweep', id, corpus, config, startModel: 0 }));
  }

  #update(id: number, change: Partial<Prediction>) {
    this.predictions = this.predictions.map((p) => (p.id === id ? { ...p, ...change } : p));
    this.#persist();
  }

  /** Keeps the lab in IndexedDB (after every point, fit and prediction): a reload loses nothing measured. */
  #persist() {
    const status = this.status === 'running' || this.status === 'stopping' ? 'stopped' : this.status;
    const snapshot = $state.snapshot({
      settings: this.settings(),
      config: this.#config,
      corpus: this.#corpusMsg,
      plan: this.plan,
      points: this.points,
      finished: this.finished,
      // A sweep cut short by a reload resumes at the model it was training.
      nextModel: !this.running ? this.nextModel : this.predictions.some((p) => p.status === 'training') ? this.plan.length : this.finished,
      status,
      fitted: this.fitted,
      fitPoints: this.fitPoints,
      fits: this.fits,
      predictions: this.predictions.map((p) => (p.status === 'training' ? { ...p, status: 'stopped' as const } : p)),
    });
    this.#store.save(snapshot).then(
      () => void (this.storeError = null),
      (err: Error) => void (this.storeError = err.message),
    );
  }

  /** Takes up the lab this browser kept, if any (on page load, before any sweep starts). */
  async restore() {
    try {
      const kept = await this.#store.load<LabSettings, Prediction>();
      if (!kept || this.status !== 'idle' || this.points.length) return;
      const { settings, config, corpus, version: _, ...measured } = kept;
      // A fit kept before fits said whether they are identifiable is fitted again on demand, not shown as a law.
      if (measured.fitted && typeof (measured.fitted as Partial<FittedLaw>).identifiable !== 'boolean') measured.fitted = null;
      Object.assign(this, settings, measured);
      this.#config = config;
      this.#corpusMsg = corpus;
      this.corpus = corpus && { name: corpus.name, entropyRate: corpus.entropyRate ?? null, vocabSize: new Set(corpus.text).size };
    } catch (err) {
      this.storeError = (err as Error).message;
    }
  }

  dispose() {
    this.#link?.close('the page closed the sweep worker');
    this.#link = null;
  }

  // An arrow function: handed to the worker as its callback.
  #onEvent = (msg: SweepFromWorker | FromWorker) => {
    this.#handle(msg);
    // What a reload must not lose: every point, the sweep's end, every fit.
    if (
      msg.type === 'sweepPlan' ||
      msg.type === 'sweepPoint' ||
      msg.type === 'sweepDone' ||
      msg.type === 'fitted' ||
      msg.type === 'sweepError'
    )
      this.#persist();
  };

  #handle(msg: SweepFromWorker | FromWorker) {
    switch (msg.type) {
      case 'sweepPlan':
        this.plan = msg.steps;
        break;
      case 'sweepModel':
        this.currentModel = msg.model;
        this.finished = msg.model;
        this.currentStep = 0;
        break;
      case 'sweepStep':
        this.currentStep = msg.step;
        break;
      case 'sweepPoint': {
        const req = this.#link?.context(msg.id);
        if (req?.kind === 'sweep') this.points = [...this.points, msg.point];
        else if (req?.kind === 'verify') this.#update(req.prediction, { actual: msg.point.loss });
        break;
      }
      case 'sweepDone': {
        const req = this.#link?.context(msg.id);
        this.#link?.settle(msg.id, 'sweep', { value: undefined });
        this.currentModel = null;
        this.finished = msg.nextModel;
        if (req?.kind === 'verify') {
          this.#update(req.prediction, { status: msg.stopped ? 'stopped' : 'trained' });
          this.status = msg.stopped ? 'stopped' : 'done';
          this.nextModel = this.plan.length; // a stopped verification is not a sweep to resume
          break;
        }
        this.nextModel = msg.nextModel;
        this.status = msg.stopped ? 'stopped' : 'done';
        if (!msg.stopped && this.canFit) this.fit(); // the law, as soon as the ladder is measured
        break;
      }
      case 'fitted': {
        const req = this.#link?.context(msg.id);
        this.#link?.settle(msg.id, 'fit', { value: undefined });
        this.fitting = false;
        const { type: _, id: __, ...fitted } = msg;
        this.fitted = fitted;
        const points = req?.kind === 'fit' ? req.points : 0;
        this.fitPoints = points;
        this.fits = [...this.fits, { label: `fit ${this.fits.length + 1} (${this.corpus?.name ?? 'corpus'})`, points, fitted }];
        if (req?.kind === 'fit' && req.prediction) {
          const [p] = msg.predictions;
          if (p) this.predictions = [...this.predictions, { ...req.prediction, predicted: p.loss, interval: p.interval }];
          else
            this.predictError = `no prediction: the fit is not identifiable (${msg.reasons.join('; ')}); train the sweep longer or on more sizes first`;
        }
        break;
      }
      case 'sweepError': {
        const req = this.#link?.context(msg.id);
        this.#link?.settle(msg.id, msg.during, { value: undefined });
        if (msg.during === 'fit') {
          this.fitting = false;
          if (req?.kind === 'fit' && req.prediction) this.predictError = msg.message;
          else this.fitError = msg.message;
        } else {
          this.error = msg.message;
          this.status = 'error';
          if (req?.kind === 'verify') this.#update(req.prediction, { status: 'stopped' });
        }
        break;
      }
      case 'error':
        // The lab's worker runs no run of its own: only init (or a crash past the handlers) lands here.
        this.error = msg.message;
        if (this.running) this.status = 'error';
        this.fitting = false;
        break;
      default:
        // The run's other events never come from this worker: it is sent no run.
        break;
    }
  }
}
