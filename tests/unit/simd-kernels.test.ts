/**
 * The wasm backend's SIMD module (workers/kernels/simd.ts, assembly/): the committed binary is
 * what its sources compile to, it keeps nothing in tfjs's heap, and its kernels that model-ops
 * tests do not reach through a model (the products on ragged and chunked shapes, exp at its
 * edges, NaN) equal tfjs's own ops.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { softmaxCrossEntropy } from '../../workers/kernels/cross-entropy.ts';
import { gelu } from '../../workers/kernels/gelu.ts';
import { matmul, weightGrad } from '../../workers/kernels/products.ts';
import { SIMD_WASM, SIMD_WASM_SHARED } from '../../workers/kernels/simd-binary.ts';
import { simdKernelsAvailable } from '../../workers/kernels/simd.ts';
import * as ops from '../../workers/ops.ts';
import { BINARY_FILE, binaryFileText, compileKernels } from '../kernels/build.ts';
import { microTrain, relErr, syntheticIds } from '../helpers.ts';
import { splitTrainVal } from '../../src/core/batching.ts';
import { shareWasmIdentity } from '../../workers/kernels/wasm-identity.ts';
import { GPT } from '../../workers/model.ts';
import { Trainer } from '../../workers/train.ts';

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

test('the committed module is what assembly/ compiles to (run `npm run kernels` after changing it)', async () => {
  expect(readFileSync(BINARY_FILE, 'utf8')).toBe(binaryFileText(await compileKernels()));
}, 120_000);

/** The ids of a wasm binary's sections, and its imports as module.name. */
function sections(base64: string): { ids: number[]; imports: string[] } {
  const bytes = Buffer.from(base64, 'base64');
  let i = 8; // magic and version
  const leb = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[i++];
      result |= (byte & 0x7f) << shift;
      shift += 7;
      if (byte < 0x80) return result >>> 0;
    }
  };
  const ids: number[] = [];
  const imports: string[] = [];
  while (i < bytes.length) {
    const id = bytes[i++];
    const size = leb();
    const end = i + size;
    ids.push(id);
    if (id === 2) {
      const name = () => {
        const n = leb();
        const s = bytes.subarray(i, i + n).toString('utf8');
        i += n;
        return s;
      };
      for (let count = leb(); count > 0; count--) {
        imports.push(`${name()}.${name()}`);
        const kind = bytes[i++];
        if (kind !== 2) throw new Error(`an import of kind ${kind}`); // only a memory is expected
        const flags = bytes[i++];
        leb(); // minimum
        if (flags & 1) leb(); // maximum
      }
    }
    i = end;
  }
  return { ids, imports };
}

test.each([
  ['plain', SIMD_WASM],
  ['shared', SIMD_WASM_SHARED],
])('the %s build imports only the memory and has no data or global of its own to write into it', (_, base64) => {
  const { ids, imports } = sections(base64);
  expect(imports).toEqual(['env.memory']);
  expect(ids).not.toContain(11); // data
  expect(ids).not.toContain(12); // data count
  expect(ids).not.toContain(6); // globals
  expect(ids).not.toContain(8); // start function
});

test('the shared build runs on a shared memory, as in a cross-origin isolated page', () => {
  // The Node realm's types declare no WebAssembly.Memory: the API as this test uses it.
  const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const memory = new WA.Memory({ initial: 1, maximum: 65536, shared: true });
  const { exports } = new WA.Instance(new WA.Module(Buffer.from(SIMD_WASM_SHARED, 'base64')), { env: { memory } });
  const f = new Float32Array(memory.buffer);
  f.set([-3, -1, 0, 0.5, 2], 0);
  (exports.gelu as (x: number, y: number, n: number) => void)(0, 64, 5);
  const expected = [-3, -1, 0, 0.5, 2].map((x) => 0.5 * x * (1 + erfApprox(x / Math.SQRT2)));
  expect(relErr(f.subarray(16, 21), expected)).toBeLessThan(1e-6);
});

interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: SharedArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** tfjs's erf (Abramowitz & Stegun 7.1.26), in double precision. */
function erfApprox(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return Math.sign(x) * (1 - poly * Math.exp(-x * x));
}

test('the module runs on this wasm backend', () => {
  expect(simdKernelsAvailable()).toBe(true);
});

// Ragged on purpose: rows and columns past the 4×8 blocks, and over 128 rows of the sum (a second chunk that adds).
test.each([
  [1, 1, 1],
  [7, 5, 3],
  [13, 9, 17],
  [300, 64, 83],
  [260, 131, 40],
])('matmul and weightGrad equal tf.matMul, N %i K %i M %i', async (N, K, M) => {
  const a = tf.randomNormal([N, K], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([K, M], 0, 1, 'float32', 2) as tf.Tensor2D;
  const c = tf.randomNormal([N, M], 0, 1, 'float32', 3) as tf.Tensor2D;
  const before = tf.memory().numTensors;
  const [got, want] = [matmul(a, b), tf.matMul(a, b, false, false)];
  const [gotT, wantT] = [weightGrad(a, c), tf.matMul(a, c, true, false)];
  expect(got.shape).toEqual([N, M]);
  expect(gotT.shape).toEqual([K, M]);
  expect(relErr(await got.data(), await want.data())).toBeLessThan(2e-6);
  expect(relErr(await gotT.data(), await wantT.data())).toBeLessThan(2e-6);
  tf.dispose([got, want, gotT, wantT]);
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([a, b, c]);
});

test('the products refuse shapes that do not fit, before running', () => {
  expect(() => matmul(tf.zeros([3, 4]) as tf.Tensor2D, tf.zeros([5, 2]) as tf.Tensor2D)).toThrow(/do not fit/);
  expect(() => weightGrad(tf.zeros([3, 4]) as tf.Tensor2D, tf.zeros([5, 2]) as tf.Tensor2D)).toThrow(/do not fit/);
});

test('the loss and its gradient for a row with one logit far below the rest (its exp underflows) and a row of large logits, as tfjs computes them', async () => {
  const logits = tf.tensor2d([
    [0, -100, 1, 2, -50],
    [80, 85, 88, 60, 87.9],
  ]);
  const targets = tf.tensor1d([1, 3], 'int32');
  const got = await softmaxCrossEntropy(logits, targets, true).data();
  const want = await ops.crossEntropy(logits, targets).data();
  expect(Math.abs(got[0] - want[0]) / want[0]).toBeLessThan(1e-6);
  const g = await tf
    .grad((l: tf.Tensor) => softmaxCrossEntropy(l as tf.Tensor2D, targets, true))(logits)
    .data();
  const gw = await tf
    .grad((l: tf.Tensor) => ops.crossEntropy(l as tf.Tensor2D, targets))(logits)
    .data();
  expect(relErr(g, gw)).toBeLessThan(1e-6);
});

test('NaN stays NaN through GELU, the loss and its gradient, so a diverging run shows it', async () => {
  const x = tf.tensor2d([[1, NaN, -2, 0.5, 3]]);
  const y = await gelu(x, true).data();
  expect(Number.isNaN(y[1])).toBe(true);
  expect(Number.isNaN(y[0])).toBe(false);
  const loss = await softmaxCrossEntropy(x, tf.tensor1d([0], 'int32'), true).data();
  expect(Number.isNaN(loss[0])).toBe(true);
});

/** A micro model trained `steps` steps on wasm: its losses, and the backend's live allocations after the first step and after the last. */
async function trainMicro(steps: number) {
  const backend = tf.backend() as unknown as { dataIdMap: { numDataIds(): number } };
  const gpt = new GPT({ vocabSize: 13, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 }, 3);
  const trainer = new Trainer(gpt, splitTrainVal(syntheticIds(5_000, 13), 16), { ...microTrain, batchSize: 4 });
  const losses: number[] = [];
  let afterFirst = 0;
  for (let i = 0; i < steps; i++) {
    const loss = trainer.trainStep();
    losses.push((await loss.data())[0]);
    loss.dispose();
    if (i === 0) afterFirst = backend.dataIdMap.numDataIds();
  }
  const afterLast = backend.dataIdMap.numDataIds();
  trainer.dispose();
  gpt.dispose();
  return { losses, afterFirst, afterLast };
}

test("Identity shares memory on wasm: training gives the copies' losses, and no allocation is left behind over 20 steps", async () => {
  const copied = await trainMicro(21); // tfjs-wasm's own Identity, which copies
  shareWasmIdentity();
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.engine().runKernel('Identity', { x }) as tf.Tensor;
  expect(y.dataId).toBe(x.dataId); // shared, not copied
  tf.dispose([x, y]);
  const shared = await trainMicro(21);
  expect(shared.losses).toEqual(copied.losses);
  // Every step after the first frees all it allocated.
  expect(shared.afterLast).toBe(shared.afterFirst);
});
