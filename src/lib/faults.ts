/**
 * What can go wrong with a run or its worker, in the words the page shows. Pure: the run's state
 * (run.svelte.ts) decides when, these say what.
 */
import type { TrainFault } from '../../workers/protocol.ts';
import type { Health } from './heartbeat.ts';

/**
 * Something went wrong with the run or its worker.
 * device/divergence/error: training stopped with that fault (protocol.ts);
 * crash: the worker died; unresponsive/stalled: see heartbeat.ts (the worker may yet come back);
 * backend: a restart could not bring the backend back (WebGPU gone: wasm is offered);
 * unstoppable: Stop was not taken within STOP_DEADLINE_MS, so the page ended the worker.
 */
export interface Fault {
  kind: TrainFault | 'crash' | Exclude<Health, 'ok'> | 'backend' | 'unstoppable';
  message: string;
  step: number | null; // where the run stood, when known
}

/**
 * How long Stop and Reset wait for the worker's training loop to take them (it does between two
 * steps) before the page ends the worker: a step that never returns, or runs far longer than a
 * step should, must not keep a run from stopping.
 */
export const STOP_DEADLINE_MS = 2_000;

/** How many automatic restarts a run gets before the page asks instead (a fault that recurs at once). */
export const MAX_AUTO_RESTARTS = 3;

/** The fault of a worker the heartbeat found silent for `silent` seconds, the run at `step`. */
export function silenceFault(health: Exclude<Health, 'ok'>, silent: number, step: number): Fault {
  return {
    kind: health,
    step,
    message:
      health === 'unresponsive'
        ? `the training worker has not answered for ${silent} s: it may be stuck in a long computation, or gone`
        : `no training step for ${silent} s (the last was step ${step}): the GPU may have hung`,
  };
}

/** "the GPU device failed at step 812 (…)": a fault in a few words, for the note after a restart. */
export function faultLabel(f: Fault): string {
  const at = f.step !== null ? ` at step ${f.step}` : '';
  switch (f.kind) {
    case 'device':
      return `the GPU device failed${at} (${f.message})`;
    case 'divergence':
      return `the loss diverged${at}`;
    case 'crash':
      return `the worker crashed${at}`;
    case 'unstoppable':
      return `the worker did not stop${at} and was ended`;
    case 'unresponsive':
      return `the worker stopped answering${at}`;
    case 'stalled':
      return `training stalled${at}`;
    case 'backend':
    case 'error':
      return `training failed${at} (${f.message})`;
    default:
      return f.kind satisfies never;
  }
}

/** The note after a restart: what failed, where the run went on from, and how much was lost. */
export function restartNote(cause: Fault | null, backend: string, from: number | null, trainsOn: boolean): string {
  const what = cause ? faultLabel(cause) + '; ' : '';
  if (from === null) return `${what}no checkpoint was kept yet, so the run started over on ${backend}.`;
  const lost = cause?.step !== null && cause?.step !== undefined ? ` (${cause.step - from} steps lost)` : '';
  return `${what}restarted on ${backend} from the checkpoint at step ${from}${lost}${trainsOn ? '' : ', paused'}.`;
}
