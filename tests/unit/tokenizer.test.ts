import { describe, expect, test } from 'vitest';
import { CharTokenizer, countCodePoints, vocabularySize } from '../../src/core/tokenizer.ts';

describe('CharTokenizer', () => {
  test('round-trips text with emoji, CJK, combining marks and RTL', () => {
    const text = 'Hello 👋🏽 世界! e\u0301 שלום 🧑‍🚀 𝔘';
    const tok = CharTokenizer.fromText(text);
    expect(tok.decode(tok.encode(text))).toBe(text);
  });

  test('an emoji or a CJK character is one token, not two UTF-16 halves', () => {
    const tok = CharTokenizer.fromText('a😀b中');
    expect(tok.encode('😀')).toHaveLength(1);
    expect(tok.encode('a😀b中')).toHaveLength(4);
    expect(tok.size).toBe(4);
    for (const ch of tok.vocab) expect(Array.from(ch)).toHaveLength(1);
  });

  test('the vocabulary is the sorted distinct code points', () => {
    // '😀' (U+1F600) sorts after 'ｚ' (U+FF5A) by code point, though its first UTF-16 unit is smaller.
    const tok = CharTokenizer.fromText('ｚb😀ab');
    expect(tok.vocab).toEqual(['a', 'b', 'ｚ', '😀']);
  });

  test('a character outside the vocabulary is an error that names it', () => {
    const tok = CharTokenizer.fromText('abc');
    expect(() => tok.encode('abz')).toThrow(/"z" \(U\+007A\) at position 2/);
    expect(() => tok.encode('a🙂')).toThrow(/U\+1F642/);
  });

  test('an error names the position in characters, counting an emoji before it as one', () => {
    expect(() => CharTokenizer.fromText('😀a').encode('😀😀z')).toThrow(/"z" \(U\+007A\) at position 2 /);
  });

  test('vocabularySize is the vocabulary fromText builds, lone surrogates and astral characters included', () => {
    for (const text of ['ｚb😀ab', 'a\ud800b\udfff😀\ud83d', '中中中', 'x']) {
      expect(vocabularySize(text), JSON.stringify(text)).toBe(CharTokenizer.fromText(text).size);
      expect(vocabularySize(text), JSON.stringify(text)).toBe(new Set(text).size);
    }
    const tok = CharTokenizer.fromText('a\ud800b😀');
    expect(tok.decode(tok.encode('\ud800😀ab'))).toBe('\ud800😀ab');
  });

  test('decoding an id outside the vocabulary is an error', () => {
    expect(() => CharTokenizer.fromText('ab').decode([2])).toThrow(/outside the vocabulary/);
  });

  test('countCodePoints counts astral characters once and lone surrogates once', () => {
    expect(countCodePoints('a😀中')).toBe(3);
    expect(countCodePoints('\ud800x')).toBe(2);
  });
});
