/**
 * The one run the training worker holds (a training session, workers/session.ts) and what the page
 * asks of it: start, pause, resume, stop and reset, the events that describe the run to the page,
 * and how a training failure is reported.
 * Other parts of the worker read `current` (an ES live binding); only this module replaces it.
 */
import { sha256 } from '../../src/core/sha256.ts';
import { errorMessage } from '../../src/core/errors.ts';
import { countParams } from '../../src/core/config.ts';
import { tokensPerStep, trainingFlopsPerStep } from '../../src/core/flops.ts';
import type { BackendInfo } from '../backend.ts';
import type { CorpusId, RunHistory } from '../checkpoint.ts';
import { deviceFault } from '../device.ts';
import type { CorpusMessage, FromWorker, ReferenceLoss, ToWorker, TrainFault } from '../protocol.ts';
import { createRun, prepareRun, referenceLosses, type Run } from '../run.ts';
import { TrainingSession, type SessionEvents } from '../session.ts';
import { DivergenceError } from '../train.ts';
import { APP_NOISE_EVERY } from '../../src/core/noise-scale.ts';
import { drained, enqueue, enqueueReporting, post, ready } from './scope.ts';
import { APP_TASK_PROBLEMS, chooseProblems, generateTask, isTaskSpec, unknownCharacters, type Problem } from '../../src/core/tasks.ts';
import { evaluateTask } from '../task-eval.ts';

/** The one run this worker holds. */
export interface Current {
  session: TrainingSession; // the run, its history and measurements, and the work between its steps
  phase: 'training' | 'paused' | 'done';
  loop: Promise<void> | null; // the training loop in progress (or about to start)
  corpus: CorpusId; // saved with every checkpoint: a resume must find the same text
}

export let current: Current | null = null;

/** A training failure as the page needs it: what kind, and at which step. */
export function trainError(err: unknown, step: number | null): FromWorker {
  // A lost device makes later ops fail in odd ways: the device's own report is the cause to name.
  const device = deviceFault();
  if (device) return { type: 'error', during: 'train', message: device.message, fault: 'device', step };
  const fault: TrainFault = err instanceof DivergenceError ? 'divergence' : 'error';
  return { type: 'error', during: 'train', message: errorMessage(err), fault, step: err instanceof DivergenceError ? err.step : step };
}

/** Reports a device fault that comes while no loop runs (a paused or finished run): the loop reports its own. */
export function reportIdleFault(err: Error) {
  if (current && !current.loop) post({ type: 'error', during: 'train', message: err.message, fault: 'device', step: current.session.step });
}

/** Describes a run to the page, answering the start or load `id`: its sizes, its references, and where it stands. */
export function announce(id: number, run: Run, corpus: CorpusMessage, references: ReferenceLoss[], history: RunHistory) {
  const params = countParams(run.model.config);
  const { config } = run.trainer;
  post({
    type: 'run',
    id,
    corpus: corpus.name,
    vocabSize: run.tokenizer.size,
    params: params.total,
    nonEmbeddingParams: params.nonEmbedding,
    trainChars: run.split.train,
    valChars: run.split.val,
    vocab: [...run.tokenizer.vocab],
    blockSize: run.model.config.blockSize,
    nLayer: run.model.config.nLayer,
    nEmbd: run.model.config.nEmbd,
    tokensPerStep: tokensPerStep(run.model.config, config.batchSize),
    flopsPerStep: trainingFlopsPerStep(run.model.config, config.batchSize),
    sampling: config.sampling,
    maxSteps: config.maxSteps,
    references,
    config: { model: run.model.config, train: config },
    step: run.trainer.step,
    history,
  });
}

/**
 * The session's events, as messages to the page. A run on a task's corpus also scores the task
 * after each evaluation, between two steps (the weights hold still while it decodes).
 */
function eventsFor(run: Run, corpus: CorpusId, session: () => TrainingSession): SessionEvents {
  const problems = isTaskSpec(corpus.name) ? chooseProblems(generateTask(corpus.name).problems, APP_TASK_PROBLEMS, 0) : null;
  const task = problems && unknownCharacters(run.tokenizer.vocab, problems).length === 0 ? { spec: corpus.name, problems } : null;
  return {
    onStep: (e, batch) => post({ ...e, ...batch }),
    onEval: (e) => {
      post(e);
      if (task) session().betweenSteps(() => scoreTask(run, task, e.step));
    },
    onNoise: (e) => post(e),
  };
}

async function scoreTask(run: Run, task: { spec: string; problems: Problem[] }, step: number) {
  const base = { type: 'task' as const, step, task: task.spec, n: task.problems.length };
  try {
    const { items: _, byKind: __, ...scores } = await evaluateTask(run.model, run.tokenizer, task.problems);
    post({ ...base, ...scores });
  } catch (err) {
    post({ ...base, exactMatch: 0, charAccuracy: 0, answerNats: 0, error: errorMessage(err) });
  }
}

/** Swaps `run` in for the current run (which must not be training), and frees the old one. */
export function replaceCurrent(run: Run, corpus: CorpusId, phase: Current['phase'], history: RunHistory): Current {
  current?.session.dispose();
  // The noise-scale chart's measurements cost about 5% more compute.
  const session: TrainingSession = new TrainingSession(
    run,
    history,
    eventsFor(run, corpus, () => session),
    { noiseScaleEvery: APP_NOISE_EVERY },
  );
  current = { session, phase, loop: null, corpus };
  return current;
}

export async function start(msg: Extract<ToWorker, { type: 'start' }>) {
  const info = await ready();
  // The page's rule too (RunState.canStart): a paused or finished run is replaced, a training one never.
  if (current?.phase === 'training') throw new Error('a run is training: stop it before starting another');
  // Every input error surfaces here, before the current run is touched.
  const prepared = prepareRun(msg.corpus.text, msg.model, msg.train);
  const corpus = { name: msg.corpus.name, sha256: await sha256(msg.corpus.text) };
  if (current) {
    current.session.dispose();
    current = null;
  }
  const references = referenceLosses(prepared, msg.corpus.entropyRate);
  const run = createRun(prepared);
  const history: RunHistory = { losses: [], evals: [] };
  announce(msg.id, run, msg.corpus, references, history);
  const c = replaceCurrent(run, corpus, 'training', history);
  c.loop = trainLoop(c, info);
}

/** Read through a call: TypeScript would keep a narrowing of `current` across an await. */
export function isTraining(): boolean {
  return current?.phase === 'training';
}

/** Trains until the last step or an interrupt, then reports why it ended. */
async function trainLoop(c: Current, info: BackendInfo) {
  const { session } = c;
  try {
    const why = await session.train();
    if (why !== 'pause') post({ type: 'halting', step: session.step }); // the page need not end the worker to stop it
    if (why === 'pause') {
      c.phase = 'paused';
      post({ type: 'paused', step: session.step });
    } else if (why !== 'reset') {
      await finish(c, info, why === 'stop');
    }
  } catch (err) {
    c.phase = 'done'; // the weights may be broken, but they stay for a look until the next start
    post(trainError(err, session.step));
  } finally {
    c.loop = null;
    // Saves asked for after the loop last looked: nothing steps any more, so the queue runs them.
    for (const job of session.takeLeftovers()) enqueueReporting(job); // each job reports its own failure
  }
}

/** Ends the run: evaluates the model as it stands (a stop may land between evals) and reports it. */
async function finish(c: Current, info: BackendInfo, stopped: boolean) {
  const summary = await c.session.finish(info.name);
  c.phase = 'done';
  post({ type: 'done', summary, stopped });
}

export function pause() {
  if (current?.phase === 'training') current.session.requestInterrupt('pause');
}

export function resume() {
  const c = current;
  if (!c) return;
  if (c.phase === 'training' && c.session.cancelPause()) return; // the loop has not stopped yet: it goes on
  if (c.phase === 'paused') {
    c.phase = 'training';
    // A sample in progress finishes first: the model must not change under it.
    c.loop = drained()
      .then(ready)
      .then((info) => trainLoop(c, info));
  }
}

export function stop() {
  const c = current;
  if (c?.phase === 'training') c.session.requestInterrupt('stop');
  else if (c?.phase === 'paused') {
    post({ type: 'halting', step: c.session.step }); // nothing steps: the page need not wait to end the worker
    c.phase = 'done'; // a second stop finds nothing to do; the queue keeps samples off until finish ends
    enqueue(
      async () => finish(c, await ready(), true),
      (message) => ({ type: 'error', during: 'train', message, fault: 'error', step: c.session.step }),
    );
  }
}

/** Frees the run once its training loop (if any) has noticed the interrupt and returned. */
export async function reset() {
  const c = current;
  if (!c) return;
  c.session.requestInterrupt('reset');
  await c.loop;
  if (current === c) current = null;
  c.session.dispose();
}
