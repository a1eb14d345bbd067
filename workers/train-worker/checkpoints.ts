/**
 * Checkpoints in the training worker: load one as the current run (to resume or to fine-tune),
 * and save the current run, between two steps if it is training.
 */
import { errorMessage } from '../../src/core/errors.ts';
import { loadCheckpoint, saveCheckpoint } from '../checkpoint.ts';
import type { FromWorker, ToWorker } from '../protocol.ts';
import { disposeRun, referenceLosses, runFromCheckpoint, type FromCheckpoint } from '../run.ts';
import { enqueue, post, ready } from './scope.ts';
import { sha256 } from '../../src/core/sha256.ts';
import { announce, current, isTraining, replaceCurrent, type Current } from './current.ts';

export async function load(msg: Extract<ToWorker, { type: 'load' }>) {
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
  announce(msg.id, run, msg.corpus, referenceLosses(prepared, msg.corpus.entropyRate), history);
  replaceCurrent(run, { name: msg.corpus.name, sha256: sha }, 'paused', history);
  post({ type: 'paused', step });
}

/** Saves the run as it stands: called only while no step is under way (from the queue, or between steps). */
async function saveRun(c: Current, id: number) {
  if (current !== c) throw new Error('the run was replaced or reset before it could be saved');
  const {
    run: { model, tokenizer, trainer },
    history,
    stats,
  } = c.session;
  const step = trainer.step;
  const began = performance.now();
  const bytes = await saveCheckpoint(model, {
    vocab: tokenizer.vocab,
    train: trainer.config,
    trainer,
    corpus: c.corpus,
    history,
  });
  const ms = performance.now() - began;
  const last = stats.lastEval;
  post({ type: 'saved', id, bytes, step, valLoss: last?.val ?? null, valStep: last?.step ?? null, ms }, [bytes.buffer]);
}

export function save(id: number) {
  const fail = (message: string): FromWorker => ({ type: 'error', during: 'save', id, message });
  const c = current;
  if (!c) {
    post(fail('there is no run to save yet: train one first'));
    return;
  }
  const job = () => saveRun(c, id).catch((err: unknown) => post(fail(errorMessage(err))));
  // While training, the loop runs it between two steps; otherwise nothing steps, and the queue keeps it after earlier jobs.
  if (c.phase === 'training' && c.loop) c.session.betweenSteps(job);
  else enqueue(job, fail);
}
