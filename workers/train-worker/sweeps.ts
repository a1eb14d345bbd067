/**
 * Sweeps and fits in the training worker. A page sends these to a worker of its own, so its
 * main run is untouched.
 */
import { bootstrapChinchilla } from '../../src/core/bootstrap.ts';
import { identifyChinchilla } from '../../src/core/identify.ts';
import { planSweep } from '../../src/core/sweep.ts';
import type { SweepToWorker } from '../protocol.ts';
import { runSweep } from '../sweep.ts';
import { post, ready } from './scope.ts';
import { isTraining } from './current.ts';
import { vocabularySize } from '../../src/core/tokenizer.ts';

/** The sweep in progress, if any: one at a time, since each model holds the backend's memory. */
let sweeping: { id: number; stop: boolean } | null = null;

export async function sweep(msg: Extract<SweepToWorker, { type: 'sweep' }>) {
  await ready();
  if (sweeping) throw new Error('a sweep is running: stop it before starting another');
  if (isTraining()) throw new Error('a run is training in this worker: a sweep would compete with it for the device');
  const { id, config } = msg;
  const vocabSize = vocabularySize(msg.corpus.text);
  const { steps, warmupSteps, N } = planSweep(config, vocabSize);
  const s = (sweeping = { id, stop: false });
  // A model counts as trained once its last step arrives; a stop before that resumes at it.
  const asked = msg.models ?? config.ladder.map((_, i) => i).filter((i) => i >= msg.startModel);
  const trained = new Set<number>(config.ladder.map((_, i) => i).filter((i) => i < msg.startModel));
  post({ type: 'sweepPlan', id, steps, warmupSteps, N, vocabSize });
  try {
    await runSweep(
      msg.corpus.text,
      config,
      {
        onModel: (model, shape, N, n) => post({ type: 'sweepModel', id, model, shape, N, steps: n }),
        onStep: (model, e) => {
          if (e.step >= steps[model]) trained.add(model);
          post({ type: 'sweepStep', id, model, step: e.step, loss: e.loss });
        },
        onPoint: (point) => post({ type: 'sweepPoint', id, point }),
        shouldStop: () => s.stop,
      },
      msg.startModel,
      msg.models ?? null,
    );
    let nextModel = 0;
    while (nextModel < config.ladder.length && trained.has(nextModel)) nextModel++;
    post({ type: 'sweepDone', id, stopped: asked.some((m) => !trained.has(m)), nextModel });
  } finally {
    sweeping = null;
  }
}

/** Asks the sweep in progress, if any, to stop after its current step. */
export function stopSweep() {
  if (sweeping) sweeping.stop = true;
}

/** Fits the law and its bootstrap intervals: seconds of arithmetic, no tensors. */
export function fitPoints(msg: Extract<SweepToWorker, { type: 'fit' }>) {
  const b = bootstrapChinchilla(msg.points, { samples: msg.samples, seed: msg.seed, at: msg.at });
  const { E, A, B, alpha, beta } = b.fit;
  const { identifiable, reasons } = identifyChinchilla(msg.points, b.fit, { intervals: b, plateau: msg.plateau });
  post({
    type: 'fitted',
    id: msg.id,
    law: { E, A, B, alpha, beta },
    converged: b.fit.converged,
    identifiable,
    reasons,
    intervals: { E: b.E, A: b.A, B: b.B, alpha: b.alpha, beta: b.beta },
    predictions: identifiable ? b.predictions : [],
  });
}
