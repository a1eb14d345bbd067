/**
 * The page's handle on a training worker: typed messages both ways. Only types come from
 * workers/, so tfjs loads in the worker and never on the main thread. The main run and the
 * scaling lab each have one; the lab's also speaks the sweep and fit messages.
 */
import type { BackendChoice } from '../../workers/backend.ts';
import type { FromWorker, ToWorker } from '../../workers/protocol.ts';

export interface WorkerHandlers<In> {
  onEvent: (msg: In) => void;
  /** The worker failed to load, or threw past its own handlers: it will answer nothing more. */
  onCrash: (message: string) => void;
  /** A message arrived that could not be deserialised; the worker itself goes on. */
  onUnreadable?: (message: string) => void;
}

export class TrainWorker<In = FromWorker, Out = ToWorker> {
  private readonly worker: Worker;

  /** Starts a worker that initialises `backend` and reports to `handlers`; `name` is how errors call it. */
  constructor(backend: BackendChoice, { onEvent, onCrash, onUnreadable }: WorkerHandlers<In>, name = 'training worker') {
    this.worker = new Worker(new URL('../../workers/train.worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<In>) => onEvent(e.data);
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      // A module that fails to import gives an event with no message at all.
      onCrash(e.message ? `the ${name} failed: ${e.message}` : `the ${name} could not be loaded (the browser console names the module that failed)`);
    };
    if (onUnreadable) this.worker.onmessageerror = () => onUnreadable(`a message from the ${name} could not be read`);
    this.worker.postMessage({ type: 'init', backend } satisfies ToWorker);
  }

  post(msg: Out) {
    this.worker.postMessage(msg);
  }

  /** Ends the worker at once; its tensors and GPU buffers go with it. */
  terminate() {
    this.worker.terminate();
  }
}
