/**
 * Looking inside a model, for the app's "Inside the model" panel and the CLI's inspect and probe:
 * - attentionMaps: every layer × head's causal attention matrix on one text, and how surprised
 *   the model is by each of its characters;
 * - lossByPosition: the held-out loss at each position of the context, over the same fixed
 *   windows the validation loss averages (so its mean is that loss): the chain rule in a curve,
 *   how much each further character of context helps;
 * - probe: the repeated-random-characters test of Olsson et al. 2022 ("In-context learning and
 *   induction heads"): random characters, shown twice in a row; the loss on the first copy
 *   against the loss on the second, and each head's induction score.
 * Each is a forward pass or a few, tidied, read back once; nothing here trains.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../src/core/batching.ts';
import type { Projection } from '../src/core/pca.ts';
import { Rng } from '../src/core/rng.ts';
import type { GPT } from './model.ts';

/** What one text looks like inside the model. */
export interface AttentionMaps {
  ids: number[]; // the T tokens looked at
  nLayer: number;
  nHead: number;
  /** [layer][head][query][key] flattened, nLayer·nHead·T·T: each row sums to 1 and is zero above the diagonal. */
  weights: Float32Array;
  /** −ln p(x_t | x_<t) in nats for t = 1..T−1: how surprised the model is by each character after the first. */
  surprisal: number[];
}

/** The loss of each prediction in nats: logits [N, V], targets [N] int32 → [N]. */
function tokenLosses(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const logp = tf.logSoftmax(logits); // [N, V]
  return logp.mul(tf.oneHot(targets, logits.shape[1]).cast('float32')).sum(1).neg() as tf.Tensor1D;
}

/** Attention weights and surprisal of `ids` (1 ≤ T ≤ blockSize): one B = 1 forward pass. */
export async function attentionMaps(model: GPT, ids: ArrayLike<number>): Promise<AttentionMaps> {
  const T = ids.length;
  const { nLayer, nHead, blockSize } = model.config;
  if (T < 1 || T > blockSize) throw new RangeError(`inspect needs 1 to ${blockSize} characters, got ${T}`);
  const [weights, surprisal] = tf.tidy(() => {
    const { logits, attention } = model.inspect(tf.tensor2d(Array.from(ids), [1, T], 'int32'));
    const w = tf.concat(attention.map((a) => a.reshape([nHead * T * T]))); // [nLayer·nh·T·T]
    const s = T > 1 ? tokenLosses(logits.slice([0, 0], [T - 1, -1]), tf.tensor1d(Array.from(ids).slice(1), 'int32')) : tf.zeros([0]);
    return [w, s];
  });
  try {
    return {
      ids: Array.from(ids),
      nLayer,
      nHead,
      weights: Float32Array.from(await weights.data()), // a copy of its own: the page may take its buffer
      surprisal: Array.from(await surprisal.data()),
    };
  } finally {
    weights.dispose();
    surprisal.dispose();
  }
}

/**
 * The mean loss at each position over fixed windows (the held-out batches estimateLoss averages):
 * entry t (0-based) is the loss of predicting a window's character t+1 from the t+1 before it.
 * Every position has the same number of predictions, so the mean of the curve is the loss over
 * all of them: the validation loss, when these are its batches.
 */
export async function lossByPosition(model: GPT, batches: readonly Batch[], fusedKernels = true): Promise<number[]> {
  if (batches.length === 0) throw new RangeError('loss by position needs at least one batch');
  const T = batches[0].x.length / batches[0].starts.length;
  let rows = 0;
  // One batch at a time, each in its own tidy (as estimateLoss does): only the running sum [T] outlives it.
  let total: tf.Tensor = tf.zeros([T]);
  for (const b of batches) {
    const B = b.starts.length;
    rows += B;
    const next = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d(b.x, [B, T], 'int32'), { training: false, fusedKernels }); // [B*T, V]
      return total.add(tokenLosses(logits, tf.tensor1d(b.y, 'int32')).reshape([B, T]).sum(0)); // [T]
    });
    total.dispose();
    total = next;
  }
  try {
    return Array.from(await total.data(), (x) => x / rows);
  } finally {
    total.dispose();
  }
}

/** What the in-context probe measures. */
export interface ProbeResult {
  length: number; // L: characters in each copy
  trials: number; // K: random sequences averaged
  first: number; // mean loss (nats) on the first copy's characters 2..L: nothing to copy from yet
  second: number; // mean loss on the second copy's characters 2..L: everything can be copied
  score: number; // first − second: near 0 without in-context learning, near `chance` with an induction head
  chance: number; // ln(number of characters drawn from): the loss of a model that knows nothing of them
  /**
   * Each head's induction score, [layer·nHead + head]: the mean attention a character of the second
   * copy gives to the character after its first occurrence (one period back, one forward), the
   * prefix-matching score of Olsson et al.; about 1/position for a head that attends evenly.
   */
  induction: number[];
}

export interface ProbeOptions {
  length: number; // L, 2 ≤ L, 2L ≤ blockSize
  trials: number; // K ≥ 1
  seed: number;
  choices: number[]; // the token ids the random characters are drawn from (≥ 2)
}

/** The K sequences of the probe: L random characters, each shown twice: [K][2L]. */
export function probeSequences({ length: L, trials: K, seed, choices }: ProbeOptions): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: K }, () => {
    const span = Array.from({ length: L }, () => choices[rng.int(choices.length)]);
    return [...span, ...span];
  });
}

/** Checks the probe's options against a model's context; throws a RangeError naming the bad one. */
export function checkProbe(opts: ProbeOptions, blockSize: number) {
  const { length: L, trials: K, choices } = opts;
  if (!Number.isInteger(L) || L < 2 || 2 * L > blockSize)
    throw new RangeError(
      `the probe's length must be a whole number from 2 to ${Math.floor(blockSize / 2)} (two copies fill at most the context of ${blockSize}), got ${L}`,
    );
  if (!Number.isInteger(K) || K < 1 || K > 1024) throw new RangeError(`the probe's trials must be a whole number from 1 to 1024, got ${K}`);
  if (choices.length < 2) throw new RangeError('the probe needs at least 2 characters to draw from');
}

/** The repeated-random-characters test: one forward pass of K sequences of 2L characters. */
export async function probe(model: GPT, opts: ProbeOptions): Promise<ProbeResult> {
  checkProbe(opts, model.config.blockSize);
  const { length: L, trials: K } = opts;
  const T = 2 * L;
  const { nHead } = model.config;
  const seqs = probeSequences(opts);
  const [losses, heads] = tf.tidy(() => {
    const { logits, attention } = model.inspect(tf.tensor2d(seqs, [K, T], 'int32'));
    const targets = tf.tensor1d(
      seqs.flatMap((s) => [...s.slice(1), s[0]]), // the last target of each row is a stand-in, never read
      'int32',
    );
    const perToken = tokenLosses(logits, targets).reshape([K, T]); // [K, T]: entry t predicts character t+1
    const first = perToken.slice([0, 0], [K, L - 1]).mean(); // characters 2..L of the first copy
    const second = perToken.slice([0, L], [K, L - 1]).mean(); // characters 2..L of the second copy
    // Query q of the second copy (q = L..2L−2) holds the character first seen at q−L; an induction head looks at q−L+1.
    const pick = new Float32Array(T * T);
    for (let q = L; q <= T - 2; q++) pick[q * T + (q - L + 1)] = 1 / (L - 1);
    const mask = tf.tensor2d(pick, [T, T]);
    const induction = tf.stack(attention.map((w) => w.mul(mask).sum([2, 3]).mean(0))); // [nLayer, nh]
    return [tf.stack([first, second]), induction.reshape([-1])];
  });
  try {
    const [first, second] = await losses.data();
    const induction = Array.from(await heads.data(), Number);
    const chance = Math.log(opts.choices.length);
    if (induction.length !== model.config.nLayer * nHead) throw new Error('induction scores do not match the heads');
    return { length: L, trials: K, first, second, score: first - second, chance, induction };
  } finally {
    losses.dispose();
    heads.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// The page's request and the worker's answer (train-worker/inspect.ts).

/** What the page asks to see. */
export interface InspectRequest {
  text: string | null; // the attention maps' text (its last ctx characters); null: the first held-out window
  positions: boolean; // loss at each position over the held-out windows
  probe: boolean; // the in-context learning probe
  embedding: boolean; // the token embeddings on their first two principal components
}

/** The answer: one step's look inside. */
export interface Inspection {
  step: number;
  chars: string[]; // the characters of the attention maps, one per token
  maps: AttentionMaps;
  positions: number[] | null; // nats at positions 1..ctx; their mean is the validation loss
  probe: ProbeResult | null;
  embedding: (Projection & { chars: string[] }) | null; // one point per vocabulary character
}
