/**
 * One job of a parallel `sweep` (--jobs): a worker thread with its own backend that trains the
 * models it is given and posts their lines back; the main thread (sweep-jobs.ts) prints them in
 * the order a sequential sweep would.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendChoice } from '../../workers/backend.ts';
import type { ModelShape, SweepConfig, SweepPoint } from '../../workers/sweep.ts';
import { errorMessage } from '../core/errors.ts';
import { startBackend } from './backend.ts';

/** What the main thread gives a job. */
export interface JobInput {
  text: string;
  cfg: SweepConfig;
  models: number[];
  backend: BackendChoice;
}

/** What a job posts: a model begun, a point, its end, or why it failed. */
export type JobMessage =
  | { type: 'model'; index: number; shape: ModelShape; N: number; steps: number }
  | { type: 'point'; point: SweepPoint }
  | { type: 'modelDone'; index: number }
  | { type: 'failed'; message: string };

async function job({ text, cfg, models, backend }: JobInput) {
  const post = (m: JobMessage) => parentPort!.postMessage(m);
  try {
    await startBackend(backend);
    const { runSweep } = await import('../../workers/sweep.ts');
    let current: number | null = null;
    await runSweep(
      text,
      cfg,
      {
        onModel: (index, shape, N, steps) => {
          if (current !== null) post({ type: 'modelDone', index: current });
          current = index;
          post({ type: 'model', index, shape, N, steps });
        },
        onPoint: (point) => post({ type: 'point', point }),
      },
      0,
      models,
    );
    if (current !== null) post({ type: 'modelDone', index: current });
  } catch (err) {
    post({ type: 'failed', message: errorMessage(err) });
  }
}

void job(workerData as JobInput);
