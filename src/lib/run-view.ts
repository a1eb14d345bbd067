/**
 * What the page shows of a run, and how the worker's run events change it: a pure function of
 * the view before and the event, so every transition is tested without a worker
 * (tests/unit/run-view.test.ts). One exception, kept for speed: the current record's curves grow
 * in place (history.ts says why), and `revision` counts each growth so charts know to redraw.
 */
import type { EvalEvent, FromWorker, NoiseEvent, RunInfo, StepBatch, StepEvent, TaskEvent, TrainSummary } from '../../workers/protocol.ts';
import { newRecord, type RunRecord } from './history.ts';

export type Status = 'idle' | 'starting' | 'training' | 'paused' | 'done' | 'error';

export interface RunView {
  status: Status;
  info: RunInfo | null; // the run the worker holds, as it described it
  maxSteps: number;
  startStep: number; // the step a loaded run starts from (0 for a new run): shown until its first step arrives
  lastStep: StepEvent | null;
  lastEval: EvalEvent | null;
  lastBatch: (StepBatch & { step: number }) | null; // the latest minibatch: where its rows start in the train split
  noise: NoiseEvent[]; // the current run's gradient noise scale measurements, in step order
  tasks: TaskEvent[]; // a run on a task's corpus: its scores after each evaluation, in step order
  summary: TrainSummary | null;
  stoppedEarly: boolean;
  runs: RunRecord[]; // every run of this page, oldest first; the last is the current one while a run exists
  revision: number; // bumped whenever a record grows in place
}

/** The worker's events about its run: the ones this reducer handles. */
export type RunEvent = Extract<FromWorker, { type: 'run' | 'step' | 'eval' | 'noise' | 'task' | 'paused' | 'done' | 'reset' }>;

export const emptyView: RunView = {
  status: 'idle',
  info: null,
  maxSteps: 0,
  startStep: 0,
  lastStep: null,
  lastEval: null,
  lastBatch: null,
  noise: [],
  tasks: [],
  summary: null,
  stoppedEarly: false,
  runs: [],
  revision: 0,
};

/** The view without a current run: the curves of earlier runs stay, as do status and counters. */
export function withoutRun(view: RunView): RunView {
  const { status, maxSteps, runs, revision } = view;
  return { ...emptyView, status, maxSteps, runs, revision };
}

/**
 * The view after `event`. `continuing`: the run is a restart of the current one (after a fault),
 * whose curve it replaces from the checkpoint on, rather than a new run beside it.
 */
export function reduceRun(view: RunView, event: RunEvent, continuing = false): RunView {
  switch (event.type) {
    case 'run': {
      const { type: _, id: __, step, history, ...info } = event;
      const previous = view.runs.at(-1);
      // A loaded run's curves: its losses are at lossSteps (a thinned history) or the last losses.length steps up to `step`.
      const first = step - history.losses.length + 1;
      const steps = history.lossSteps ?? history.losses.map((_, i) => first + i);
      // The run on the chart again (a restart, or its own checkpoint loaded) replaces its curve rather than adding a second.
      const same = continuing || (previous !== undefined && isSameRun(previous, info, steps, history.losses));
      const record = newRecord(same && previous ? previous.id : (previous?.id ?? 0) + 1, info, info);
      record.steps = steps;
      record.losses = [...history.losses];
      record.evals = history.evals.map(({ step, train, val }) => ({ step, train, val }));
      const lastEval = history.evals.at(-1);
      return {
        ...withoutRun(view),
        status: 'training',
        info,
        maxSteps: info.maxSteps,
        startStep: step,
        lastEval: lastEval ? { type: 'eval', ...lastEval } : null,
        runs: same && previous ? [...view.runs.slice(0, -1), record] : [...view.runs, record],
      };
    }
    case 'step': {
      const { starts, epoch, ...step } = event;
      const record = view.runs.at(-1);
      record?.steps.push(step.step);
      record?.losses.push(step.loss);
      return { ...view, lastStep: step, lastBatch: { starts, epoch, step: step.step }, revision: view.revision + (record ? 1 : 0) };
    }
    case 'eval': {
      const record = view.runs.at(-1);
      record?.evals.push({ step: event.step, train: event.train, val: event.val });
      return { ...view, lastEval: event, revision: view.revision + 1 };
    }
    case 'noise':
      return { ...view, noise: [...view.noise, event] };
    case 'task':
      // A step scored again (a resumed run's last evaluation) replaces its earlier score.
      return { ...view, tasks: [...view.tasks.filter((t) => t.step !== event.step), event].sort((a, b) => a.step - b.step) };
    case 'paused':
      return { ...view, status: 'paused' };
    case 'done':
      return { ...view, status: 'done', summary: event.summary, stoppedEarly: event.stopped };
    case 'reset':
      return { ...withoutRun(view), status: 'idle' };
    default:
      return event satisfies never;
  }
}

/**
 * Whether a loaded run is the one `record` drew: the same corpus, shape and sampling, and a loss
 * history that starts where the record starts, value for value (a different run would not repeat
 * its minibatch losses exactly).
 */
function isSameRun(record: RunRecord, info: RunInfo, steps: number[], losses: number[]): boolean {
  const label = newRecord(record.id, info, info).label;
  if (losses.length === 0 || record.label !== label || record.corpus !== info.corpus || record.steps[0] !== steps[0]) return false;
  const n = Math.min(losses.length, record.losses.length);
  for (let i = 0; i < n; i++) if (record.losses[i] !== losses[i]) return false;
  return true;
}

/** Forgets the curves of finished runs; the current run's (while there is one) stays. */
export function withoutHistory(view: RunView, hasRun: boolean): RunView {
  return { ...view, runs: hasRun ? view.runs.slice(-1) : [] };
}
