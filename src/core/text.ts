/**
 * Turning a user's bytes into corpus text, with a specific error for each way it can fail.
 * The previous corpus stays loaded: these functions only read.
 */
import { countCodePoints, describeChar, vocabularySize } from './tokenizer.ts';

/** Files above this are refused before decoding (a tab cannot train on more anyway). */
export const MAX_CORPUS_BYTES = 100 * 1024 * 1024;

/** 1536 → "1.5 KB": sizes as error messages give them. */
export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} bytes`;
}

/** Throws if a file of `size` bytes is over the limit: callers that can see the size check it before reading. */
export function checkCorpusSize(size: number, name: string) {
  if (size > MAX_CORPUS_BYTES) throw new Error(`${name} is ${formatBytes(size)}; the limit is ${formatBytes(MAX_CORPUS_BYTES)}`);
}

/**
 * UTF-8 bytes → text, refusing empty, oversized, binary and invalid UTF-8 input, and text of a
 * single repeated character (a model would have nothing to predict).
 */
export function decodeCorpus(bytes: Uint8Array, name: string): string {
  if (bytes.length === 0) throw new Error(`${name} is empty`);
  checkCorpusSize(bytes.length, name);
  // NUL bytes do not occur in text; a few of them in the first 8 KB mark a binary file.
  const head = bytes.subarray(0, 8192);
  if (head.includes(0)) throw new Error(`${name} looks like a binary file (it contains NUL bytes), not text`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new Error(`${name} is not valid UTF-8 (first bad byte at offset ${at}); save it as UTF-8 text`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark is not text
  if (text.length === 0) throw new Error(`${name} is empty`);
  const first = String.fromCodePoint(text.codePointAt(0)!);
  if (!hasSecondCharacter(text, first)) {
    throw new Error(
      `${name} holds one character, ${describeChar(first)}, repeated: a model needs at least two distinct characters to have anything to predict`,
    );
  }
  return text;
}

/** Whether `text` holds any code point other than `first` (stops at the first one). */
function hasSecondCharacter(text: string, first: string): boolean {
  for (const ch of text) if (ch !== first) return true;
  return false;
}

/** Offset of the first byte that makes the text invalid UTF-8. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  // Prefixes that decode (a cut-off last sequence allowed) are a prefix-closed set, so bisect:
  // prefix `lo` decodes, prefix `hi` does not, and the byte at hi - 1 is the first bad one.
  let lo = 0;
  let hi = bytes.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid;
    }
  }
  // The prefix may end in a sequence the bad byte cut off ("é" as E9 then a space): the error
  // is then that sequence, so name its first byte.
  let start = hi - 1;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, lo));
  } catch {
    while (start > 0 && start > lo - 4 && (bytes[start - 1] & 0xc0) === 0x80) start--;
    if (start > 0 && (bytes[start - 1] & 0xc0) === 0xc0) start--;
  }
  return start;
}

/** The facts a data panel shows about a corpus. */
export function corpusStats(text: string): { characters: number; vocabSize: number } {
  return { characters: countCodePoints(text), vocabSize: vocabularySize(text) };
}
