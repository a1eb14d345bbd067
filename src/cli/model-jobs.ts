/**
 * Models trained by several jobs at once (`sweep --jobs N`, `batch-ladder --jobs N`): N worker
 * threads (model-job.ts), each with its own backend, take the models one at a time, longest first,
 * and their lines are printed in the order --jobs 1 prints them: model 0's lines as they come, a
 * later model's held until every earlier one has ended. Each model depends on its own seeds and
 * config alone, so its lines are those of --jobs 1, bit for bit.
 */
import { Worker } from 'node:worker_threads';
import type { BackendChoice } from '../../workers/backend.ts';
import type { JobInput, JobLine, JobMessage, JobOrder, JobWork } from './model-job.ts';
import { availableParallelism } from 'node:os';
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

/**
 * Trains the `cost.length` models of `work` with `jobs` workers at a time, handing `print` each
 * line in model order; resolves once every model has ended. `cost`: each model's training FLOPs
 * (or anything proportional), to start the longest first.
 */
export async function runInJobs(
  work: JobWork,
  backend: BackendChoice,
  jobs: number,
  cost: readonly number[],
  print: (line: JobLine) => void,
): Promise<void> {
  const n = cost.length;
  const held: JobLine[][] = Array.from({ length: n }, () => []); // each model's lines, until it may print
  const ended = new Array<boolean>(n).fill(false);
  let next = 0; // the model whose lines print as they come
  const say = (line: JobLine) => (line.index === next ? print(line) : held[line.index].push(line));
  const end = (model: number) => {
    ended[model] = true;
    while (next < n && ended[next]) {
      next++;
      if (next < n) for (const line of held[next].splice(0)) print(line);
    }
  };
  // Longest first, each to the next free job: the biggest model starts at once and the small ones
  // fill in around it (dealt in turn, the two big models of a ladder would share one job).
  const queue = Array.from({ length: n }, (_, i) => i).sort((a, b) => cost[b] - cost[a]);
  const workers: Worker[] = [];
  const bootstrap = jobBootstrap(); // resolved when models train in jobs, not whenever the CLI starts
  /** One job: a worker that takes the next model from the queue whenever it is free, until none is left. */
  const lane = () =>
    new Promise<void>((resolve, reject) => {
      const data: JobInput = { work, backend };
      const worker = new Worker(bootstrap, { eval: true, workerData: data });
      workers.push(worker);
      const nextModel = () => {
        const index = queue.shift();
        if (index === undefined) resolve();
        else worker.postMessage({ index } satisfies JobOrder);
      };
      worker.on('message', (m: JobMessage) => {
        switch (m.type) {
          case 'ready':
            nextModel();
            break;
          case 'model':
          case 'point':
          case 'rung':
            say(m);
            break;
          case 'modelDone':
            end(m.index);
            nextModel();
            break;
          case 'failed':
            reject(new Error(m.message));
            break;
          default:
            m satisfies never;
        }
      });
      worker.on('error', reject);
      worker.on('exit', () => reject(new Error('a job ended before its models did')));
    });
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, n) }, lane));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
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
