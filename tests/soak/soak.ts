/**
 * Soak: trains a small model for thousands of steps through the CLI's training core (prepareRun,
 * createRun, train) and checks that tfjs memory stays flat. Prints one JSON line per 1,000 steps
 * with tf.memory()'s tensor and byte counts (and the JS heap, for information), then a verdict;
 * exits 1 if either tfjs count at a later mark is above its value at step 1,000.
 *
 *   npx tsx tests/soak/soak.ts [--steps 5000] [--every 1000] [--backend wasm] [--corpus moby-dick]
 *
 * Training runs in slices that stop at each mark, so every reading is taken with no step queued.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { isCorpusName, loadCorpus } from '../../datasets/corpora.ts';
import { defaultTrainConfig, type TrainConfig } from '../../src/core/config.ts';
import { initBackend, type BackendChoice } from '../../workers/backend.ts';
import { createRun, disposeRun, prepareRun } from '../../workers/run.ts';
import { train, type RunStats } from '../../workers/train.ts';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '5000' },
    every: { type: 'string', default: '1000' },
    backend: { type: 'string', default: 'wasm' },
    corpus: { type: 'string', default: 'moby-dick' },
  },
  strict: true,
});
const steps = Number(values.steps);
const every = Number(values.every);
if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(every) || every < 1)
  throw new Error('--steps and --every must be whole numbers ≥ 1');
if (!isCorpusName(values.corpus)) throw new Error(`--corpus must be a bundled corpus, got ${JSON.stringify(values.corpus)}`);

const backend = await initBackend(values.backend as BackendChoice);
const model = { nLayer: 2, nHead: 4, nEmbd: 32, blockSize: 32, dropout: 0.1 }; // dropout on: its RNG path is exercised too
const config: TrainConfig = {
  ...defaultTrainConfig,
  batchSize: 8,
  maxSteps: steps,
  warmupSteps: 100,
  evalEvery: 250,
  evalBatches: 4,
  logEvery: 4,
};
const run = createRun(prepareRun(loadCorpus(values.corpus), model, config));

interface Mark {
  type: 'memory';
  step: number;
  numTensors: number;
  numBytes: number;
  heapUsed: number; // JS heap, bytes (includes the loss history this script keeps)
  seconds: number;
  loss: number | null; // last minibatch loss
  val: number | null; // last val estimate
}
const t0 = performance.now();
const losses: number[] = []; // the metric history a page keeps
let lastVal: number | null = null;
const marks: Mark[] = [];
const mark = () => {
  const m = tf.memory();
  const line: Mark = {
    type: 'memory',
    step: run.trainer.step,
    numTensors: m.numTensors,
    numBytes: m.numBytes,
    heapUsed: process.memoryUsage().heapUsed,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    loss: losses.at(-1) ?? null,
    val: lastVal,
  };
  marks.push(line);
  process.stdout.write(JSON.stringify(line) + '\n');
};

process.stdout.write(
  JSON.stringify({ type: 'start', backend: backend.name, adapter: backend.adapter, model, batchSize: config.batchSize, steps }) + '\n',
);
mark();
const stats: RunStats = { trainMs: 0, tokens: 0 };
while (run.trainer.step < steps) {
  const stopAt = Math.min(steps, run.trainer.step + every);
  await train(
    run.trainer,
    {
      onStep: (e) => losses.push(e.loss),
      onEval: (e) => (lastVal = e.val),
      shouldStop: () => run.trainer.step >= stopAt,
    },
    stats,
  );
  mark();
}
disposeRun(run);

// Step 0 is before the first forward pass (constants made on first use are not there yet), so
// growth is measured from the first mark after it.
const base = marks.find((m) => m.step >= every) ?? marks[0];
const grown = marks.filter((m) => m.step > base.step && (m.numTensors > base.numTensors || m.numBytes > base.numBytes));
const verdict = {
  type: 'verdict',
  flat: grown.length === 0,
  baseStep: base.step,
  grownAt: grown.map((m) => m.step),
  tokensPerSec: Math.round((stats.tokens / stats.trainMs) * 1000),
  afterDispose: tf.memory().numTensors,
};
process.stdout.write(JSON.stringify(verdict) + '\n');
process.exit(verdict.flat ? 0 : 1);
