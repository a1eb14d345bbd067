/**
 * The wasm backend's own kernels: one WebAssembly SIMD module (AssemblyScript sources in
 * assembly/, compiled into simd-binary.ts by `npm run kernels`) instantiated on tfjs-wasm's own
 * memory, so a kernel reads its inputs and writes its outputs where tfjs keeps them, with no
 * copy. tfjs-wasm runs an elementwise chain as one kernel per op, each a pass over memory and
 * tens of microseconds of engine bookkeeping, several of them scalar (Erf, Exp); each kernel
 * here is one pass, four float32 lanes at a time.
 *
 * The memory is tfjs's: the non-threaded binary exports it (Module.asm.memory), the threaded one
 * shares it between its threads (Module.wasmMemory), and each needs its own build of this
 * module (a shared memory imports only into a module that declares it shared). The module keeps
 * nothing in that memory (no data segment, no globals in it); scratch space comes from tfjs's
 * own allocator (_malloc, _free) for the length of one kernel call.
 *
 * Where the engine has no WebAssembly SIMD (tfjs then runs its plain wasm binary), the module
 * does not validate, `simdKernelsAvailable()` is false, and the model keeps its XNNPACK
 * formulations (xnnpack.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { SIMD_WASM, SIMD_WASM_SHARED } from './simd-binary.ts';

/** The module's exports; pointers are byte offsets into tfjs-wasm's heap. */
export interface SimdExports {
  gelu(x: number, y: number, n: number): void;
  geluGrad(dy: number, x: number, dx: number, n: number): void;
  layerNorm(x: number, gamma: number, y: number, stats: number, rows: number, d: number, eps: number): void;
  layerNormGradX(dy: number, x: number, gamma: number, stats: number, dx: number, rows: number, d: number): void;
  layerNormGradGamma(dy: number, x: number, stats: number, dgamma: number, rows: number, d: number): void;
  softmaxStats(logits: number, stats: number, rows: number, V: number): void;
  sumSquares(g: number, n: number): number;
  weightGrad(a: number, b: number, out: number, N: number, K: number, M: number): void;
  matmul(a: number, b: number, out: number, N: number, K: number, M: number): void;
  adamw(
    p: number,
    m: number,
    v: number,
    g: number,
    po: number,
    mo: number,
    vo: number,
    n: number,
    scale: number,
    beta1: number,
    beta2: number,
    lrc1: number,
    ic2: number,
    eps: number,
    decay: number,
  ): void;
  meanCrossEntropy(logits: number, targets: number, stats: number, rows: number, V: number): number;
  crossEntropyGrad(logits: number, targets: number, stats: number, dy: number, dlogits: number, rows: number, V: number): void;
  attentionForward(
    qkv: number,
    y: number,
    lse: number,
    B: number,
    T: number,
    nHead: number,
    hs: number,
    scale: number,
    scratch: number,
  ): void;
  attentionBackward(
    qkv: number,
    y: number,
    lse: number,
    dy: number,
    dqkv: number,
    B: number,
    T: number,
    nHead: number,
    hs: number,
    scale: number,
    scratch: number,
  ): void;
}

/** The WebAssembly API this file uses, typed here: the Node realm's types (tests, the CLI) declare no WebAssembly.Memory. */
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  validate(bytes: Uint8Array<ArrayBuffer>): boolean;
  Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
interface WasmMemory {
  buffer: ArrayBuffer | SharedArrayBuffer;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** What this file needs of tfjs-backend-wasm's backend object and its Emscripten module. */
interface WasmBackend {
  wasm?: {
    asm?: { memory?: WasmMemory };
    wasmMemory?: WasmMemory;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/** A kernel's view of the module and the backend it runs on. */
export interface Simd {
  readonly k: SimdExports;
  /** Where t's data starts in the heap. */
  ptr(t: tf.TensorInfo): number;
  /** A new tensor of `shape` in the heap (contents undefined until written). */
  output(shape: number[], dtype?: tf.DataType): tf.TensorInfo;
  /** Runs f with `floats` float32s of scratch space, freed after. */
  withScratch<T>(floats: number, f: (scratch: number) => T): T;
  /** Writes a scalar output's one value. */
  setScalar(t: tf.TensorInfo, value: number): void;
  /** A float32 scalar input's value. */
  scalar(t: tf.TensorInfo): number;
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** The backend the module was instantiated for, and the instance (one per backend object). */
let bound: { backend: object; simd: Simd | null } | null = null;

function instantiate(backend: WasmBackend): Simd | null {
  const memory = backend.wasm?.asm?.memory ?? backend.wasm?.wasmMemory; // absent: not tfjs-wasm's backend
  if (!(memory instanceof WA.Memory)) return null;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const bytes = decode(shared ? SIMD_WASM_SHARED : SIMD_WASM);
  if (!WA.validate(bytes)) return null; // no WebAssembly SIMD in this engine
  const instance = new WA.Instance(new WA.Module(bytes), { env: { memory } });
  const k = instance.exports as unknown as SimdExports;
  return {
    k,
    ptr(t) {
      const entry = backend.dataIdMap.get(t.dataId);
      if (!entry) throw new Error('simd kernel: a tensor that is not in the wasm heap');
      return entry.memoryOffset;
    },
    output: (shape, dtype = 'float32') => backend.makeOutput(shape, dtype),
    withScratch(floats, f) {
      const p = backend.wasm!._malloc(Math.max(16, floats * 4));
      try {
        return f(p);
      } finally {
        backend.wasm!._free(p);
      }
    },
    setScalar(t, value) {
      backend.typedArrayFromHeap(t)[0] = value;
    },
    scalar: (t) => backend.typedArrayFromHeap(t)[0]!,
  };
}

/** The module bound to this wasm backend object (instantiated on first use), or null where it cannot run. */
export function simdFor(backend: object): Simd | null {
  if (bound?.backend !== backend) bound = { backend, simd: instantiate(backend as WasmBackend) };
  return bound.simd;
}

/** simdFor for a kernel function, which runs only where simdKernelsAvailable() said yes. */
export function simd(backend: object): Simd {
  const s = simdFor(backend);
  if (!s) throw new Error('the wasm SIMD kernels cannot run here');
  return s;
}

/**
 * The threads of the running wasm backend's XNNPACK pool, asked of the backend itself: importing
 * tfjs-backend-wasm for its getThreadsCount would register the backend in whatever imports this.
 */
export function wasmThreads(): number {
  const b = tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } };
  return b.wasm?.tfjs?.getThreadsCount?.() ?? 1;
}

/** Whether the current backend is wasm and the SIMD module runs on it. */
export function simdKernelsAvailable(): boolean {
  return tf.getBackend() === 'wasm' && simdFor(tf.backend()) !== null;
}
