import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { CharTokenizer } from '../../src/core/tokenizer.ts';
import { GPT } from '../../workers/model.ts';
import { generate, nextProbs, score } from '../../workers/sample.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tok = CharTokenizer.fromText('abcdefgh 世界😀\n');
const model = new GPT({ vocabSize: tok.size, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 }, 4);

async function collect(prompt: string, length: number, temperature: number, seed: number, kvCache?: boolean) {
  let s = '';
  for await (const ch of generate(model, tok, prompt, { length, temperature, seed, kvCache })) s += ch;
  return s;
}

describe('generate', () => {
  test('yields the asked number of characters, deterministic under a seed', async () => {
    const a = await collect('ab', 30, 1, 7);
    expect(Array.from(a)).toHaveLength(30);
    expect(await collect('ab', 30, 1, 7)).toBe(a);
    expect(await collect('ab', 30, 1, 8)).not.toBe(a);
  });

  test('T = 0 always takes the most probable next character given the last blockSize (without the KV cache)', async () => {
    const out = await collect('abc', 12, 0, 1, false); // past the context of 8: each from the window before it
    const ctx = Array.from(tok.encode('abc'));
    for (const ch of out) {
      const p = await nextProbs(model, ctx);
      const best = p.indexOf(Math.max(...p));
      expect(ch).toBe(tok.vocab[best]);
      ctx.push(best);
    }
  });

  test('runs past the context length (the context is cropped) and accepts prompts longer than it', async () => {
    expect(Array.from(await collect('abcdefgh abcdefgh 世界😀', 40, 0.8, 2))).toHaveLength(40);
  });

  test('length 0 yields nothing; bad requests are clear errors', async () => {
    expect(await collect('a', 0, 1, 1)).toBe('');
    await expect(collect('', 5, 1, 1)).rejects.toThrow(/prompt is empty/);
    await expect(collect('axz', 5, 1, 1)).rejects.toThrow(/"x" \(U\+0078\)/);
    await expect(collect('a', 5, -1, 1)).rejects.toThrow(/temperature/);
    await expect(collect('a', 5, NaN, 1)).rejects.toThrow(/temperature/);
    await expect(collect('a', -1, 1, 1)).rejects.toThrow(/length/);
    await expect(collect('a', 1.5, 1, 1)).rejects.toThrow(/length/);
  });

  test.each([true, false])('tf.memory() stays flat across 200 generated characters (KV cache: %s)', async (kvCache) => {
    await collect('a', 5, 1, 1, kvCache); // warm-up
    const before = tf.memory();
    expect(Array.from(await collect('a', 200, 1, 3, kvCache))).toHaveLength(200);
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
  });
});

describe('score', () => {
  test('is the sum of log p(x_t | x_<t) over t = 2..L, with bits per character and perplexity', async () => {
    const text = 'abc 世界😀';
    const ids = Array.from(tok.encode(text));
    let want = 0;
    const surprisal: number[] = [];
    for (let t = 1; t < ids.length; t++) {
      const p = await nextProbs(model, ids.slice(0, t));
      want += Math.log(p[ids[t]]);
      surprisal.push(-Math.log(p[ids[t]]));
    }
    const s = await score(model, tok, text);
    expect(s.logProb).toBeCloseTo(want, 4);
    expect(s.surprisal).toHaveLength(ids.length - 1);
    s.surprisal.forEach((x, i) => expect(x).toBeCloseTo(surprisal[i], 4));
    expect(s.chars).toEqual(Array.from(text).slice(1));
    expect(s.bitsPerChar).toBeCloseTo(-want / (ids.length - 1) / Math.LN2, 4);
    expect(s.perplexity).toBeCloseTo(Math.exp(-want / (ids.length - 1)), 4);
  });

  test('texts longer than the context use a sliding window: each character sees the blockSize before it', async () => {
    const text = 'abcdefgh abcdefgh 世界😀 hgfedcba\nab';
    const ids = Array.from(tok.encode(text));
    expect(ids.length).toBeGreaterThan(3 * 8);
    const s = await score(model, tok, text);
    for (let t = 1; t < ids.length; t++) {
      const p = await nextProbs(model, ids.slice(Math.max(0, t - 8), t));
      expect(s.surprisal[t - 1]).toBeCloseTo(-Math.log(p[ids[t]]), 4);
    }
  });

  test('needs two characters, all in the vocabulary', async () => {
    await expect(score(model, tok, 'a')).rejects.toThrow(/at least 2 characters/);
    await expect(score(model, tok, 'az')).rejects.toThrow(/"z"/);
  });

  test('leaves no tensor behind', async () => {
    const before = tf.memory().numTensors;
    await score(model, tok, 'abcdefgh abcdefgh 世界😀');
    expect(tf.memory().numTensors).toBe(before);
  });
});
