/**
 * Prints the wasm heap's size (its high-water mark: a WebAssembly memory only grows) after two
 * training steps and an evaluation of one model, in a fresh process:
 *   node --import tsx tests/unit/wasm-heap-step.ts LAYERS HEADS WIDTH CONTEXT BATCH VOCAB
 * footprint.test.ts compares it with the estimate that refuses runs the heap cannot hold.
 */
import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../../src/cli/backend.ts';
import { splitTrainVal } from '../../src/core/batching.ts';
import { defaultTrainConfig } from '../../src/core/config.ts';
import { GPT } from '../../workers/model.ts';
import { Trainer } from '../../workers/train.ts';

const [nLayer, nHead, nEmbd, blockSize, batchSize, vocabSize] = process.argv.slice(2).map(Number);
await startBackend('wasm');
const model = new GPT({ vocabSize, blockSize, nLayer, nHead, nEmbd, dropout: 0 }, 1);
const ids = Int32Array.from({ length: Math.max(20_000, 3 * batchSize * blockSize) }, (_, i) => (i * 7919) % vocabSize);
const trainer = new Trainer(model, splitTrainVal(ids, blockSize), { ...defaultTrainConfig, batchSize, evalBatches: 1 });
for (let i = 0; i < 2; i++) {
  const loss = trainer.trainStep();
  await loss.data();
  loss.dispose();
}
await trainer.estimateLoss();
const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
console.log(JSON.stringify({ heapBytes: heap }));
