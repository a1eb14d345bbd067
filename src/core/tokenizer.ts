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
  /** Code point → id + 1 below U+10000 (0: not in the vocabulary): a table lookup, not a Map's, per character of a corpus. */
  private readonly bmp = new Int32Array(0x10000);
  /** Code point → id above U+FFFF (emoji, rarer CJK). */
  private readonly astral = new Map<number, number>();

  constructor(vocab: readonly string[]) {
    if (vocab.length === 0) throw new Error('the vocabulary is empty');
    vocab.forEach((ch, i) => {
      if (Array.from(ch).length !== 1) throw new Error(`vocabulary entry ${i} is not one character: ${JSON.stringify(ch)}`);
    });
    vocab.forEach((ch, i) => {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x10000 ? this.bmp[cp] !== 0 : this.astral.has(cp)) throw new Error('the vocabulary has a repeated character');
      if (cp < 0x10000) this.bmp[cp] = i + 1;
      else this.astral.set(cp, i);
    });
    this.vocab = vocab;
  }

  /** The tokenizer whose vocabulary is every distinct code point of `text`. */
  static fromText(text: string): CharTokenizer {
    return new CharTokenizer(distinctCodePoints(text).map((cp) => String.fromCodePoint(cp)));
  }

  get size(): number {
    return this.vocab.length;
  }

  /** text → ids; a character outside the vocabulary is an error that names it. */
  encode(text: string): Int32Array {
    const out = new Int32Array(countCodePoints(text));
    for (let i = 0, n = 0; i < text.length; i++, n++) {
      const cp = text.codePointAt(i)!;
      const id = cp < 0x10000 ? this.bmp[cp] - 1 : (this.astral.get(cp) ?? -1);
      if (cp >= 0x10000) i++; // the low surrogate
      if (id < 0) {
        const ch = String.fromCodePoint(cp);
        throw new Error(`character ${describeChar(ch)} at position ${n} is not in the model's vocabulary of ${this.size} characters`);
      }
      out[n] = id;
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

/** The distinct code points of `text`, in increasing order (a lone surrogate is one, as `for…of` reads it). */
function distinctCodePoints(text: string): number[] {
  const seen = new Uint8Array(0x10000);
  const astral = new Set<number>();
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i)!;
    if (cp < 0x10000) seen[cp] = 1;
    else {
      astral.add(cp);
      i++; // the low surrogate
    }
  }
  // By code point, not by UTF-16 units (which would misplace astral characters): the table is in order already.
  const points: number[] = [];
  for (let cp = 0; cp < 0x10000; cp++) if (seen[cp]) points.push(cp);
  return points.concat([...astral].sort((a, b) => a - b));
}

/** The size of the vocabulary CharTokenizer.fromText(text) would have: its distinct code points. */
export function vocabularySize(text: string): number {
  return distinctCodePoints(text).length;
}
