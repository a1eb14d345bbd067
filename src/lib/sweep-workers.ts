/**
 * The Scaling lab's training workers (the same module as the main run's, more instances, so the
 * main run never waits for them), made on first use, and the models of a running sweep they take
 * one at a time. Fits and verifications go to the first. How many workers, and how many wasm
 * threads each, is sweepWorkers's rule (src/core/sweep.ts); the lab (scaling-lab.svelte.ts) reads
 * their events.
 */
import { WorkerLink } from './worker-link.ts';
import type { BackendChoice, FromWorker, SweepAnswers, SweepFromWorker, SweepToWorker } from '../../workers/protocol.ts';

/** A link to one of the lab's workers; `C`: what the lab keeps of each request it sends. */
export type LabLink<C> = WorkerLink<SweepFromWorker | FromWorker, SweepToWorker, SweepAnswers, C>;

export interface SweepWorkerHandlers<C> {
  /** An event of one worker (its link reads the context of the request it answers). */
  onEvent: (msg: SweepFromWorker | FromWorker, link: LabLink<C>) => void;
  /** A worker failed: every worker is closed (the next request makes new ones). */
  onCrash: (message: string) => void;
}

export class SweepWorkers<C> {
  #links: LabLink<C>[] = [];
  #threads: number | undefined = undefined; // the wasm threads each was started with
  #queue: number[] = []; // models of the running sweep no worker has taken yet
  #busy = new Set<number>(); // workers with a sweep request open
  readonly #backend: () => BackendChoice;
  readonly #handlers: SweepWorkerHandlers<C>;

  /** `backend`: the choice the workers start on (read when a worker is made). */
  constructor(backend: () => BackendChoice, handlers: SweepWorkerHandlers<C>) {
    this.#backend = backend;
    this.#handlers = handlers;
  }

  /** Sends a request to worker `i`; its events arrive through onEvent, and a crash (the link's) through onCrash. */
  send(context: C, make: (id: number) => Extract<SweepToWorker, { id: number }>, i = 0): number {
    const { id, answer } = this.#link(i).request(make, context);
    answer.catch(() => {}); // a crash is reported once, by onCrash
    return id;
  }

  /** A sweep's models to deal out, in the order they go; `threads`: each worker's wasm threads (others are started again). */
  deal(models: number[], threads: number) {
    if (threads !== this.#threads) this.close('the sweep workers were started again with another share of the cores');
    this.#threads = threads;
    this.#queue = models;
  }

  /** The next model for worker `i` (none when `more` is false or none is left: the worker rests). */
  take(i: number, more: boolean): number | undefined {
    const model = more ? this.#queue.shift() : undefined;
    if (model === undefined) this.#busy.delete(i);
    else this.#busy.add(i);
    return model;
  }

  /** Whether every worker rests: the sweep has ended. */
  get resting(): boolean {
    return this.#busy.size === 0;
  }

  /** Deals no more models and asks the workers training one to stop after their current step. */
  stop() {
    this.#queue = [];
    for (const i of this.#busy) this.#links[i]?.post({ type: 'stopSweep' });
  }

  /** A sweep failed: the others stop too, and none is waited for. */
  abort() {
    this.stop();
    this.#busy.clear();
  }

  close(why: string) {
    for (const link of this.#links) link.close(why);
    this.#links = [];
    this.#busy.clear();
  }

  /** Worker `i`, made on first use with the current share of threads (undefined: every core). */
  #link(i: number): LabLink<C> {
    if (this.#links[i]) return this.#links[i];
    const onCrash = (message: string) => {
      this.#queue = [];
      this.close(`another sweep worker failed: ${message}`);
      this.#handlers.onCrash(message);
    };
    const name = i === 0 ? 'sweep worker' : `sweep worker ${i + 1}`;
    const link: LabLink<C> = new WorkerLink(
      this.#backend(),
      { onEvent: (msg) => this.#handlers.onEvent(msg, link), onCrash },
      { name, wasmThreads: this.#threads },
    );
    return (this.#links[i] = link);
  }
}
