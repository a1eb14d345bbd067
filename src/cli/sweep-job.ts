/**
 * One job of a parallel `sweep` (--jobs): a worker thread with its own backend that trains the
 * models the main thread hands it, one at a time, and posts their lines back; the main thread
 * (sweep-jobs.ts) prints them in the order a sequential sweep would.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendChoice } from '../../workers/backend.ts';
import type { ModelShape, SweepConfig, SweepPoint } from '../../workers/sweep.ts';
import { errorMessage } from '../core/errors.ts';
import { startBackend } from './backend.ts';

/** What the main thread gives a job when it starts. */
export interface JobInput {
  text: string;
  cfg: SweepConfig;
  backend: BackendChoice;
}

/** What the main thread sends a ready job: a model to train. */
export interface JobOrder {
  index: number;
}

/** What a job posts: ready for a model, a model begun, a point, the model's end, or why it failed. */
export type JobMessage =
  | { type: 'ready' }
  | { type: 'model'; index: number; shape: ModelShape; N: number; steps: number }
  | { type: 'point'; point: SweepPoint }
  | { type: 'modelDone'; index: number }
  | { type: 'failed'; message: string };

async function job({ text, cfg, backend }: JobInput) {
  const port = parentPort!;
  const post = (m: JobMessage) => port.postMessage(m);
  try {
    await startBackend(backend);
    const { runSweep } = await import('../../workers/sweep.ts');
    const hooks = {
      onModel: (index: number, shape: ModelShape, N: number, steps: number) => post({ type: 'model', index, shape, N, steps }),
      onPoint: (point: SweepPoint) => post({ type: 'point', point }),
    };
    port.on('message', ({ index }: JobOrder) => {
      runSweep(text, cfg, hooks, 0, [index]).then(
        () => post({ type: 'modelDone', index }),
        (err: unknown) => post({ type: 'failed', message: errorMessage(err) }),
      );
    });
    post({ type: 'ready' });
  } catch (err) {
    post({ type: 'failed', message: errorMessage(err) });
  }
}

void job(workerData as JobInput);
