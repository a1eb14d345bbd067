/**
 * One training session: a run and what its training keeps besides the weights. The worker (the
 * app's run) and the CLI's `train` both drive one; each only wires the session's events to its
 * output (messages to the page, JSON lines on stdout).
 *
 * The session owns the loop's bookkeeping, so that the two drivers cannot drift apart:
 * - the history a checkpoint keeps (every step's loss, every evaluation);
 * - what the run has measured (training time, tokens, the noise scale's averages), carried
 *   across pauses so a summary covers the whole run;
 * - work between two whole steps: a save asked for while training, and periodic saves, run
 *   there so the weights and the optimizer state they write come from the same step;
 * - the final evaluation, on the model as it stands when a run ends early.
 */
import type { NoiseEvent } from '../src/core/noise-scale.ts';
import { pushLoss, type RunHistory } from './history.ts';
import { disposeRun, type Run } from './run.ts';
import { summarize, train, type EvalEvent, type RunStats, type StepBatch, type StepEvent, type TrainSummary } from './train.ts';

/** Why a driver asked the loop to end before the run's last step. */
export type Interrupt = 'pause' | 'stop' | 'reset';

/** What a session reports; each driver turns these into its own output. */
export interface SessionEvents {
  onStep(e: StepEvent, batch: StepBatch): void;
  onEval(e: EvalEvent): void;
  onNoise(e: NoiseEvent): void;
}

export interface SessionOptions {
  noiseScaleEvery: number; // measure the gradient noise scale every this many steps (0: never)
  save?: () => Promise<void>; // writes the run where the driver keeps it (the CLI's --save); absent: no periodic saves
  saveEvery?: number; // with save: every this many steps, between two whole steps, and as soon as the last step is in
}

export class TrainingSession {
  readonly stats: RunStats; // carried across pause and resume
  private interrupted: Interrupt | null = null; // checked between steps
  private readonly between: (() => Promise<void>)[] = []; // run between two steps; each reports its own failure and never rejects
  private savedAt: number; // the step the driver's file holds

  constructor(
    readonly run: Run,
    readonly history: RunHistory, // losses of steps 1…n and the evaluations; a resumed run's starts with its checkpoint's
    private readonly events: SessionEvents,
    private readonly opts: SessionOptions,
  ) {
    const lastEval = history.evals.at(-1);
    this.stats = { trainMs: 0, tokens: 0, lastEval: lastEval && { type: 'eval', ...lastEval } };
    this.savedAt = run.trainer.step; // a resumed run's file already holds this step
  }

  get step(): number {
    return this.run.trainer.step;
  }

  /** Whether the run has done every step its schedule plans. */
  get trained(): boolean {
    return this.run.trainer.step >= this.run.trainer.config.maxSteps;
  }

  /** Asks the loop to end after the step in progress; a later ask does not replace an earlier one, except reset. */
  requestInterrupt(why: Interrupt) {
    if (why === 'reset') this.interrupted = 'reset';
    else this.interrupted ??= why;
  }

  /** Takes back a pause the loop has not noticed yet; false when there is none to take back. */
  cancelPause(): boolean {
    if (this.interrupted !== 'pause') return false;
    this.interrupted = null;
    return true;
  }

  /** Runs `job` between two whole steps of the loop in progress (the caller knows one is running). */
  betweenSteps(job: () => Promise<void>) {
    this.between.push(job);
  }

  /** The jobs asked for after the loop last looked: the caller runs them once nothing steps. */
  takeLeftovers(): (() => Promise<void>)[] {
    return this.between.splice(0);
  }

  /**
   * Trains until the run's last step or an interrupt, running the between-step work as it comes,
   * and says why it ended: 'trained', or the interrupt (which it clears).
   */
  async train(): Promise<'trained' | Interrupt> {
    const { trainer } = this.run;
    const { save, saveEvery = 0 } = this.opts;
    const saveDue = () => save !== undefined && saveEvery > 0 && trainer.step % saveEvery === 0 && trainer.step !== this.savedAt;
    const hooks = {
      onStep: (e: StepEvent, batch: StepBatch) => {
        pushLoss(this.history, e.step, e.loss);
        this.events.onStep(e, batch);
      },
      onEval: (e: EvalEvent) => this.recordEval(e),
      onNoise: (e: NoiseEvent) => this.events.onNoise(e),
      noiseScaleEvery: this.opts.noiseScaleEvery,
      shouldStop: () => this.interrupted !== null || this.between.length > 0 || saveDue(),
      abandon: () => this.interrupted === 'stop' || this.interrupted === 'reset', // finish() evaluates a stopped run again
      // Saved as soon as the last step is in, so an error in the final evaluation cannot cost the run.
      onTrained: save && (() => this.saveNow()),
    };
    // A save or a resume that takes back a pause stops train() with nothing left to interrupt: it goes on.
    do {
      await train(trainer, hooks, this.stats);
      for (const job of this.between.splice(0)) await job();
      if (saveDue()) await this.saveNow();
    } while (!this.trained && this.interrupted === null);
    const why = this.trained ? 'trained' : this.interrupted!;
    this.interrupted = null;
    return why;
  }

  /**
   * Ends the run: evaluates the model as it stands when its last evaluation is older (a stop lands
   * between evaluations), saves it with that evaluation in its history, and sums it up.
   */
  async finish(backend: string): Promise<TrainSummary> {
    const { trainer } = this.run;
    if (this.stats.lastEval?.step !== trainer.step) {
      const { train: trainLoss, val } = await trainer.estimateLoss();
      const e: EvalEvent = { type: 'eval', step: trainer.step, train: trainLoss, val };
      this.stats.lastEval = e;
      this.recordEval(e);
    }
    if (this.opts.save) await this.saveNow();
    return summarize(trainer, this.stats, backend);
  }

  /** An evaluation into the history a checkpoint keeps, and out to the driver. */
  private recordEval(e: EvalEvent) {
    this.history.evals.push({ step: e.step, train: e.train, val: e.val });
    this.events.onEval(e);
  }

  private async saveNow() {
    await this.opts.save!();
    this.savedAt = this.run.trainer.step;
  }

  /** Frees the run's tensors: call once no loop runs. */
  dispose() {
    disposeRun(this.run);
  }
}
