/**
 * One job of a command that trains several models (`sweep --jobs`, `batch-ladder --jobs`): a worker
 * thread with its own backend that trains the models the main thread hands it, one at a time, and
 * posts their lines back; the main thread (model-jobs.ts) prints them in the order --jobs 1 would.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendChoice } from '../../workers/backend.ts';
import type { ModelShape, SweepConfig, SweepPoint } from '../../workers/sweep.ts';
import { errorMessage } from '../core/errors.ts';
import { startBackend } from './backend.ts';
import type { LadderWork, Rung } from './ladder-rung.ts';

/** What the jobs train: a sweep's ladder of models, or a batch ladder's rungs. */
export type JobWork = { kind: 'sweep'; text: string; cfg: SweepConfig } | ({ kind: 'ladder' } & LadderWork);

/** What the main thread gives a job when it starts. */
export interface JobInput {
  work: JobWork;
  backend: BackendChoice;
}

/** What the main thread sends a ready job: the model (a sweep's) or rung (a ladder's) to train. */
export interface JobOrder {
  index: number;
}

/** A line of output, tagged with the model it is of: what the main thread prints in model order. */
export type JobLine =
  | { type: 'model'; index: number; shape: ModelShape; N: number; steps: number }
  | { type: 'point'; index: number; point: SweepPoint }
  | { type: 'rung'; index: number; rung: Rung };

/** What a job posts: ready for a model, a line, the model's end, or why it failed. */
export type JobMessage = { type: 'ready' } | JobLine | { type: 'modelDone'; index: number } | { type: 'failed'; message: string };

/** Trains model `index` of `work`, posting its lines. */
async function trainOne(work: JobWork, index: number, post: (m: JobMessage) => void) {
  switch (work.kind) {
    case 'sweep': {
      const { runSweep } = await import('../../workers/sweep.ts');
      const hooks = {
        onModel: (i: number, shape: ModelShape, N: number, steps: number) => post({ type: 'model', index: i, shape, N, steps }),
        onPoint: (point: SweepPoint) => post({ type: 'point', index: point.model, point }),
      };
      await runSweep(work.text, work.cfg, hooks, 0, [index]);
      break;
    }
    case 'ladder': {
      const { trainRung } = await import('./ladder-rung.ts');
      post({ type: 'rung', index, rung: await trainRung(work, index) });
      break;
    }
    default:
      work satisfies never;
  }
}

async function job({ work, backend }: JobInput) {
  const port = parentPort!;
  const post = (m: JobMessage) => port.postMessage(m);
  try {
    await startBackend(backend);
    port.on('message', ({ index }: JobOrder) => {
      trainOne(work, index, post).then(
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
