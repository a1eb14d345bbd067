/**
 * Picks the tfjs backend: webgpu → wasm → webgl → cpu, the first that initialises, or the one
 * the user forces. Reports which one runs, on what adapter, and why the better ones did not.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendName } from '../src/core/config.ts';
import { watchDevice } from './device.ts';

export type BackendChoice = 'auto' | BackendName;
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'wasm', 'webgl', 'cpu'];

export interface BackendInfo {
  name: BackendName;
  adapter: string; // e.g. "nvidia ampere", "wasm simd, 4 threads", "pure JavaScript"
  skipped: { name: BackendName; reason: string }[]; // backends tried first that failed
}

export interface BackendOptions {
  /** Where the tfjs wasm binaries are served from (the browser); Node finds them itself. */
  wasmPaths?: Record<string, string>;
}

async function register(name: BackendName, opts: BackendOptions): Promise<void> {
  if (name === 'webgpu') {
    // The webgpu backend registers itself on import, and only if navigator.gpu exists then.
    const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
    if (!nav?.gpu) throw new Error('this environment has no WebGPU (navigator.gpu is missing)');
    await import('@tensorflow/tfjs-backend-webgpu');
  } else if (name === 'wasm') {
    if (opts.wasmPaths) setWasmPaths(opts.wasmPaths);
  }
}

async function describe(name: BackendName): Promise<string> {
  switch (name) {
    case 'webgpu': {
      const info = (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
      return [info?.vendor, info?.architecture].filter(Boolean).join(' ') || 'unknown adapter';
    }
    case 'wasm': {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      return `WebAssembly${simd ? ' SIMD' : ''}${threads ? ', multithreaded' : ', 1 thread'}`;
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
      await register(name, opts);
      if (!(await tf.setBackend(name))) throw new Error(`tfjs could not initialise ${name}`);
      await tf.ready();
      if (name === 'webgpu') watchDevice((tf.backend() as unknown as { device: GPUDevice }).device);
      // In Node the cpu backend's first write prints an advert for tfjs-node, which this
      // project does not use; marking the backend as used keeps stderr for real messages.
      if (name === 'cpu') (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
      return { name, adapter: await describe(name), skipped };
    } catch (err) {
      skipped.push({ name, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new Error(choice === 'auto' ? `no tfjs backend could start (${why})` : `the ${choice} backend could not start (${why})`);
}
