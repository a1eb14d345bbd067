import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { splitTrainVal } from '../../src/core/batching.ts';
import type { ModelConfig } from '../../src/core/config.ts';
import { attentionMaps, lossByPosition, probe, probeSequences } from '../../workers/inspect.ts';
import { GPT } from '../../workers/model.ts';
import { Trainer } from '../../workers/train.ts';
import { logitsOf, microModel, microTrain, paramValues, syntheticIds } from '../helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ids = [3, 1, 4, 1, 5, 9, 2, 6]; // blockSize 8

/** Row q of head h of layer l: T weights. */
function row(w: Float32Array, { nHead }: { nHead: number }, T: number, l: number, h: number, q: number): Float32Array {
  return w.subarray(((l * nHead + h) * T + q) * T, ((l * nHead + h) * T + q + 1) * T);
}

describe('attention maps', () => {
  test('every row sums to 1 and is zero above the diagonal, in every layer and head', async () => {
    const model = new GPT(microModel, 1);
    const maps = await attentionMaps(model, ids);
    const T = ids.length;
    expect(maps.weights.length).toBe(microModel.nLayer * microModel.nHead * T * T);
    for (let l = 0; l < microModel.nLayer; l++)
      for (let h = 0; h < microModel.nHead; h++)
        for (let q = 0; q < T; q++) {
          const r = row(maps.weights, microModel, T, l, h, q);
          expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
          for (let k = q + 1; k < T; k++) expect(r[k]).toBe(0);
          for (let k = 0; k <= q; k++) expect(r[k]).toBeGreaterThan(0);
        }
    model.dispose();
  });

  test("inspect's logits are forward's, and its surprisal is −ln p of each next character", async () => {
    const model = new GPT(microModel, 2);
    const want = await logitsOf(model, [ids]);
    const got = tf.tidy(() => model.inspect(tf.tensor2d([ids], [1, ids.length], 'int32')).logits);
    expect(Array.from(await got.data())).toEqual(Array.from(want));
    got.dispose();
    const V = microModel.vocabSize;
    const maps = await attentionMaps(model, ids);
    expect(maps.surprisal).toHaveLength(ids.length - 1);
    for (let t = 0; t < ids.length - 1; t++) {
      const logits = Array.from(want.subarray(t * V, (t + 1) * V));
      const max = Math.max(...logits);
      const lse = max + Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0));
      expect(maps.surprisal[t]).toBeCloseTo(lse - logits[ids[t + 1]], 5);
    }
    model.dispose();
  });

  test('on a 1-layer model the maps are softmax(q·kᵀ/√hs) of the first LayerNorm, computed by hand', async () => {
    const cfg: ModelConfig = { vocabSize: 11, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 };
    const model = new GPT(cfg, 5);
    const p = await paramValues(model);
    const C = cfg.nEmbd;
    const hs = C / cfg.nHead;
    const T = ids.length;
    const wte = p.get('transformer.wte.weight')!;
    const wpe = p.get('transformer.wpe.weight')!;
    const g = p.get('transformer.h.0.ln_1.weight')!;
    const wAttn = p.get('transformer.h.0.attn.c_attn.weight')!; // [C, 3C]
    // x = wte[id] + wpe[t]; LayerNorm (no bias, eps 1e-5); qkv = x·W.
    const qkv = ids.map((id, t) => {
      const x = Array.from({ length: C }, (_, c) => wte[id * C + c] + wpe[t * C + c]);
      const mean = x.reduce((a, b) => a + b, 0) / C;
      const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / C;
      const n = x.map((v, c) => ((v - mean) / Math.sqrt(variance + 1e-5)) * g[c]);
      return Array.from({ length: 3 * C }, (_, j) => n.reduce((s, v, c) => s + v * wAttn[c * 3 * C + j], 0));
    });
    const maps = await attentionMaps(model, ids);
    for (let h = 0; h < cfg.nHead; h++)
      for (let q = 0; q < T; q++) {
        const scores = Array.from({ length: q + 1 }, (_, k) => {
          let dot = 0;
          for (let i = 0; i < hs; i++) dot += qkv[q][h * hs + i] * qkv[k][C + h * hs + i];
          return dot / Math.sqrt(hs);
        });
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const z = e.reduce((a, b) => a + b, 0);
        const r = row(maps.weights, cfg, T, 0, h, q);
        for (let k = 0; k <= q; k++) expect(Math.abs(r[k] - e[k] / z), `head ${h} query ${q} key ${k}`).toBeLessThan(1e-6);
      }
    model.dispose();
  });

  test('leaves no tensor behind, and refuses a text longer than the context', async () => {
    const model = new GPT(microModel, 3);
    const look = () => Promise.all([attentionMaps(model, ids), attentionMaps(model, ids.slice(0, 5)), attentionMaps(model, [7])]);
    await look(); // the model keeps one causal mask per length, made on first use
    const before = tf.memory().numTensors;
    await look();
    expect(tf.memory().numTensors).toBe(before);
    await expect(attentionMaps(model, [...ids, 1])).rejects.toThrow(/1 to 8 characters, got 9/);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('loss by position', () => {
  test("its mean over the positions is the trainer's validation loss", async () => {
    const model = new GPT(microModel, 4);
    const data = splitTrainVal(syntheticIds(4000, microModel.vocabSize), microModel.blockSize);
    const trainer = new Trainer(model, data, { ...microTrain, evalBatches: 3 });
    for (let i = 0; i < 20; i++) trainer.trainStep().dispose(); // something learnt, so positions differ
    const { val } = await trainer.estimateLoss();
    const before = tf.memory().numTensors;
    const curve = await lossByPosition(model, trainer.valBatches);
    expect(tf.memory().numTensors).toBe(before);
    expect(curve).toHaveLength(microModel.blockSize);
    expect(curve.reduce((a, b) => a + b, 0) / curve.length).toBeCloseTo(val, 5);
    expect(new Set(curve.map((x) => x.toFixed(4))).size).toBeGreaterThan(1);
    trainer.dispose();
    model.dispose();
  });
});

describe('in-context probe', () => {
  test('its sequences are random characters from the choices, shown twice; the same seed gives the same ones', () => {
    const opts = { length: 5, trials: 3, seed: 9, choices: [2, 4, 6] };
    const seqs = probeSequences(opts);
    expect(seqs).toHaveLength(3);
    for (const s of seqs) {
      expect(s).toHaveLength(10);
      expect(s.slice(5)).toEqual(s.slice(0, 5));
      for (const id of s) expect([2, 4, 6]).toContain(id);
    }
    expect(probeSequences(opts)).toEqual(seqs);
    expect(probeSequences({ ...opts, seed: 10 })).not.toEqual(seqs);
  });

  test('an untrained model pays about ln(choices) on both copies and learns nothing in context', async () => {
    const cfg: ModelConfig = { vocabSize: 20, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 };
    const model = new GPT(cfg, 6);
    const choices = Array.from({ length: 20 }, (_, i) => i);
    await probe(model, { length: 16, trials: 1, seed: 0, choices }); // makes the model's causal mask for 32
    const before = tf.memory().numTensors;
    const r = await probe(model, { length: 16, trials: 16, seed: 1, choices });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.chance).toBeCloseTo(Math.log(20), 12);
    expect(Math.abs(r.first - r.chance)).toBeLessThan(0.1);
    expect(Math.abs(r.score)).toBeLessThan(0.05);
    expect(r.induction).toHaveLength(4);
    // Spread evenly, a query at position q gives each key about 1/(q+1): well under 0.1 here.
    for (const s of r.induction) expect(s).toBeLessThan(0.1);
    await expect(probe(model, { length: 17, trials: 1, seed: 1, choices })).rejects.toThrow(/from 2 to 16/);
    model.dispose();
  });

  test('first and second copy losses are the means of exactly characters 2..L of each copy, position by position', async () => {
    const cfg: ModelConfig = { vocabSize: 12, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 };
    const model = new GPT(cfg, 8);
    // Larger weights, so that each position's loss differs from its neighbours' by far more than float32 noise.
    for (const p of model.params) if (p.variable.rank >= 2) p.variable.assign(p.variable.mul(40));
    const opts = { length: 6, trials: 5, seed: 3, choices: Array.from({ length: 12 }, (_, i) => i) };
    const L = opts.length;
    const T = 2 * L;
    const seqs = probeSequences(opts);
    const logits = await logitsOf(model, seqs); // [K·T·V], this test's own forward pass
    const V = cfg.vocabSize;
    // The loss of predicting character t+1 from position t, in double precision.
    const nats = (k: number, t: number) => {
      const row = Array.from(logits.subarray((k * T + t) * V, (k * T + t + 1) * V));
      const max = Math.max(...row);
      const logSum = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
      return logSum - row[seqs[k][t + 1]];
    };
    const mean = (from: number) => {
      let sum = 0;
      for (let k = 0; k < opts.trials; k++) for (let t = from; t < from + L - 1; t++) sum += nats(k, t);
      return sum / (opts.trials * (L - 1));
    };
    const r = await probe(model, opts);
    expect(r.first).toBeCloseTo(mean(0), 4);
    expect(r.second).toBeCloseTo(mean(L), 4);
    // The positions next to them give other means: a slice off by one would not pass the lines above.
    expect(Math.abs(mean(L - 1) - mean(L))).toBeGreaterThan(1e-2);
    expect(Math.abs(mean(1) - mean(0))).toBeGreaterThan(1e-2);
    model.dispose();
  });
});
