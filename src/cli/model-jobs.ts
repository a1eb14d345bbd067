/**
 * Models trained by several jobs at once (`sweep --jobs N`, `batch-ladder --jobs N`): N worker
 * threads (model-job.ts), each with its own backend, take the models one at a time, longest first,
 * and their lines are printed in the order --jobs 1 prints them: model 0's lines as they come, a
 * later model's held until every earlier one has ended. Each model depends on its own seeds and
 * config alone, so its lines are those of --jobs 1, bit for bit.
 *
 * A sweep's model trains without stopping at its points: the job posts the weights at each, and a
 * free job measures it (workers/sweep.ts, evaluatePoint). Whole models are too coarse to share
 * two cores evenly (a ladder's largest model is often near half the work); a point is a few
 * percent of a model, so the jobs end nearly together.
 *
 * The pool starts its threads as soon as it is made, and each loads its code (tsx, tfjs: about
 * half a second) while the main thread checks the command; a thread starts its backend only when
 * given the work (`begin`), once everything is checked. Where the backend was named (not auto),
 * the main thread starts none of its own and reports the jobs'. After training, a sweep's law is
 * fitted on the same threads: its grid of starting points is split among them (fit.ts), and the
 * best of all is the one one thread would find.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { BackendChoice } from '../../workers/backend.ts';
import { bestChinchillaFit, chinchillaFitOf, chinchillaGrid, gridSplits, type ChinchillaFit, type ChinchillaPoint } from '../core/fit.ts';
import { type BootstrapPlan } from '../core/bootstrap.ts';
import type { ChinchillaLaw } from '../core/scaling.ts';
import type { SweepPause } from '../../workers/sweep.ts';
import type { JobInput, JobLine, JobMessage, JobOrder, JobReady, JobWork } from './model-job.ts';
import { ModelLines } from './model-lines.ts';
import { checkWhole, UsageError } from './flags.ts';

export type { JobLine, JobWork };

/**
 * A job's thread starts here: the job is TypeScript, as the CLI is, and Node gives a worker none
 * of the loader the CLI runs under (tsx), so the thread loads it through tsx's API.
 */
function jobBootstrap(): string {
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const job = JSON.stringify(new URL('./model-job.ts', import.meta.url).href);
  return `import(${api}).then(({ tsImport }) => tsImport(${job}, ${JSON.stringify(import.meta.url)}))`;
}

/** What a job posts once ready, to whatever it was last asked to do. */
type JobReply = Exclude<JobMessage, JobReady | { type: 'failed' }>;

/** One thread: its worker, the backend it reported, and what it is doing now. */
interface Job {
  worker: Worker;
  ready: Promise<JobReady>;
  /** Where the job's replies go: the handler of what it was last asked to do. */
  replies: { to: (m: JobReply) => void };
}

/** The weights that may wait to be measured before a free job measures rather than starts a model. */
const WAITING_BYTES = 64 * 2 ** 20;

const bytesOf = (pause: SweepPause) => pause.weights.reduce((sum, w) => sum + w.byteLength, 0);

/** `jobs` worker threads, started at once, each with a backend of its own once given the work. */
export class JobPool {
  readonly #jobs: Job[];
  #failure: Error | null = null;
  /** Rejects whatever waits on the pool when a thread fails. */
  #fail: (err: Error) => void = () => {};

  constructor(backend: BackendChoice, jobs: number) {
    const bootstrap = jobBootstrap();
    this.#jobs = Array.from({ length: jobs }, () => {
      const data: JobInput = { backend };
      const worker = new Worker(bootstrap, { eval: true, workerData: data });
      const replies = { to: (_m: JobReply) => {} };
      const ready = new Promise<JobReady>((resolve, reject) => {
        worker.on('message', (m: JobMessage) => {
          if (m.type === 'ready') resolve(m);
          else if (m.type === 'failed') this.#failWith(new Error(m.message), reject);
          else {
            try {
              replies.to(m);
            } catch (err) {
              this.#failWith(err as Error, reject); // a broken rule of the pool's own (ModelLines): fails the command, not the process
            }
          }
        });
        worker.on('error', (err) => this.#failWith(err, reject));
        worker.on('exit', () => this.#failWith(new Error('a job ended before its models did'), reject));
      });
      ready.catch(() => {}); // a failure reaches whoever waits on the pool next
      return { worker, ready, replies };
    });
  }

  #failWith(err: Error, reject: (err: Error) => void) {
    this.#failure ??= err;
    reject(err);
    this.#fail(err);
  }

  /** Waits on `body` until it resolves or any thread fails. */
  #guard<T>(body: () => Promise<T>): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      this.#fail = reject;
      body().then(resolve, reject);
    });
  }

  /** Hands every job the work: each starts its backend, then says it is ready. */
  begin(work: JobWork) {
    for (const job of this.#jobs) job.worker.postMessage({ type: 'begin', work } satisfies JobOrder);
  }

  /** The backend the jobs run, as the first reports it (every job starts the same one). */
  async backend(): Promise<{ name: JobReady['backend']; adapter: string }> {
    const { backend: name, adapter } = await this.#guard(() => this.#jobs[0].ready);
    return { name, adapter };
  }

  /**
   * Trains the `cost.length` models of the pool's work, handing `print` each line in model order;
   * resolves once every model has ended (trained, and each of its points measured). `cost`: each
   * model's training FLOPs (or anything proportional), to start the longest first.
   */
  run(cost: readonly number[], print: (line: JobLine) => void): Promise<void> {
    const n = cost.length;
    const lines = new ModelLines(n, print);
    // Longest first, each to the next free job: the biggest model starts at once and the small ones
    // fill in around it (dealt in turn, the two big models of a ladder would share one job). Models
    // before points, so that the last work is points, small enough to share out evenly; points
    // first once the weights waiting pass WAITING_BYTES.
    const queue = Array.from({ length: n }, (_, i) => i).sort((a, b) => cost[b] - cost[a]);
    const waiting: SweepPause[] = [];
    let waitingBytes = 0;
    const idle: Job[] = [];
    const measured = new Map<Job, number>(); // the model each job last measured a point of
    /** The next point for `job`: one of the model it measured last if any waits (it keeps that model built), else the oldest. */
    const nextPause = (job: Job): SweepPause | undefined => {
      const same = waiting.findIndex((p) => p.model === measured.get(job));
      return waiting.splice(Math.max(0, same), 1)[0];
    };
    const give = (job: Job) => {
      const index = waitingBytes < WAITING_BYTES || waiting.length === 0 ? queue.shift() : undefined;
      const pause = index === undefined ? nextPause(job) : undefined;
      if (index !== undefined) job.worker.postMessage({ type: 'train', index } satisfies JobOrder);
      else if (pause) {
        measured.set(job, pause.model);
        waitingBytes -= bytesOf(pause);
        job.worker.postMessage(
          { type: 'measure', pause } satisfies JobOrder,
          pause.weights.map((w) => w.buffer),
        );
      } else idle.push(job);
    };
    const lane = async (job: Job) => {
      await job.ready;
      job.replies.to = (m) => {
        switch (m.type) {
          case 'model':
          case 'rung':
            lines.line(m);
            break;
          case 'point': // a measured point: the job is free
            lines.line(m);
            give(job);
            break;
          case 'pause':
            lines.pause(m.pause.model, m.pause.step);
            waiting.push(m.pause);
            waitingBytes += bytesOf(m.pause);
            if (idle.length) give(idle.shift()!);
            break;
          case 'trained':
            lines.trained(m.index);
            give(job);
            break;
          case 'fitted':
          case 'refitted':
            break; // not asked for here
          default:
            m satisfies never;
        }
      };
      give(job);
    };
    return this.#guard(async () => {
      await Promise.all(this.#jobs.map(lane));
      await lines.ended;
    });
  }

  /**
   * fitChinchilla(points) with its grid of starts split among the jobs: the same law, found in a
   * share of the time. Where the grid would be screened (thousands of points) each share would
   * screen its own part, so that fit runs whole, on one job.
   */
  fitChinchilla(points: ChinchillaPoint[]): Promise<ChinchillaFit> {
    const splits = gridSplits(chinchillaGrid(), points.length, this.#jobs.length);
    return this.#guard(async () => {
      const parts = await Promise.all(
        splits.map(
          (starts, i) =>
            new Promise<Omit<ChinchillaFit, 'predict'>>((resolve) => {
              const job = this.#jobs[i];
              job.replies.to = (m) => {
                if (m.type === 'fitted') resolve(m.fit);
              };
              job.worker.postMessage({ type: 'fit', points, starts } satisfies JobOrder);
            }),
        ),
      );
      return chinchillaFitOf(bestChinchillaFit(parts));
    });
  }

  /**
   * refitResamples(plan) with the resamples split among the jobs in order: the same laws, in the
   * same order (each refit depends on its resample and the plan's starts alone).
   */
  refit(plan: BootstrapPlan): Promise<ChinchillaLaw[]> {
    const size = Math.ceil(plan.resamples.length / this.#jobs.length);
    const parts = this.#jobs
      .map((job, i) => ({ job, resamples: plan.resamples.slice(i * size, (i + 1) * size) }))
      .filter((p) => p.resamples.length > 0);
    return this.#guard(async () => {
      const laws = await Promise.all(
        parts.map(
          ({ job, resamples }) =>
            new Promise<ChinchillaLaw[]>((resolve) => {
              job.replies.to = (m) => {
                if (m.type === 'refitted') resolve(m.laws);
              };
              job.worker.postMessage({ type: 'refit', plan: { resamples, starts: plan.starts } } satisfies JobOrder);
            }),
        ),
      );
      return laws.flat();
    });
  }

  /** Ends every thread. */
  async close(): Promise<void> {
    this.#fail = () => {};
    await Promise.all(
      this.#jobs.map(async (job) => {
        job.worker.removeAllListeners('exit');
        await job.worker.terminate();
      }),
    );
  }
}

/**
 * Trains the `cost.length` models of `work` with `jobs` workers at a time, handing `print` each
 * line in model order; resolves once every model has ended.
 */
export async function runInJobs(
  work: JobWork,
  backend: BackendChoice,
  jobs: number,
  cost: readonly number[],
  print: (line: JobLine) => void,
): Promise<void> {
  const pool = new JobPool(backend, Math.min(jobs, cost.length));
  try {
    pool.begin(work);
    await pool.run(cost, print);
  } finally {
    await pool.close();
  }
}

/** --jobs: a whole number of threads, and on webgpu one (one GPU trains one model at a time). */
export function checkJobs(jobs: number | undefined, backend: BackendChoice) {
  if (jobs === undefined) return;
  checkWhole(jobs, 'jobs', 1, 256);
  if (jobs > 1 && backend === 'webgpu') throw new UsageError('--jobs: webgpu trains on one GPU, one model at a time; give --jobs 1');
}

/** Jobs: as asked, else one per core up to the models; one on a GPU (auto may have chosen it). */
export function jobsFor(asked: number | undefined, backend: BackendChoice, models: number): number {
  return backend === 'webgpu' ? 1 : Math.min(asked ?? availableParallelism(), models);
}
