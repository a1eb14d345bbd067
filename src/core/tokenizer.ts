/**
 * Character tokenizer over Unicode code points: an emoji or a CJK character is one token,
 * never two UTF-16 halves. The vocabulary is the corpus's distinct code points, sorted.
 */

/** "é" (U+00E9): how errors name a character, visible even when it is a control or a space. */
export function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  return `${JSON.stringify(ch)} (U+${hex})`;
}

export class CharTokenizer {
  /** id → character (one code point each), sorted by code point. */
  readonly vocab: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(vocab: readonly string[]) {
    if (vocab.length === 0) throw new Error('the vocabulary is empty');
    for (let i = 0; i < vocab.length; i++) {
      if (Array.from(vocab[i]).length !== 1) throw new Error(`vocabulary entry ${i} is not one character: ${JSON.stringify(vocab[i])}`);
    }
    this.vocab = vocab;
    this.ids = new Map(vocab.map((ch, i) => [ch, i]));
    if (this.ids.size !== vocab.length) throw new Error('the vocabulary has a repeated character');
  }

  /** The tokenizer whose vocabulary is every distinct code point of `text`. */
  static fromText(text: string): CharTokenizer {
    const set = new Set<string>();
    for (const ch of text) set.add(ch);
    // Sort by code point, not by UTF-16 units (the default sort would misplace astral characters).
    const vocab = [...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new CharTokenizer(vocab);
  }

  get size(): number {
    return this.vocab.length;
  }

  /** text → ids; a character outside the vocabulary is an error that names it. */
  encode(text: string): Int32Array {
    const out = new Int32Array(countCodePoints(text));
    let i = 0;
    for (const ch of text) {
      const id = this.ids.get(ch);
      if (id === undefined) {
        throw new Error(`character ${describeChar(ch)} at position ${i} is not in the model's vocabulary of ${this.size} characters`);
      }
      out[i++] = id;
    }
    return out;
  }

  /** ids → text. */
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const ch = this.vocab[ids[i]];
      if (ch === undefined) throw new RangeError(`token id ${ids[i]} is outside the vocabulary (size ${this.size})`);
      s += ch;
    }
    return s;
  }
}

/** Number of Unicode code points (what the model calls characters). */
export function countCodePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
