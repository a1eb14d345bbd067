/**
 * Picks the tfjs backend: webgpu → wasm → webgl → cpu, the first that initialises, or the one
 * the user forces. Reports which one runs, on what adapter, and why the better ones did not.
 */
import { errorMessage } from '../src/core/errors.ts';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { shareWasmIdentity } from './kernels/wasm-identity.ts';
import type { BackendName } from '../src/core/config.ts';
import { capacityOf, type Capacity } from '../src/core/footprint.ts';
import { watchDevice } from './device.ts';

export type BackendChoice = 'auto' | BackendName;
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'wasm', 'webgl', 'cpu'];

export interface BackendInfo {
  name: BackendName;
  adapter: string; // e.g. "nvidia ampere", "WebAssembly SIMD, 4 threads", "pure JavaScript"
  skipped: { name: BackendName; reason: string }[]; // backends tried first that failed
  capacity: Capacity; // what a run may hold here, and the measured rate of a matrix product
}

export interface BackendOptions {
  /** Where the tfjs wasm binaries are served from (the browser); Node finds them itself. */
  wasmPaths?: Record<string, string>;
  /** Threads for the wasm backend where it can have them (a cross-origin isolated page); default: every logical core. */
  wasmThreads?: number;
  /** Backends known not to work here, and why (Node without a GPU, say): skipped with that reason. */
  unavailable?: Partial<Record<BackendName, string>>;
  /** The device's memory in bytes where the environment says it (Node's os.totalmem); a browser's navigator.deviceMemory otherwise. */
  deviceMemoryBytes?: number;
  /**
   * Measure a matrix product's rate as the backend starts (about 50 ms, more on cpu): the page's
   * form estimates a step's time from it. Off by default: the CLI has no use for it at every start.
   */
  measureRate?: boolean;
}

/** The device's memory: what the caller knows, or navigator.deviceMemory (GiB, rounded down and capped at 8 by browsers); null where unknown. */
export function deviceMemoryBytes(opts: BackendOptions): number | null {
  if (opts.deviceMemoryBytes !== undefined) return opts.deviceMemoryBytes;
  const gib = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory;
  return typeof gib === 'number' && gib > 0 ? gib * 1024 ** 3 : null;
}

/** The backend's current capacity; null before initBackend has started one. */
let current: Capacity | null = null;

/** What the running backend can give a run (workers/run.ts checks each run against it); null before one starts. */
export function currentCapacity(): Capacity | null {
  return current;
}

/**
 * A matrix product's rate on the running backend, in FLOP/s: square products (256 wide; 512 on
 * WebGPU, where a small one measures the dispatch, not the arithmetic), after one to warm up
 * (a shader compiles), repeated for about 40 ms. A step's time is estimated from it
 * (footprint.ts): a lower bound, since a step is more than products.
 */
async function matmulRate(name: BackendName): Promise<number> {
  const n = name === 'webgpu' ? 512 : 256;
  const [a, b] = [tf.randomNormal([n, n], 0, 1, 'float32', 1), tf.randomNormal([n, n], 0, 1, 'float32', 2)];
  const once = async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  };
  try {
    await once();
    const t0 = performance.now();
    let reps = 0;
    do {
      await once();
      reps++;
    } while (performance.now() - t0 < 40);
    return (reps * 2 * n ** 3) / ((performance.now() - t0) / 1000);
  } finally {
    a.dispose();
    b.dispose();
  }
}

/** What the backend that just started can give: its memory limit, WebGPU's buffer limit, and the measured rate when asked. */
async function measureCapacity(name: BackendName, opts: BackendOptions): Promise<Capacity> {
  const cap = capacityOf(name, deviceMemoryBytes(opts));
  if (name === 'webgpu') {
    const limits = (tf.backend() as unknown as { device: GPUDevice }).device.limits;
    cap.maxBufferBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  }
  if (opts.measureRate) cap.flopsPerSecond = await matmulRate(name);
  return cap;
}

/** The logical cores the browser reports (navigator is missing in Node 20, whose wasm backend has no threads anyway). */
function logicalCores(): number | undefined {
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
}

/** What a WebGPU adapter says of itself (GPUAdapterInfo, or the older fields on the adapter). */
interface AdapterLike {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
}

/**
 * Why an adapter is a software renderer (SwiftShader, or the browser's fallback adapter), or null
 * for a GPU. Software WebGPU runs 20–40× slower than wasm on the same CPU (the README's numbers).
 */
export function softwareAdapter(adapter: AdapterLike | null): string | null {
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  if (info.isFallbackAdapter || adapter.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(text))
    return `the only WebGPU adapter is a software renderer (${text || 'a fallback adapter'}), slower than wasm on this CPU; choose webgpu to use it anyway`;
  return null;
}

async function register(name: BackendName, opts: BackendOptions, auto: boolean): Promise<void> {
  const unavailable = opts.unavailable?.[name];
  if (unavailable) throw new Error(unavailable);
  if (name === 'webgpu') {
    // The webgpu backend registers itself on import, and only if navigator.gpu exists then.
    const nav = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<AdapterLike | null> } } }).navigator;
    if (!nav?.gpu) throw new Error('this environment has no WebGPU (navigator.gpu is missing)');
    // Left to choose, never a software adapter: wasm comes next and is faster.
    if (auto) {
      const software = softwareAdapter(await nav.gpu.requestAdapter());
      if (software) throw new Error(software);
    }
    await import('@tensorflow/tfjs-backend-webgpu');
  } else if (name === 'wasm') {
    if (opts.wasmPaths) setWasmPaths(opts.wasmPaths);
    // tfjs picks the threaded binary by itself where SharedArrayBuffer exists (a cross-origin isolated page).
    if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) setWasmThreads(opts.wasmThreads ?? logicalCores() ?? 1);
  }
}

/**
 * Asks the threaded wasm backend for `threads` threads; must run before it starts. tfjs caps its
 * pool at half of navigator.hardwareConcurrency (it takes every core to be two hyperthreads,
 * which leaves a 2-core machine one thread) and at 8, the workers its binary starts with; the
 * module reads hardwareConcurrency once, as it starts, so this worker reports twice the count.
 */
function setWasmThreads(threads: number) {
  const count = Math.min(Math.max(1, Math.floor(threads)), 8);
  setThreadsCount(count);
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'hardwareConcurrency', { value: 2 * count, configurable: true });
}

async function describe(name: BackendName): Promise<string> {
  switch (name) {
    case 'webgpu': {
      const info = (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
      return [info?.vendor, info?.architecture].filter(Boolean).join(' ') || 'unknown adapter';
    }
    case 'wasm': {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = getThreadsCount();
      // A page without COOP/COEP headers has no SharedArrayBuffer, so no threads: say so.
      const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
      const why = threads === 1 && isolated === false ? ', not cross-origin isolated' : '';
      return `WebAssembly${simd ? ' SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'}${why}`;
    }
    case 'webgl':
      return `WebGL ${tf.env().getNumber('WEBGL_VERSION')}`;
    case 'cpu':
      return 'pure JavaScript';
    default:
      return name satisfies never;
  }
}

/** Initialises the chosen backend (or the first that works) and says which one runs. */
export async function initBackend(choice: BackendChoice, opts: BackendOptions = {}): Promise<BackendInfo> {
  const candidates = choice === 'auto' ? BACKEND_ORDER : [choice];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of candidates) {
    try {
      await register(name, opts, choice === 'auto');
      if (!(await tf.setBackend(name))) throw new Error(`tfjs could not initialise ${name}`);
      await tf.ready();
      if (name === 'webgpu') watchDevice((tf.backend() as unknown as { device: GPUDevice }).device);
      if (name === 'wasm') shareWasmIdentity();
      // In Node the cpu backend's first write prints an advert for tfjs-node, which this
      // project does not use; marking the backend as used keeps stderr for real messages.
      if (name === 'cpu') (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
      current = await measureCapacity(name, opts);
      return { name, adapter: await describe(name), skipped, capacity: current };
    } catch (err) {
      skipped.push({ name, reason: errorMessage(err) });
    }
  }
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new Error(choice === 'auto' ? `no tfjs backend could start (${why})` : `the ${choice} backend could not start (${why})`);
}
