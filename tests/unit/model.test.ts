import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { countParams, type ModelConfig } from '../../src/core/config.ts';
import { GPT } from '../../workers/model.ts';
import { logitsOf, microModel } from '../helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('GPT', () => {
  test('changing tokens after position t leaves the logits at positions ≤ t unchanged', async () => {
    const model = new GPT(microModel, 1);
    const { blockSize: T, vocabSize: V } = microModel;
    const base = [3, 1, 4, 1, 5, 9, 2, 6];
    const a = await logitsOf(model, [base]);
    for (let t = 0; t < T - 1; t++) {
      const changed = base.map((id, i) => (i > t ? (id + 3 + i) % V : id));
      const b = await logitsOf(model, [changed]);
      expect(Array.from(b.subarray(0, (t + 1) * V))).toEqual(Array.from(a.subarray(0, (t + 1) * V)));
      // ...and the change is visible right after t, so the test can fail.
      expect(Array.from(b.subarray((t + 1) * V, (t + 2) * V))).not.toEqual(Array.from(a.subarray((t + 1) * V, (t + 2) * V)));
    }
    model.dispose();
  });

  test('a shorter sequence gives the same logits as the start of a longer one', async () => {
    const model = new GPT(microModel, 2);
    const V = microModel.vocabSize;
    const full = await logitsOf(model, [[1, 2, 3, 4, 5, 6, 7, 8]]);
    const part = await logitsOf(model, [[1, 2, 3]]);
    Array.from(part).forEach((x, i) => expect(x).toBeCloseTo(full[i], 5));
    expect(part.length).toBe(3 * V);
    model.dispose();
  });

  test('at initialisation the loss is close to ln(vocab)', async () => {
    const cfg: ModelConfig = { ...microModel, vocabSize: 50, nEmbd: 16 };
    const model = new GPT(cfg, 3);
    const loss = tf.tidy(() => {
      const x = tf.randomUniformInt([4, 8], 0, 50, 1) as tf.Tensor2D;
      const y = tf.randomUniformInt([32], 0, 50, 2) as tf.Tensor1D;
      return model.loss(model.forward(x), y);
    });
    expect((await loss.data())[0]).toBeCloseTo(Math.log(50), 1);
    loss.dispose();
    model.dispose();
  });

  test('the same seed gives the same weights; a different seed different ones', async () => {
    const [a, b, c] = [new GPT(microModel, 5), new GPT(microModel, 5), new GPT(microModel, 6)];
    const wa = await a.wte.data();
    expect(Array.from(await b.wte.data())).toEqual(Array.from(wa));
    expect(Array.from(await c.wte.data())).not.toEqual(Array.from(wa));
    [a, b, c].forEach((m) => m.dispose());
  });

  test('init: N(0, 0.02), residual projections scaled by 1/√(2·nLayer), LayerNorm gains 1', async () => {
    const cfg: ModelConfig = { vocabSize: 64, blockSize: 32, nLayer: 4, nHead: 4, nEmbd: 64, dropout: 0 };
    const model = new GPT(cfg, 7);
    const std = async (v: tf.Variable) => {
      const d = Array.from(await v.data());
      return Math.sqrt(d.reduce((s, x) => s + x * x, 0) / d.length);
    };
    expect(await std(model.blocks[0].cFc)).toBeCloseTo(0.02, 3);
    expect(await std(model.blocks[0].mlpProj)).toBeCloseTo(0.02 / Math.sqrt(8), 3);
    expect(await std(model.blocks[0].attnProj)).toBeCloseTo(0.02 / Math.sqrt(8), 3);
    expect(Array.from(await model.lnF.data()).every((x) => x === 1)).toBe(true);
    model.dispose();
  });

  test('the parameter count matches the variables, with the head tied to the embedding', () => {
    const model = new GPT(microModel, 1);
    const n = model.params.reduce((s, p) => s + p.variable.size, 0);
    expect(countParams(microModel).total).toBe(n);
    // d=8, 2 layers: 12·L·d² + 2·L·d (LayerNorms) + d (ln_f)
    expect(countParams(microModel).nonEmbedding).toBe(12 * 2 * 64 + 2 * 2 * 8 + 8);
    model.dispose();
  });

  test('impossible settings are clear errors', () => {
    expect(() => new GPT({ ...microModel, nHead: 3 }, 1)).toThrow(/nEmbd \(8\) must be divisible by nHead \(3\)/);
    expect(() => new GPT({ ...microModel, blockSize: 0 }, 1)).toThrow(/blockSize must be at least 1/);
    expect(() => new GPT({ ...microModel, nLayer: 1.5 }, 1)).toThrow(/nLayer must be a whole number/);
    expect(() => new GPT({ ...microModel, dropout: 1 }, 1)).toThrow(/dropout/);
  });

  test('a sequence longer than the context is refused', () => {
    const model = new GPT(microModel, 1);
    expect(() => tf.tidy(() => model.forward(tf.zeros([1, 9], 'int32') as tf.Tensor2D))).toThrow(/context is 8/);
    model.dispose();
  });

  test('dropout changes training outputs only, and is seeded', async () => {
    const { Rng } = await import('../../src/core/rng.ts');
    const model = new GPT({ ...microModel, dropout: 0.5 }, 1);
    const x = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]], undefined, 'int32');
    const run = async (training: boolean, seed: number) => {
      const out = tf.tidy(() => model.forward(x, { training, rng: new Rng(seed) }));
      const d = Array.from(await out.data());
      out.dispose();
      return d;
    };
    expect(await run(false, 1)).toEqual(await run(false, 2));
    expect(await run(true, 1)).toEqual(await run(true, 1));
    expect(await run(true, 1)).not.toEqual(await run(true, 2));
    expect(await run(true, 1)).not.toEqual(await run(false, 1));
    x.dispose();
    model.dispose();
  });
});

describe('gradients', () => {
  test('agree with finite differences on a micro model', async () => {
    const model = new GPT({ vocabSize: 7, blockSize: 4, nLayer: 1, nHead: 2, nEmbd: 4, dropout: 0 }, 11);
    const x = tf.tensor2d(
      [
        [1, 2, 3, 4],
        [6, 5, 0, 2],
      ],
      undefined,
      'int32',
    );
    const y = tf.tensor1d(
      [2, 3, 4, 5, 5, 0, 2, 1].map((v) => v % 7),
      'int32',
    );
    const lossOf = () => model.loss(model.forward(x), y);
    const vars = model.params.map((p) => p.variable);
    const { value, grads } = tf.variableGrads(lossOf, vars);
    value.dispose();
    const h = 1e-3; // float32: large enough to beat rounding, small enough for the curvature
    let checked = 0;
    for (const { name, variable } of model.params) {
      const g = await grads[variable.name].data();
      const base = Float32Array.from(await variable.data());
      // The three largest-magnitude coordinates of each tensor, where the relative check is meaningful.
      const idx = Array.from(g.keys())
        .sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]))
        .slice(0, 3);
      for (const i of idx) {
        const at = async (delta: number) => {
          const moved = Float32Array.from(base);
          moved[i] += delta;
          variable.assign(tf.tensor(moved, variable.shape));
          const l = tf.tidy(lossOf);
          const v = (await l.data())[0];
          l.dispose();
          return v;
        };
        const numeric = ((await at(h)) - (await at(-h))) / (2 * h);
        variable.assign(tf.tensor(base, variable.shape));
        expect(Math.abs(numeric - g[i]), `${name}[${i}]: analytic ${g[i]}, numeric ${numeric}`).toBeLessThan(1e-3 + 0.01 * Math.abs(g[i]));
        checked++;
      }
    }
    expect(checked).toBe(model.params.length * 3);
    Object.values(grads).forEach((g) => g.dispose());
    [x, y].forEach((t) => t.dispose());
    model.dispose();
  });
});
