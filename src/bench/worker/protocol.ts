/** The bench page's messages to its worker (bench.worker.ts) and back. */
import type { BenchPlan } from '../plan.ts';
import type { BenchResult, BenchSkip } from './bench.ts';

/** Messages to the bench page's worker. */
export type ToBenchWorker = { type: 'run'; plan: BenchPlan; corpusUrl: string; wasmThreads?: number }; // wasmThreads: default every core

/** Messages from it: progress lines, then the results or an error. */
export type FromBenchWorker =
  { type: 'progress'; line: string } | { type: 'done'; results: BenchResult[]; skipped: BenchSkip[] } | { type: 'error'; message: string };
