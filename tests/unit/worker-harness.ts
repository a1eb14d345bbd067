/**
 * Drives the training worker module in Node, through its messages, as the page does: the module
 * runs against a stand-in for its global scope. Each test file that imports this gets its own
 * worker (vitest gives every file its own module graph).
 */
import type { FromWorker, SweepFromWorker, SweepToWorker, ToWorker } from '../../workers/protocol.ts';

export type Event = FromWorker | SweepFromWorker;
type Of<T extends Event['type']> = Extract<Event, { type: T }>;

/** Every event the worker has posted, as the page would receive it (structured-cloned). */
export const events: Event[] = [];
const waiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];
const scope = {
  onmessage: null as ((e: { data: ToWorker | SweepToWorker }) => void) | null,
  postMessage(msg: Event) {
    events.push(structuredClone(msg));
    for (const w of [...waiters]) {
      if (w.pred(msg)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(msg);
      }
    }
  },
  addEventListener() {},
};

export function send(msg: ToWorker | SweepToWorker) {
  scope.onmessage!({ data: structuredClone(msg) });
}

/** The next event (from now on) of this type that matches. */
export function next<T extends Event['type']>(type: T, pred: (e: Of<T>) => boolean = () => true, ms = 120_000): Promise<Of<T>> {
  return new Promise<Of<T>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${type} event within ${ms} ms; last events: ${JSON.stringify(events.slice(-3))}`)),
      ms,
    );
    waiters.push({
      pred: (e) => e.type === type && pred(e as Of<T>),
      resolve: (e) => {
        clearTimeout(timer);
        resolve(e as Of<T>);
      },
    });
  });
}

/** Loads the worker module and initialises it on the cpu backend (the only one Node has without Vite). */
export async function startWorker() {
  (globalThis as { self?: unknown }).self = scope;
  // A path in a variable: the worker is type-checked in its own realm (workers/tsconfig.json),
  // not under the tests' Node types.
  const worker = '../../workers/train.worker.ts';
  await import(/* @vite-ignore */ worker);
  send({ type: 'init', backend: 'cpu' });
  await next('ready');
}
