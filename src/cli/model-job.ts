/**
 * One job of a command that trains several models (`sweep --jobs`, `batch-ladder --jobs`): a worker
 * thread with its own backend that trains the models the main thread hands it, one at a time, and
 * posts their lines back; the main thread (model-jobs.ts) prints them in the order --jobs 1 would.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendChoice } from '../../workers/backend.ts';
import type { ModelShape, SweepConfig, SweepPoint } from '../../workers/sweep.ts';
import { errorMessage } from '../core/errors.ts';
import { fitChinchilla, type ChinchillaFit, type ChinchillaPoint } from '../core/fit.ts';
import { refitResamples, type BootstrapPlan } from '../core/bootstrap.ts';
import type { ChinchillaLaw } from '../core/scaling.ts';
import type { BackendName } from '../core/config.ts';
import type { LadderWork, Rung } from './ladder-rung.ts';

/** What the jobs train: a sweep's ladder of models, or a batch ladder's rungs. */
export type JobWork = { kind: 'sweep'; text: string; cfg: SweepConfig } | ({ kind: 'ladder' } & LadderWork);

/** What the main thread gives a job when it starts. */
export interface JobInput {
  backend: BackendChoice;
}

/**
 * What the main thread sends a ready job: the model (a sweep's) or rung (a ladder's) to train, or
 * a share of a law's grid of starting points to fit (model-jobs.ts).
 */
export type JobOrder =
  | { type: 'begin'; work: JobWork }
  | { type: 'train'; index: number }
  | { type: 'fit'; points: ChinchillaPoint[]; starts: number[][] }
  | { type: 'refit'; plan: BootstrapPlan };

/** A job's first message: its backend started, which and on what. */
export interface JobReady {
  type: 'ready';
  backend: BackendName;
  adapter: string;
}

/** A line of output, tagged with the model it is of: what the main thread prints in model order. */
export type JobLine =
  | { type: 'model'; index: number; shape: ModelShape; N: number; steps: number }
  | { type: 'point'; index: number; point: SweepPoint }
  | { type: 'rung'; index: number; rung: Rung };

/** What a job posts: ready for a model, a line, the model's end, a share's fit, or why it failed. */
export type JobMessage =
  | JobReady
  | JobLine
  | { type: 'modelDone'; index: number }
  | { type: 'fitted'; fit: Omit<ChinchillaFit, 'predict'> }
  | { type: 'refitted'; laws: ChinchillaLaw[] }
  | { type: 'failed'; message: string };

/**
 * The code a job runs, loaded as the thread starts (about half a second of tsx and tfjs) while the
 * main thread still checks the command; the backend itself starts only with the work.
 */
const code = Promise.all([import('../../workers/sweep.ts'), import('./ladder-rung.ts'), import('./backend.ts')]);
code.catch(() => {}); // reported when the work comes (begin), not as an unhandled rejection before

/** Trains model `index` of `work`, posting its lines. */
async function trainOne(work: JobWork, index: number, post: (m: JobMessage) => void) {
  const [{ runSweep }, { trainRung }] = await code;
  switch (work.kind) {
    case 'sweep': {
      const hooks = {
        onModel: (i: number, shape: ModelShape, N: number, steps: number) => post({ type: 'model', index: i, shape, N, steps }),
        onPoint: (point: SweepPoint) => post({ type: 'point', index: point.model, point }),
      };
      await runSweep(work.text, work.cfg, hooks, 0, [index]);
      break;
    }
    case 'ladder':
      post({ type: 'rung', index, rung: await trainRung(work, index) });
      break;
    default:
      work satisfies never;
  }
}

/** Follows the main thread's orders: begin (start the backend), train, fit. */
function job({ backend }: JobInput) {
  const port = parentPort!;
  const post = (m: JobMessage) => port.postMessage(m);
  const failed = (err: unknown) => post({ type: 'failed', message: errorMessage(err) });
  let work: JobWork | null = null;
  port.on('message', (order: JobOrder) => {
    switch (order.type) {
      case 'begin':
        work = order.work;
        code
          .then(([, , { startBackend }]) => startBackend(backend))
          .then((started) => post({ type: 'ready', backend: started.name, adapter: started.adapter }), failed);
        break;
      case 'train':
        trainOne(work!, order.index, post).then(() => post({ type: 'modelDone', index: order.index }), failed);
        break;
      case 'fit':
        try {
          const { predict: _, ...fit } = fitChinchilla(order.points, { starts: order.starts });
          post({ type: 'fitted', fit });
        } catch (err) {
          failed(err);
        }
        break;
      case 'refit':
        try {
          post({ type: 'refitted', laws: refitResamples(order.plan) });
        } catch (err) {
          failed(err);
        }
        break;
      default:
        order satisfies never;
    }
  });
}

job(workerData as JobInput);
