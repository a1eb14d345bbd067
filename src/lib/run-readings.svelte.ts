/**
 * What the page reads of its run: the run as the worker reported it (run-view.ts), and what the
 * user may do now, decided here once from the worker's events. Components only read these;
 * RunState (run.svelte.ts), which extends this class, is the one writer.
 */
import type { BackendChoice, BackendInfo } from '../../workers/protocol.ts';
import { emptyView, type RunView, type Status } from './run-view.ts';
import { Sampler } from './sampler.svelte.ts';

export class RunReadings {
  /** What the user asked for; 'auto' tries webgpu → wasm → webgl → cpu. */
  backendChoice = $state<BackendChoice>('auto');
  /** What the worker runs on; null until it reports. */
  backend = $state<BackendInfo | null>(null);
  /** The last init, start or training failure, in the worker's words. */
  error = $state<string | null>(null);
  /** Pause while the tab is hidden and resume when it shows again (otherwise training goes on). */
  pauseWhenHidden = $state(false);
  /** Milliseconds per step over the last minute of training (progress.ts), or null while it settles. */
  pace = $state<number | null>(null);
  /** The run as the worker reported it; read through the getters below. */
  view = $state.raw<RunView>(emptyView);
  /** The latest sample, as it streams in. */
  readonly sample = new Sampler();

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
  /** A run on a task's corpus: its scores after each evaluation (src/core/tasks.ts). */
  get tasks() {
    return this.view.tasks;
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

  // What the user may do now: decided here, from the worker's events, and only read by the components.
  /** A run is starting or training: the corpus and the config it was given stay as they are. */
  readonly busy = $derived(this.status === 'starting' || this.status === 'training');
  /**
   * Train may start a new run: none is starting or training. A paused run is replaced, as Load
   * replaces it (the worker's rule too); its pause saved it in this browser, so nothing is lost.
   */
  readonly canStart = $derived(!this.busy);
  /** The worker holds a model (training, paused or finished): it can be saved, exported and looked inside. */
  readonly hasModel = $derived(this.status === 'training' || this.status === 'paused' || this.status === 'done');
  readonly canPause = $derived(this.status === 'training');
  /** A paused run at its last step (a finished checkpoint loaded) has nothing left to train. */
  readonly atLastStep = $derived(this.maxSteps > 0 && this.step >= this.maxSteps);
  readonly canResume = $derived(this.status === 'paused' && !this.atLastStep);
  readonly canStop = $derived(this.status === 'training' || this.status === 'paused');
  /** Reset frees the model: once nothing trains (a finished, paused or failed run). */
  readonly canReset = $derived(this.status === 'done' || this.status === 'paused' || this.status === 'error');
  /** A checkpoint can replace the run: not while one trains or another start or load is under way. */
  readonly canLoad = $derived(this.status !== 'training' && this.status !== 'starting');
  /** The model can be sampled: it exists and no sample is streaming. */
  readonly canSample = $derived(this.hasModel && !this.sample.busy);
  /** What happened, in the words the status shows: "paused at step 120", "stopped at step 187 of 2,000", "finished", "failed". */
  readonly statusLabel = $derived.by((): string => {
    switch (this.status) {
      case 'paused':
        return `paused at step ${this.step.toLocaleString('en-US')}`;
      case 'done':
        return this.stoppedEarly
          ? `stopped at step ${this.step.toLocaleString('en-US')} of ${this.maxSteps.toLocaleString('en-US')}`
          : 'finished';
      case 'error':
        return 'failed';
      default:
        return this.status; // idle, starting, training
    }
  });
  /** A run that has ended (finished or stopped) or a loaded one at its last step can train on: extend. */
  readonly canExtend = $derived(this.status === 'done' || (this.status === 'paused' && this.atLastStep));
  /** The backend can change: that ends the worker and its model, so not while a run is under way or paused. */
  readonly canChangeBackend = $derived(!this.busy && this.status !== 'paused');
}
