/**
 * Inference requests to the training worker: samples, scores and next-character distributions
 * from the current run's model.
 */
import type { ToWorker } from '../protocol.ts';
import type { Run } from '../run.ts';
import { generate, nextProbs, score } from '../sample.ts';
import { post } from './scope.ts';
import { current } from './current.ts';

/** Bumped by start and reset: a sample from an older run stops at its next character. */
let epoch = 0;

/** A new run or a reset is coming: samples in progress stop at their next character. */
export function endSamples() {
  epoch++;
}

/**
 * The model, to read between training steps. That is safe while training runs: a step is
 * queued synchronously, so a forward pass here sees the weights after one whole update,
 * never half of one (the device runs work in the order it was queued).
 */
function currentRun(what: string): Run {
  if (!current) throw new Error(`there is no model to ${what} yet: train one first`);
  return current.session.run;
}

export async function sample(msg: Extract<ToWorker, { type: 'sample' }>) {
  const { model, tokenizer } = currentRun('sample from');
  const mine = epoch;
  const { length, temperature, seed } = msg;
  for await (const text of generate(model, tokenizer, msg.prompt, { length, temperature, seed })) {
    if (epoch !== mine) break; // a reset or a new run: this model is going away
    post({ type: 'sampleToken', id: msg.id, text });
  }
  post({ type: 'sampleDone', id: msg.id });
}

export async function scoreText(msg: Extract<ToWorker, { type: 'score' }>) {
  const { model, tokenizer } = currentRun('score text');
  post({ type: 'scored', id: msg.id, score: await score(model, tokenizer, msg.text) });
}

export async function probs(msg: Extract<ToWorker, { type: 'probs' }>) {
  const { model, tokenizer } = currentRun('show the next-character distribution');
  if (msg.prompt.length === 0) throw new Error('the prompt is empty: the distribution needs at least one character of context');
  post({ type: 'probs', id: msg.id, probs: Array.from(await nextProbs(model, Array.from(tokenizer.encode(msg.prompt)))) });
}
