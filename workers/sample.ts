/**
 * Inference: generate text at a temperature, and score how probable a text is.
 * Sampling happens in TypeScript on read-back probabilities with a seeded RNG. `generate` goes
 * one position per character over a KV cache of fixed capacity (see `CachedContext`). Every
 * pass has a fixed shape ([1, blockSize] for a window or a prefill, [1, 1] for a cached step,
 * [SCORE_ROWS, blockSize] to score) so the GPU buffer pool never sees a new size.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/core/rng.ts';
import { annealedDistribution, MAX_GENERATE_LENGTH, sampleIndex } from '../src/core/sampling.ts';
import type { CharTokenizer } from '../src/core/tokenizer.ts';
import type { GPT, KVCache } from './model.ts';

export { MAX_GENERATE_LENGTH }; // defined with the page's checks in src/core/sampling.ts

export interface GenerateOptions {
  length: number; // characters to generate
  temperature: number; // 0 = argmax, 1 = the model's distribution, large = near uniform
  seed: number;
  kvCache?: boolean; // one position per character over a KV cache (default); false: the whole window each time
}

/** Right-pads `ids` to T with token 0; causality makes the padding invisible to earlier positions. */
function padded(ids: ArrayLike<number>, T: number): Int32Array {
  const out = new Int32Array(T);
  out.set(Array.from(ids).slice(0, T));
  return out;
}

/** Softmax of the logits at the last of `window` (≤ blockSize ids) → [1, V]; with a cache, also fills it. */
function windowProbs(model: GPT, window: number[], cache?: KVCache): tf.Tensor2D {
  const T = model.config.blockSize;
  return tf.tidy(() => {
    const x = tf.tensor2d(padded(window, T), [1, T], 'int32');
    const logits = model.forward(x, { training: false }, cache); // [T, V]
    return tf.softmax(logits.slice([window.length - 1, 0], [1, -1])); // [1, V]
  });
}

/** Reads back and frees a [1, V] tensor of probabilities. */
async function readProbs(probs: tf.Tensor): Promise<Float32Array> {
  try {
    return (await probs.data()) as Float32Array;
  } finally {
    probs.dispose();
  }
}

/** Next-character probabilities after `context` (the last blockSize ids are used). */
export async function nextProbs(model: GPT, context: number[]): Promise<Float32Array> {
  return readProbs(windowProbs(model, context.slice(-model.config.blockSize))); // crop to the context length
}

/** Next-character probabilities for a context that grows one character at a time. */
export interface Continuation {
  /** Probabilities of the character after the context so far. */
  probs(): Promise<Float32Array>;
  /** Appends a character to the context. */
  push(id: number): void;
  /** How many of the context's last characters the latest probabilities were conditioned on. */
  readonly seen: number;
  /** Frees what it holds on the device. */
  dispose(): void;
}

/** Without a cache: every character runs the whole window, the last blockSize characters. */
export class WindowContext implements Continuation {
  private readonly ids: number[];
  seen = 0;

  constructor(
    private readonly model: GPT,
    prompt: ArrayLike<number>,
  ) {
    this.ids = Array.from(prompt);
  }

  probs(): Promise<Float32Array> {
    const T = this.model.config.blockSize;
    if (this.ids.length > 2 * T) this.ids.splice(0, this.ids.length - T); // only the last T are ever read
    this.seen = Math.min(this.ids.length, T);
    return nextProbs(this.model, this.ids);
  }

  push(id: number) {
    this.ids.push(id);
  }

  dispose() {}
}

/**
 * The characters a full cache keeps when it is filled again: 3/4 of the context (at least 1),
 * so at most every blockSize/4-th character pays for a whole window.
 */
export function refillLength(blockSize: number): number {
  return Math.max(1, Math.ceil((3 * blockSize) / 4));
}

/**
 * With a KV cache: the prompt costs one prefill (a [1, blockSize] pass that also stores every
 * layer's keys and values), and each later character one [1, 1] step that attends over the
 * cache. While the context fits (≤ blockSize characters) the probabilities are those of the
 * whole-window path, to float rounding.
 *
 * Past the context the two differ, because positions are absolute (learned position
 * embeddings): the window path shifts every character one position to the left for each new
 * one, which changes every cached key and value, so a full cache cannot slide. Instead, when a
 * character does not fit, the cache is filled again by a prefill of the last
 * `refillLength(blockSize)` characters (3/4 of the context), at positions 0..; steps then fill
 * it up again. So past the context each character is conditioned on between 3/4·blockSize and
 * blockSize characters before it (the window path: always blockSize), all at the positions a
 * window starting there would give them, and one character in about blockSize/4 costs a prefill.
 *
 * If the weights change between characters (sampling while training), the cache is filled
 * again from the whole window, so every character is predicted by one set of weights.
 */
export class CachedContext implements Continuation {
  private readonly cache: KVCache;
  private readonly ids: number[]; // the context; the cache holds ids[start, start + filled)
  private start = 0;
  private filled = 0;
  seen = 0;

  constructor(
    private readonly model: GPT,
    prompt: ArrayLike<number>,
  ) {
    this.ids = Array.from(prompt);
    this.cache = model.kvCache();
  }

  async probs(): Promise<Float32Array> {
    const T = this.model.config.blockSize;
    const n = this.ids.length;
    if (n === 0) throw new Error('the context is empty');
    let probs: tf.Tensor2D;
    if (this.filled === 0 || !this.cache.current(this.model)) {
      probs = this.prefill(Math.min(n, T)); // the first call, or new weights: the whole window
    } else if (n - this.start > T) {
      probs = this.prefill(Math.min(n, refillLength(T))); // full: fill again from the last 3/4
    } else {
      probs = this.steps();
    }
    this.seen = this.filled;
    if (this.start > T) {
      this.ids.splice(0, this.start); // keep only what the cache and its pending characters need
      this.start = 0;
    }
    return readProbs(probs);
  }

  /** Fills the cache with the last `length` characters of the context. */
  private prefill(length: number): tf.Tensor2D {
    this.start = this.ids.length - length;
    this.filled = length;
    return windowProbs(this.model, this.ids.slice(this.start), this.cache);
  }

  /** One step per character appended since the last call (usually one); the last one's probabilities. */
  private steps(): tf.Tensor2D {
    let probs: tf.Tensor2D | null = null;
    while (this.start + this.filled < this.ids.length) {
      probs?.dispose(); // only the last position's are read
      const pos = this.filled;
      probs = tf.tidy(() => tf.softmax(this.model.step(this.ids[this.start + pos], pos, this.cache))); // [1, V]
      this.filled++;
    }
    return probs ?? this.prefill(this.filled); // nothing appended: the same probabilities again
  }

  push(id: number) {
    this.ids.push(id);
  }

  dispose() {
    this.cache.dispose();
  }
}

/** Samples `length` characters after `prompt`, yielding each as it is drawn. */
export async function* generate(
  model: GPT,
  tokenizer: CharTokenizer,
  prompt: string,
  { length, temperature, seed, kvCache = true }: GenerateOptions,
): AsyncGenerator<string> {
  if (!Number.isInteger(length) || length < 0 || length > MAX_GENERATE_LENGTH) {
    throw new RangeError(`length must be a whole number from 0 to ${MAX_GENERATE_LENGTH}, got ${length}`);
  }
  annealedDistribution([1], temperature); // validates the temperature before any work
  if (prompt.length === 0)
    throw new Error('the prompt is empty: give at least one character to continue from (the model has no start token)');
  const ids = tokenizer.encode(prompt);
  if (length === 0) return;
  const rng = new Rng(seed);
  const context: Continuation = kvCache ? new CachedContext(model, ids) : new WindowContext(model, ids);
  try {
    for (let i = 0; i < length; i++) {
      const probs = await context.probs();
      const id = sampleIndex(annealedDistribution(Array.from(probs), temperature), rng);
      context.push(id);
      yield tokenizer.vocab[id];
    }
  } finally {
    context.dispose(); // also when the caller stops early (return) or a step throws
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
