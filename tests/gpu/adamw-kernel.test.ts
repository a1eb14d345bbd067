/** The fused AdamW and clip-scale kernels against the plain tfjs ops, on webgpu and on cpu. */
import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { splitTrainVal } from '../../src/core/batching.ts';
import { GPT } from '../../workers/model.ts';
import { Trainer } from '../../workers/train.ts';
import { adamwStep, type AdamWStep } from '../../workers/kernels/adamw.ts';
import { clipScale } from '../../workers/kernels/global-norm.ts';
import { microModel, microTrain, relErr, syntheticIds } from '../helpers.ts';
import { countDispatches, on, normals } from './kernel-helpers.ts';

// Odd sizes on purpose: ragged last workgroups, and 1031 > 1024 elements spread over two sum-of-squares workgroups.
const SHAPES = [[7], [13, 5], [64, 192], [1, 3], [1031]];
const STEPS = 3;
const TOL = 1e-4;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const init = SHAPES.map((s, i) => normals(100 + i, size(s), 0.5));
const grads = Array.from({ length: STEPS }, (_, t) => SHAPES.map((s, i) => normals(1000 * t + i, size(s), 1 + i)));

const dispatched = countDispatches();

interface Result {
  p: Float32Array[];
  m: Float32Array[];
  v: Float32Array[];
  dp: Float32Array[]; // p after − p before: the updates themselves
  dispatchesPerStep: number[];
  tensorsPerStep: number[];
}

/** STEPS AdamW updates of the SHAPES parameters from `init` with `grads`, on the current backend. */
async function runAdamW(fused: boolean, wd: number, clip: number): Promise<Result> {
  const params = SHAPES.map((s, i) => tf.variable(tf.tensor(init[i], s)));
  const m = SHAPES.map((s) => tf.variable(tf.zeros(s), false));
  const v = SHAPES.map((s) => tf.variable(tf.zeros(s), false));
  const decay = SHAPES.map((s) => s.length >= 2);
  const dispatchesPerStep: number[] = [];
  const tensorsPerStep: number[] = [];
  for (let t = 0; t < STEPS; t++) {
    const gs = grads[t].map((g, i) => tf.tensor(g, SHAPES[i]));
    const hp: AdamWStep = { lr: (1e-2 * (t + 1)) / STEPS, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: wd, gradClip: clip, t: t + 1 };
    const d0 = dispatched.count;
    adamwStep({ params, m, v, decay }, gs, hp, fused);
    dispatchesPerStep.push(dispatched.count - d0);
    tf.dispose(gs);
    tensorsPerStep.push(tf.memory().numTensors);
  }
  const read = (vs: tf.Variable[]) => Promise.all(vs.map(async (x) => (await x.data()) as Float32Array));
  const p = await read(params);
  const out = {
    p,
    m: await read(m),
    v: await read(v),
    dp: p.map((x, i) => x.map((y, j) => y - init[i][j])),
    dispatchesPerStep,
    tensorsPerStep,
  };
  tf.dispose([...params, ...m, ...v]);
  return out;
}

function expectClose(a: Result, b: Result, what: string) {
  for (const key of ['p', 'm', 'v', 'dp'] as const) {
    SHAPES.forEach((s, i) => expect(relErr(a[key][i], b[key][i]), `${what}: ${key} of [${s}]`).toBeLessThan(TOL));
  }
}

const CASES = [
  { name: 'clipping that binds and weight decay', wd: 0.1, clip: 1 },
  { name: 'clipping that does not bind', wd: 0.1, clip: 1e4 },
  { name: 'neither clipping nor weight decay', wd: 0, clip: 0 },
];

for (const { name, wd, clip } of CASES) {
  test(`the fused AdamW kernel matches the tfjs ops on webgpu and on cpu (${name})`, async () => {
    const fused = await runAdamW(true, wd, clip);
    const plain = await runAdamW(false, wd, clip);
    const cpu = await on('cpu', () => runAdamW(false, wd, clip));
    expectClose(fused, plain, 'fused vs tfjs on webgpu');
    expectClose(fused, cpu, 'fused vs cpu');
    // N updates, plus N sums of squares and one scale when clipping.
    expect(fused.dispatchesPerStep).toEqual(Array(STEPS).fill(clip > 0 ? 2 * SHAPES.length + 1 : SHAPES.length));
    expect(new Set(fused.tensorsPerStep).size).toBe(1);
  });
}

test('the clip-scale kernel matches the tfjs ops, and a NaN gradient gives a NaN scale', async () => {
  const scaleOf = async (gs: Float32Array[], clip: number, fused: boolean) => {
    const s = tf.tidy(() =>
      clipScale(
        gs.map((g, i) => tf.tensor(g, SHAPES[i])),
        clip,
        fused,
      ),
    );
    const [value] = await s.data();
    s.dispose();
    return value;
  };
  for (const clip of [0.5, 1e4]) {
    const fused = await scaleOf(grads[0], clip, true);
    const plain = await scaleOf(grads[0], clip, false);
    const cpu = await on('cpu', () => scaleOf(grads[0], clip, false));
    expect(Math.abs(fused - plain) / plain).toBeLessThan(TOL);
    expect(Math.abs(fused - cpu) / cpu).toBeLessThan(TOL);
    if (clip > 1e3) expect(fused).toBe(1);
  }
  const bad = grads[0].map((g) => g.slice());
  bad[2][77] = NaN;
  expect(await scaleOf(bad, 1, true)).toBeNaN();
});

test('training with every custom kernel (AdamW, LayerNorm, attention, loss) gives the same losses as with the tfjs ops', async () => {
  const data = splitTrainVal(syntheticIds(3000, microModel.vocabSize), microModel.blockSize);
  const cfg = { ...microTrain, learningRate: 1e-2, warmupSteps: 2 }; // clipping 1.0, weight decay 0.1
  const run = async (fusedKernels: boolean) => {
    const model = new GPT(microModel, 5);
    const trainer = new Trainer(model, data, cfg, { fusedKernels });
    expect(trainer.usesFusedKernels).toBe(fusedKernels);
    const losses: number[] = [];
    const tensors: number[] = [];
    for (let i = 0; i < 8; i++) {
      // Moments put back from the CPU mid-run: the kernel must upload them before it reads them.
      if (fusedKernels && i === 4) trainer.setState(await trainer.getState());
      const before = model.wte.dataId;
      const loss = trainer.trainStep();
      expect(model.wte.dataId, 'a step gives the weights new data (a KV cache relies on it)').not.toBe(before);
      losses.push((await loss.data())[0]);
      loss.dispose();
      tensors.push(tf.memory().numTensors);
    }
    const state = await trainer.getState();
    trainer.dispose();
    model.dispose();
    return { losses, tensors, state };
  };
  const fused = await run(true);
  const plain = await run(false);
  expect(relErr(fused.losses, plain.losses)).toBeLessThan(TOL);
  expect(fused.losses.at(-1)).toBeLessThan(fused.losses[0]);
  expect(new Set(fused.tensors).size, 'tensors per step').toBe(1);
  // getState reads the moments the kernel wrote.
  fused.state.m.forEach((m, i) => expect(relErr(m, plain.state.m[i]), `m[${i}]`).toBeLessThan(TOL));
  fused.state.v.forEach((v, i) => expect(relErr(v, plain.state.v[i]), `v[${i}]`).toBeLessThan(TOL));
});
