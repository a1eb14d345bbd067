import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, test } from 'vitest';
import { CharTokenizer } from '../../src/core/tokenizer.ts';
import { loadCheckpoint, saveCheckpoint } from '../../workers/checkpoint.ts';
import { GPT } from '../../workers/model.ts';
import { logitsOf, microModel, microTrain } from '../helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const vocab = [...'abcdefghij😀'];
const config = { ...microModel, vocabSize: vocab.length };

test('a saved model loads back with the same config, vocabulary and logits', async () => {
  const model = new GPT(config, 9);
  const bytes = await saveCheckpoint(model, { vocab, train: microTrain, step: 42 });
  const loaded = loadCheckpoint(bytes);
  expect(loaded.meta.model).toEqual(config);
  expect(loaded.meta.step).toBe(42);
  expect(loaded.meta.train).toEqual(microTrain);
  expect(loaded.tokenizer.vocab).toEqual(vocab);
  const ids = [[0, 3, 5, 11, 2, 1, 9, 4]];
  expect(Array.from(await logitsOf(loaded.model, ids))).toEqual(Array.from(await logitsOf(model, ids)));
  model.dispose();
  loaded.model.dispose();
});

test('the file is safetensors with nanoGPT names and PyTorch [out, in] layouts', async () => {
  const model = new GPT(config, 9);
  const bytes = await saveCheckpoint(model, { vocab, step: 0 });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const C = config.nEmbd;
  expect(header['transformer.wte.weight'].shape).toEqual([vocab.length, C]);
  expect(header['lm_head.weight'].shape).toEqual([vocab.length, C]);
  expect(header['transformer.h.1.attn.c_attn.weight'].shape).toEqual([3 * C, C]);
  expect(header['transformer.h.0.mlp.c_fc.weight'].shape).toEqual([4 * C, C]);
  expect(header['transformer.h.0.mlp.c_proj.weight'].shape).toEqual([C, 4 * C]);
  expect(header['transformer.ln_f.weight'].shape).toEqual([C]);
  expect(JSON.parse(header.__metadata__.vocab)).toEqual(vocab);
  expect((8 + n) % 8).toBe(0);
  // c_fc stored transposed: element [o, i] of the file is element [i, o] of the tfjs weight.
  const entry = header['transformer.h.0.mlp.c_fc.weight'];
  const file = new Float32Array(bytes.slice(8 + n + entry.data_offsets[0], 8 + n + entry.data_offsets[1]).buffer);
  const tfw = await model.blocks[0].cFc.data();
  expect(file[5 * C + 3]).toBe(tfw[3 * 4 * C + 5]);
  model.dispose();
});

test('corrupt, truncated and mismatched files are refused with a reason', async () => {
  const model = new GPT(config, 9);
  const bytes = await saveCheckpoint(model, { vocab, step: 0 });
  model.dispose();
  const before = tf.memory().numTensors;
  expect(() => loadCheckpoint(new Uint8Array(3))).toThrow(/too short/);
  expect(() => loadCheckpoint(bytes.subarray(0, 200))).toThrow(/header claims/);
  expect(() => loadCheckpoint(bytes.subarray(0, bytes.length - 16))).toThrow(/outside the file/);
  const garbage = new Uint8Array(bytes);
  garbage.fill(0x7b, 8, 20);
  expect(() => loadCheckpoint(garbage)).toThrow(/not valid JSON/);
  const bigger = await (async () => {
    const m = new GPT({ ...config, nEmbd: 12 }, 1);
    const b = await saveCheckpoint(m, { vocab, step: 0 });
    m.dispose();
    return b;
  })();
  // The same names with other shapes than the config in the metadata says.
  const n = Number(new DataView(bigger.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bigger.subarray(8, 8 + n)));
  header.__metadata__.config = JSON.stringify(config);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const forged = new Uint8Array(8 + json.length + bigger.length - 8 - n);
  new DataView(forged.buffer).setBigUint64(0, BigInt(json.length), true);
  forged.set(json, 8);
  forged.set(bigger.subarray(8 + n), 8 + json.length);
  expect(() => loadCheckpoint(forged)).toThrow(/has shape \[12,36\], the config needs \[24,8\]|has shape/);
  expect(tf.memory().numTensors).toBe(before);
});

test('the tokenizer in a checkpoint is the one the model was trained with', () => {
  expect(new CharTokenizer(vocab).encode('a😀')).toEqual(Int32Array.from([0, 10]));
});
