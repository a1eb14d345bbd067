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
 *
 * This file dispatches the messages; the parts they reach are in train-worker/: scope.ts (posting,
 * the queue, the backend), current.ts (the run and its training loop), inference.ts,
 * inspect.ts, checkpoints.ts and sweeps.ts.
 */
import { errorMessage } from '../src/core/errors.ts';
import type { SweepToWorker, ToWorker } from './protocol.ts';
import { load, save } from './train-worker/checkpoints.ts';
import { endSamples, probs, sample, scoreText } from './train-worker/inference.ts';
import { inspect } from './train-worker/inspect.ts';
import { enqueue, init, post } from './train-worker/scope.ts';
import { current, pause, reportIdleFault, reset, resume, start, stop, trainError } from './train-worker/current.ts';
import { fitPoints, stopSweep, sweep } from './train-worker/sweeps.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = (e: MessageEvent<ToWorker | SweepToWorker>) => {
  const msg = e.data;
  switch (msg.type) {
    case 'init':
      init(msg.backend, reportIdleFault, msg.wasmThreads);
      break;
    case 'ping':
      post({ type: 'pong', id: msg.id });
      break;
    case 'start':
      endSamples();
      enqueue(
        () => start(msg),
        (message) => ({ type: 'error', during: 'start', id: msg.id, message }),
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
      endSamples();
      current?.session.requestInterrupt('reset'); // now, not after the jobs queued before it
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
    case 'inspect':
      enqueue(
        () => inspect(msg),
        (message) => ({ type: 'error', during: 'inspect', id: msg.id, message }),
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
      sweep(msg).catch((err: unknown) => post({ type: 'sweepError', id: msg.id, during: 'sweep', message: errorMessage(err) }));
      break;
    case 'stopSweep':
      stopSweep();
      break;
    case 'fit':
      try {
        fitPoints(msg);
      } catch (err) {
        post({ type: 'sweepError', id: msg.id, during: 'fit', message: errorMessage(err) });
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
