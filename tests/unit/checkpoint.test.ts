import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { splitTrainVal } from '../../src/core/batching.ts';
import { Rng } from '../../src/core/rng.ts';
import { growVocabulary, loadCheckpoint, saveCheckpoint } from '../../workers/checkpoint.ts';
import { GPT } from '../../workers/model.ts';
import { Trainer, train, type StepEvent } from '../../workers/train.ts';
import { logitsOf, microModel, microTrain, paramValues, syntheticIds } from '../helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const vocab = [...'abcdefghij😀'];
const config = { ...microModel, vocabSize: vocab.length };
const data = splitTrainVal(syntheticIds(3000, vocab.length), config.blockSize);

/**
 * A reader written from the format's description alone (huggingface/safetensors README): 8 bytes
 * little-endian u64 header size N, N bytes of UTF-8 JSON, then the byte buffer; each tensor's
 * data_offsets are [begin, end) into that buffer; F32 is little-endian IEEE 754.
 */
function independentRead(bytes: Uint8Array) {
  let n = 0;
  for (let i = 7; i >= 0; i--) n = n * 256 + bytes[i];
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const buffer = bytes.subarray(8 + n);
  const tensors: Record<string, { shape: number[]; values: number[] }> = {};
  for (const [name, e] of Object.entries(header) as [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][]) {
    if (name === '__metadata__') continue;
    expect(e.dtype).toBe('F32');
    const [begin, end] = e.data_offsets;
    const values: number[] = [];
    for (let off = begin; off < end; off += 4) {
      // IEEE 754 binary32 from four little-endian bytes, by hand.
      const bits = (buffer[off] | (buffer[off + 1] << 8) | (buffer[off + 2] << 16) | (buffer[off + 3] << 24)) >>> 0;
      const sign = bits >>> 31 ? -1 : 1;
      const exp = (bits >>> 23) & 0xff;
      const frac = bits & 0x7fffff;
      values.push(exp === 0 ? sign * frac * 2 ** -149 : sign * (1 + frac / 2 ** 23) * 2 ** (exp - 127));
    }
    expect(values.length).toBe(e.shape.reduce((a, b) => a * b, 1));
    tensors[name] = { shape: e.shape, values };
  }
  return { n, metadata: header.__metadata__ as Record<string, string>, tensors };
}

async function trained(steps: number) {
  const model = new GPT(config, 9);
  const trainer = new Trainer(model, data, { ...microTrain, maxSteps: 40 });
  await train(trainer, { shouldStop: () => trainer.step >= steps });
  return { model, trainer };
}

describe('checkpoints', () => {
  test('save → load round-trips weights and optimizer state bit for bit', async () => {
    const { model, trainer } = await trained(5);
    const bytes = await saveCheckpoint(model, {
      vocab,
      train: trainer.config,
      trainer,
      corpus: { name: 'synthetic', sha256: 'ab' },
      history: { losses: [4, 3.5], evals: [] },
    });
    const ck = loadCheckpoint(bytes);
    expect(ck.meta.model).toEqual(config);
    expect(ck.meta.step).toBe(5);
    expect(ck.meta.train).toEqual(trainer.config);
    expect(ck.meta.corpus).toEqual({ name: 'synthetic', sha256: 'ab' });
    expect(ck.meta.history?.losses).toEqual([4, 3.5]);
    expect(ck.tokenizer.vocab).toEqual(vocab);
    const [a, b] = [await paramValues(model), await paramValues(ck.model)];
    for (const [name, values] of a) expect(Array.from(b.get(name)!), name).toEqual(Array.from(values));
    const [sa, sb] = [await trainer.getState(), ck.state!];
    expect(sb.step).toBe(sa.step);
    expect(sb.batcher).toEqual(sa.batcher);
    expect(sb.dropoutRng).toEqual(sa.dropoutRng);
    sa.m.forEach((m, i) => expect(Array.from(sb.m[i])).toEqual(Array.from(m)));
    sa.v.forEach((v, i) => expect(Array.from(sb.v[i])).toEqual(Array.from(v)));
    const ids = [[0, 3, 5, 11, 2, 1, 9, 4]];
    expect(Array.from(await logitsOf(ck.model, ids))).toEqual(Array.from(await logitsOf(model, ids)));
    [model, ck.model].forEach((m) => m.dispose());
    trainer.dispose();
  });

  test('an interrupted and resumed run equals an uninterrupted one, step by step', async () => {
    const cfg = { ...microTrain, maxSteps: 24, evalEvery: 0 };
    const dropoutConfig = { ...config, dropout: 0.1 };
    const straight: number[] = [];
    {
      const model = new GPT(dropoutConfig, 3);
      const trainer = new Trainer(model, data, cfg);
      await train(trainer, { onStep: (e: StepEvent) => straight.push(e.loss) });
      trainer.dispose();
      model.dispose();
    }
    const resumed: number[] = [];
    let bytes: Uint8Array;
    {
      const model = new GPT(dropoutConfig, 3);
      const trainer = new Trainer(model, data, cfg);
      await train(trainer, { onStep: (e) => resumed.push(e.loss), shouldStop: () => trainer.step >= 10 });
      bytes = await saveCheckpoint(model, { vocab, train: cfg, trainer });
      trainer.dispose();
      model.dispose();
    }
    const ck = loadCheckpoint(bytes);
    const trainer = new Trainer(ck.model, data, ck.meta.train!);
    trainer.setState(ck.state!);
    await train(trainer, { onStep: (e) => resumed.push(e.loss) });
    expect(resumed).toHaveLength(24);
    expect(resumed).toEqual(straight);
    trainer.dispose();
    ck.model.dispose();
  });

  test('the file is safetensors an independent reader parses, with nanoGPT names and [out, in] layouts', async () => {
    const { model, trainer } = await trained(2);
    const bytes = await saveCheckpoint(model, { vocab, trainer });
    const { n, metadata, tensors } = independentRead(bytes);
    expect((8 + n) % 8).toBe(0);
    const C = config.nEmbd;
    expect(tensors['transformer.wte.weight'].shape).toEqual([vocab.length, C]);
    expect(tensors['lm_head.weight'].values).toEqual(tensors['transformer.wte.weight'].values);
    expect(tensors['transformer.h.1.attn.c_attn.weight'].shape).toEqual([3 * C, C]);
    expect(tensors['transformer.h.0.mlp.c_fc.weight'].shape).toEqual([4 * C, C]);
    expect(tensors['transformer.h.0.mlp.c_proj.weight'].shape).toEqual([C, 4 * C]);
    expect(tensors['transformer.ln_f.weight'].shape).toEqual([C]);
    expect(tensors['optimizer.exp_avg_sq.transformer.h.0.mlp.c_fc.weight'].shape).toEqual([4 * C, C]);
    expect(JSON.parse(metadata.vocab)).toEqual(vocab);
    // c_fc is stored transposed: element [o, i] of the file is element [i, o] of the tfjs weight.
    const tfw = await model.blocks[0].cFc.data();
    expect(tensors['transformer.h.0.mlp.c_fc.weight'].values[5 * C + 3]).toBe(tfw[3 * 4 * C + 5]);
    model.dispose();
    trainer.dispose();
  });

  test('fuzzed corrupt files are all refused with a reason, never a crash, and leave no tensor behind', async () => {
    const { model, trainer } = await trained(1);
    const good = await saveCheckpoint(model, { vocab, trainer });
    model.dispose();
    trainer.dispose();
    const before = tf.memory().numTensors;
    const rng = new Rng(17);
    let refused = 0;
    for (let trial = 0; trial < 300; trial++) {
      const bytes = new Uint8Array(good);
      const kind = trial % 3;
      let file: Uint8Array = bytes;
      if (kind === 0)
        file = bytes.subarray(0, rng.int(bytes.length)); // truncated
      else if (kind === 1)
        for (let k = 0; k < 1 + rng.int(8); k++) bytes[rng.int(Math.min(bytes.length, 8 + 3000))] = rng.int(256); // header garbled
      else for (let k = 0; k < 4; k++) bytes[8 + rng.int(bytes.length - 8)] = rng.int(256); // anywhere
      try {
        loadCheckpoint(file).model.dispose(); // a flip inside a weight can leave a valid file
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/^(not a usable checkpoint|invalid training config in checkpoint)/);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(200);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('a safetensors file from elsewhere, or with NaN weights, is refused with what is wrong', async () => {
    const { readSafetensors, writeSafetensors } = await import('../../src/core/safetensors.ts');
    expect(() => loadCheckpoint(writeSafetensors([{ name: 'w', shape: [2], data: new Float32Array(2) }], {}))).toThrow(
      /no model config or vocabulary/,
    );
    const model = new GPT(config, 1);
    const file = readSafetensors(await saveCheckpoint(model, { vocab }));
    model.dispose();
    const tensors = [...file.tensors].map(([name, t]) => ({
      name,
      ...t,
      data: name === 'transformer.ln_f.weight' ? t.data.map(() => NaN) : t.data,
    }));
    expect(() => loadCheckpoint(writeSafetensors(tensors, file.metadata))).toThrow(/transformer.ln_f.weight holds NaN/);
  });

  test('a model whose weights went NaN or infinite is not saved: a diverged run leaves no restart point behind', async () => {
    const data = splitTrainVal(syntheticIds(2000, config.vocabSize), config.blockSize);
    const model = new GPT(config, 1);
    const trainer = new Trainer(model, data, microTrain);
    tf.dispose([trainer.trainStep(), trainer.trainStep()]);
    await saveCheckpoint(model, { vocab, trainer }); // healthy: saved
    tf.tidy(() => model.lnF.assign(model.lnF.mul(Infinity)));
    await expect(saveCheckpoint(model, { vocab, trainer })).rejects.toThrow(
      /^the weights hold NaN or infinite values \(transformer.ln_f.weight\) at step 2: a diverged model is not saved$/,
    );
    tf.dispose(trainer.trainStep()); // a step on broken weights: its NaN gradient reaches every weight
    await expect(saveCheckpoint(model, { vocab, trainer })).rejects.toThrow(
      /^the weights hold NaN or infinite values \(transformer.wte.weight\) at step 3/,
    );
    trainer.dispose();
    model.dispose();
  });

  test('a file with tensors this model has no place for (biases) is refused, not half-loaded', async () => {
    const { readSafetensors, writeSafetensors } = await import('../../src/core/safetensors.ts');
    const model = new GPT(config, 1);
    const file = readSafetensors(await saveCheckpoint(model, { vocab }));
    model.dispose();
    const tensors = [...file.tensors].map(([name, t]) => ({ name, ...t }));
    tensors.push({ name: 'transformer.h.0.ln_1.bias', shape: [config.nEmbd], data: new Float32Array(config.nEmbd) });
    expect(() => loadCheckpoint(writeSafetensors(tensors, file.metadata))).toThrow(/transformer.h.0.ln_1.bias has no place/);
  });
});

describe('fine-tuning', () => {
  test('new characters grow the embedding with fresh rows; known ones keep theirs', async () => {
    const model = new GPT({ ...config }, 5);
    const ck = loadCheckpoint(await saveCheckpoint(model, { vocab }));
    const { model: grown, tokenizer } = await growVocabulary(ck, 'abcxyz😀', 6);
    expect(tokenizer.vocab).toEqual([...'abcdefghijxyz😀']);
    const C = config.nEmbd;
    const [oldWte, newWte] = [await model.wte.data(), await grown.wte.data()];
    for (const ch of ['a', 'j', '😀']) {
      const [o, n] = [vocab.indexOf(ch), tokenizer.vocab.indexOf(ch)];
      expect(Array.from(newWte.slice(n * C, n * C + C))).toEqual(Array.from(oldWte.slice(o * C, o * C + C)));
    }
    const x = tokenizer.vocab.indexOf('x');
    const fresh = Array.from(newWte.slice(x * C, x * C + C));
    expect(fresh.some((v) => v !== 0)).toBe(true);
    expect(Math.sqrt(fresh.reduce((s, v) => s + v * v, 0) / C)).toBeLessThan(0.06); // N(0, 0.02)-sized
    expect(Array.from(await grown.lnF.data())).toEqual(Array.from(await ck.model.lnF.data()));
    [model, ck.model, grown].forEach((m) => m.dispose());
  });

  test('a model fine-tuned on a second corpus learns it: its val loss falls', async () => {
    const { model, trainer } = await trained(30);
    const ck = loadCheckpoint(await saveCheckpoint(model, { vocab, trainer }));
    model.dispose();
    trainer.dispose();
    const second = 'the quick brown fox jumps over the lazy dog. '.repeat(80);
    const { model: tuned, tokenizer } = await growVocabulary(ck, new Set(second), 2);
    ck.model.dispose();
    const split = splitTrainVal(tokenizer.encode(second), config.blockSize);
    const t = new Trainer(tuned, split, { ...microTrain, maxSteps: 150, learningRate: 1e-2, minLr: 1e-3, evalEvery: 0 });
    const before = (await t.estimateLoss()).val;
    await train(t);
    const after = (await t.estimateLoss()).val;
    expect(after).toBeLessThan(before - 0.3);
    t.dispose();
    tuned.dispose();
  });

  test('the tokenizer in a checkpoint is the one the model was trained with', async () => {
    // A vocabulary in an order CharTokenizer.fromText would not give (it sorts): the file keeps it as it was.
    const shuffled = ['😀', ...'jihgfedcba'];
    const model = new GPT({ ...config, vocabSize: shuffled.length }, 7);
    const ck = loadCheckpoint(await saveCheckpoint(model, { vocab: shuffled }));
    expect(ck.tokenizer.vocab).toEqual(shuffled);
    expect(ck.tokenizer.encode('a😀j')).toEqual(Int32Array.from([10, 0, 1]));
    expect(ck.tokenizer.decode(Int32Array.from([0, 10]))).toBe('😀a');
    // The same ids score the same under the saved model: the ids mean what they meant in training.
    expect(await logitsOf(ck.model, [[10, 0, 1]])).toEqual(await logitsOf(model, [[10, 0, 1]]));
    model.dispose();
    ck.model.dispose();
  });
});
