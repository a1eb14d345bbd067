/**
 * One job of a command that trains several models (`sweep --jobs`, `batch-ladder --jobs`): a worker
 * thread with its own backend that trains the models the main thread hands it, one at a time, and
 * posts their lines back; the main thread (model-jobs.ts) prints them in the order --jobs 1 would.
 * A sweep's model does not stop to measure its points: it posts the weights at each (a pause), and
 * the main thread hands the measurement to whichever job is free.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendChoice } from '../../workers/backend.ts';
import type { ModelShape, SweepConfig, SweepPause, SweepPoint } from '../../workers/sweep.ts';
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
 * What the main thread sends a ready job: the model (a sweep's) or rung (a ladder's) to train, a
 * sweep's point to measure, or a share of a law's grid of starting points to fit (model-jobs.ts).
 */
export type JobOrder =
  | { type: 'begin'; work: JobWork }
  | { type: 'train'; index: number }
  | { type: 'measure'; pause: SweepPause }
  | { type: 'fit'; points: ChinchillaPoint[]; starts: number[][] }
  | { type: 'refit'; plan: BootstrapPlan };

/** A job's first message: its backend started, which and on what. */
export interface JobReady {
  type: 'ready';
  backend: BackendName;
  adapter: string;
}

/**
 * A line of output, tagged with the model it is of: what the main thread prints in model order. A
 * point is the answer to a measure order.
 */
export type JobLine =
  | { type: 'model'; index: number; shape: ModelShape; N: number; steps: number }
  | { type: 'point'; index: number; point: SweepPoint }
  | { type: 'rung'; index: number; rung: Rung };

/**
 * What a job posts: ready for a model, a line, a sweep's point to measure (the model trains on),
 * the end of a model's training (its points may still be measured), a share's fit, or why it failed.
 */
export type JobMessage =
  | JobReady
  | JobLine
  | { type: 'pause'; pause: SweepPause }
  | { type: 'trained'; index: number }
  | { type: 'fitted'; fit: Omit<ChinchillaFit, 'predict'> }
  | { type: 'refitted'; laws: ChinchillaLaw[] }
  | { type: 'failed'; message: string };

/**
 * The code a job runs, loaded as the thread starts (about half a second of tsx and tfjs) while the
 * main thread still checks the command; the backend itself starts only with the work.
 */
const code = Promise.all([import('../../workers/sweep.ts'), import('./ladder-rung.ts'), import('./backend.ts')]);
code.catch(() => {}); // reported when the work comes (begin), not as an unhandled rejection before

/** Trains model `index` of `work`, posting its lines (a sweep's: the model line and its pauses). */
async function trainOne(work: JobWork, index: number, post: Post) {
  const [{ runSweep }, { trainRung }] = await code;
  switch (work.kind) {
    case 'sweep': {
      const hooks = {
        onModel: (i: number, shape: ModelShape, N: number, steps: number) => post({ type: 'model', index: i, shape, N, steps }),
        measureElsewhere: (pause: SweepPause) =>
          post(
            { type: 'pause', pause },
            pause.weights.map((w) => w.buffer),
          ),
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

/** Measures a sweep's point at a pause another job posted, and posts it. */
async function measureOne(work: JobWork, pause: SweepPause, post: Post) {
  if (work.kind !== 'sweep') throw new Error("a batch ladder's rungs have no points to measure");
  const [{ evaluatePoint }] = await code;
  const point = await evaluatePoint(work.text, work.cfg, pause);
  post({ type: 'point', index: point.model, point });
}

/** Posts a message to the main thread, handing over `transfer` (a pause's weights: not copied). */
type Post = (m: JobMessage, transfer?: ArrayBuffer[]) => void;

/** Follows the main thread's orders: begin (start the backend), train, measure, fit. */
function job({ backend }: JobInput) {
  const port = parentPort!;
  const post: Post = (m, transfer) => port.postMessage(m, transfer);
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
        trainOne(work!, order.index, post).then(() => post({ type: 'trained', index: order.index }), failed);
        break;
      case 'measure':
        measureOne(work!, order.pause, post).catch(failed);
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
