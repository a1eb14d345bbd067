/**
 * Inference: generate text at a temperature, and score how probable a text is.
 * Sampling happens in TypeScript on read-back probabilities with a seeded RNG. Every forward
 * pass has a fixed shape ([1, blockSize] to generate, [SCORE_ROWS, blockSize] to score) so the
 * GPU buffer pool never sees a new size.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/core/rng.ts';
import { annealedDistribution, sampleIndex } from '../src/core/sampling.ts';
import type { CharTokenizer } from '../src/core/tokenizer.ts';
import type { GPT } from './model.ts';

/** The longest completion one call may ask for. */
export const MAX_GENERATE_LENGTH = 100_000;

export interface GenerateOptions {
  length: number; // characters to generate
  temperature: number; // 0 = argmax, 1 = the model's distribution, large = near uniform
  seed: number;
}

/** Right-pads `ids` to T with token 0; causality makes the padding invisible to earlier positions. */
function padded(ids: ArrayLike<number>, T: number): Int32Array {
  const out = new Int32Array(T);
  out.set(Array.from(ids).slice(0, T));
  return out;
}

/** Next-character probabilities after `context` (the last blockSize ids are used). */
export async function nextProbs(model: GPT, context: number[]): Promise<Float32Array> {
  const T = model.config.blockSize;
  const window = context.slice(-T); // crop to the context length
  const probs = tf.tidy(() => {
    const x = tf.tensor2d(padded(window, T), [1, T], 'int32');
    const logits = model.forward(x); // [T, V]
    return tf.softmax(logits.slice([window.length - 1, 0], [1, -1])); // [1, V]
  });
  try {
    return (await probs.data()) as Float32Array;
  } finally {
    probs.dispose();
  }
}

/** Samples `length` characters after `prompt`, yielding each as it is drawn. */
export async function* generate(
  model: GPT,
  tokenizer: CharTokenizer,
  prompt: string,
  { length, temperature, seed }: GenerateOptions,
): AsyncGenerator<string> {
  if (!Number.isInteger(length) || length < 0 || length > MAX_GENERATE_LENGTH) {
    throw new RangeError(`length must be a whole number from 0 to ${MAX_GENERATE_LENGTH}, got ${length}`);
  }
  annealedDistribution([1], temperature); // validates the temperature before any work
  if (prompt.length === 0) throw new Error('the prompt is empty: give at least one character to continue from (the model has no start token)');
  const context = Array.from(tokenizer.encode(prompt));
  const rng = new Rng(seed);
  for (let i = 0; i < length; i++) {
    const probs = await nextProbs(model, context);
    const id = sampleIndex(annealedDistribution(Array.from(probs), temperature), rng);
    context.push(id);
    if (context.length > 2 * model.config.blockSize) context.splice(0, context.length - model.config.blockSize);
    yield tokenizer.vocab[id];
  }
}

export interface Score {
  logProb: number; // Σ_{t=2..L} log p(x_t | x_<t), nats; the first character is given
  bitsPerChar: number; // -logProb / (L-1) / ln 2
  perplexity: number; // exp(-logProb / (L-1))
  surprisal: number[]; // -log p(x_t | x_<t) in nats for t = 2..L, one per predicted character
  chars: string[]; // the predicted characters x_2..x_L, aligned with surprisal
}

/** Windows scored per forward pass. */
const SCORE_ROWS = 8;

/**
 * Scores `text` given its first character. Each character is predicted from as much context
 * as the model allows: the first window covers characters 2..blockSize+1, and every later one
 * slides by one so character t sees the blockSize characters before it.
 */
export async function score(model: GPT, tokenizer: CharTokenizer, text: string): Promise<Score> {
  const ids = tokenizer.encode(text);
  const L = ids.length;
  if (L < 2) throw new Error(`scoring needs at least 2 characters (the first is given, the rest are predicted); got ${L}`);
  const T = model.config.blockSize;
  const V = tokenizer.size;
  // Window s covers ids[s, s+T). Window 0 predicts targets 1..T from positions 0..T-1; window
  // s ≥ 1 predicts only target s+T, from its last position, with a full context behind it.
  const windowStarts = [0];
  for (let s = 1; s + T < L; s++) windowStarts.push(s);
  const logps: number[] = [];
  for (let first = 0; first < windowStarts.length; first += SCORE_ROWS) {
    const chunk = windowStarts.slice(first, first + SCORE_ROWS);
    const x = new Int32Array(SCORE_ROWS * T); // unused rows stay 0: a fixed shape
    const flat: number[] = []; // index into logSoftmax [SCORE_ROWS*T, V] of each target, in text order
    chunk.forEach((s, r) => {
      x.set(padded(ids.subarray(s, s + T), T), r * T);
      if (s === 0) for (let pos = 0; pos < Math.min(T, L - 1); pos++) flat.push((r * T + pos) * V + ids[pos + 1]);
      else flat.push((r * T + T - 1) * V + ids[s + T]);
    });
    const picked = tf.tidy(() => {
      const logp = tf.logSoftmax(model.forward(tf.tensor2d(x, [SCORE_ROWS, T], 'int32'))); // [rows*T, V]
      return tf.gather(logp.reshape([-1]), tf.tensor1d(flat, 'int32'));
    });
    try {
      logps.push(...(await picked.data()));
    } finally {
      picked.dispose();
    }
  }
  const logProb = logps.reduce((a, b) => a + b, 0);
  const n = L - 1;
  return {
    logProb,
    bitsPerChar: -logProb / n / Math.LN2,
    perplexity: Math.exp(-logProb / n),
    surprisal: Array.from(logps, (lp) => -lp),
    chars: Array.from(text).slice(1),
  };
}
