/**
 * A sweep trained by several jobs at once (`sweep --jobs N`): the models are dealt out round-robin
 * to N worker threads (sweep-job.ts), each with its own backend, and their lines are printed in the
 * order a sequential sweep prints them: model 0's lines as they come, a later model's held until
 * every earlier one has ended. Each model's points depend on its own seeds alone, so they are the
 * points of --jobs 1, bit for bit.
 */
import { Worker } from 'node:worker_threads';
import type { BackendChoice } from '../../workers/backend.ts';
import type { ModelShape, SweepConfig, SweepPoint } from '../../workers/sweep.ts';
import type { JobInput, JobMessage } from './sweep-job.ts';

/**
 * A job's thread starts here: the job is TypeScript, as the CLI is, and Node gives a worker none
 * of the loader the CLI runs under (tsx), so the thread loads it through tsx's API.
 */
const JOB_BOOTSTRAP = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ tsImport }) => tsImport(${JSON.stringify(
  new URL('./sweep-job.ts', import.meta.url).href,
)}, ${JSON.stringify(import.meta.url)}))`;

export interface SweepOutput {
  onModel: (index: number, shape: ModelShape, N: number, steps: number) => void;
  onPoint: (p: SweepPoint) => void;
}

/** Trains the ladder with `jobs` workers; resolves with every point in model order. */
export async function runSweepJobs(
  text: string,
  cfg: SweepConfig,
  backend: BackendChoice,
  jobs: number,
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
  const workers: Worker[] = [];
  const runJob = (models: number[]) =>
    new Promise<void>((resolve, reject) => {
      const data: JobInput = { text, cfg, models, backend };
      const worker = new Worker(JOB_BOOTSTRAP, { eval: true, workerData: data });
      workers.push(worker);
      worker.on('message', (m: JobMessage) => {
        switch (m.type) {
          case 'model':
            say(m.index, () => out.onModel(m.index, m.shape, m.N, m.steps));
            break;
          case 'point':
            points[m.point.model].push(m.point);
            say(m.point.model, () => out.onPoint(m.point));
            break;
          case 'modelDone':
            end(m.index);
            break;
          case 'failed':
            reject(new Error(m.message));
            break;
          default:
            m satisfies never;
        }
      });
      worker.on('error', reject);
      worker.on('exit', () => resolve());
    });
  const deal = Array.from({ length: jobs }, (_, j) => Array.from({ length: n }, (_, i) => i).filter((i) => i % jobs === j));
  try {
    await Promise.all(deal.filter((models) => models.length > 0).map(runJob));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return points.flat();
}
