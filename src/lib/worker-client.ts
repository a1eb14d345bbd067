/**
 * The page's handle on the training worker: typed messages both ways. Only types come from
 * workers/, so tfjs loads in the worker and never on the main thread.
 */
import type { BackendChoice } from '../../workers/backend.ts';
import type { FromWorker, ToWorker } from '../../workers/protocol.ts';

export class TrainWorker {
  private readonly worker: Worker;

  /** Starts a worker that initialises `backend` and reports every event to `onEvent`. */
  constructor(backend: BackendChoice, onEvent: (msg: FromWorker) => void) {
    this.worker = new Worker(new URL('../../workers/train.worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => onEvent(e.data);
    // A worker that fails to load (a module import error, a syntax error) reports nothing else.
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      onEvent({ type: 'error', during: 'init', message: `the training worker failed: ${e.message || 'it could not be loaded'}` });
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
