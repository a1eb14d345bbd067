/**
 * Is the training worker alive, and is it making progress? The page pings the worker every few
 * seconds; the worker answers from its message handler. Two ways to be stuck:
 * - unresponsive: pings go unanswered. The worker's thread is blocked (an endless loop, or a
 *   very long synchronous op: a cpu-backend step runs synchronously, so the limit grows with
 *   the longest step seen) or the worker ended without an error event.
 * - stalled: pings are answered but no training step arrives, as when a GPU never finishes
 *   the work it was given and the awaited read-back never resolves.
 * Pure bookkeeping on times the caller passes in, so it is tested with a made-up clock.
 */

export type Health = 'ok' | 'unresponsive' | 'stalled';

export interface HeartbeatOptions {
  intervalMs: number; // how often the page pings
  unresponsiveMs: number; // an unanswered ping older than this (at least) means stuck
  stalledMs: number; // no step for this long (at least) while training means stalled
  slowFactor: number; // the limits also grow to this many times the longest step seen
}

export const defaultHeartbeat: HeartbeatOptions = {
  intervalMs: 5_000,
  unresponsiveMs: 30_000, // a first step compiles shaders: seconds on a real GPU, more on a software one
  stalledMs: 90_000, // an eval or a checkpoint runs between steps, too
  slowFactor: 5,
};

export class Heartbeat {
  #unansweredSince: number | null = null; // when the oldest unanswered ping went out
  #lastProgress: number; // the last step (or the start of training)
  #longestStepMs = 0;

  constructor(
    now: number,
    readonly opts: HeartbeatOptions = defaultHeartbeat,
  ) {
    this.#lastProgress = now;
  }

  /** Forgets everything seen: the watch starts again at `now`. */
  reset(now: number) {
    this.#unansweredSince = null;
    this.#lastProgress = now;
    this.#longestStepMs = 0;
  }

  /** A ping went out. */
  pinged(now: number) {
    this.#unansweredSince ??= now;
  }

  /** The worker answered: every earlier ping counts as answered. */
  answered() {
    this.#unansweredSince = null;
  }

  /** A training step arrived (or training started or resumed), `stepMs` long if known. */
  progressed(now: number, stepMs = 0) {
    this.#lastProgress = now;
    if (Number.isFinite(stepMs)) this.#longestStepMs = Math.max(this.#longestStepMs, stepMs);
  }

  /** The limits in force: the fixed minimums, or longer after slow steps. */
  limits(): { unresponsiveMs: number; stalledMs: number } {
    const slow = this.opts.slowFactor * this.#longestStepMs;
    return { unresponsiveMs: Math.max(this.opts.unresponsiveMs, slow), stalledMs: Math.max(this.opts.stalledMs, slow) };
  }

  /** How the worker looks at `now`; `training` says whether steps are expected. */
  check(now: number, training: boolean): Health {
    const { unresponsiveMs, stalledMs } = this.limits();
    if (this.#unansweredSince !== null && now - this.#unansweredSince > unresponsiveMs) return 'unresponsive';
    if (training && now - this.#lastProgress > stalledMs) return 'stalled';
    return 'ok';
  }

  /** Seconds since the worker last answered (unresponsive) or stepped (stalled). */
  silentFor(now: number, health: Exclude<Health, 'ok'>): number {
    const since = health === 'unresponsive' ? (this.#unansweredSince ?? now) : this.#lastProgress;
    return Math.round((now - since) / 1000);
  }
}
