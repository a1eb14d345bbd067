/**
 * Faults and the way back from them (faults.ts says what each is). A lost or failing GPU device
 * restarts the run in a fresh worker from the latest checkpoint, on its own; a worker that
 * crashed, stopped answering pings or stopped stepping is offered the same restart; a diverged
 * run is offered a rollback at half the learning rate. At most one autosave interval of steps is
 * lost. The run (run.svelte.ts) reports what happened; this class decides what to do about it.
 */
import { errorMessage } from '../core/errors.ts';
import type { BackendChoice, FromWorker } from '../../workers/protocol.ts';
import type { Health } from './heartbeat.ts';
import { MAX_AUTO_RESTARTS, restartNote, silenceFault, type Fault } from './faults.ts';
import type { ModelConfig, TrainConfig } from '../core/config.ts';
import type { BackendInfo, CorpusMessage, RunInfo } from '../../workers/protocol.ts';
import type { CorpusSource } from './corpus.svelte.ts';
import type { KeptCheckpoint, RunCheckpoints } from './run-checkpoints.svelte.ts';
import type { Status } from './run-view.ts';

/** What a run was started with: a restart without a checkpoint starts it again. */
export interface StartRequest {
  corpus: CorpusMessage;
  model: Omit<ModelConfig, 'vocabSize'>;
  train: TrainConfig;
  source: CorpusSource; // how a saved copy of this run finds its corpus again
}

/** How a checkpoint is loaded (RunState.load): where its corpus comes from, its store key, a rate scale, the checkpoints a restart keeps. */
export interface LoadOptions {
  source: CorpusSource;
  key?: string;
  lrScale?: number;
  continuing?: KeptCheckpoint[];
}

/** What the recovery needs of the run it looks after (RunState), declared here so neither module imports the other. */
export interface Recoverable {
  status: Status;
  readonly step: number;
  readonly startStep: number;
  backendChoice: BackendChoice;
  readonly backend: BackendInfo | null;
  readonly trainedOn: BackendInfo['name'] | null;
  readonly lastStart: StartRequest | null;
  readonly checkpoints: RunCheckpoints;
  start(corpus: CorpusMessage, model: Omit<ModelConfig, 'vocabSize'>, train: TrainConfig, source: CorpusSource): Promise<RunInfo>;
  load(
    bytes: Uint8Array,
    corpus: CorpusMessage,
    mode: 'resume' | 'finetune',
    train: TrainConfig | undefined,
    opts: LoadOptions,
  ): Promise<number>;
  pause(): Promise<void>;
  resume(): void;
  relaunch(choice: BackendChoice): Promise<void>;
  rewatch(): void;
  failed(message: string): void;
}

export class RunRecovery {
  /** The fault the run met, until the user or a restart deals with it. */
  fault = $state<Fault | null>(null);
  /** What the last restart or rollback did, in words: kept after it succeeded. */
  note = $state<string | null>(null);
  /** A restart is under way: a fresh worker is starting and loading the checkpoint. */
  recovering = $state(false);
  /** Restart from the latest checkpoint by itself when the GPU device is lost or fails. */
  autoRestart = $state(true);

  #autoRestarts = 0; // in the current run
  #trainingAtFault = true; // a restart trains on only if the run was training when the fault came

  constructor(private readonly run: Recoverable) {}

  /** A new run: its faults and restarts are counted afresh. */
  started() {
    this.fault = null;
    this.note = null;
    this.#autoRestarts = 0;
  }

  /** A checkpoint past the last restart point: the run is healthy again, so a later fault restarts by itself too. */
  recovered() {
    this.#autoRestarts = 0;
  }

  /** Training stopped with a fault of the worker's own (a lost device, a divergence, an error); `training`: it was training, not paused. */
  trainFailed(msg: Extract<FromWorker, { type: 'error'; during: 'train' }>, training: boolean) {
    this.#trainingAtFault = training;
    this.fault = { kind: msg.fault, message: msg.message, step: msg.step };
    const canRestart = this.run.checkpoints.latest() !== undefined || this.run.lastStart !== null;
    if (msg.fault === 'device' && this.autoRestart && this.#autoRestarts < MAX_AUTO_RESTARTS && canRestart) {
      this.#autoRestarts++;
      void this.restart();
    }
  }

  /** The worker died; returns whether a restart can bring the run back. */
  crashed(message: string): boolean {
    const canRestart = this.run.lastStart !== null || this.run.checkpoints.latest() !== undefined;
    this.#trainingAtFault = this.run.status === 'training';
    this.fault = canRestart ? { kind: 'crash', message, step: this.run.step } : null;
    return canRestart;
  }

  /** Stop was not taken in time and the worker was ended: the latest checkpoint is offered back, paused. */
  unstoppable(message: string) {
    this.#trainingAtFault = false; // the user asked it to stop: a restart brings it back paused
    const kept = this.run.checkpoints.latest() !== undefined; // without one there is nothing to take back
    this.fault = kept ? { kind: 'unstoppable', message, step: this.run.step } : null;
  }

  /** What the heartbeat says now: a silent worker becomes a fault, and one that speaks again clears it. */
  heard(health: Health, silentFor: () => number) {
    const watching = this.fault === null || this.fault.kind === 'unresponsive' || this.fault.kind === 'stalled';
    if (!watching) return;
    if (health === 'ok') {
      this.fault = null;
      return;
    }
    this.#trainingAtFault = this.run.status === 'training';
    this.fault = silenceFault(health, silentFor(), this.run.step);
  }

  /** The user's "it may yet come back": forget an unresponsive or stalled verdict and keep watching. */
  keepWaiting() {
    if (this.fault?.kind === 'unresponsive' || this.fault?.kind === 'stalled') this.fault = null;
    this.run.rewatch();
  }

  /**
   * Resumes the current run from its latest autosave before `step` (pausing it first), as a new
   * saved run beside the one with the spike; settles with the step it is paused at.
   */
  async rollBack(step: number, lrScale = 1): Promise<number> {
    const run = this.run;
    const kept = run.checkpoints.before(step);
    const entry = run.checkpoints.entry;
    if (!kept || !entry) throw new Error(`no checkpoint of this run from before step ${step} is kept`);
    await run.pause(); // settles once training has halted (at once when it is not training)
    await run.load(kept.bytes, entry.message, 'resume', undefined, { source: entry.source, lrScale });
    return run.startStep;
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
    this.note = `Rolled back to step ${at} after the divergence at step ${fault.step}; the learning rate is halved from here on.`;
    this.run.resume();
  }

  /**
   * Ends the worker (whatever state it is in), starts a fresh one on `backend` and resumes the
   * run from its latest checkpoint (from its start when none was kept yet), training on.
   * `backend` defaults to the one the run trained on when that was WebGPU: a restart after a
   * lost device tries the GPU again rather than falling back silently; if it cannot come back,
   * the fault says so and restart('wasm') continues there.
   */
  async restart(backend?: BackendChoice): Promise<void> {
    const run = this.run;
    const from = run.checkpoints.latest() ?? null;
    const begin = run.lastStart;
    const entry = run.checkpoints.entry;
    const corpus = entry ? { message: entry.message, source: entry.source } : begin && { message: begin.corpus, source: begin.source };
    if (this.recovering) return;
    if (!corpus || (!from && !begin)) throw new Error('there is no run to restart');
    const cause = this.fault;
    const choice = backend ?? (run.trainedOn === 'webgpu' ? 'webgpu' : run.backendChoice);
    this.recovering = true;
    try {
      await run.relaunch(choice);
    } catch (err) {
      this.recovering = false;
      this.fault = { kind: 'backend', message: `${choice} could not start again: ${errorMessage(err)}`, step: cause?.step ?? null };
      run.failed(this.fault.message);
      return;
    }
    if (backend) run.backendChoice = backend;
    const note = restartNote(cause, run.backend?.name ?? choice, from?.step ?? null, this.#trainingAtFault);
    try {
      if (from) {
        run.status = 'error'; // still the fault's state, until the load succeeds
        await run.load(from.bytes, corpus.message, 'resume', undefined, {
          source: corpus.source,
          key: entry?.key,
          continuing: run.checkpoints.all(),
        });
        this.fault = null;
        this.note = note;
        if (this.#trainingAtFault) run.resume();
      } else {
        this.fault = null;
        const { corpus: c, model, train, source } = begin!;
        const restarts = this.#autoRestarts;
        run.status = 'idle';
        const started = run.start(c, model, train, source);
        this.#autoRestarts = restarts;
        this.note = note;
        await started; // a refused start is the restart's failure
      }
    } catch (err) {
      this.fault = { kind: 'error', message: `the restart failed: ${errorMessage(err)}`, step: cause?.step ?? null };
      run.failed(this.fault.message);
    } finally {
      this.recovering = false;
    }
  }
}
