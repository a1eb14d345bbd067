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
  // A request = (window start, position in window, target id). Window 0 predicts targets 1..T.
  const requests: { start: number; pos: number; target: number }[] = [];
  for (let t = 1; t < L; t++) {
    requests.push(t <= T ? { start: 0, pos: t - 1, target: ids[t] } : { start: t - T, pos: T - 1, target: ids[t] });
  }
  const starts = [...new Set(requests.map((r) => r.start))];
  const row = new Map(starts.map((s, i) => [s, i]));
  const logps = new Float64Array(requests.length);
  for (let first = 0; first < starts.length; first += SCORE_ROWS) {
    const chunk = starts.slice(first, first + SCORE_ROWS);
    const x = new Int32Array(SCORE_ROWS * T); // unused rows stay 0: fixed shape
    chunk.forEach((s, r) => x.set(padded(ids.subarray(s, s + T), T), r * T));
    const inChunk = requests.map((r, i) => ({ ...r, i })).filter((r) => row.get(r.start)! >= first && row.get(r.start)! < first + chunk.length);
    // Flat index into logSoftmax [SCORE_ROWS*T, V] of each requested (row, pos, target).
    const flat = Int32Array.from(inChunk, (r) => ((row.get(r.start)! - first) * T + r.pos) * V + r.target);
    const picked = tf.tidy(() => {
      const logp = tf.logSoftmax(model.forward(tf.tensor2d(x, [SCORE_ROWS, T], 'int32'))); // [rows*T, V]
      return tf.gather(logp.reshape([-1]), tf.tensor1d(flat, 'int32'));
    });
    const values = await picked.data();
    picked.dispose();
    inChunk.forEach((r, k) => (logps[r.i] = values[k]));
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
