/**
 * The training worker: owns tfjs, its backend and at most one run, so the page never blocks
 * on a training step. Every command is answered by events (protocol.ts); every failure becomes
 * an 'error' event, never an uncaught exception.
 *
 * Ordering: start, load, reset, sample, score and save run one at a time on a queue, because each
 * of them may read or free the model. pause and stop act at once by setting `interrupt`, which
 * the training loop checks between steps; the loop itself runs beside the queue. A save that
 * arrives while training is handed to the loop instead, which runs it between two steps: the
 * weights and the optimizer state it reads must come from the same step.
 */
// Vite serves these binaries and gives their URLs; tfjs-backend-wasm would look beside the script otherwise.
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { countParams } from '../src/core/config.ts';
import { tokensPerStep, trainingFlopsPerStep } from '../src/core/flops.ts';
import { initBackend, type BackendChoice, type BackendInfo } from './backend.ts';
import { loadCheckpoint, saveCheckpoint, type CorpusId, type RunHistory } from './checkpoint.ts';
import { bootstrapChinchilla } from '../src/core/fit.ts';
import type { CorpusMessage, FromWorker, ReferenceLoss, SweepFromWorker, SweepToWorker, ToWorker, TrainFault } from './protocol.ts';
import { createRun, disposeRun, prepareRun, referenceLosses, runFromCheckpoint, type FromCheckpoint, type Run } from './run.ts';
import { generate, nextProbs, score } from './sample.ts';
import { planSweep } from '../src/core/sweep.ts';
import { runSweep } from './sweep.ts';
import { deviceFault, onDeviceFault } from './device.ts';
import { DivergenceError, summarize, train, type RunStats, type TrainHooks } from './train.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

const WASM_PATHS = {
  'tfjs-backend-wasm.wasm': wasmUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
};

function post(msg: FromWorker | SweepFromWorker, transfer: Transferable[] = []) {
  scope.postMessage(msg, transfer);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A training failure as the page needs it: what kind, and at which step. */
function trainError(err: unknown, step: number | null): FromWorker {
  // A lost device makes later ops fail in odd ways: the device's own report is the cause to name.
  const device = deviceFault();
  if (device) return { type: 'error', during: 'train', message: device.message, fault: 'device', step };
  const fault: TrainFault = err instanceof DivergenceError ? 'divergence' : 'error';
  return { type: 'error', during: 'train', message: describe(err), fault, step: err instanceof DivergenceError ? err.step : step };
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
  corpus: CorpusId; // saved with every checkpoint: a resume must find the same text
  history: RunHistory; // losses of the last history.losses.length steps up to the current one, and evals
  between: (() => Promise<void>)[]; // saves the loop runs between two steps (they report their own failures, never reject)
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
  // Device loss and WebGPU errors are watched by initBackend; the training loop reports them,
  // and a fault while no loop runs (a paused or finished run) is reported here.
  onDeviceFault((err) => {
    if (current && !current.loop) post({ type: 'error', during: 'train', message: err.message, fault: 'device', step: current.run.trainer.step });
  });
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

/** Hex SHA-256 of the text's UTF-8 bytes: the CLI computes the same, so checkpoints resume in either. */
async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Describes a run to the page: its sizes, its references, and where it stands. */
function announce(run: Run, corpus: CorpusMessage, references: ReferenceLoss[], history: RunHistory) {
  const params = countParams(run.model.config);
  const { config } = run.trainer;
  post({
    type: 'run',
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
    step: run.trainer.step,
    history,
  });
}

/** Swaps `run` in for the current run (which must not be training), and frees the old one. */
function replaceCurrent(run: Run, corpus: CorpusId, phase: Current['phase'], history: RunHistory): Current {
  if (current) disposeRun(current.run);
  const lastEval = history.evals.at(-1);
  const stats: RunStats = { trainMs: 0, tokens: 0, lastEval: lastEval && { type: 'eval', ...lastEval } };
  current = { run, stats, phase, interrupt: null, loop: null, corpus, history, between: [] };
  return current;
}

async function start(msg: Extract<ToWorker, { type: 'start' }>) {
  const info = await ready();
  if (current?.phase === 'training') throw new Error('a run is training: stop it before starting another');
  // Every input error surfaces here, before the current run is touched.
  const prepared = prepareRun(msg.corpus.text, msg.model, msg.train);
  const corpus = { name: msg.corpus.name, sha256: await sha256(msg.corpus.text) };
  if (current) {
    disposeRun(current.run);
    current = null;
  }
  const references = referenceLosses(prepared, msg.corpus.entropyRate);
  const run = createRun(prepared);
  const history: RunHistory = { losses: [], evals: [] };
  announce(run, msg.corpus, references, history);
  const c = replaceCurrent(run, corpus, 'training', history);
  c.loop = trainLoop(c, info);
}

async function load(msg: Extract<ToWorker, { type: 'load' }>) {
  await ready();
  if (current?.phase === 'training') throw new Error('a run is training: pause or stop it before loading a checkpoint');
  const ck = loadCheckpoint(msg.bytes);
  const sha = await sha256(msg.corpus.text);
  let how: FromCheckpoint;
  if (msg.mode === 'resume') {
    how = { mode: 'resume', overrides: msg.train ? { maxSteps: msg.train.maxSteps } : {}, lrScale: msg.lrScale };
  } else {
    const train = msg.train ?? ck.meta.train;
    if (!train) {
      ck.model.dispose();
      throw new Error('fine-tuning needs a training config, and this checkpoint holds none');
    }
    how = { mode: 'finetune', train };
  }
  // The same rules as the CLI's --resume and --init-from (run.ts); the checkpoint's model is the run's, or freed.
  const { prepared, run, history } = await runFromCheckpoint(ck, { ...msg.corpus, sha256: sha }, how);
  const step = run.trainer.step;
  if (isTraining()) {
    disposeRun(run); // a resume slipped in while the file was read
    throw new Error('a run started training while the checkpoint loaded; pause it and load again');
  }
  announce(run, msg.corpus, referenceLosses(prepared, msg.corpus.entropyRate), history);
  replaceCurrent(run, { name: msg.corpus.name, sha256: sha }, 'paused', history);
  post({ type: 'paused', step });
}

/** Read through a call: TypeScript would keep a narrowing of `current` across an await. */
function isTraining(): boolean {
  return current?.phase === 'training';
}

/** Saves the run as it stands: called only while no step is under way (from the queue, or between steps). */
async function saveRun(c: Current, id: number) {
  if (current !== c) throw new Error('the run was replaced or reset before it could be saved');
  const { model, tokenizer, trainer } = c.run;
  const step = trainer.step;
  const bytes = await saveCheckpoint(model, { vocab: tokenizer.vocab, train: trainer.config, trainer, corpus: c.corpus, history: c.history });
  post({ type: 'saved', id, bytes, step, valLoss: c.stats.lastEval?.val ?? null }, [bytes.buffer]);
}

function save(id: number) {
  const fail = (message: string): FromWorker => ({ type: 'error', during: 'save', id, message });
  const c = current;
  if (!c) {
    post(fail('there is no run to save yet: train one first'));
    return;
  }
  const job = () => saveRun(c, id).catch((err: unknown) => post(fail(describe(err))));
  // While training, the loop runs it between two steps; otherwise nothing steps, and the queue keeps it after earlier jobs.
  if (c.phase === 'training' && c.loop) c.between.push(job);
  else enqueue(job, fail);
}

/** Trains until maxSteps or an interrupt, then reports why it ended. */
async function trainLoop(c: Current, info: BackendInfo) {
  const hooks: TrainHooks = {
    onStep: (e, batch) => {
      c.history.losses.push(e.loss);
      post({ ...e, ...batch });
    },
    onEval: (e) => {
      c.history.evals.push({ step: e.step, train: e.train, val: e.val });
      post(e);
    },
    shouldStop: () => c.interrupt !== null || c.between.length > 0,
  };
  const { trainer } = c.run;
  const runBetween = async () => {
    for (const job of c.between.splice(0)) await job();
  };
  try {
    // A resume can take back a pause before the loop noticed it: then train() returns with no interrupt left.
    // A save stops train() too: it runs here, between two whole steps, and the loop goes on.
    do {
      await train(trainer, hooks, c.stats);
      await runBetween();
    } while (trainer.step < trainer.config.maxSteps && c.interrupt === null);
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
    post(trainError(err, trainer.step));
  } finally {
    c.loop = null;
    // Saves asked for after the loop last looked: nothing steps any more, so the queue runs them.
    for (const job of c.between.splice(0)) queue = queue.then(job); // each job reports its own failure
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
      (message) => ({ type: 'error', during: 'train', message, fault: 'error', step: c.run.trainer.step }),
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
// Sweeps and fits (a page sends these to a worker of their own, so its main run is untouched)

/** The sweep in progress, if any: one at a time, since each model holds the backend's memory. */
let sweeping: { id: number; stop: boolean } | null = null;

async function sweep(msg: Extract<SweepToWorker, { type: 'sweep' }>) {
  await ready();
  if (sweeping) throw new Error('a sweep is running: stop it before starting another');
  if (isTraining()) throw new Error('a run is training in this worker: a sweep would compete with it for the device');
  const { id, config } = msg;
  const vocabSize = new Set(msg.corpus.text).size;
  const { steps, warmupSteps, N } = planSweep(config, vocabSize);
  const s = (sweeping = { id, stop: false });
  // A model counts as trained once its last step arrives; a stop before that resumes at it.
  let nextModel = msg.startModel;
  post({ type: 'sweepPlan', id, steps, warmupSteps, N, vocabSize });
  try {
    await runSweep(
      msg.corpus.text,
      config,
      {
        onModel: (model, shape, N, n) => post({ type: 'sweepModel', id, model, shape, N, steps: n }),
        onStep: (model, e) => {
          if (e.step >= steps[model]) nextModel = model + 1;
          post({ type: 'sweepStep', id, model, step: e.step, loss: e.loss });
        },
        onPoint: (point) => post({ type: 'sweepPoint', id, point }),
        shouldStop: () => s.stop,
      },
      msg.startModel,
    );
    post({ type: 'sweepDone', id, stopped: nextModel < config.ladder.length, nextModel });
  } finally {
    sweeping = null;
  }
}

/** Fits the law and its bootstrap intervals: seconds of arithmetic, no tensors. */
function fitPoints(msg: Extract<SweepToWorker, { type: 'fit' }>) {
  const b = bootstrapChinchilla(msg.points, { samples: msg.samples, seed: msg.seed, at: msg.at });
  const { E, A, B, alpha, beta } = b.fit;
  post({
    type: 'fitted',
    id: msg.id,
    law: { E, A, B, alpha, beta },
    converged: b.fit.converged,
    intervals: { E: b.E, A: b.A, B: b.B, alpha: b.alpha, beta: b.beta },
    predictions: b.predictions,
  });
}

// ---------------------------------------------------------------------------------------------

scope.onmessage = (e: MessageEvent<ToWorker | SweepToWorker>) => {
  const msg = e.data;
  switch (msg.type) {
    case 'init':
      init(msg.backend);
      break;
    case 'ping':
      post({ type: 'pong', id: msg.id });
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
        (message) => ({ type: 'error', during: 'train', message, fault: 'error', step: null }),
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
    case 'save':
      save(msg.id);
      break;
    case 'load':
      enqueue(
        () => load(msg),
        (message) => ({ type: 'error', during: 'load', id: msg.id, message }),
      );
      break;
    case 'sweep':
      // Beside the queue, like the training loop: samples and saves of this worker's run still answer.
      sweep(msg).catch((err: unknown) => post({ type: 'sweepError', id: msg.id, during: 'sweep', message: describe(err) }));
      break;
    case 'stopSweep':
      if (sweeping) sweeping.stop = true;
      break;
    case 'fit':
      try {
        fitPoints(msg);
      } catch (err) {
        post({ type: 'sweepError', id: msg.id, during: 'fit', message: describe(err) });
      }
      break;
    default:
      msg satisfies never;
  }
};

// A last resort: whatever escapes the handlers above still reaches the page as an error event.
scope.addEventListener('unhandledrejection', (e) => {
  e.preventDefault();
  post(trainError(e.reason, null));
});
