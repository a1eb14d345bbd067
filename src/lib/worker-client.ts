/**
 * The page's handle on the training worker: typed messages both ways. Only types come from
 * workers/, so tfjs loads in the worker and never on the main thread.
 */
import type { BackendChoice } from '../../workers/backend.ts';
import type { FromWorker, ToWorker } from '../../workers/protocol.ts';

export interface WorkerHandlers {
  onEvent: (msg: FromWorker) => void;
  /** The worker failed to load, or threw past its own handlers: it will answer nothing more. */
  onCrash: (message: string) => void;
}

export class TrainWorker {
  private readonly worker: Worker;

  /** Starts a worker that initialises `backend` and reports to `handlers`. */
  constructor(backend: BackendChoice, { onEvent, onCrash }: WorkerHandlers) {
    this.worker = new Worker(new URL('../../workers/train.worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => onEvent(e.data);
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      // A module that fails to import gives an event with no message at all.
      onCrash(
        e.message
          ? `the training worker failed: ${e.message}`
          : 'the training worker could not be loaded (the browser console names the module that failed)',
      );
    };
    this.worker.onmessageerror = () => {
      onEvent({ type: 'error', during: 'train', message: 'a message from the training worker could not be read' });
    };
    this.post({ type: 'init', backend });
  }

  post(msg: ToWorker) {
    this.worker.postMessage(msg);
  }

  /** Ends the worker at once; its tensors and GPU buffers go with it. */
  terminate() {
    this.worker.terminate();
  }
}
