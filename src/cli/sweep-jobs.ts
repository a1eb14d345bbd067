/**
 * A sweep trained by several jobs at once (`sweep --jobs N`): N worker threads (sweep-job.ts), each
 * with its own backend, take the models one at a time, longest first, and their lines are printed in the
 * order a sequential sweep prints them: model 0's lines as they come, a later model's held until
 * every earlier one has ended. Each model's points depend on its own seeds alone, so they are the
 * points of --jobs 1, bit for bit.
 */
import { Worker } from 'node:worker_threads';
import type { BackendChoice } from '../../workers/backend.ts';
import type { ModelShape, SweepConfig, SweepPoint } from '../../workers/sweep.ts';
import type { JobInput, JobMessage, JobOrder } from './sweep-job.ts';

/**
 * A job's thread starts here: the job is TypeScript, as the CLI is, and Node gives a worker none
 * of the loader the CLI runs under (tsx), so the thread loads it through tsx's API.
 */
function jobBootstrap(): string {
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const job = JSON.stringify(new URL('./sweep-job.ts', import.meta.url).href);
  return `import(${api}).then(({ tsImport }) => tsImport(${job}, ${JSON.stringify(import.meta.url)}))`;
}

export interface SweepOutput {
  onModel: (index: number, shape: ModelShape, N: number, steps: number) => void;
  onPoint: (p: SweepPoint) => void;
}

/**
 * Trains the ladder with `jobs` workers at a time; resolves with every point in model order.
 * `cost`: each model's training FLOPs (or anything proportional), to start the longest first.
 */
export async function runSweepJobs(
  text: string,
  cfg: SweepConfig,
  backend: BackendChoice,
  jobs: number,
  cost: readonly number[],
  out: SweepOutput,
): Promise<SweepPoint[]> {
  const n = cfg.ladder.length;
  const held: (() => void)[][] = Array.from({ length: n }, () => []); // each model's lines, until it may print
  const ended = new Array<boolean>(n).fill(false);
  const points: SweepPoint[][] = Array.from({ length: n }, () => []);
  let next = 0; // the model whose lines print as they come
  const say = (model: number, line: () => void) => (model === next ? line() : held[model].push(line));
  const end = (model: number) => {
    ended[model] = true;
    while (next < n && ended[next]) {
      next++;
      if (next < n) for (const line of held[next].splice(0)) line();
    }
  };
  // Longest first, each to the next free job: the biggest model starts at once and the small ones
  // fill in around it (dealt in turn, the two big models of a ladder would share one job).
  const queue = Array.from({ length: n }, (_, i) => i).sort((a, b) => cost[b] - cost[a]);
  const workers: Worker[] = [];
  const bootstrap = jobBootstrap(); // resolved when a sweep runs in jobs, not whenever the CLI starts
  /** One job: a worker that takes the next model from the queue whenever it is free, until none is left. */
  const lane = () =>
    new Promise<void>((resolve, reject) => {
      const data: JobInput = { text, cfg, backend };
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
            say(m.index, () => out.onModel(m.index, m.shape, m.N, m.steps));
            break;
          case 'point':
            points[m.point.model].push(m.point);
            say(m.point.model, () => out.onPoint(m.point));
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
      worker.on('exit', () => reject(new Error('a sweep job ended before its models did')));
    });
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, n) }, lane));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return points.flat();
}
