import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, test } from 'vitest';
import type { ModelConfig } from '../../src/core/config.ts';
import { CharTokenizer } from '../../src/core/tokenizer.ts';
import { GPT } from '../../workers/model.ts';
import { CachedContext, WindowContext, generate, nextProbs, refillLength, type Continuation } from '../../workers/sample.ts';
import { logitsOf, syntheticIds } from '../helpers.ts';

const tok = CharTokenizer.fromText('abcdefghij klmnop\n');
const T = 16;
const config: ModelConfig = { vocabSize: tok.size, blockSize: T, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 };

/** max |a - b| over two distributions. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Feeds `ids` to a context one at a time (teacher forcing): the probabilities before each and after the last, with how many characters each saw. */
async function teacherForced(context: Continuation, ids: ArrayLike<number>) {
  const out: { probs: Float32Array; seen: number }[] = [];
  try {
    for (let i = 0; i <= ids.length; i++) {
      out.push({ probs: await context.probs(), seen: context.seen });
      if (i < ids.length) context.push(ids[i]);
    }
  } finally {
    context.dispose();
  }
  return out;
}

async function sampleText(model: GPT, prompt: string, length: number, temperature: number, seed: number, kvCache?: boolean) {
  let s = '';
  for await (const ch of generate(model, tok, prompt, { length, temperature, seed, kvCache })) s += ch;
  return s;
}

/**
 * Random weights scaled up, so attention and the next-character distribution are sharp: an
 * initialised model is nearly uniform everywhere, and sampled text would hide a wrong cache.
 */
function sharpModel(seed: number): GPT {
  const model = new GPT(config, seed);
  tf.tidy(() => {
    for (const w of [model.wte, model.wpe]) w.assign(w.mul(20));
    for (const { cAttn } of model.blocks) cAttn.assign(cAttn.mul(30));
  });
  return model;
}

describe.each(['cpu', 'wasm'] as const)('the KV cache on %s', (backend) => {
  let model: GPT;
  let sharp: GPT;
  const ids = Array.from(syntheticIds(4 * T + 7, config.vocabSize, 3));

  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    model = new GPT(config, 11); // random weights, the same on every backend
    sharp = sharpModel(13);
    return () => {
      model.dispose();
      sharp.dispose();
    };
  });

  test('the sharp model is far from uniform', async () => {
    const p = await nextProbs(sharp, ids.slice(0, 7));
    expect(Math.max(...p)).toBeGreaterThan(5 / config.vocabSize);
  });

  test('a prefill gives the logits of forward; each step, the logits of forward at its position', async () => {
    const full = await logitsOf(model, [ids.slice(0, T)]); // [T*V]
    const V = config.vocabSize;
    const cache = model.kvCache();
    for (const n of [1, 5, T - 1]) {
      const pre = tf.tidy(() => model.forward(tf.tensor2d([ids.slice(0, n)], [1, n], 'int32'), { training: false }, cache));
      expect(maxDiff(await pre.data(), full.subarray(0, n * V))).toBeLessThan(1e-5);
      pre.dispose();
      for (let pos = n; pos < T; pos++) {
        const logits = tf.tidy(() => model.step(ids[pos], pos, cache));
        const got = await logits.data();
        logits.dispose();
        expect(maxDiff(got, full.subarray(pos * V, (pos + 1) * V)), `prompt ${n}, position ${pos}`).toBeLessThan(1e-5);
      }
    }
    expect(() => tf.tidy(() => model.step(ids[0], T, cache))).toThrow(/outside the context/);
    cache.dispose();
  });

  test.each([1, 6, T - 1, T])(
    'prompt of %i: the same next-character probabilities as the whole window at every position that fits',
    async (n) => {
      const prompt = ids.slice(0, n);
      const rest = ids.slice(n, T);
      const cached = await teacherForced(new CachedContext(model, prompt), rest);
      const window = await teacherForced(new WindowContext(model, prompt), rest);
      expect(cached).toHaveLength(T - n + 1);
      cached.forEach((c, i) => {
        expect(c.seen).toBe(n + i);
        expect(maxDiff(c.probs, window[i].probs), `after ${n + i} characters`).toBeLessThan(1e-5);
      });
    },
  );

  test('past the context each character sees the last 3/4 to all of the context, at the positions a window there gives', async () => {
    const keep = refillLength(T);
    expect(keep).toBe(12);
    const prompt = ids.slice(0, 3);
    const rest = ids.slice(3);
    const cached = await teacherForced(new CachedContext(model, prompt), rest);
    const window = await teacherForced(new WindowContext(model, prompt), rest);
    const seen = cached.map((c) => c.seen);
    // 3..16 while it fits, then refills of the last 12 growing to 16: 12, 13, 14, 15, 16, 12, ...
    expect(seen.slice(0, T - 2)).toEqual(Array.from({ length: T - 2 }, (_, i) => i + 3));
    for (let i = T - 2; i < seen.length; i++) expect(seen[i]).toBe(keep + ((i - (T - 2)) % (T - keep + 1)));
    for (let i = 0; i < cached.length; i++) {
      const context = ids.slice(0, 3 + i);
      const want = await nextProbs(model, context.slice(-cached[i].seen));
      expect(maxDiff(cached[i].probs, want), `after ${context.length} characters`).toBeLessThan(1e-5);
      // With all of the context in view, it is the window path's distribution.
      if (cached[i].seen === T) expect(maxDiff(cached[i].probs, window[i].probs)).toBeLessThan(1e-5);
    }
  });

  test('a prompt longer than the context is cropped to its last blockSize characters, like the window path', async () => {
    const prompt = ids.slice(0, 2 * T + 3);
    const [cached] = await teacherForced(new CachedContext(model, prompt), []);
    const [window] = await teacherForced(new WindowContext(model, prompt), []);
    expect(cached.seen).toBe(T);
    expect(maxDiff(cached.probs, window.probs)).toBeLessThan(1e-5);
  });

  test('asking twice without a new character gives the same probabilities', async () => {
    const context = new CachedContext(model, ids.slice(0, 5));
    const first = await context.probs();
    expect(Array.from(await context.probs())).toEqual(Array.from(first));
    context.push(ids[5]);
    const next = await context.probs();
    expect(maxDiff(await context.probs(), next)).toBeLessThan(1e-6);
    expect(context.seen).toBe(6);
    context.dispose();
  });

  test('new weights between characters (sampling while training) fill the cache again: one set of weights per character', async () => {
    const m = new GPT(config, 12);
    const context = new CachedContext(m, ids.slice(0, 4));
    await context.probs();
    context.push(ids[4]);
    await context.probs();
    context.push(ids[5]);
    tf.tidy(() => m.blocks[0].cFc.assign(m.blocks[0].cFc.mul(1.5))); // what an optimizer step does
    const after = await context.probs();
    expect(context.seen).toBe(6);
    expect(maxDiff(after, await nextProbs(m, ids.slice(0, 6)))).toBeLessThan(1e-5);
    context.dispose();
    // Stepping a cache filled with other weights is refused.
    const cache = m.kvCache();
    tf.dispose(tf.tidy(() => m.forward(tf.tensor2d([ids.slice(0, 3)], [1, 3], 'int32'), { training: false }, cache)));
    tf.tidy(() => m.lnF.assign(m.lnF.mul(2)));
    expect(() => tf.tidy(() => m.step(ids[3], 3, cache))).toThrow(/prefill it again/);
    cache.dispose();
    m.dispose();
  });

  test.each([0, 0.8, 1, 2])(
    'temperature %s: the same text with and without the cache while prompt + completion fit',
    async (temperature) => {
      for (const [prompt, seed] of [
        ['a', 1],
        ['abc de', 2],
        ['abcdefghij klmn', 3],
      ] as const) {
        const length = T - Array.from(prompt).length;
        const withCache = await sampleText(sharp, prompt, length, temperature, seed);
        expect(Array.from(withCache)).toHaveLength(length);
        expect(await sampleText(sharp, prompt, length, temperature, seed, false)).toBe(withCache);
      }
    },
  );

  test('past the context: the asked length, deterministic under a seed, and no tensor left behind', async () => {
    await sampleText(model, 'ab', 2 * T, 1, 5); // warm-up: masks and kernels
    const before = tf.memory();
    const a = await sampleText(model, 'ab', 300, 1, 5);
    expect(Array.from(a)).toHaveLength(300);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(await sampleText(model, 'ab', 300, 1, 5)).toBe(a);
    // Greedy from the same prompt agrees with the window path until the context is full.
    const greedy = await sampleText(sharp, 'ab', 40, 0, 1);
    expect(greedy.slice(0, T - 1)).toBe((await sampleText(sharp, 'ab', 40, 0, 1, false)).slice(0, T - 1));
  });

  test('a generation stopped early or abandoned frees its cache', async () => {
    await sampleText(model, 'ab', 3, 1, 1);
    const before = tf.memory();
    let n = 0;
    for await (const ch of generate(model, tok, 'ab', { length: 100, temperature: 1, seed: 1 })) {
      expect(ch).toHaveLength(1);
      if (++n === 5) break; // return() runs the generator's finally
    }
    const gen = generate(model, tok, 'ab', { length: 100, temperature: 1, seed: 2 });
    await gen.next();
    await gen.next();
    await gen.throw(new Error('the page went away')).catch(() => {});
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });
});
