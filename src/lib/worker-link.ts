/**
 * The page's one link to a training worker: typed messages both ways, requests answered by id,
 * a crash that fails every open request, and the heartbeat's pings. The main run and the Scaling
 * lab each hold one. Only types come from workers/, so tfjs loads in the worker and never on the
 * main thread.
 */
import type { BackendChoice } from '../../workers/backend.ts';
import type { Answers, FromWorker, ToWorker } from '../../workers/protocol.ts';
import { Heartbeat, type Health, type HeartbeatOptions } from './heartbeat.ts';

export interface LinkHandlers<In> {
  /** Every message but 'pong', which the link answers itself. */
  onEvent: (msg: In) => void;
  /** The worker failed to load, or threw past its own handlers: it will answer nothing more. */
  onCrash: (message: string) => void;
  /** A message arrived that could not be deserialised; the worker itself goes on. */
  onUnreadable?: (message: string) => void;
  /**
   * Watch the worker: ping it every heartbeat interval and report how it sounds (heartbeat.ts);
   * `training` says whether steps are due. Pings end when the link closes.
   */
  watch?: { training: () => boolean; onHealth: (health: Health, silentFor: () => number) => void };
}

/** A request the worker has not answered yet: its kind, its promise, and what the asker needs to read its events. */
interface Pending<C> {
  kind: string;
  resolve: (value: unknown) => void;
  reject: (e: Error) => void;
  context: C;
}

/**
 * `A` maps each request's message type to what answers it: `request` returns a promise of that
 * type, and `settle` takes only that type for a request of that kind.
 */
export class WorkerLink<
  In extends { type: string } = FromWorker,
  Out extends { type: string } = ToWorker,
  A extends object = Answers,
  C = undefined,
> {
  /** The worker's answers to pings and its steps, for the owner to judge (heartbeat.ts). */
  readonly heartbeat: Heartbeat;
  readonly #worker: Worker;
  readonly #name: string;
  #nextId = 0;
  #pending = new Map<number, Pending<C>>();
  #closed: string | null = null; // why the link ended: later requests fail with it
  #pinger: ReturnType<typeof setInterval> | undefined;
  #expected: { answers: readonly string[]; timer: ReturnType<typeof setTimeout> } | null = null;

  /** Starts a worker that initialises `backend` and reports to `handlers`; `name` is how errors call it. */
  constructor(
    backend: BackendChoice,
    handlers: LinkHandlers<In>,
    opts: { name?: string; heartbeat?: HeartbeatOptions; wasmThreads?: number } = {},
  ) {
    this.#name = opts.name ?? 'training worker';
    this.heartbeat = new Heartbeat(Date.now(), opts.heartbeat);
    this.#worker = new Worker(new URL('../../workers/train.worker.ts', import.meta.url), { type: 'module' });
    this.#worker.onmessage = (e: MessageEvent<In>) => {
      if (this.#expected?.answers.includes(e.data.type)) this.#unexpect();
      if (e.data.type === 'pong') this.heartbeat.answered();
      else handlers.onEvent(e.data);
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      // A module that fails to import gives an event with no message at all.
      const message = e.message
        ? `the ${this.#name} failed: ${e.message}`
        : `the ${this.#name} could not be loaded (the browser console names the module that failed)`;
      this.close(message);
      handlers.onCrash(message);
    };
    const { onUnreadable } = handlers;
    if (onUnreadable) this.#worker.onmessageerror = () => onUnreadable(`a message from the ${this.#name} could not be read`);
    this.#worker.postMessage({ type: 'init', backend, wasmThreads: opts.wasmThreads } satisfies ToWorker);
    const { watch } = handlers;
    if (watch)
      this.#pinger = setInterval(() => {
        const now = Date.now();
        this.ping();
        const health = this.heartbeat.check(now, watch.training());
        watch.onHealth(health, () => (health === 'ok' ? 0 : this.heartbeat.silentFor(now, health)));
      }, this.heartbeat.opts.intervalMs);
  }

  post(msg: Out) {
    if (this.#closed === null) this.#worker.postMessage(msg);
  }

  /**
   * Sends the message `make` builds around a fresh id; the promise settles when the owner settles
   * that id (from the answering event), or fails when the link closes. `context` is kept with it
   * for the events that stream before the answer (a sweep's points).
   */
  request<M extends Out & { type: keyof A; id: number }>(
    make: (id: number) => M,
    context?: C,
  ): { id: number; answer: Promise<A[M['type']]> } {
    const id = ++this.#nextId;
    const answer = new Promise<A[M['type']]>((resolve, reject) => {
      if (this.#closed !== null) return reject(new Error(this.#closed));
      const msg = make(id);
      // The one place answers lose their type: settle checks the kind before it resolves.
      this.#pending.set(id, { kind: String(msg.type), resolve: resolve as (value: unknown) => void, reject, context: context as C });
      this.#worker.postMessage(msg);
    });
    return { id, answer };
  }

  /** What request `id` was sent with, while it is open. */
  context(id: number): C | undefined {
    return this.#pending.get(id)?.context;
  }

  /** Ends request `id`, of kind `kind`, with its answer or the worker's error; false if no such request is open. */
  settle<K extends keyof A & string>(id: number, kind: K, outcome: { value: A[K] } | { error: string }): boolean {
    const pending = this.#pending.get(id);
    if (!pending || pending.kind !== kind) return false;
    this.#pending.delete(id);
    if ('value' in outcome) pending.resolve(outcome.value);
    else pending.reject(new Error(outcome.error));
    return true;
  }

  /**
   * Calls `missed` unless one of `answers` comes within `ms`: an answer the worker owes in time (it
   * took a stop). One at a time: a later call replaces an earlier one; closing the link drops it.
   */
  expect(answers: readonly In['type'][], ms: number, missed: () => void) {
    this.#unexpect();
    const timer = setTimeout(() => {
      this.#expected = null;
      missed();
    }, ms);
    this.#expected = { answers, timer };
  }

  #unexpect() {
    if (this.#expected) clearTimeout(this.#expected.timer);
    this.#expected = null;
  }

  /** Pings the worker: its message handler answers at once, unless its thread is stuck. */
  ping() {
    if (this.#closed !== null) return;
    this.heartbeat.pinged(Date.now());
    this.#worker.postMessage({ type: 'ping', id: ++this.#nextId } satisfies ToWorker);
  }

  /** Ends the worker at once (its tensors and GPU buffers go with it); open requests fail with `why`. */
  close(why: string) {
    if (this.#closed !== null) return;
    this.#closed = why;
    clearInterval(this.#pinger);
    this.#unexpect();
    this.#worker.terminate();
    for (const { reject } of this.#pending.values()) reject(new Error(why));
    this.#pending.clear();
  }
}
