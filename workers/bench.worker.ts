/**
 * The bench page's worker: runs a benchmark plan (bench.ts) on the browser's backends and posts
 * its progress and results. Measuring in a worker is what the app does: training runs in one.
 */
// Vite serves these binaries and gives their URLs, as in train.worker.ts.
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { runPlan, type FromBenchWorker, type ToBenchWorker } from './bench.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

const WASM_PATHS = {
  'tfjs-backend-wasm.wasm': wasmUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
};

function post(msg: FromBenchWorker) {
  scope.postMessage(msg);
}

scope.onmessage = async (e: MessageEvent<ToBenchWorker>) => {
  const msg = e.data;
  switch (msg.type) {
    case 'run':
      try {
        const response = await fetch(msg.corpusUrl);
        if (!response.ok) throw new Error(`the corpus did not load: ${response.status} ${response.statusText}`);
        const text = await response.text();
        const { results, skipped } = await runPlan(text, msg.plan, (line) => post({ type: 'progress', line }), { wasmPaths: WASM_PATHS, wasmThreads: msg.wasmThreads });
        post({ type: 'done', results, skipped });
      } catch (err) {
        post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
      }
      break;
    default:
      msg.type satisfies never;
  }
};
