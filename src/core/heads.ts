/**
 * What an attention head does on one text, in a line: where its weight goes on average over the
 * queries that have a choice (every one but the first), and how spread out it is.
 * - previous char: the key just before the query (the first layer's step toward an induction head);
 * - same char: earlier keys holding the query's own character;
 * - first char: the window's first key (a head with nothing to do often parks its weight there);
 * - itself: the query's own position.
 * A head whose largest share is under half is "spread", described by its mean entropy alone.
 */

export type HeadPattern = 'previous char' | 'same char' | 'first char' | 'itself' | 'spread';

export interface HeadSummary {
  entropy: number; // mean over queries of −Σ w ln w, nats (0: all on one key; ln(t+1): even over t+1 keys)
  previous: number; // mean weight on key q−1
  same: number; // mean weight on earlier keys k < q with the query's character
  first: number; // mean weight on key 0 (queries q ≥ 2, where key 0 is not also the previous one)
  itself: number; // mean weight on key q
  pattern: HeadPattern; // the largest share of the four, if at least half; else spread
}

/** A head's weights [T, T] (row q: query q over keys 0..q) on the tokens `ids` (T of them). */
export function describeHead(weights: ArrayLike<number>, ids: ArrayLike<number>): HeadSummary {
  const T = ids.length;
  if (weights.length !== T * T) throw new RangeError(`a head over ${T} tokens has ${T * T} weights, got ${weights.length}`);
  let entropy = 0;
  let previous = 0;
  let same = 0;
  let first = 0;
  let firstCount = 0;
  let itself = 0;
  for (let q = 1; q < T; q++) {
    let h = 0;
    for (let k = 0; k <= q; k++) {
      const w = weights[q * T + k];
      if (w > 0) h -= w * Math.log(w);
      if (k < q && ids[k] === ids[q]) same += w;
    }
    entropy += h;
    previous += weights[q * T + q - 1];
    itself += weights[q * T + q];
    if (q >= 2) {
      first += weights[q * T];
      firstCount++;
    }
  }
  const n = Math.max(1, T - 1);
  const summary = {
    entropy: entropy / n,
    previous: previous / n,
    same: same / n,
    first: firstCount ? first / firstCount : 0,
    itself: itself / n,
  };
  const shares: [HeadPattern, number][] = [
    ['previous char', summary.previous],
    ['same char', summary.same],
    ['first char', summary.first],
    ['itself', summary.itself],
  ];
  const [pattern, share] = shares.reduce((a, b) => (b[1] > a[1] ? b : a));
  return { ...summary, pattern: share >= 0.5 ? pattern : 'spread' };
}

/** The one-line label the attention grid shows under a head. */
export function headLabel(s: HeadSummary): string {
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const entropy = `entropy ${s.entropy.toFixed(2)}`;
  switch (s.pattern) {
    case 'previous char':
      return `previous char ${pct(s.previous)} · ${entropy}`;
    case 'same char':
      return `same char ${pct(s.same)} · ${entropy}`;
    case 'first char':
      return `first char ${pct(s.first)} · ${entropy}`;
    case 'itself':
      return `itself ${pct(s.itself)} · ${entropy}`;
    case 'spread':
      return `spread · ${entropy}`;
  }
}
