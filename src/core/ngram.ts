/**
 * Character n-gram baselines: the cross-entropy a trained model must beat.
 *
 * An order-n model predicts a character from the n−1 characters before it (order 1: a unigram,
 * no context; order 2: a bigram; order 3: a trigram). Its counts come from the train split, its
 * score from the val split, both as CharTokenizer ids over the whole corpus's vocabulary of V
 * characters, so every val character is in the vocabulary.
 *
 * Smoothing adds a pseudo-count k to every (context, character) pair:
 *
 *   p(x | c) = (N(c, x) + k) / (N(c) + k·V),   N(c) = Σ_x N(c, x)
 *
 * N(c) counts c only where a character follows it in train (not a c at the very end), so each
 * context's distribution sums to 1; a context never seen in train gets the uniform 1/V.
 * Laplace is add-1 (k = 1); add-k takes any finite k > 0. As k → ∞ every p tends to 1/V and the
 * cross-entropy to ln V.
 *
 * Evaluation (crossEntropy): the mean of −ln p(x_t | x_{t−n+1} … x_{t−1}) over the val positions
 * t ≥ max(1, n−1) (0-based), so every prediction has its full n−1 characters of context. The
 * first val character is never predicted, even by the unigram that needs no context: the
 * transformer's score predicts characters 2..L of a text given the first (there is no start
 * token), so the unigram and bigram predict exactly the characters the transformer's score
 * does, and a trigram the same ones less the second.
 *
 * Contexts are packed into one integer, their ids as base-V digits, oldest first, and the
 * (context, character) pair into context·V + character; sliding one character along the text
 * is a multiply-add, not a string slice. Counts live in a Uint32Array while it is small (4M
 * entries) and in a Map of the keys that occur beyond. A pair must pack exactly into a double,
 * so V^n ≤ 2^53.
 */
import { splitTrainVal } from './batching.ts';
import { CharTokenizer } from './tokenizer.ts';

/** How unseen pairs get probability: Laplace is add-1, add-k adds k > 0 to every count. */
export type Smoothing = { kind: 'laplace' } | { kind: 'addk'; k: number };

/** Mean surprisal of the val split: nats and bits per predicted character, and how many. */
export interface CrossEntropy {
  nats: number;
  bits: number;
  predicted: number;
}

/** Unigram, bigram and trigram cross-entropy on one val split. */
export interface Baselines {
  unigram: CrossEntropy;
  bigram: CrossEntropy | null; // null where this alphabet's pairs cannot be indexed (leftOut says why)
  trigram: CrossEntropy | null;
  leftOut: { label: string; why: string }[]; // the orders left out, each with its reason
}

/** Above this many keys counts go in a Map: a dense table would be mostly zeros. */
const DENSE_MAX_CELLS = 1 << 22; // 16 MB of Uint32

/** The pseudo-count of a smoothing, refusing k ≤ 0, NaN and ∞ (k = 0 gives zero probabilities, ∞ no model). */
export function smoothingK(smoothing: Smoothing): number {
  if (smoothing.kind === 'laplace') return 1;
  if (smoothing.kind === 'addk') {
    const { k } = smoothing;
    if (typeof k !== 'number' || !Number.isFinite(k) || k <= 0) throw new RangeError(`add-k smoothing needs a finite k > 0, got ${k}`);
    return k;
  }
  throw new RangeError(`unknown smoothing ${JSON.stringify((smoothing as { kind: unknown }).kind)}: use laplace or addk`);
}

/**
 * Counts keyed by a packed integer: a dense table when there are few keys, else the keys that
 * occur, sorted, with their counts (an order-5 model over 100 characters has 10^10 keys but at
 * most one per training position). Sorted arrays rather than a Map: a Map holds at most 2^24
 * keys, fewer than the distinct bigrams of a large text over a large alphabet (a 99 MB CJK text).
 */
type Counts = Uint32Array | { keys: Float64Array; counts: Uint32Array };

/** Collects the keys of one table as they come, counting into a dense table or keeping them to sort. */
class CountBuilder {
  private readonly dense: Uint32Array | null;
  private readonly seen: Float64Array | null;
  private n = 0;
  constructor(cells: number, positions: number) {
    this.dense = cells <= DENSE_MAX_CELLS ? new Uint32Array(cells) : null;
    this.seen = this.dense ? null : new Float64Array(positions);
  }
  add(key: number) {
    if (this.dense) this.dense[key]++;
    else this.seen![this.n++] = key;
  }
  finish(): Counts {
    if (this.dense) return this.dense;
    const sorted = this.seen!.subarray(0, this.n).sort();
    let distinct = 0;
    for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
    const keys = new Float64Array(distinct);
    const counts = new Uint32Array(distinct);
    for (let i = 0, j = -1; i < sorted.length; i++) {
      if (i === 0 || sorted[i] !== sorted[i - 1]) keys[++j] = sorted[i];
      counts[j]++;
    }
    return { keys, counts };
  }
}

function countOf(counts: Counts, key: number): number {
  if (counts instanceof Uint32Array) return counts[key];
  const { keys } = counts;
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid] < key) lo = mid + 1;
    else if (keys[mid] > key) hi = mid - 1;
    else return counts.counts[mid];
  }
  return 0;
}

/** Throws unless every id is in [0, V), naming the first that is not. */
function checkIds(ids: Int32Array, vocabSize: number, split: string) {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= vocabSize)
      throw new RangeError(`${split} id ${ids[i]} at position ${i} is outside the vocabulary (size ${vocabSize})`);
  }
}

/** A fitted order-n model: smoothed counts of each (context, next character) in train. */
export class NgramModel {
  /** V^(n−1): the number of contexts, and the weight of a context's oldest digit in a packed pair. */
  readonly contexts: number;

  /** Use fitNgram. */
  constructor(
    readonly order: number,
    readonly vocabSize: number,
    readonly k: number,
    private readonly pairCounts: Counts, // N(c, x), keyed by c·V + x
    private readonly contextCounts: Counts, // N(c), keyed by c
  ) {
    this.contexts = vocabSize ** (order - 1);
  }

  /** The last n−1 ids of `context` packed (fewer is an error: the model would have to guess them). */
  packContext(context: ArrayLike<number>): number {
    const n1 = this.order - 1;
    if (context.length < n1) throw new RangeError(`an order-${this.order} model needs ${n1} characters of context, got ${context.length}`);
    let key = 0;
    for (let i = context.length - n1; i < context.length; i++) {
      const id = context[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
        throw new RangeError(`context id ${id} is outside the vocabulary (size ${this.vocabSize})`);
      key = key * this.vocabSize + id;
    }
    return key;
  }

  /** ln p(next | packed context): the inner loop of crossEntropy, without any checks. */
  logProbPacked(contextKey: number, next: number): number {
    const V = this.vocabSize;
    return Math.log((countOf(this.pairCounts, contextKey * V + next) + this.k) / (countOf(this.contextCounts, contextKey) + this.k * V));
  }

  /** ln p(next | context); only the last n−1 ids of `context` matter, as the transformer crops its context. */
  logProb(context: ArrayLike<number>, next: number): number {
    const key = this.packContext(context);
    if (!Number.isInteger(next) || next < 0 || next >= this.vocabSize)
      throw new RangeError(`id ${next} is outside the vocabulary (size ${this.vocabSize})`);
    return this.logProbPacked(key, next);
  }

  /** p(· | context) over the whole vocabulary: [V] probabilities summing to 1. */
  distribution(context: ArrayLike<number>): Float64Array {
    const key = this.packContext(context);
    const V = this.vocabSize;
    const denom = countOf(this.contextCounts, key) + this.k * V;
    const p = new Float64Array(V);
    for (let x = 0; x < V; x++) p[x] = (countOf(this.pairCounts, key * V + x) + this.k) / denom;
    return p;
  }
}

/** Counts every n-gram of `train` (ids in [0, vocabSize)) into an order-n model with this smoothing. */
export function fitNgram(train: Int32Array, vocabSize: number, order: number, smoothing: Smoothing): NgramModel {
  if (!Number.isInteger(order) || order < 1) throw new RangeError(`the n-gram order must be a whole number ≥ 1, got ${order}`);
  if (!Number.isInteger(vocabSize) || vocabSize < 1)
    throw new RangeError(`the vocabulary size must be a whole number ≥ 1, got ${vocabSize}`);
  const k = smoothingK(smoothing);
  const cells = vocabSize ** order;
  if (cells > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(
      `an order-${order} model over ${vocabSize} characters has ${vocabSize}^${order} (context, character) pairs, ` +
        'more than a double indexes exactly (2^53); use a lower order',
    );
  }
  checkIds(train, vocabSize, 'train');
  const V = vocabSize;
  const top = V ** (order - 1); // weight of the oldest context digit once shifted into a pair
  const positions = Math.max(0, train.length - (order - 1));
  const pairs = new CountBuilder(cells, positions);
  const ctxCounts = new CountBuilder(top, positions);
  let key = 0; // train[t−n+1 .. t−1] packed
  for (let t = 0; t < order - 1 && t < train.length; t++) key = key * V + train[t];
  for (let t = order - 1; t < train.length; t++) {
    const pair = key * V + train[t];
    pairs.add(pair);
    ctxCounts.add(key);
    key = pair - train[t - order + 1] * top; // slide: drop the oldest digit (order 1: stays 0)
  }
  return new NgramModel(order, V, k, pairs.finish(), ctxCounts.finish());
}

/** The first val position an order-n model predicts: full context, and never the first character (see the file's comment). */
export function firstPredicted(order: number): number {
  return Math.max(1, order - 1);
}

/** Mean −ln p(x_t | previous n−1 characters) over val positions t ≥ max(1, n−1), in nats and bits. */
export function crossEntropy(model: NgramModel, val: Int32Array): CrossEntropy {
  const start = firstPredicted(model.order);
  const predicted = val.length - start;
  if (predicted < 1)
    throw new RangeError(
      `an order-${model.order} model needs a val split of at least ${start + 1} characters to predict one; it has ${val.length}`,
    );
  checkIds(val, model.vocabSize, 'val');
  const n = model.order;
  const V = model.vocabSize;
  let key = 0; // val[t−n+1 .. t−1] packed
  for (let t = start - (n - 1); t < start; t++) key = key * V + val[t];
  let sum = 0;
  for (let t = start; t < val.length; t++) {
    sum -= model.logProbPacked(key, val[t]);
    key = key * V + val[t] - val[t - n + 1] * model.contexts; // slide, as in fitNgram
  }
  const nats = sum / predicted;
  return { nats, bits: nats / Math.LN2, predicted };
}

/** Unigram, bigram and trigram models fitted on train and scored on val, all with one smoothing; an order the alphabet makes impossible is left out, saying why. */
export function baselines(train: Int32Array, val: Int32Array, vocabSize: number, smoothing: Smoothing): Baselines {
  const leftOut: Baselines['leftOut'] = [];
  // An order whose (context, character) pairs a double cannot index (210,000 characters: their
  // cube passes 2^53) is left out, saying so, rather than refusing a corpus a model can train on.
  const score = (order: number, label: string) => {
    if (vocabSize ** order > Number.MAX_SAFE_INTEGER) {
      leftOut.push({
        label,
        why: `${vocabSize} characters make ${vocabSize}^${order} (context, character) pairs, more than a double indexes exactly`,
      });
      return null;
    }
    return crossEntropy(fitNgram(train, vocabSize, order, smoothing), val);
  };
  const unigram = score(1, 'unigram')!; // V ≤ 2^20: always indexable
  return { unigram, bigram: score(2, 'bigram'), trigram: score(3, 'trigram'), leftOut };
}

/**
 * The unigram level of a text on its 90/10 split (Laplace, nats/char): the loss a model reaches
 * by learning character frequencies alone, the early plateau a scaling fit must see past.
 */
export function unigramLevel(text: string, blockSize: number): number {
  const tokenizer = CharTokenizer.fromText(text);
  const { train, val } = splitTrainVal(tokenizer.encode(text), blockSize);
  return crossEntropy(fitNgram(train, tokenizer.size, 1, { kind: 'laplace' }), val).nats;
}
