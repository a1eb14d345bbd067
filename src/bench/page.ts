/**
 * The bench page (bench.html): runs the benchmark in a worker on this browser's backends and
 * shows the tables `npm run bench` prints. `?plan=<JSON>` picks configs, backends and options
 * (`npm run bench -- --browser` passes one, and `&run` starts it at once); without one it runs
 * every config on cpu, wasm and webgpu. The report's JSON ends up in #report's data-json.
 */
import mobyDickUrl from '../../datasets/dist/moby-dick.txt?url';
import type { FromBenchWorker, ToBenchWorker } from './worker/protocol.ts';
import { defaultPlan, type BenchPlan } from './plan.ts';
import { formatReport, type BenchReport } from './report.ts';

const params = new URLSearchParams(location.search);
const plan: BenchPlan = params.has('plan') ? (JSON.parse(params.get('plan')!) as BenchPlan) : defaultPlan();

const $ = (id: string) => document.getElementById(id)!;
const progress = $('progress');
const report = $('report');
const button = $('run') as HTMLButtonElement;
$('plan').textContent = `${plan.configs.map((c) => c.name).join(', ')} on ${plan.backends.map((b) => b.name).join(', ')}, corpus moby-dick`;

function log(line: string) {
  progress.textContent += `${line}\n`;
  console.log(`bench: ${line}`); // the Node driver forwards these
}

function run() {
  button.disabled = true;
  report.dataset.state = 'running';
  const started = performance.now();
  const worker = new Worker(new URL('./worker/bench.worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (e: MessageEvent<FromBenchWorker>) => {
    const msg = e.data;
    switch (msg.type) {
      case 'progress':
        log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg.line}`);
        break;
      case 'done': {
        const result: BenchReport = {
          type: 'bench',
          version: 1,
          date: new Date().toISOString(),
          runtime: navigator.userAgent,
          machine: `${navigator.hardwareConcurrency} logical cores${crossOriginIsolated ? ', cross-origin isolated' : ''}`,
          corpus: 'moby-dick',
          results: msg.results,
          skipped: msg.skipped,
          torch: { skipped: 'PyTorch does not run in a browser: `npm run bench -- --browser` adds it' },
        };
        report.textContent = formatReport(result);
        report.dataset.json = JSON.stringify(result);
        report.dataset.state = 'done';
        worker.terminate();
        button.disabled = false;
        break;
      }
      case 'error':
        report.textContent = `error: ${msg.message}`;
        report.dataset.error = msg.message;
        report.dataset.state = 'error';
        worker.terminate();
        button.disabled = false;
        break;
      default:
        msg satisfies never;
    }
  };
  worker.onerror = (e) => {
    report.textContent = `error: ${e.message}`;
    report.dataset.error = e.message;
    report.dataset.state = 'error';
  };
  // ?threads=N: the wasm backend's threads on this cross-origin isolated page (default: every core).
  const wasmThreads = params.has('threads') ? Number(params.get('threads')) : undefined;
  worker.postMessage({ type: 'run', plan, corpusUrl: mobyDickUrl, wasmThreads } satisfies ToBenchWorker);
}

button.addEventListener('click', run);
if (params.has('run')) run();
