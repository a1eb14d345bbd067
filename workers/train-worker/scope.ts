/**
 * What every part of the training worker shares: the page it posts to, the queue its jobs run
 * on one at a time, and the backend it chose (see train.worker.ts for the ordering rules).
 */
import { errorMessage } from '../../src/core/errors.ts';
import { initBackend, type BackendChoice, type BackendInfo } from '../backend.ts';
import { onDeviceFault } from '../device.ts';
import type { FromWorker, SweepFromWorker } from '../protocol.ts';
import { WASM_PATHS } from '../wasm-paths.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

export function post(msg: FromWorker | SweepFromWorker, transfer: Transferable[] = []) {
  scope.postMessage(msg, transfer);
}

// ---------------------------------------------------------------------------------------------
// The queue of start, load, reset, sample, score and save jobs

let queue: Promise<void> = Promise.resolve();

/** Runs `job` after the queued ones; its failure becomes the event `fail` builds. */
export function enqueue(job: () => Promise<void>, fail: (message: string) => FromWorker) {
  queue = queue.then(job).catch((err: unknown) => post(fail(errorMessage(err))));
}

/** Runs `job`, which reports its own failure and never rejects, after the queued ones. */
export function enqueueReporting(job: () => Promise<void>) {
  queue = queue.then(job);
}

/** Settles once the jobs queued so far have run. */
export function drained(): Promise<void> {
  return queue;
}

// ---------------------------------------------------------------------------------------------
// Backend

let backend: Promise<BackendInfo> | null = null;
let backendChoice: BackendChoice | null = null;

/**
 * Starts the backend the page chose, once per worker, and reports it. Device loss and WebGPU
 * errors are watched by initBackend; the training loop reports them, and `onIdleFault` one that
 * comes while no loop runs.
 */
export function init(choice: BackendChoice, onIdleFault: (err: Error) => void, wasmThreads?: number) {
  if (backend && backendChoice !== choice) {
    post({
      type: 'error',
      during: 'init',
      message: `this worker already chose its backend (${backendChoice}); a different backend needs a new worker`,
    });
    return;
  }
  backendChoice = choice;
  onDeviceFault(onIdleFault);
  backend ??= initBackend(choice, { wasmPaths: WASM_PATHS, measureRate: true, wasmThreads }); // the form estimates a step's time from the rate
  backend.then(
    (info) => post({ type: 'ready', backend: info.name, adapter: info.adapter, skipped: info.skipped, capacity: info.capacity }),
    (err: unknown) => post({ type: 'error', during: 'init', message: errorMessage(err) }),
  );
}

/** The backend, once it has started; a failure names why there is none. */
export async function ready(): Promise<BackendInfo> {
  if (!backend) throw new Error('no backend chosen yet: the page must send init first');
  try {
    return await backend;
  } catch (err) {
    throw new Error(`no backend to train on: ${errorMessage(err)}`, { cause: err });
  }
}
