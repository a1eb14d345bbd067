/**
 * Runs the PyTorch reference (torch_gpt.py) with the first Python that has torch, or says why
 * there is none: the bench then leaves the PyTorch column empty.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchShape } from '../../src/bench/plan.ts';
import type { TorchResult } from '../../src/bench/report.ts';

const SCRIPT = fileURLToPath(new URL('./torch_gpt.py', import.meta.url));

/** Debian's python3-torch lives in the system Python; a python3 earlier on PATH may lack it. */
export const PYTHONS = ['/usr/bin/python3', 'python3'];

/** The first of PYTHONS that imports torch, or null. */
export function findTorchPython(candidates: readonly string[] = PYTHONS): string | null {
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return null;
}

export const NO_TORCH = `PyTorch not found (tried ${PYTHONS.join(', ')}): the PyTorch column is left out. On Debian: apt-get install python3-torch libopenblas0-pthread`;

export interface TorchOptions {
  warmup: number;
  steps: number;
  sampleChars: number;
  threads: number;
  /** torch_gpt.py's --device; default: $TABGPT_TORCH_DEVICE (the packaged bench's run.sh sets cuda where CUDA works), else cpu. */
  device?: string;
}

/**
 * The reference process's environment: `threads` for PyTorch's own pool and for the BLAS under
 * it. torch.set_num_threads alone leaves Debian's OpenBLAS on every core (measured: 40.6 ms of
 * CPU for 19.9 ms of wall time per tiny step), so "PyTorch on 1 thread" needs these too.
 */
export function torchEnv(threads: number, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const n = String(threads);
  return { ...base, OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n };
}

/** One config through torch_gpt.py on a corpus file. */
export function runTorch(python: string, corpusPath: string, config: string, shape: BenchShape, opts: TorchOptions): TorchResult {
  const args = [
    SCRIPT,
    '--corpus',
    corpusPath,
    '--layers',
    String(shape.nLayer),
    '--heads',
    String(shape.nHead),
    '--embd',
    String(shape.nEmbd),
    '--ctx',
    String(shape.blockSize),
    '--batch',
    String(shape.batchSize),
    '--warmup',
    String(opts.warmup),
    '--steps',
    String(opts.steps),
    '--sample-chars',
    String(opts.sampleChars),
    '--threads',
    String(opts.threads),
  ];
  const device = opts.device ?? process.env.TABGPT_TORCH_DEVICE;
  if (device) args.push('--device', device);
  const out = execFileSync(python, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
    env: torchEnv(opts.threads),
  });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as Omit<TorchResult, 'config'>;
  return { config, ...r };
}
