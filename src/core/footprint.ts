/**
 * What one training step of a model holds on each backend, and whether the backend can give it:
 * checked before the first step, so a model the tab cannot run is refused with its numbers
 * instead of growing the tab until it dies.
 *
 * Where the memory is, per backend (measured: tests/unit/footprint.test.ts keeps the numbers and
 * measures the wasm heap again):
 * - wasm: tfjs's tensors live in one WebAssembly heap of at most 4 GiB (wasm32; the binaries'
 *   memory section says so), and the heap a step needs is 2–4× the bytes tfjs tracks (the
 *   allocator's slack, the copies tfjs makes of what a gradient keeps, and, where the products
 *   run on XNNPACK, its packed copy of each product's operand and the transposes the backward
 *   pass makes). Fitted to the heap's high-water mark after two steps and an evaluation on 22
 *   shapes (1–10 layers, width 64–1024, context 8–512, batch 1–64, vocabulary 83–5,000), each the
 *   larger of the two ways the products run: the SIMD module's (one thread, the CLI) and
 *   XNNPACK's (a cross-origin isolated page's threads), the latter 1.2–1.5× the former. Every
 *   measured heap is under the estimate: 8 MiB + 36 B per parameter + 96 B per unit of width
 *   squared (the transient copies of the largest matrices) + per token of the batch 300 B per
 *   layer and unit of width and 36 B per character of the vocabulary, + 8·T² B for the attention
 *   backward's scratch (one head's T×T weights and their gradient; the kernel keeps no T×T maps
 *   between passes, so beyond that context costs only its tokens; a head size the SIMD lanes do
 *   not divide runs attention on XNNPACK, which keeps them: 34 B per layer, head and position,
 *   per token, as fitted before the module). 9 × 1024 (113 M parameters, batch 1 × 8) is
 *   estimated at 3.9 GiB and trains (heap 3.6 GiB); 10 × 1024 is estimated at 4.3 GiB and refused,
 *   though it trains (4.0 GiB with XNNPACK's products, 3.3 GiB with the module's); 11 × 1024
 *   trains with the module's products (3.7 GiB) and dies with XNNPACK's.
 * - webgpu: the attention kernel never stores the T×T maps (attention-wgsl.ts), and tfjs keeps a
 *   pool of freed buffers for reuse (never freed; up to 1.9× what is live in the measurements, so
 *   the tracked estimate is doubled).
 *   Every tensor is a buffer that must bind, so the largest one is checked against the adapter's
 *   maxStorageBufferBindingSize too.
 * - every backend: a checkpoint taken between steps (the in-memory one, a save) reads the weights
 *   and both moments back and writes them into a file, 24 B per parameter in the tab beside the
 *   step; the step and those copies must fit a share of the device's memory (half of
 *   navigator.deviceMemory, which browsers round down to a power of two and may cap; the host's
 *   memory in Node).
 * - cpu, webgl: the tracked tensors (weights, gradient, two AdamW moments; about 32·d values per
 *   layer and token kept for the backward pass, 3 attention maps of H·T, 10·V for the logits,
 *   their softmax and gradient) with a quarter more for what is freed late.
 */
import {
  countParams,
  MAX_TRAINING_BYTES,
  validateModelConfig,
  validateTrainConfig,
  type BackendName,
  type ConfigIssue,
  type ModelConfig,
  type TrainConfig,
} from './config.ts';
import { trainingFlopsPerStep } from './flops.ts';

/** What a backend can give one run, as it reports itself once started (or as known before). */
export interface Capacity {
  backend: BackendName;
  memoryBytes: number; // the most the whole run may hold in this tab (its step and its checkpoint's copies)
  memoryOf: string; // what that limit is, in words: "half of this device's 8.0 GiB"
  heapBytes: number | null; // wasm: the heap a step lives in (4 GiB); null elsewhere
  maxBufferBytes: number | null; // WebGPU: the largest buffer a kernel may bind; null where no such limit
  flopsPerSecond: number | null; // a matrix product's measured rate on this backend; null where not measured
}

/** A step's memory on one backend: the total, its parts, and the largest single tensor. */
export interface Footprint {
  bytes: number; // the estimated peak
  weightBytes: number; // of which weights, gradients, AdamW moments and the backend's copies of them
  activationBytes: number; // of which the step's activations (and the backend's copies of them)
  largestBufferBytes: number; // the largest single tensor (a WebGPU buffer)
  checkpointBytes: number; // a checkpoint's copies outside the step: its values read back and its file
}

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** The wasm heap's limit: wasm32's 4 GiB (the memory maximum of every tfjs-backend-wasm binary). */
export const WASM_HEAP_BYTES = 4 * GiB;

/** The share of a device's memory one tab's run may take: half, leaving the rest to the system and browser. */
export const DEVICE_MEMORY_SHARE = 0.5;

/** Bytes of one training step of `model` at `batchSize` sequences on `backend`. */
export function stepFootprint(model: ModelConfig, batchSize: number, backend: BackendName): Footprint {
  const { nLayer: L, nHead: H, nEmbd: d, blockSize: T, vocabSize: V } = model;
  const N = countParams(model).total;
  const tokens = batchSize * T;
  // The largest tensors: the logits (and their softmax and gradient), the MLP's hidden layer,
  // the embedding and the MLP's matrices; on the plain ops the attention maps [B, H, T, T] too.
  // A checkpoint (the in-memory one taken between steps, a save) reads weights and both AdamW
  // moments back (12 B per parameter) and writes them into one file (12 more): in the tab, not the step.
  const checkpointBytes = 24 * N;
  const largest = 4 * Math.max(tokens * V, tokens * 4 * d, V * d, 4 * d * d, backend === 'webgpu' ? 0 : batchSize * H * T * T);
  if (backend === 'wasm') {
    const weightBytes = 8 * MiB + 36 * N + 96 * d * d;
    // 8·T² more: the attention backward's scratch, one head's P and dS (128 MiB at a context of
    // 4,096). A head size that is no multiple of 4 runs attention as XNNPACK's products, which
    // keep the T×T maps of every head: 34 B per layer, head and position, per token.
    const maps = (d / H) % 4 === 0 ? 0 : 34 * L * H * T;
    const activationBytes = tokens * (300 * L * d + 36 * V + maps) + 8 * T * T;
    return { bytes: weightBytes + activationBytes, weightBytes, activationBytes, largestBufferBytes: largest, checkpointBytes };
  }
  const attentionMaps = backend === 'webgpu' ? 0 : 3 * H * T;
  const slack = backend === 'webgpu' ? 2 : 1.25;
  const weightBytes = slack * 16 * N;
  const activationBytes = slack * 4 * tokens * (L * (32 * d + attentionMaps) + 10 * V + 2 * d);
  return { bytes: weightBytes + activationBytes, weightBytes, activationBytes, largestBufferBytes: largest, checkpointBytes };
}

/**
 * What a backend can give before it starts, where that is known without it: a share of the
 * device's memory (navigator.deviceMemory in a browser, the host's in Node) and, on wasm, the
 * heap's limit. WebGPU's buffer limit and the measured rate come once the backend runs
 * (workers/backend.ts).
 */
export function capacityOf(backend: BackendName, deviceBytes: number | null): Capacity {
  // Unknown device memory: the 4 GiB a browser tab can usually count on.
  const memory =
    deviceBytes === null
      ? { bytes: MAX_TRAINING_BYTES, of: `the ${formatBytes(MAX_TRAINING_BYTES)} a tab can count on (this device does not say its memory)` }
      : { bytes: DEVICE_MEMORY_SHARE * deviceBytes, of: `half of this device's ${formatBytes(deviceBytes)}` };
  return {
    backend,
    memoryBytes: memory.bytes,
    memoryOf: memory.of,
    heapBytes: backend === 'wasm' ? WASM_HEAP_BYTES : null,
    maxBufferBytes: null,
    flopsPerSecond: null,
  };
}

/**
 * What neither validator sees alone: whether one training step of this model at this batch size
 * fits on the backend (`capacity`), or, before a backend is known, within the 4 GiB a tab can
 * usually count on by the plain ops' estimate. Nothing while either config has issues of its own.
 */
export function validateRunFits(model: ModelConfig, train: TrainConfig, capacity: Capacity | null): ConfigIssue[] {
  if (validateModelConfig(model).length > 0 || validateTrainConfig(train).length > 0) return [];
  return capacityProblems(model, train.batchSize, capacity ?? ANY_BACKEND);
}

/** Before a backend is known: the plain ops' estimate against the 4 GiB a tab can usually count on. */
const ANY_BACKEND: Capacity = {
  backend: 'cpu',
  memoryBytes: MAX_TRAINING_BYTES,
  memoryOf: `the ${formatBytes(MAX_TRAINING_BYTES)} a tab can count on`,
  heapBytes: null,
  maxBufferBytes: null,
  flopsPerSecond: null,
};

/** Why this run cannot fit on this backend, in numbers; empty when it fits. */
export function capacityProblems(model: ModelConfig, batchSize: number, cap: Capacity): ConfigIssue[] {
  const f = stepFootprint(model, batchSize, cap.backend);
  const shape = `${model.nLayer} layer${model.nLayer === 1 ? '' : 's'} of width ${model.nEmbd} (${(countParams(model).total / 1e6).toFixed(1)} M parameters) with batchSize ${batchSize} × blockSize ${model.blockSize}`;
  const problems: ConfigIssue[] = [];
  const parts = `weights and AdamW ${formatBytes(f.weightBytes)}, activations ${formatBytes(f.activationBytes)}`;
  const on = cap === ANY_BACKEND ? '' : ` on ${cap.backend}`;
  // Where the weights alone decide it a smaller batch would not help: say so beside the model.
  const advice = (weightsAlone: boolean) =>
    weightsAlone ? 'use fewer layers or a smaller width' : 'use a smaller batch, context or model';
  if (cap.heapBytes !== null && f.bytes > cap.heapBytes) {
    const weightsAlone = f.weightBytes > cap.heapBytes;
    problems.push({
      field: weightsAlone ? 'nEmbd' : 'batchSize',
      message: `${shape} needs about ${formatBytes(f.bytes)}${on} (${parts}); the wasm heap's ${formatBytes(cap.heapBytes)} is the limit: ${advice(weightsAlone)}`,
    });
  } else if (f.bytes + f.checkpointBytes > cap.memoryBytes) {
    const weightsAlone = f.weightBytes + f.checkpointBytes > cap.memoryBytes;
    problems.push({
      field: weightsAlone ? 'nEmbd' : 'batchSize',
      message:
        `${shape} needs about ${formatBytes(f.bytes + f.checkpointBytes)}${on} (${parts}, a checkpoint's copies ${formatBytes(f.checkpointBytes)}); ` +
        `${cap.memoryOf} is the limit: ${advice(weightsAlone)}`,
    });
  }
  if (cap.maxBufferBytes !== null && f.largestBufferBytes > cap.maxBufferBytes) {
    problems.push({
      field: 'batchSize',
      message:
        `${shape} needs one tensor of ${formatBytes(f.largestBufferBytes)}; this WebGPU adapter binds at most ` +
        `${formatBytes(cap.maxBufferBytes)} at once: use a smaller batch or context`,
    });
  }
  return problems;
}

/** A run's memory here in words, beside what limits it: the form's line under the settings. */
export function describeFootprint(model: ModelConfig, batchSize: number, cap: Capacity): string {
  const f = stepFootprint(model, batchSize, cap.backend);
  const heap = cap.heapBytes === null ? '' : ` (the wasm heap holds ${formatBytes(cap.heapBytes)})`;
  return `a step about ${formatBytes(f.bytes)} on ${cap.backend}${heap}; with a checkpoint's copies ${formatBytes(f.bytes + f.checkpointBytes)}, of ${cap.memoryOf}`;
}

/** How long one step should take here, from the backend's measured rate; null where none was measured. */
export function stepSeconds(model: ModelConfig, batchSize: number, cap: Capacity): number | null {
  if (!cap.flopsPerSecond) return null;
  return stepFlops(model, batchSize) / cap.flopsPerSecond;
}

/** A step's FLOPs as the clock sees them: Kaplan's count (flops.ts) plus the output head's 6·V·d per token, which it leaves out. */
function stepFlops(model: ModelConfig, batchSize: number): number {
  return trainingFlopsPerStep(model, batchSize) + 6 * model.vocabSize * model.nEmbd * model.blockSize * batchSize;
}

/** A step past this many seconds is worth a word before Train: the page shows progress once per step. */
export const SLOW_STEP_SECONDS = 5;

/** A warning, with its numbers, when one step is estimated to take longer than SLOW_STEP_SECONDS; null otherwise. */
export function slowStepWarning(model: ModelConfig, batchSize: number, maxSteps: number, cap: Capacity): string | null {
  const s = stepSeconds(model, batchSize, cap);
  if (s === null || s <= SLOW_STEP_SECONDS) return null;
  const flops = stepFlops(model, batchSize);
  return (
    `one step will take about ${formatSeconds(s)} on ${cap.backend} here (${formatFlop(flops)} at the measured ` +
    `${formatFlop(cap.flopsPerSecond!)}/s of a matrix product), ${maxSteps} steps about ${formatSeconds(s * maxSteps)}`
  );
}

/** 4.3e9 bytes → "4.0 GiB"; under a GiB in MiB. */
export function formatBytes(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.round(bytes / MiB)} MiB`;
}

function formatFlop(x: number): string {
  const units: [number, string][] = [
    [1e12, 'TFLOP'],
    [1e9, 'GFLOP'],
    [1e6, 'MFLOP'],
  ];
  for (const [scale, unit] of units) if (x >= scale) return `${x / scale >= 10 ? Math.round(x / scale) : (x / scale).toFixed(1)} ${unit}`;
  return `${Math.round(x)} FLOP`;
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}
