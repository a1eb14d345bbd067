/**
 * The training worker: owns tfjs, its backend and at most one run, so the page never blocks
 * on a training step. Every command is answered by events (protocol.ts); every failure becomes
 * an 'error' event, never an uncaught exception.
 *
 * Ordering: start, reset, sample and score run one at a time on a queue, because each of them
 * may read or free the model. pause and stop act at once by setting `interrupt`, which the
 * training loop checks between steps; the loop itself runs beside the queue.
 */
// Vite serves these binaries and gives their URLs; tfjs-backend-wasm would look beside the script otherwise.
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { countParams } from '../src/core/config.ts';
import { tokensPerStep, trainingFlopsPerStep } from '../src/core/flops.ts';
import { initBackend, type BackendChoice, type BackendInfo } from './backend.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import { createRun, disposeRun, prepareRun, referenceLosses, type Run } from './run.ts';
import { generate, nextProbs, score } from './sample.ts';
import { summarize, train, type RunStats, type TrainHooks } from './train.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

const WASM_PATHS = {
  'tfjs-backend-wasm.wasm': wasmUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
};

function post(msg: FromWorker) {
  scope.postMessage(msg);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why the training loop was asked to end before maxSteps. */
type Interrupt = 'pause' | 'stop' | 'reset';

/** The one run this worker holds. */
interface Current {
  run: Run;
  stats: RunStats; // carried across pause/resume so the summary covers the whole run
  phase: 'training' | 'paused' | 'done';
  interrupt: Interrupt | null; // checked between steps
  loop: Promise<void> | null; // the training loop in progress (or about to start)
}

let backend: Promise<BackendInfo> | null = null;
let backendChoice: BackendChoice | null = null;
let current: Current | null = null;
/** Bumped by start and reset: a sample from an older run stops at its next character. */
let epoch = 0;
/** The queue of start, reset, sample and score jobs. */
let queue: Promise<void> = Promise.resolve();

/** Runs `job` after the queued ones; its failure becomes the event `fail` builds. */
function enqueue(job: () => Promise<void>, fail: (message: string) => FromWorker) {
  queue = queue.then(job).catch((err: unknown) => post(fail(describe(err))));
}

// ---------------------------------------------------------------------------------------------
// Backend

function init(choice: BackendChoice) {
  if (backend && backendChoice !== choice) {
    post({
      type: 'error',
      during: 'init',
      message: `this worker already chose its backend (${backendChoice}); a different backend needs a new worker`,
    });
    return;
  }
  backendChoice = choice;
  // Device loss and WebGPU errors are watched by initBackend; the training loop reports them.
  backend ??= initBackend(choice, { wasmPaths: WASM_PATHS });
  backend.then(
    (info) => post({ type: 'ready', backend: info.name, adapter: info.adapter, skipped: info.skipped }),
    (err: unknown) => post({ type: 'error', during: 'init', message: describe(err) }),
  );
}

async function ready(): Promise<BackendInfo> {
  if (!backend) throw new Error('no backend chosen yet: the page must send init first');
  try {
    return await backend;
  } catch (err) {
    throw new Error(`no backend to train on: ${describe(err)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Training

async function start(msg: Extract<ToWorker, { type: 'start' }>) {
  const info = await ready();
  if (current?.phase === 'training') throw new Error('a run is training: stop it before starting another');
  // Every input error surfaces here, before the current run is touched.
  const prepared = prepareRun(msg.corpus.text, msg.model, msg.train);
  if (current) {
    disposeRun(current.run);
    current = null;
  }
  const references = referenceLosses(prepared, msg.corpus.entropyRate);
  const run = createRun(prepared);
  const params = countParams(run.model.config);
  post({
    type: 'run',
    corpus: msg.corpus.name,
    vocabSize: run.tokenizer.size,
    params: params.total,
    nonEmbeddingParams: params.nonEmbedding,
    trainChars: run.split.train,
    valChars: run.split.val,
    vocab: [...run.tokenizer.vocab],
    blockSize: run.model.config.blockSize,
    tokensPerStep: tokensPerStep(run.model.config, msg.train.batchSize),
    flopsPerStep: trainingFlopsPerStep(run.model.config, msg.train.batchSize),
    sampling: msg.train.sampling,
    maxSteps: msg.train.maxSteps,
    references,
  });
  const c: Current = { run, stats: { trainMs: 0, tokens: 0 }, phase: 'training', interrupt: null, loop: null };
  current = c;
  c.loop = trainLoop(c, info);
}

/** Trains until maxSteps or an interrupt, then reports why it ended. */
async function trainLoop(c: Current, info: BackendInfo) {
  const hooks: TrainHooks = {
    onStep: (e, batch) => post({ ...e, ...batch }),
    onEval: post,
    shouldStop: () => c.interrupt !== null,
  };
  const { trainer } = c.run;
  try {
    // A resume can take back a pause before the loop noticed it: then train() returns with no interrupt left.
    do await train(trainer, hooks, c.stats);
    while (trainer.step < trainer.config.maxSteps && c.interrupt === null);
    const why = trainer.step >= trainer.config.maxSteps ? null : c.interrupt;
    c.interrupt = null;
    if (why === 'pause') {
      c.phase = 'paused';
      post({ type: 'paused', step: trainer.step });
    } else if (why !== 'reset') {
      await finish(c, info, why === 'stop');
    }
  } catch (err) {
    c.phase = 'done'; // the weights may be broken, but they stay for a look until the next start
    post({ type: 'error', during: 'train', message: describe(err) });
  } finally {
    c.loop = null;
  }
}

/** Ends the run: evaluates the model as it stands (a stop may land between evals) and reports it. */
async function finish(c: Current, info: BackendInfo, stopped: boolean) {
  const { trainer } = c.run;
  if (c.stats.lastEval?.step !== trainer.step) {
    const { train: trainLoss, val } = await trainer.estimateLoss();
    c.stats.lastEval = { type: 'eval', step: trainer.step, train: trainLoss, val };
    post(c.stats.lastEval);
  }
  c.phase = 'done';
  post({ type: 'done', summary: summarize(trainer, c.stats, info.name), stopped });
}

function pause() {
  if (current?.phase === 'training') current.interrupt ??= 'pause';
}

function resume() {
  const c = current;
  if (!c) return;
  if (c.phase === 'training' && c.interrupt === 'pause') {
    c.interrupt = null; // the loop has not stopped yet: let it go on
  } else if (c.phase === 'paused') {
    c.phase = 'training';
    // A sample in progress finishes first: the model must not change under it.
    c.loop = queue.then(ready).then((info) => trainLoop(c, info));
  }
}

function stop() {
  const c = current;
  if (c?.phase === 'training') c.interrupt = 'stop';
  else if (c?.phase === 'paused') {
    c.phase = 'done'; // a second stop finds nothing to do; the queue keeps samples off until finish ends
    enqueue(
      async () => finish(c, await ready(), true),
      (message) => ({ type: 'error', during: 'train', message }),
    );
  }
}

/** Frees the run once its training loop (if any) has noticed the interrupt and returned. */
async function reset() {
  const c = current;
  if (!c) return;
  c.interrupt = 'reset';
  await c.loop;
  if (current === c) current = null;
  disposeRun(c.run);
}

// ---------------------------------------------------------------------------------------------
// Inference

/**
 * The model, to read between training steps. That is safe while training runs: a step is
 * queued synchronously, so a forward pass here sees the weights after one whole update,
 * never half of one (the device runs work in the order it was queued).
 */
function currentRun(what: string): Run {
  if (!current) throw new Error(`there is no model to ${what} yet: train one first`);
  return current.run;
}

async function sample(msg: Extract<ToWorker, { type: 'sample' }>) {
  const { model, tokenizer } = currentRun('sample from');
  const mine = epoch;
  const { length, temperature, seed } = msg;
  for await (const text of generate(model, tokenizer, msg.prompt, { length, temperature, seed })) {
    if (epoch !== mine) break; // a reset or a new run: this model is going away
    post({ type: 'sampleToken', id: msg.id, text });
  }
  post({ type: 'sampleDone', id: msg.id });
}

async function scoreText(msg: Extract<ToWorker, { type: 'score' }>) {
  const { model, tokenizer } = currentRun('score text');
  post({ type: 'scored', id: msg.id, score: await score(model, tokenizer, msg.text) });
}

async function probs(msg: Extract<ToWorker, { type: 'probs' }>) {
  const { model, tokenizer } = currentRun('show the next-character distribution');
  if (msg.prompt.length === 0) throw new Error('the prompt is empty: the distribution needs at least one character of context');
  post({ type: 'probs', id: msg.id, probs: Array.from(await nextProbs(model, Array.from(tokenizer.encode(msg.prompt)))) });
}

// ---------------------------------------------------------------------------------------------

scope.onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  switch (msg.type) {
    case 'init':
      init(msg.backend);
      break;
    case 'start':
      epoch++;
      enqueue(
        () => start(msg),
        (message) => ({ type: 'error', during: 'start', message }),
      );
      break;
    case 'pause':
      pause();
      break;
    case 'resume':
      resume();
      break;
    case 'stop':
      stop();
      break;
    case 'reset':
      epoch++;
      if (current) current.interrupt = 'reset'; // now, not after the jobs queued before it
      enqueue(
        async () => {
          await reset();
          post({ type: 'reset' });
        },
        (message) => ({ type: 'error', during: 'train', message }),
      );
      break;
    case 'sample':
      enqueue(
        () => sample(msg),
        (message) => ({ type: 'error', during: 'sample', id: msg.id, message }),
      );
      break;
    case 'score':
      enqueue(
        () => scoreText(msg),
        (message) => ({ type: 'error', during: 'score', id: msg.id, message }),
      );
      break;
    case 'probs':
      enqueue(
        () => probs(msg),
        (message) => ({ type: 'error', during: 'probs', id: msg.id, message }),
      );
      break;
    default:
      msg satisfies never;
  }
};

// A last resort: whatever escapes the handlers above still reaches the page as an error event.
scope.addEventListener('unhandledrejection', (e) => {
  e.preventDefault();
  post({ type: 'error', during: 'train', message: describe(e.reason) });
});
