/**
 * The curves of every run this page has trained, kept after a run ends so the next one can be
 * drawn against it (random vs sequential sampling, say). Records grow in place, a step at a
 * time: copying a 100k-point array per step would cost more than the step.
 */
import type { Sampling } from '../core/config.ts';
import type { Schedule } from '../core/schedule.ts';
import type { RunInfo } from '../../workers/protocol.ts';

export interface EvalPoint {
  step: number;
  train: number; // mean loss on the fixed train batches, nats/char
  val: number; // mean loss on the fixed held-out batches, nats/char
}

export interface RunRecord {
  id: number; // 1, 2, … in the order the runs started
  label: string; // short description for legends: "#2 sequential · 2×64 · ctx 64"
  corpus: string;
  sampling: Sampling;
  tokensPerStep: number; // x in tokens = step × tokensPerStep
  flopsPerStep: number; // x in FLOPs = step × flopsPerStep
  maxSteps: number;
  schedule: Schedule; // the planned learning-rate schedule: the forecast reads the rest of the run from it
  configKey: string; // the run's whole config as JSON: the same run, loaded again, has the same key
  floor: number | null; // the corpus's exact entropy rate, for a synthetic corpus; null otherwise
  steps: number[]; // step numbers of the train losses, increasing
  losses: number[]; // minibatch train loss at each of those steps, nats/char
  evals: EvalPoint[];
}

/** A fresh record for a run the worker has just described. */
export function newRecord(id: number, info: RunInfo, shape: { nLayer: number; nEmbd: number; blockSize: number }): RunRecord {
  return {
    id,
    label: `#${id} ${info.sampling} · ${shape.nLayer}×${shape.nEmbd} · ctx ${shape.blockSize}`,
    corpus: info.corpus,
    sampling: info.sampling,
    tokensPerStep: info.tokensPerStep,
    flopsPerStep: info.flopsPerStep,
    maxSteps: info.maxSteps,
    schedule: { ...pickSchedule(info.config.train), maxSteps: info.maxSteps },
    configKey: JSON.stringify(info.config),
    floor: info.references.find((r) => r.kind === 'floor')?.nats ?? null,
    steps: [],
    losses: [],
    evals: [],
  };
}

function pickSchedule({ learningRate, minLr, warmupSteps, maxSteps }: Schedule): Schedule {
  return { learningRate, minLr, warmupSteps, maxSteps };
}
