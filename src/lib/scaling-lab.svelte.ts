/**
 * The Scaling lab's state: sweeps, fits and predictions, run in training workers of its own
 * (sweep-workers.ts), so the main run never waits for them. A sweep's models train in several
 * workers at once where the backend shares the cores; each model's points depend on its own seeds
 * alone, so they are those of one worker. The workers' events are the only writers of what it
 * measured; components read and call methods.
 */
import { LabStore } from './lab-store.ts';
import { LabForm, type LabSettings } from './scaling-lab-form.svelte.ts';
import { SweepWorkers, type LabLink } from './sweep-workers.ts';
import type { ChinchillaLaw } from '../core/scaling.ts';
import type {
  BackendChoice,
  BackendInfo,
  CorpusMessage,
  FittedLaw,
  FromWorker,
  ModelShape,
  SweepConfig,
  SweepFromWorker,
  SweepPoint,
} from '../../workers/protocol.ts';
import { formatShape, parseShape, planSweep, shapeN, sweepFraction, sweepWorkers } from '../core/sweep.ts';
import { type ExportedFit } from './scaling-chart.ts';
import { unigramLevel } from '../core/ngram.ts';
import { APP_TASK_PROBLEMS, isTaskSpec } from '../core/tasks.ts';
import { vocabularySize } from '../core/tokenizer.ts';

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
  | { kind: 'sweep'; worker: number; model: number }
  | { kind: 'verify'; prediction: number }
  | { kind: 'fit'; prediction: Omit<Prediction, 'predicted' | 'interval'> | null; points: number };

export class ScalingLab extends LabForm {
  status = $state<SweepStatus>('idle');
  error = $state<string | null>(null);
  /** Points of the current sweep, in arrival order. */
  points = $state.raw<SweepPoint[]>([]);
  /** Steps per model of the sweep in progress or last run, and how far it got. */
  plan = $state.raw<number[]>([]);
  /** The models trained to their end, in the order they ended. */
  done = $state.raw<number[]>([]);
  finished = $state(0); // how many: done.length
  /** The first model not trained to its end (the ladder's length when all were). */
  nextModel = $state(0);
  /** How the latest sweep shared the cores: its workers, and the wasm threads each took. */
  sharing = $state<{ workers: number; threads: number; backend: string | null } | null>(null);
  /** Each sweep worker's model and step while a sweep runs (model null: starting, or idle). */
  workers = $state.raw<{ model: number | null; step: number }[]>([]);
  /** The corpus the points were measured on. */
  corpus = $state.raw<{ name: string; entropyRate: number | null; vocabSize: number } | null>(null);

  fitted = $state.raw<FittedLaw | null>(null);
  fitPoints = $state(0); // how many points the current fit used
  fitting = $state(false);
  fitError = $state<string | null>(null);
  fits = $state.raw<ExportedFit[]>([]); // every fit of this page, for export

  predictions = $state.raw<Prediction[]>([]);
  /** An earlier sweep kept beside the next for comparison (scratchpad against direct, say), with what it was. */
  kept = $state.raw<{ label: string; points: SweepPoint[] } | null>(null);
  predictError = $state<string | null>(null);
  /** Why the lab could not be kept in (or read back from) this browser; the lab works on regardless. */
  storeError = $state<string | null>(null);

  readonly progress = $derived(sweepFraction(this.plan, this.done, this.workers));
  readonly running = $derived(this.status === 'running' || this.status === 'stopping');
  /** The fitted law, only where its points pin it down: a fit that is not identifiable is points, not a law. */
  readonly law = $derived<ChinchillaLaw | null>(this.fitted?.identifiable ? this.fitted.law : null);

  /** The lab's own training workers: they get only sweep and fit requests. */
  readonly #pool: SweepWorkers<LabRequest>;
  #resolved: () => BackendInfo['name'] | null;
  #config: SweepConfig | null = null; // the sweep in progress or stopped: a resume reuses it
  #corpusMsg: CorpusMessage | null = null;
  readonly #store = new LabStore();

  /**
   * `backend`: the choice the lab's workers start on (the page's, read when a worker is made);
   * `resolved`: what the page's own worker runs on (what 'auto' chose there, and will choose here).
   */
  constructor(backend: () => BackendChoice, resolved: () => BackendInfo['name'] | null = () => null) {
    super();
    this.#resolved = resolved;
    const onCrash = (message: string) => {
      this.error = message;
      this.status = 'error';
      this.fitting = false;
      this.workers = [];
    };
    this.#pool = new SweepWorkers(backend, { onEvent: (msg, link) => this.#onEvent(msg, link), onCrash });
  }

  /** Trains the ladder on `corpus`, from its first model; the previous sweep's points are dropped. */
  startSweep(corpus: CorpusMessage) {
    if (this.running || this.settingsError || !this.ladder.ok) return;
    this.#config = this.sweepConfigFor(this.ladder.shapes);
    // A task's corpus: every point also scores the task (its exact match and answer nats).
    if (isTaskSpec(corpus.name)) this.#config.task = { spec: corpus.name, n: APP_TASK_PROBLEMS };
    this.#corpusMsg = corpus;
    this.corpus = { name: corpus.name, entropyRate: corpus.entropyRate ?? null, vocabSize: vocabularySize(corpus.text) };
    this.points = [];
    this.fitted = null;
    this.fitError = null;
    this.done = [];
    this.#run();
  }

  /** Keeps this sweep's points beside the next sweep's, in the emergence chart, labelled with its corpus and ladder. */
  keepForComparison() {
    if (this.running || this.points.length === 0) return;
    const label = `${this.corpus?.name ?? 'earlier sweep'} · ${this.#config?.ladder.map(formatShape).join(',') ?? ''}`;
    this.kept = { label, points: this.points };
    this.#persist();
  }

  /** Continues a stopped sweep: the models it did not finish train again from their start. */
  resumeSweep() {
    if (this.running || this.status !== 'stopped' || !this.#config) return;
    // An unfinished model's partial points are measured again from its start.
    const done = new Set(this.done);
    this.points = this.points.filter((p) => done.has(p.model));
    this.#run();
  }

  stopSweep() {
    if (this.status !== 'running') return;
    this.status = 'stopping';
    this.#pool.stop();
  }

  readonly canResume = $derived(this.status === 'stopped' && this.finished < this.plan.length);

  /** Records which models are trained to their end. */
  #setDone(done: number[]) {
    this.done = done;
    this.finished = done.length;
    const set = new Set(done);
    let next = 0;
    while (next < this.#config!.ladder.length && set.has(next)) next++;
    this.nextModel = next;
  }

  /** Trains every model not yet done, in as many workers as sweepWorkers gives, the costliest first. */
  #run() {
    const config = $state.snapshot(this.#config!);
    const corpus = this.#corpusMsg!;
    const plan = planSweep(config, vocabularySize(corpus.text));
    this.plan = plan.steps;
    this.#setDone(this.done.filter((m) => m < config.ladder.length));
    const done = new Set(this.done);
    const cost = (m: number) => plan.steps[m] * plan.N[m];
    const models = config.ladder
      .map((_, m) => m)
      .filter((m) => !done.has(m))
      .sort((a, b) => cost(b) - cost(a) || a - b);
    const cores = (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 1;
    const { workers, threads } = sweepWorkers(this.#resolved(), models.length, cores);
    this.#pool.deal(models, threads);
    this.error = null;
    this.status = 'running';
    this.workers = Array.from({ length: Math.max(1, Math.min(workers, models.length)) }, () => ({ model: null, step: 0 }));
    this.sharing = { workers: this.workers.length, threads, backend: this.#resolved() };
    for (let i = 0; i < this.workers.length; i++) this.#next(i, config, corpus);
  }

  /** Hands worker `i` the next model of the queue; with none left (or a stop), it rests, and the last to rest ends the sweep. */
  #next(i: number, config: SweepConfig, corpus: CorpusMessage) {
    const model = this.#pool.take(i, this.status === 'running');
    this.workers = this.workers.map((w, k) => (k === i ? { model: model ?? null, step: 0 } : w));
    if (model === undefined) {
      if (this.#pool.resting && (this.status === 'running' || this.status === 'stopping')) this.#sweepEnded();
      return;
    }
    this.#pool.send(
      { kind: 'sweep', worker: i, model },
      (id) => ({ type: 'sweep', id, corpus, config, startModel: 0, models: [model] }),
      i,
    );
  }

  /** Every worker has rested: the sweep is done, or stopped with models left to resume. */
  #sweepEnded() {
    this.workers = [];
    const all = this.finished >= this.plan.length;
    this.status = all ? 'done' : 'stopped';
    if (all && this.canFit) this.fit(); // the law, as soon as the ladder is measured
  }

  /** Fits the law to the sweep's points in the worker (seconds); with `target`, predicts there too. */
  fit(target: Omit<Prediction, 'predicted' | 'interval'> | null = null) {
    if (this.fitting) return;
    const points = this.points.map(({ N, D, loss }) => ({ N, D, loss }));
    this.fitting = true;
    this.fitError = null;
    const at = target ? [{ N: target.N, D: target.D }] : [];
    const plateau = this.#plateau();
    this.#pool.send({ kind: 'fit', prediction: target, points: points.length }, (id) => ({
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
    this.workers = [{ model: null, step: 0 }];
    const config: SweepConfig = { ...$state.snapshot(this.#config), ladder: [p.shape], budget: { tokens: p.D } };
    const corpus = this.#corpusMsg;
    this.#pool.send({ kind: 'verify', prediction: p.id }, (id) => ({ type: 'sweep', id, corpus, config, startModel: 0 }));
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
      done: this.done,
      // A sweep cut short by a reload resumes with the models it was training.
      nextModel: this.nextModel,
      status,
      fitted: this.fitted,
      fitPoints: this.fitPoints,
      fits: this.fits,
      predictions: this.predictions.map((p) => (p.status === 'training' ? { ...p, status: 'stopped' as const } : p)),
      kept: this.kept,
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
      // A lab kept before models could end out of order resumes at its next model.
      if (!Array.isArray(measured.done)) this.done = Array.from({ length: measured.nextModel }, (_, m) => m);
      this.#config = config;
      this.#corpusMsg = corpus;
      this.corpus = corpus && { name: corpus.name, entropyRate: corpus.entropyRate ?? null, vocabSize: vocabularySize(corpus.text) };
    } catch (err) {
      this.storeError = (err as Error).message;
    }
  }

  dispose() {
    this.#pool.close('the page closed the sweep workers');
  }

  /** An event of one of the lab's workers. */
  #onEvent(msg: SweepFromWorker | FromWorker, link: LabLink<LabRequest>) {
    this.#handle(msg, link);
    // What a reload must not lose: every point, the sweep's end, every fit.
    if (
      msg.type === 'sweepPlan' ||
      msg.type === 'sweepPoint' ||
      msg.type === 'sweepDone' ||
      msg.type === 'fitted' ||
      msg.type === 'sweepError'
    )
      this.#persist();
  }

  /** Points in model order, each model's in step order: the order one worker gives, whichever worker measured them. */
  #withPoint(p: SweepPoint): SweepPoint[] {
    return [...this.points, p].sort((a, b) => a.model - b.model || a.step - b.step);
  }

  #handle(msg: SweepFromWorker | FromWorker, link: LabLink<LabRequest> | undefined) {
    const req = 'id' in msg && typeof msg.id === 'number' ? link?.context(msg.id) : undefined;
    switch (msg.type) {
      case 'sweepPlan':
        if (req?.kind === 'verify') this.plan = msg.steps; // a sweep's plan was set when it started
        break;
      case 'sweepModel':
      case 'sweepStep': {
        const step = msg.type === 'sweepStep' ? msg.step : 0;
        const at = req?.kind === 'sweep' ? req.worker : 0;
        this.workers = this.workers.map((w, k) => (k === at ? { model: msg.model, step } : w));
        break;
      }
      case 'sweepPoint': {
        if (req?.kind === 'sweep') this.points = this.#withPoint(msg.point);
        else if (req?.kind === 'verify') this.#update(req.prediction, { actual: msg.point.loss });
        break;
      }
      case 'sweepDone': {
        link?.settle(msg.id, 'sweep', { value: undefined });
        if (req?.kind === 'verify') {
          this.workers = [];
          this.#update(req.prediction, { status: msg.stopped ? 'stopped' : 'trained' });
          this.status = msg.stopped ? 'stopped' : 'done';
          break;
        }
        if (req?.kind !== 'sweep') break;
        if (!msg.stopped) this.#setDone([...this.done, req.model]);
        this.#next(req.worker, $state.snapshot(this.#config!), this.#corpusMsg!);
        break;
      }
      case 'fitted': {
        link?.settle(msg.id, 'fit', { value: undefined });
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
        link?.settle(msg.id, msg.during, { value: undefined });
        if (msg.during === 'fit') {
          this.fitting = false;
          if (req?.kind === 'fit' && req.prediction) this.predictError = msg.message;
          else this.fitError = msg.message;
        } else {
          this.error = msg.message;
          this.status = 'error';
          this.workers = [];
          this.#pool.abort(); // the others stop too
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
