/** The fused softmax cross-entropy kernels against the plain tfjs ops, on webgpu and on cpu. */
import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { softmaxCrossEntropy } from '../../workers/kernels/cross-entropy.ts';
import { layerNorm } from '../../workers/kernels/layer-norm.ts';
import { countDispatches, on } from './kernel-helpers.ts';
import { relErr } from '../helpers.ts';

const TOL = 1e-4;
// [rows, V]: odd vocabularies (Moby-Dick's is 83), one row, a workgroup and a bit of rows, and
// B·T = 16·256 rows, the most the model trains on.
const SHAPES: [number, number][] = [
  [1, 13],
  [7, 65],
  [65, 83],
  [130, 97],
  [4096, 65],
];

/** Logits [rows, V] with large offsets on some rows (the row max must come off before exp), and targets. */
function inputs([rows, V]: [number, number], seed: number) {
  const rng = new Rng(seed);
  const logits = new Float32Array(rows * V);
  for (let r = 0; r < rows; r++) {
    const offset = r % 3 === 1 ? 60 : r % 3 === 2 ? -40 : 0;
    for (let c = 0; c < V; c++) logits[r * V + c] = offset + 3 * rng.normal();
  }
  const targets = Int32Array.from({ length: rows }, () => rng.int(V));
  return { logits, targets };
}

const dispatched = countDispatches();

interface Result {
  loss: number;
  dlogits: Float32Array;
  forwardDispatches: number;
  backwardDispatches: number;
}

/** The loss, and its gradient for the logits scaled by dy, on the current backend. */
async function run(shape: [number, number], seed: number, fused: boolean, dyValue = 0.7, tweak?: (t: Int32Array) => void): Promise<Result> {
  const { logits: lv, targets: tv } = inputs(shape, seed);
  tweak?.(tv);
  const logits = tf.tensor2d(lv, shape);
  const targets = tf.tensor1d(tv, 'int32');
  const dy = tf.scalar(dyValue);
  await Promise.all([logits.data(), targets.data(), dy.data()]); // uploaded before counting
  let d0 = dispatched.count;
  const loss = softmaxCrossEntropy(logits, targets, fused);
  const forwardDispatches = dispatched.count - d0;
  d0 = dispatched.count;
  const dlogits = tf.grad((l: tf.Tensor) => softmaxCrossEntropy(l as tf.Tensor2D, targets, fused))(logits, dy);
  const withBackward = dispatched.count - d0;
  const out = {
    loss: (await loss.data())[0],
    dlogits: (await dlogits.data()) as Float32Array,
    forwardDispatches,
    backwardDispatches: withBackward - forwardDispatches,
  };
  tf.dispose([logits, targets, dy, loss, dlogits]);
  return out;
}

function expectClose(a: Result, b: Result, what: string) {
  expect(Math.abs(a.loss - b.loss) / Math.abs(b.loss), `loss: ${what}`).toBeLessThan(TOL);
  expect(relErr(a.dlogits, b.dlogits), `dlogits: ${what}`).toBeLessThan(TOL);
}

SHAPES.forEach((shape, i) => {
  test(`fused cross-entropy matches the tfjs ops on webgpu and on cpu, loss and gradient ([${shape}])`, async () => {
    const fused = await run(shape, 10 * i, true);
    const plain = await run(shape, 10 * i, false);
    const cpu = await on('cpu', () => run(shape, 10 * i, false));
    expectClose(fused, plain, 'fused vs tfjs on webgpu');
    expectClose(fused, cpu, 'fused vs cpu');
    expect(fused.forwardDispatches, 'forward: log-sum-exp per row, then the mean').toBe(2);
    expect(fused.backwardDispatches, 'backward').toBe(1);
  });
});

test('a target outside the vocabulary counts as the tfjs ops count it (zero one-hot row)', async () => {
  const shape: [number, number] = [6, 11];
  const tweak = (t: Int32Array) => {
    t[1] = -1;
    t[4] = 11;
  };
  const fused = await run(shape, 5, true, 1, tweak);
  const cpu = await on('cpu', () => run(shape, 5, false, 1, tweak));
  expectClose(fused, cpu, 'fused vs cpu');
  expect(Array.from(fused.dlogits.subarray(11, 22))).toEqual(Array(11).fill(0));
});

test('a NaN logit gives a NaN loss', async () => {
  const { logits: lv, targets: tv } = inputs([4, 13], 9);
  lv[20] = NaN; // row 1, not its target
  const loss = softmaxCrossEntropy(tf.tensor2d(lv, [4, 13]), tf.tensor1d(tv, 'int32'));
  expect((await loss.data())[0]).toBeNaN();
  tf.dispose(loss);
});

test('fused cross-entropy leaves no tensor behind, with or without a gradient', async () => {
  const shape: [number, number] = [9, 13];
  const { logits: lv, targets: tv } = inputs(shape, 7);
  const w = tf.variable(tf.tensor2d(lv, shape));
  const counts: number[] = [];
  for (let i = 0; i < 4; i++) {
    const loss = tf.tidy(() => softmaxCrossEntropy(w, tf.tensor1d(tv, 'int32')));
    await loss.data();
    loss.dispose();
    // Targets made inside the loss function: the gradient must keep them past the forward pass.
    const { value, grads } = tf.variableGrads(() => softmaxCrossEntropy(w.mul(2), tf.tensor1d(tv, 'int32')), [w]);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
    counts.push(tf.memory().numTensors);
  }
  expect(new Set(counts).size).toBe(1);
  w.dispose();
});

test('softmaxCrossEntropy runs the plain tfjs ops off webgpu, and refuses the kernels there', async () => {
  const { logits: lv, targets: tv } = inputs([3, 5], 3);
  await on('cpu', async () => {
    const logits = tf.tensor2d(lv, [3, 5]);
    const targets = tf.tensor1d(tv, 'int32');
    const loss = softmaxCrossEntropy(logits, targets);
    const expected = tf.logSoftmax(logits).mul(tf.oneHot(targets, 5).cast('float32')).sum(1).mean().neg();
    expect(await loss.data()).toEqual(await expected.data()); // the same ops, bit for bit
    expect(() => softmaxCrossEntropy(logits, targets, true)).toThrow(/webgpu/);
    tf.dispose([logits, targets, loss, expected]);
  });
});

/**
 * A small character model trained with both kernels and with the plain ops: token embedding,
 * LayerNorm, a 4× ReLU MLP on the residual stream, a final LayerNorm and the tied head, and
 * tfjs's Adam. The two loss curves must agree within float tolerance.
 */
test('training with the fused LayerNorm and cross-entropy gives the loss curve of the tfjs ops', async () => {
  const [V, C, rows, steps] = [29, 16, 64, 6];
  const rng = new Rng(3);
  const batches = Array.from({ length: steps }, () =>
    Int32Array.from({ length: rows + 1 }, (_, i) => (i % 4 === 0 ? rng.int(V) : (i * 7) % V)),
  );
  const init = (shape: number[], std: number) => Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => std * rng.normal());
  const values = { wte: init([V, C], 0.3), fc: init([C, 4 * C], 0.2), proj: init([4 * C, C], 0.1) };
  const train = async (fused: boolean) => {
    const p = {
      wte: tf.variable(tf.tensor2d(values.wte, [V, C])),
      ln1: tf.variable(tf.ones<tf.Rank.R1>([C])),
      fc: tf.variable(tf.tensor2d(values.fc, [C, 4 * C])),
      proj: tf.variable(tf.tensor2d(values.proj, [4 * C, C])),
      lnF: tf.variable(tf.ones<tf.Rank.R1>([C])),
    };
    const optimizer = tf.train.adam(3e-2);
    const losses: number[] = [];
    const d0 = dispatched.count;
    for (const ids of batches) {
      const loss = tf.tidy(() => {
        const x = tf.tensor1d(ids.subarray(0, rows), 'int32');
        const y = tf.tensor1d(ids.subarray(1), 'int32');
        return optimizer.minimize(
          () => {
            let h = tf.matMul(tf.oneHot(x, V).cast('float32'), p.wte) as tf.Tensor2D; // [rows, C]
            h = h.add(tf.relu(tf.matMul(layerNorm(h, p.ln1, 1e-5, fused), p.fc)).matMul(p.proj));
            const logits = tf.matMul(layerNorm(h, p.lnF, 1e-5, fused), p.wte, false, true) as tf.Tensor2D; // [rows, V]
            return softmaxCrossEntropy(logits, y, fused);
          },
          true,
          Object.values(p),
        )!;
      });
      losses.push((await loss.data())[0]);
      loss.dispose();
    }
    const perStep = (dispatched.count - d0) / steps;
    optimizer.dispose();
    tf.dispose(Object.values(p));
    return { losses, perStep };
  };
  const fused = await train(true);
  const plain = await train(false);
  expect(relErr(fused.losses, plain.losses)).toBeLessThan(TOL);
  expect(fused.perStep, 'dispatches per step').toBeLessThan(plain.perStep);
  expect(fused.losses.at(-1)!).toBeLessThan(fused.losses[0] - 0.5);
});
