/**
 * The bench page's worker: runs a benchmark plan (bench.ts) on the browser's backends and posts
 * its progress and results. Measuring in a worker is what the app does: training runs in one.
 */
import { errorMessage } from '../../core/errors.ts';
import { WASM_PATHS } from '../../../workers/wasm-paths.ts'; // the binaries' URLs, as the training worker finds them
import { runPlan } from './bench.ts';
import type { FromBenchWorker, ToBenchWorker } from './protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

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
        const { results, skipped } = await runPlan(text, msg.plan, (line) => post({ type: 'progress', line }), {
          wasmPaths: WASM_PATHS,
          wasmThreads: msg.wasmThreads,
        });
        post({ type: 'done', results, skipped });
      } catch (err) {
        post({ type: 'error', message: errorMessage(err) });
      }
      break;
    default:
      msg.type satisfies never;
  }
};
