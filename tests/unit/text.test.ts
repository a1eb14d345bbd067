import { describe, expect, test } from 'vitest';
import { corpusStats, decodeCorpus, MAX_CORPUS_BYTES } from '../../src/core/text.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('decodeCorpus', () => {
  test('decodes UTF-8 text, dropping a byte-order mark', () => {
    expect(decodeCorpus(enc('\ufeffhéllo 世界 😀'), 'a.txt')).toBe('héllo 世界 😀');
  });

  test('refuses an empty file', () => {
    expect(() => decodeCorpus(new Uint8Array(0), 'empty.txt')).toThrow('empty.txt is empty');
    expect(() => decodeCorpus(enc('\ufeff'), 'bom.txt')).toThrow('bom.txt is empty');
  });

  test('refuses a binary file', () => {
    expect(() => decodeCorpus(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), 'x.png')).toThrow(/binary/);
  });

  test('refuses invalid UTF-8 and says where it starts', () => {
    const bytes = new Uint8Array([...enc('hello '), 0xff, 0xfe, ...enc(' world')]);
    expect(() => decodeCorpus(bytes, 'latin1.txt')).toThrow(/not valid UTF-8 \(first bad byte at offset 6\)/);
  });

  test('names the first byte of a sequence that was cut off', () => {
    // "café " in Latin-1: E9 opens a three-byte sequence that the space breaks.
    expect(() => decodeCorpus(Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x61]), 'cafe.txt')).toThrow(/offset 3\)/);
    // A valid "é" (C3 A9) then a lone continuation byte: the stray byte itself is named.
    expect(() => decodeCorpus(Uint8Array.from([0x63, 0xc3, 0xa9, 0xa9, 0x61]), 'stray.txt')).toThrow(/offset 3\)/);
    // A four-byte emoji cut after three bytes, then ASCII.
    expect(() => decodeCorpus(Uint8Array.from([0x61, 0xf0, 0x9f, 0x90, 0x61]), 'emoji.txt')).toThrow(/offset 1\)/);
  });

  test('refuses a file over the size limit with its size and the limit', () => {
    const fake = { length: MAX_CORPUS_BYTES + 1 } as Uint8Array;
    expect(() => decodeCorpus(fake, 'big.txt')).toThrow(/big.txt is 100.0 MB; the limit is 100.0 MB/);
  });
});

test('corpusStats counts code points, not UTF-16 units', () => {
  expect(corpusStats('aa😀中')).toEqual({ characters: 4, vocabSize: 3 });
});
