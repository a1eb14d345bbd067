/**
 * `npx tsx tests/bench/adamw-dispatches.ts`: GPU dispatches and ms per training step on webgpu
 * (Node + Dawn) with the optimizer as plain tfjs ops and as the fused AdamW kernel, for the
 * tiny config (2 layers, 4 heads, width 64, context 64, batch 16, vocabulary 65). Prints one
 * JSON line per mode (dispatches per step and the optimizer's share of them, ms per step, and
 * the median ms of the optimizer alone), then the dispatches saved. Dispatches are every
 * dispatchWorkgroups call.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { splitTrainVal } from '../../src/core/batching.ts';
import { defaultTrainConfig, type ModelConfig } from '../../src/core/config.ts';
import { installNodeWebGPU } from '../../src/cli/dawn.ts';
import { initBackend } from '../../workers/backend.ts';
import { GPT } from '../../workers/model.ts';
import { adamwStep } from '../../workers/kernels/adamw.ts';
import { Trainer } from '../../workers/train.ts';
import { syntheticIds } from '../helpers.ts';

const { values: flags } = parseArgs({
  options: {
    steps: { type: 'string', default: '2' }, // timed training steps per mode
    warmup: { type: 'string', default: '1' }, // untimed steps first (shader compilation)
    'optimizer-reps': { type: 'string', default: '5' }, // timed optimizer-only updates per mode
  },
});
const steps = Number(flags.steps);
const warmup = Number(flags.warmup);
const optimizerReps = Number(flags['optimizer-reps']);

const tiny: ModelConfig = { vocabSize: 65, blockSize: 64, nLayer: 2, nHead: 4, nEmbd: 64, dropout: 0 };

let dispatches = 0;
function countDispatches() {
  const proto = GPUComputePassEncoder.prototype;
  const dispatch = proto.dispatchWorkgroups;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...args: Parameters<typeof dispatch>) {
    dispatches++;
    return dispatch.apply(this, args);
  };
}

async function measure(fusedKernels: boolean, data: { train: Int32Array; val: Int32Array }) {
  const model = new GPT(tiny, 1);
  const trainer = new Trainer(model, data, { ...defaultTrainConfig, batchSize: 16, maxSteps: 1000, warmupSteps: 0 }, { fusedKernels });
  const step = async () => {
    const loss = trainer.trainStep();
    const [value] = await loss.data();
    loss.dispose();
    return value;
  };
  for (let i = 0; i < warmup; i++) await step(); // compiles every shader
  // The forward and backward pass alone, as trainStep runs them: what the optimizer adds is the rest.
  const vars = model.params.map((p) => p.variable);
  let d0 = dispatches;
  const [lossValue, ...grads] = tf.tidy(() => {
    const b = trainer.batcher.getBatch();
    const x = tf.tensor2d(b.x, [b.starts.length, tiny.blockSize], 'int32');
    const { value, grads } = tf.variableGrads(() => model.loss(model.forward(x, { training: true }), tf.tensor1d(b.y, 'int32')), vars);
    return [value, ...vars.map((v) => grads[v.name])];
  });
  await lossValue.data();
  const gradDispatches = dispatches - d0;

  // The optimizer alone on these gradients (fresh moments), each update waited for: median ms.
  const m = vars.map((p) => tf.variable(tf.zerosLike(p), false));
  const v = vars.map((p) => tf.variable(tf.zerosLike(p), false));
  const optimizerMs: number[] = [];
  for (let t = 1; t <= optimizerReps; t++) {
    const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip: 1, t };
    const t0 = performance.now();
    adamwStep({ params: vars, m, v, decay: vars.map((p) => p.rank >= 2) }, grads, hp, fusedKernels);
    await vars.at(-1)!.data();
    optimizerMs.push(performance.now() - t0);
  }
  tf.dispose([lossValue, ...grads, ...m, ...v]);
  optimizerMs.sort((a, b) => a - b);

  d0 = dispatches;
  const t0 = performance.now();
  let loss = NaN;
  for (let i = 0; i < steps; i++) loss = await step();
  const msPerStep = (performance.now() - t0) / steps;
  const perStep = (dispatches - d0) / steps;
  trainer.dispose();
  model.dispose();
  return {
    optimizer: fusedKernels ? 'fused' : 'tfjs',
    params: vars.length,
    dispatchesPerStep: perStep,
    optimizerDispatches: perStep - gradDispatches,
    msPerStep: Math.round(msPerStep),
    optimizerMs: Math.round(optimizerMs[optimizerReps >> 1]),
    loss,
  };
}

await installNodeWebGPU();
const info = await initBackend('webgpu');
if (info.name !== 'webgpu') throw new Error(`expected webgpu, got ${info.name}`);
countDispatches();
const data = splitTrainVal(syntheticIds(200_000, tiny.vocabSize), tiny.blockSize);
const plain = await measure(false, data);
console.log(JSON.stringify({ adapter: info.adapter, ...plain }));
const fused = await measure(true, data);
console.log(JSON.stringify({ adapter: info.adapter, ...fused }));
console.log(JSON.stringify({ dispatchesSavedPerStep: plain.dispatchesPerStep - fused.dispatchesPerStep }));
